//! `forward`: a safe passthrough to a consumed namespace (SEMANTICS §7).
//!
//! The tail captured by the route's last variable is appended to the target base URI with the
//! original query string. Traversal (`..`, also percent-encoded), encoded slashes, `//host`,
//! `@` and absolute URLs are rejected with 400 before anything is sent, and the final URL must
//! stay inside the base URI. Only trusted request headers go upstream (plus the body's
//! content type), then the target's own headers and credentials. Bodies stream both ways.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use naftiko_engine::CallSite;
use naftiko_engine::containment::forward_target;
use naftiko_engine::expr::Scope;
use naftiko_engine::http::{ReplyHeaders, StreamingBody, UpstreamBody, UpstreamRequest, framing};
use naftiko_engine::inputs::Inputs;
use naftiko_engine::invoke::{Engine, InvokeError};
use naftiko_engine::plan::ForwardPlan;

use crate::problem::{Problem, invoke_error};

/// Forwards one request.
pub(crate) async fn forward(engine: &Engine, plan: &ForwardPlan, raw_tail: &str, req: Request) -> Response {
    let url = match forward_target(&plan.base_uri, plan.base_plain.as_ref(), raw_tail, req.uri().query()) {
        Ok(u) => u,
        Err(why) => {
            return Problem::new(StatusCode::BAD_REQUEST, "Bad Request", format!("forward path rejected: {why}"))
                .into_response();
        }
    };
    let (parts, body) = req.into_parts();
    // One pass over the caller's fields: the trusted ones are copied (the plan holds no
    // hop-by-hop field, `Host` or `Content-Length`), the body's framing and type noted.
    let mut headers = HeaderMap::new();
    let (mut content_type, mut has_length, mut chunked, mut connection) = (None, false, false, false);
    for (name, value) in &parts.headers {
        if *name == header::CONTENT_TYPE {
            content_type.get_or_insert_with(|| value.clone());
        } else if *name == header::CONTENT_LENGTH {
            has_length = true;
        } else if *name == header::TRANSFER_ENCODING {
            chunked = true;
        } else if *name == header::CONNECTION {
            connection = true;
        }
        if plan.trusted_headers.contains(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    // Those the caller's `Connection` names are for this hop only too.
    if connection {
        let named =
            framing::named_by_connection(parts.headers.get_all(header::CONNECTION).iter().map(|v| v.as_bytes()));
        for name in named {
            headers.remove(name);
        }
    }
    let inputs = Inputs::new();
    let scope = Scope { args: None, inputs: &inputs, steps: None, redact: engine.is_dry_run() };
    for (name, tpl) in &plan.headers {
        if let Ok(v) = HeaderValue::from_str(&tpl.render(&scope).0) {
            headers.insert(name.clone(), v);
        }
    }
    let auth = plan.auth.as_ref().and_then(|a| naftiko_engine::plan::request::render_auth(a, &scope));
    if auth.is_some() {
        headers.remove(header::AUTHORIZATION);
    }
    // The framing rules the server read the head by (a chunked body has no length).
    let length = match framing::content_length(&parts.headers) {
        _ if chunked || !has_length => None,
        Ok(n) => n,
        Err(_) => {
            return Problem::new(StatusCode::BAD_REQUEST, "Bad Request", "invalid Content-Length header")
                .into_response();
        }
    };
    let body = if chunked || length.is_some_and(|n| n > 0) {
        let stream = body.into_data_stream().map_err(std::io::Error::other);
        UpstreamBody::Stream { body: Box::pin(stream), length, content_type }
    } else if length == Some(0) {
        UpstreamBody::Bytes { bytes: Bytes::new(), content_type }
    } else {
        UpstreamBody::None
    };
    let request = UpstreamRequest {
        call: CallSite { namespace: plan.namespace.clone(), operation: "forward".into() },
        method: parts.method.clone(),
        // Shown with `***` for the base's bind values.
        shown_url: plan.shown_url(&url),
        url,
        query: Vec::new(),
        headers,
        body,
        auth,
    };
    if engine.is_dry_run() {
        let mut r = Response::new(Body::from(engine.describe(&request).to_string()));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return r;
    }
    // Pinned where it is made: the exchange's future is kilobytes, and awaiting it by value
    // would copy it.
    match std::pin::pin!(engine.executor().send_streaming(request)).await {
        Ok(upstream) => {
            let body = match upstream.body {
                StreamingBody::Whole(bytes) => Body::from(bytes),
                StreamingBody::Stream(stream) => Body::from_stream(stream),
            };
            let mut resp = Response::new(body);
            *resp.status_mut() = upstream.status;
            // End-to-end only: the executor took the hop-by-hop ones. Fields as read go to the
            // response writer as they are (see `server::respond`).
            match upstream.headers {
                ReplyHeaders::Wire(fields) => {
                    resp.extensions_mut().insert(fields);
                }
                ReplyHeaders::Map(map) => *resp.headers_mut() = map,
            }
            resp
        }
        Err(e) => invoke_error(&InvokeError::Upstream(e)).into_response(),
    }
}
