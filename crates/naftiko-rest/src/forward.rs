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
use naftiko_engine::expr::Scope;
use naftiko_engine::http::{
    Plain, ReplyHeaders, StreamingBody, UpstreamBody, UpstreamRequest, framing, parse_url, plain_rest, plain_url,
};
use naftiko_engine::inbound::{has_escape, path_decode};
use naftiko_engine::inputs::Inputs;
use naftiko_engine::invoke::{Engine, InvokeError};
use naftiko_engine::plan::ForwardPlan;

use crate::problem::{Problem, invoke_error};

/// Forwards one request.
pub(crate) async fn forward(engine: &Engine, plan: &ForwardPlan, raw_tail: &str, req: Request) -> Response {
    let url = match target_url(&plan.base_uri, plan.base_plain.as_ref(), raw_tail, req.uri().query()) {
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

/// The target URL for a tail, or why the tail is refused. `base_plain` is `base` taken apart
/// ([`plain_url`]) when it is in plain form.
pub(crate) fn target_url(
    base: &str,
    base_plain: Option<&Plain<'_>>,
    raw_tail: &str,
    query: Option<&str>,
) -> Result<String, String> {
    if has_escape(raw_tail, &[b"2f", b"5c"]) {
        return Err("encoded slashes are not allowed".into());
    }
    tail_refusal(&path_decode(raw_tail)).map_or(Ok(()), |why| Err(why.to_string()))?;
    let mut url = String::with_capacity(base.len() + raw_tail.len() + query.map_or(0, |q| q.len() + 2));
    url.push_str(base.trim_end_matches('/'));
    if !raw_tail.is_empty() {
        url.push('/');
        url.push_str(raw_tail);
    }
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(q);
    }
    // Containment: same scheme, host and port, and the base path as a prefix. A base in normal
    // form (without a query) extended by a tail and query in normal form holds both as built:
    // the base's authority and path come first, unchanged, and nothing appended is resolved.
    // Other URLs in normal form are compared as written; the rest through the full parser.
    let base_end = base.trim_end_matches('/').len();
    if base_plain.is_some_and(|b| !b.path_and_query.contains('?')) && plain_rest(&url[base_end..]) {
        return Ok(url);
    }
    let (same_origin, inside) = match (plain_url(&url), base_plain) {
        (Some(target), Some(base)) => {
            let (t, b) = (&target.origin, &base.origin);
            let same = std::sync::Arc::ptr_eq(t, b) || (t.https == b.https && t.host == b.host && t.port == b.port);
            let path = |p: &'_ str| -> usize { p.bytes().position(|c| c == b'?').unwrap_or(p.len()) };
            let (tp, bp) = (&target.path_and_query, &base.path_and_query);
            (same, contained(&tp[..path(tp)], &bp[..path(bp)]))
        }
        _ => {
            let target = parse_url(&url).map_err(|e| format!("invalid target URL: {e}"))?;
            let base_url = parse_url(base).map_err(|e| format!("invalid base URI: {e}"))?;
            let same = target.scheme() == base_url.scheme()
                && target.host_str() == base_url.host_str()
                && target.port_or_known_default() == base_url.port_or_known_default();
            (same, contained(target.path(), base_url.path()))
        }
    };
    if !same_origin || !inside {
        return Err("the path leaves the target API".into());
    }
    Ok(url)
}

/// Why a decoded tail may not be appended to the base URI, if it may not: read in one pass, the
/// reasons given in a fixed order whatever their places in the tail.
fn tail_refusal(decoded: &str) -> Option<&'static str> {
    let bytes = decoded.as_bytes();
    let (mut backslash, mut empty_segment, mut dot_segment, mut at, mut scheme) = (false, false, false, false, false);
    let mut start = 0;
    // A `/` after the last byte closes the last segment, which alone may be empty (`a/`).
    for (i, &b) in bytes.iter().chain(std::iter::once(&b'/')).enumerate() {
        match b {
            b'/' => {
                let segment = &bytes[start..i];
                empty_segment |= segment.is_empty() && i < bytes.len();
                dot_segment |= segment == b"." || segment == b"..";
                start = i + 1;
            }
            b'\\' => backslash = true,
            b'@' => at = true,
            b':' if start == 0 => scheme = true,
            _ => {}
        }
    }
    [
        (backslash, "backslashes are not allowed"),
        (empty_segment, "empty path segments (`//`) are not allowed"),
        (dot_segment, "`.` and `..` segments are not allowed"),
        (at, "`@` is not allowed"),
        (scheme, "absolute URLs are not allowed"),
    ]
    .into_iter()
    .find_map(|(refused, why)| refused.then_some(why))
}

/// Whether `path` is `base` or below it.
fn contained(path: &str, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    base.is_empty() || path.strip_prefix(base).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://api.example.com/v1";

    fn target_url(base: &str, raw_tail: &str, query: Option<&str>) -> Result<String, String> {
        let plain = plain_url(base);
        let via_plain = super::target_url(base, plain.as_ref(), raw_tail, query);
        // Taken apart once or parsed each time, the base gives the same answer.
        assert_eq!(via_plain, super::target_url(base, None, raw_tail, query), "{base} {raw_tail}");
        via_plain
    }

    #[test]
    fn tails_and_queries_are_appended() {
        assert_eq!(
            target_url(BASE, "pages/abc", Some("x=1&y=2")).unwrap(),
            "https://api.example.com/v1/pages/abc?x=1&y=2"
        );
        assert_eq!(
            target_url("https://api.example.com/v1/", "a%20b", None).unwrap(),
            "https://api.example.com/v1/a%20b"
        );
        assert_eq!(target_url(BASE, "", None).unwrap(), BASE);
        assert_eq!(target_url(BASE, "a/b/", None).unwrap(), "https://api.example.com/v1/a/b/");
        assert_eq!(target_url(BASE, "a/b:c/d.e/..f", None).unwrap(), "https://api.example.com/v1/a/b:c/d.e/..f");
        // Bytes the parser would encode, and dots in the query (never resolved): the answers
        // of the built URL and of the parser agree (the helper compares them).
        assert_eq!(target_url(BASE, "a|b", Some("p=../x")).unwrap(), "https://api.example.com/v1/a|b?p=../x");
        assert_eq!(target_url(BASE, "caf%C3%A9", None).unwrap(), "https://api.example.com/v1/caf%C3%A9");
        // A base with a query takes the checked way (the tail lands in its query, inside it).
        assert_eq!(
            target_url("https://api.example.com/v1?key=1", "x", None).unwrap(),
            "https://api.example.com/v1?key=1/x"
        );
        assert_eq!(
            target_url("http://127.0.0.1:9000", "x", Some("")).unwrap(),
            "http://127.0.0.1:9000/x",
            "no base path, an empty query"
        );
    }

    #[test]
    fn escapes_are_rejected() {
        for tail in [
            "../admin",
            "a/../../b",
            "%2e%2e/admin",
            "%2E%2e/x",
            "a%2fb",
            "a%2F..%2Fb",
            "/evil.com/x",
            "a//b",
            "user@evil.com/x",
            "http:%2F%2Fevil.com",
            "https:",
            "..",
            "a\\..\\b",
            "a%5cb",
            "/",
            "a//",
            "a/./b",
            "x:y/z",
        ] {
            assert!(target_url(BASE, tail, None).is_err(), "{tail} should be rejected");
        }
    }
}
