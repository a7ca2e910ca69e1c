//! The fast lane of the Streamable HTTP adapter: a plain stateless `tools/call` is answered here,
//! without rmcp's per-request service (a spawned task, channels and typed messages both ways),
//! with the upstream's JSON written into the reply as it came. The lane takes a call from a
//! client of any known protocol version: before 2026-07-28 without `_meta`; at 2026-07-28 with
//! the per-request `_meta` (protocol version, client info, capabilities) and the `Mcp-Method` /
//! `Mcp-Name` headers agreeing with the body. Every other request — other methods, sessions,
//! notifications, batches, other `_meta` or `Mcp-*` headers, an `Origin`, a `Host` not on the
//! allowed list, an unknown tool, anything unusual in the envelope — goes to rmcp untouched, so
//! the lane only ever answers what rmcp would answer the same way (a test compares the two).

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

/// Protocol versions before 2026-07-28 (their results have no `resultType`, and non-object
/// results are wrapped); a request without the header is one of them (2025-03-26) for rmcp too.
const OLDER_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// The stateless protocol, negotiated per request in `_meta`.
const V2026: &str = "2026-07-28";

/// The `_meta` keys of a 2026-07-28 request the lane knows.
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_CLIENT: &str = "io.modelcontextprotocol/clientInfo";

/// rmcp's service for the adapter, which the lane hands everything else to.
pub(crate) type Fallback = StreamableHttpService<McpServer, NeverSessionManager>;

/// The lane of one adapter.
pub(crate) struct FastLane {
    pub server: McpServer,
    /// `Host` values the lane accepts; `None` when any host may reach the adapter.
    pub allowed_hosts: Option<Vec<String>>,
    /// Off only to compare the lane's answers with rmcp's.
    pub enabled: bool,
    /// rmcp, for every request the lane does not take.
    pub fallback: Fallback,
}

/// A `tools/call` the lane can answer.
struct Call {
    id: Value,
    name: String,
    arguments: Map<String, Value>,
    meta: Option<Map<String, Value>>,
}

impl FastLane {
    /// Answers `req`, in the lane or through rmcp.
    pub async fn serve(self: Arc<Self>, req: Request) -> Response {
        let fallback = &self.fallback;
        let current = req.headers().get("mcp-protocol-version").is_some_and(|v| v == V2026);
        if !self.enabled || !takes(req.method(), req.headers(), self.allowed_hosts.as_deref()) {
            return to_axum(fallback.handle(req).await);
        }
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_BODY as usize).await {
            Ok(b) => b,
            Err(_) => return plain(StatusCode::BAD_REQUEST, "Bad Request: the request body could not be read"),
        };
        let tool = match parse_call(&bytes) {
            Some(call) if agrees(&call, current, &parts.headers) => {
                self.server.inner.tools.get(&call.name).map(|t| (call, t))
            }
            _ => None,
        };
        let Some((call, tool)) = tool else {
            return to_axum(fallback.handle(Request::from_parts(parts, Body::from(bytes))).await);
        };
        let reply = tool.call(&self.server.inner.engine, call.arguments, !current).await;
        let mut out = Vec::with_capacity(256 + reply.text_len() * 2);
        out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        // Writing a `Value` into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &call.id);
        out.extend_from_slice(br#","result":"#);
        reply.write_result(&mut out, current);
        out.push(b'}');
        let mut resp = Response::new(Body::from(out));
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }
}

/// Whether the request's method and headers are those of a plain stateless call.
fn takes(method: &Method, headers: &HeaderMap, allowed_hosts: Option<&[String]>) -> bool {
    if method != Method::POST || headers.contains_key(header::ORIGIN) {
        return false;
    }
    if let Some(allowed) = allowed_hosts {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(host)) {
            return false;
        }
    }
    fn essence(v: &str) -> &str {
        v.split(';').next().unwrap_or("").trim()
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(essence);
    if !content_type.is_some_and(|ct| ct.eq_ignore_ascii_case("application/json")) {
        return false;
    }
    let accepts = |wanted: &str| {
        headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|a| essence(a).eq_ignore_ascii_case(wanted))
    };
    if !accepts("application/json") || !accepts("text/event-stream") {
        return false;
    }
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if length.is_none_or(|n| n > MAX_BODY) || headers.contains_key(header::TRANSFER_ENCODING) {
        return false;
    }
    let version = headers.get("mcp-protocol-version").map(|v| v.to_str().unwrap_or(""));
    let current = version == Some(V2026);
    for name in headers.keys() {
        let name = name.as_str();
        let single = headers.get_all(name).iter().count() == 1;
        let known = match name {
            "mcp-protocol-version" => single && (current || version.is_some_and(|v| OLDER_VERSIONS.contains(&v))),
            "mcp-method" | "mcp-name" => single && current,
            "last-event-id" => false,
            other => !other.starts_with("mcp-"),
        };
        if !known {
            return false;
        }
    }
    true
}

