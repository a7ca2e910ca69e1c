//! The fast lane of the Streamable HTTP adapter: a plain stateless `tools/call` is answered here,
//! without rmcp's per-request service (a spawned task, channels and typed messages both ways),
//! with the upstream's JSON written into the reply as it came. Every other request — other
//! methods, sessions, notifications, batches, `_meta`, SEP-2243 `Mcp-*` headers, an `Origin`, a
//! `Host` not on the allowed list, an unknown tool, a 2026-07-28 per-request negotiation,
//! anything unusual in the envelope — goes to rmcp untouched, so the lane only ever answers what
//! rmcp would answer the same way (a test compares the two byte for byte).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::combinators::BoxBody;
use rmcp::transport::streamable_http_server::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use serde_json::{Map, Value};

use crate::McpServer;

/// Largest request body the lane reads; larger ones go to rmcp.
const MAX_BODY: u64 = 64 * 1024;

/// Protocol versions the lane answers (their results have no `resultType`, and non-object
/// results are wrapped); a request without the header is one of them (2025-03-26) for rmcp too.
const LANE_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// rmcp's service for the adapter, which the lane hands everything else to.
pub(crate) type Fallback = StreamableHttpService<McpServer, NeverSessionManager>;

/// The lane of one adapter.
pub(crate) struct FastLane {
    pub server: McpServer,
    /// `Host` values the lane accepts; `None` when any host may reach the adapter.
    pub allowed_hosts: Option<Vec<String>>,
    /// Off only to compare the lane's answers with rmcp's.
    pub enabled: bool,
}

/// A `tools/call` the lane can answer.
struct Call {
    id: Value,
    name: String,
    arguments: Map<String, Value>,
}

impl FastLane {
    /// Answers `req`, in the lane or through `fallback`.
    pub async fn serve(self: Arc<Self>, req: Request, fallback: Fallback) -> Response {
        if !self.enabled || !self.takes(req.method(), req.headers()) {
            return to_axum(fallback.handle(req).await);
        }
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_BODY as usize).await {
            Ok(b) => b,
            Err(_) => return plain(StatusCode::BAD_REQUEST, "Bad Request: the request body could not be read"),
        };
        let tool = match parse_call(&bytes) {
            Some(call) => self.server.inner.tools.get(&call.name).map(|t| (call, t)),
            None => None,
        };
        let Some((call, tool)) = tool else {
            return to_axum(fallback.handle(Request::from_parts(parts, Body::from(bytes))).await);
        };
        let reply = tool.call(&self.server.inner.engine, call.arguments, true).await;
        let mut out = Vec::with_capacity(256 + reply.text.len() * 2);
        out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        // Writing a `Value` into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &call.id);
        out.extend_from_slice(br#","result":"#);
        reply.write_result(&mut out);
        out.push(b'}');
        let mut resp = Response::new(Body::from(out));
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }

    /// Whether the request's method and headers are those of a plain stateless call.
    fn takes(&self, method: &Method, headers: &HeaderMap) -> bool {
        if method != Method::POST || headers.contains_key(header::ORIGIN) {
            return false;
        }
        if let Some(allowed) = &self.allowed_hosts {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(host)) {
                return false;
            }
        }
        let essence = |v: &str| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(essence);
        if content_type.as_deref() != Some("application/json") {
            return false;
        }
        let accepted: Vec<String> = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(essence)
            .collect();
        if !accepted.iter().any(|a| a == "application/json") || !accepted.iter().any(|a| a == "text/event-stream") {
            return false;
        }
        let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if length.is_none_or(|n| n > MAX_BODY) || headers.contains_key(header::TRANSFER_ENCODING) {
            return false;
        }
        for (name, value) in headers {
            let name = name.as_str();
            if name == "mcp-protocol-version" {
                if headers.get_all(name).iter().count() != 1
                    || !value.to_str().is_ok_and(|v| LANE_VERSIONS.contains(&v))
                {
                    return false;
                }
            } else if name.starts_with("mcp-") || name == "last-event-id" {
                return false;
            }
        }
        true
    }
}

/// The call in `body` when it is exactly `{"jsonrpc":"2.0","id":…,"method":"tools/call",
/// "params":{"name":…,"arguments":{…}}}` (arguments optional) with an integer or string id.
fn parse_call(body: &[u8]) -> Option<Call> {
    let Value::Object(mut envelope) = serde_json::from_slice::<Value>(body).ok()? else { return None };
    if envelope.len() != 4
        || envelope.get("jsonrpc")?.as_str()? != "2.0"
        || envelope.get("method")?.as_str()? != "tools/call"
    {
        return None;
    }
    let id = envelope.remove("id")?;
    let id_ok = match &id {
        Value::String(_) => true,
        Value::Number(n) => n.is_i64() || n.is_u64(),
        _ => false,
    };
    let Value::Object(mut params) = envelope.remove("params")? else { return None };
    if !id_ok || params.keys().any(|k| k != "name" && k != "arguments") {
        return None;
    }
    let Value::String(name) = params.remove("name")? else { return None };
    let arguments = match params.remove("arguments") {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return None,
    };
    Some(Call { id, name, arguments })
}

fn to_axum(resp: http::Response<BoxBody<Bytes, Infallible>>) -> Response {
    resp.map(Body::new)
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = status;
    resp
}

#[cfg(test)]
mod tests {
    use super::parse_call;

    #[test]
    fn only_plain_calls_are_taken() {
        let call =
            parse_call(br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t","arguments":{"a":1}}}"#)
                .expect("a plain call");
        assert_eq!((call.id.as_i64(), call.name.as_str(), call.arguments.len()), (Some(7), "t", 1));
        assert!(parse_call(br#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"t"}}"#).is_some());
        for other in [
            &br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#[..],
            br#"{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"t"}}"#,
            br#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"t"}}"#,
            br#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"t"}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":{"progressToken":1}}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":[1]}}"#,
            br#"{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"t"}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"},"extra":1}"#,
            br#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}]"#,
            b"not json",
        ] {
            assert!(parse_call(other).is_none(), "{}", String::from_utf8_lossy(other));
        }
    }
}