/// Whether the call's `_meta` and the `Mcp-Method` / `Mcp-Name` headers are what the lane
/// answers for the request's protocol: none of them before 2026-07-28; at 2026-07-28 the
/// version, client info and capabilities in `_meta`, and both headers naming the call.
fn agrees(call: &Call, current: bool, headers: &HeaderMap) -> bool {
    if !current {
        return call.meta.is_none();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(meta) = &call.meta else { return false };
    header("mcp-method") == Some("tools/call")
        && header("mcp-name") == Some(call.name.as_str())
        && meta.keys().all(|k| [META_VERSION, META_CAPABILITIES, META_CLIENT].contains(&k.as_str()))
        && meta.get(META_VERSION).and_then(Value::as_str) == Some(V2026)
        && meta.get(META_CAPABILITIES).is_some_and(Value::is_object)
        && meta.get(META_CLIENT).is_none_or(|c| {
            c.get("name").is_some_and(Value::is_string) && c.get("version").is_some_and(Value::is_string)
        })
}

/// The call in `body` when it is exactly `{"jsonrpc":"2.0","id":…,"method":"tools/call",
/// "params":{"name":…,"arguments":{…},"_meta":{…}}}` (arguments and `_meta` optional) with an
/// integer or string id. Read into typed fields (no tree for the envelope); any other key, a
/// repeated key or another shape is not a plain call.
fn parse_call(body: &[u8]) -> Option<Call> {
    let Envelope { jsonrpc, id, method, params } = serde_json::from_slice::<Envelope<'_>>(body).ok()?;
    let id_ok = match &id {
        Value::String(_) => true,
        Value::Number(n) => n.is_i64() || n.is_u64(),
        _ => false,
    };
    if jsonrpc != "2.0" || method != "tools/call" || !id_ok {
        return None;
    }
    let meta = match params.meta {
        None => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => return None,
    };
    let arguments = match params.arguments {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return None,
    };
    Some(Call { id, name: params.name, arguments, meta })
}

/// A JSON-RPC request, as the lane reads it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    jsonrpc: std::borrow::Cow<'a, str>,
    id: Value,
    #[serde(borrow)]
    method: std::borrow::Cow<'a, str>,
    params: Params,
}

/// `tools/call` params; `null` values are kept as given (not read as absent).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    name: String,
    #[serde(default, deserialize_with = "present")]
    arguments: Option<Value>,
    #[serde(rename = "_meta", default, deserialize_with = "present")]
    meta: Option<Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(d).map(Some)
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
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn calls_of_every_known_version_take_the_lane() {
        let base = [
            ("host", "127.0.0.1:9090"),
            ("accept", "application/json, text/event-stream"),
            ("content-type", "application/json; charset=utf-8"),
            ("content-length", "120"),
        ];
        let hosts = vec!["127.0.0.1:9090".to_string()];
        let allowed = Some(hosts.as_slice());
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            takes(&Method::POST, &headers(&all), allowed)
        };
        assert!(with(&[]));
        assert!(with(&[("mcp-protocol-version", "2025-06-18")]));
        assert!(with(&[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "t")]));
        assert!(!with(&[("mcp-protocol-version", "2025-06-18"), ("mcp-method", "tools/call")]));
        assert!(!with(&[("mcp-protocol-version", "1999-01-01")]));
        assert!(!with(&[("mcp-session-id", "s")]));
        assert!(!with(&[("origin", "http://localhost:9090")]));
        assert!(!takes(&Method::GET, &headers(&base), allowed));
        assert!(!takes(&Method::POST, &headers(&base), Some(&["localhost:9090".to_string()])));
        assert!(takes(&Method::POST, &headers(&base), None));

        let current = headers(&[("mcp-method", "tools/call"), ("mcp-name", "t")]);
        let call = |body: &[u8]| parse_call(body).expect("a call");
        let meta = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
        let bare = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}"#;
        assert!(agrees(&call(meta), true, &current));
        assert!(agrees(&call(bare), false, &HeaderMap::new()));
        assert!(!agrees(&call(bare), true, &current));
        assert!(!agrees(&call(meta), false, &HeaderMap::new()));
        assert!(!agrees(&call(meta), true, &headers(&[("mcp-method", "tools/call"), ("mcp-name", "other")])));
    }

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
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":[1]}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","task":{}}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":[1]}}"#,
            br#"{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"t"}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"},"extra":1}"#,
            br#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}]"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":null}}"#,
            br#"{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call","params":{"name":"t"}}"#,
            br#"{"jsonrpc":"2.0","id":{"x":1},"method":"tools/call","params":{"name":"t"}}"#,
            b"not json",
        ] {
            assert!(parse_call(other).is_none(), "{}", String::from_utf8_lossy(other));
        }
    }
}
