//! The Streamable HTTP handler: the screening of every message, then the fast lane, then rmcp.
//!
//! Screening ([`crate::jsonrpc`]): a POST that rmcp would read (allowed `Host` and `Origin`,
//! JSON content type, JSON and SSE accepted — header problems stay rmcp's to answer) has its body
//! read once, bounded, and a body that is not a valid JSON-RPC message, or a `tools/call`,
//! `prompts/get` or `resources/read` with params of the wrong shape, is answered here with a
//! JSON-RPC error (`application/json`, the status of the protocol's table); a batch is refused
//! or, for protocol 2025-03-26, answered element by element.
//!
//! The fast lane: a plain stateless `tools/call` is answered here,
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
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use rmcp::transport::streamable_http_server::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use serde_json::{Map, Value};

use crate::McpServer;
use crate::jsonrpc::{self, Element, Kind, Rejection, Screened};

/// Largest request body the lane takes; larger ones go through the screening to rmcp.
const MAX_BODY: u64 = 64 * 1024;

/// Largest request body read at all (rmcp's own limit); a larger one is refused with 413.
pub(crate) const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// How many messages of one batch are answered at a time (a batch may hold thousands of calls).
const BATCH_CONCURRENCY: usize = 8;

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
    /// `Origin` values rmcp accepts (the screening reads bodies only for these, or none).
    pub allowed_origins: Vec<String>,
    /// Off only to compare the lane's answers with rmcp's (the screening stays on).
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
    /// Answers `req`: screened, then in the lane or through rmcp.
    pub async fn serve(self: Arc<Self>, req: Request) -> Response {
        if !self.screens(req.method(), req.headers()) {
            return to_axum(self.fallback.handle(req).await);
        }
        let (parts, body) = req.into_parts();
        let bytes = match read_body(&parts.headers, body).await {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        // A call the lane takes is a valid request: no screening (no second parse) needed.
        if let Some(resp) = self.lane(&parts, &bytes).await {
            return resp;
        }
        // The client's protocol version decides batches; without the header it is 2025-03-26.
        let version = parts.headers.get("mcp-protocol-version").map(|v| String::from_utf8_lossy(v.as_bytes()));
        let screened = jsonrpc::screen(&bytes, version.as_deref().unwrap_or(jsonrpc::ASSUMED_VERSION));
        match screened {
            Screened::Rejected(r) => error_response(&r),
            Screened::Single(_, kind) => self.rmcp(parts, bytes, &kind).await,
            Screened::Batch(elements) => self.batch(&parts, elements).await,
        }
    }

    /// Whether rmcp would read this request's body: a POST with an allowed `Host` and `Origin`
    /// (exactly as listed: anything else is left to rmcp's own checks), a JSON content type,
    /// and JSON and SSE accepted. Only then is the body screened, so that header problems keep
    /// rmcp's answers (403, 405, 406, 415).
    fn screens(&self, method: &Method, headers: &HeaderMap) -> bool {
        let origin_ok = match headers.get(header::ORIGIN) {
            None => true,
            Some(o) => o.to_str().is_ok_and(|o| self.allowed_origins.iter().any(|a| a == o)),
        };
        method == Method::POST
            && origin_ok
            && host_allowed(headers, self.allowed_hosts.as_deref())
            && json_content(headers)
            && accepts_json_and_sse(headers)
    }

    /// The lane's answer, when it takes the call (on, plain headers, a plain call of a known tool).
    async fn lane(&self, parts: &Parts, bytes: &Bytes) -> Option<Response> {
        if !self.enabled || !takes(&parts.method, &parts.headers, self.allowed_hosts.as_deref()) {
            return None;
        }
        let current = parts.headers.get("mcp-protocol-version").is_some_and(|v| v == V2026);
        let call = parse_call(bytes).filter(|call| agrees(call, current, &parts.headers))?;
        let tool = self.server.inner.tools.get(&call.name)?;
        let reply = tool.call(&self.server.inner.engine, call.arguments, !current).await;
        let mut out = Vec::with_capacity(256 + reply.text_len() * 2);
        out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        // Writing a `Value` into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &call.id);
        out.extend_from_slice(br#","result":"#);
        reply.write_result(&mut out, current);
        out.push(b'}');
        Some(json_response(StatusCode::OK, out))
    }

    /// rmcp's answer to a screened message. Should rmcp still fail to read it (a repeated key,
    /// say) it would answer 415 in plain text: that becomes a `-32600` like the screening's.
    async fn rmcp(&self, parts: Parts, bytes: Bytes, kind: &Kind) -> Response {
        let resp = self.fallback.handle(Request::from_parts(parts, Body::from(bytes))).await;
        if resp.status() != StatusCode::UNSUPPORTED_MEDIA_TYPE {
            return to_axum(resp);
        }
        let text = match resp.into_body().collect().await {
            Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
            Err(never) => match never {},
        };
        let id = match kind {
            Kind::Request { id } => id.clone(),
            _ => Value::Null,
        };
        error_response(&Rejection::new(id, jsonrpc::INVALID_REQUEST, format!("Invalid request: {text}")))
    }

    /// A 2025-03-26 batch: every element answered as if sent alone (up to [`BATCH_CONCURRENCY`]
    /// at a time), the answers to requests gathered into one array in the batch's order; only
    /// notifications → 202.
    async fn batch(&self, parts: &Parts, elements: Vec<Element>) -> Response {
        use futures_util::StreamExt;
        let replies: Vec<Option<Value>> = futures_util::stream::iter(elements)
            .map(|e| self.element(parts, e))
            .buffered(BATCH_CONCURRENCY)
            .collect()
            .await;
        let replies: Vec<Value> = replies.into_iter().flatten().collect();
        if replies.is_empty() {
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::ACCEPTED;
            return resp;
        }
        json_response(StatusCode::OK, Value::Array(replies).to_string().into_bytes())
    }

    /// One element of a batch, answered as a request of its own with the batch's headers;
    /// `None` for what gets no answer (a notification).
    async fn element(&self, parts: &Parts, element: Element) -> Option<Value> {
        let (message, kind) = match element {
            Element::Rejected(r) => return Some(r.to_json()),
            Element::Pass(message, kind) => (message, kind),
        };
        let body = Bytes::from(message.to_string());
        let mut headers = parts.headers.clone();
        headers.remove(header::TRANSFER_ENCODING);
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        let mut req = Request::new(());
        *req.method_mut() = parts.method.clone();
        *req.uri_mut() = parts.uri.clone();
        *req.version_mut() = parts.version;
        *req.headers_mut() = headers;
        *req.extensions_mut() = parts.extensions.clone();
        let (one, ()) = req.into_parts();
        let resp = match self.lane(&one, &body).await {
            Some(resp) => resp,
            None => self.rmcp(one, body, &kind).await,
        };
        let id = match &kind {
            Kind::Request { id } => id.clone(),
            _ => Value::Null,
        };
        let status = resp.status();
        if status == StatusCode::ACCEPTED {
            return None;
        }
        let sse =
            resp.headers().get(header::CONTENT_TYPE).is_some_and(|ct| ct.as_bytes().starts_with(b"text/event-stream"));
        // Our own answer, already in memory (or rmcp's, as bounded as ours).
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap_or_default();
        let reply = if sse {
            // The answer is the event carrying the response (any notifications before it drop).
            String::from_utf8_lossy(&bytes)
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
                .find(|v| v.get("id") == Some(&id) && (v.get("result").is_some() || v.get("error").is_some()))
        } else {
            serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
        };
        Some(reply.unwrap_or_else(|| {
            Rejection::new(
                id,
                jsonrpc::INTERNAL_ERROR,
                format!("Internal error: this message was answered with HTTP {status}"),
            )
            .to_json()
        }))
    }
}

/// Reads the whole body, at most [`MAX_MESSAGE`] bytes (413, a JSON-RPC error, beyond).
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let too_large = || {
        let r = Rejection::new(
            Value::Null,
            jsonrpc::INVALID_REQUEST,
            format!("Invalid request: the request body exceeds {MAX_MESSAGE} bytes"),
        );
        json_response(StatusCode::PAYLOAD_TOO_LARGE, r.to_line().into_bytes())
    };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_MESSAGE as u64) {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, MAX_MESSAGE).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = source {
                if s.is::<http_body_util::LengthLimitError>() {
                    return Err(too_large());
                }
                source = s.source();
            }
            let r = Rejection::new(
                Value::Null,
                jsonrpc::PARSE_ERROR,
                format!("Parse error: the request body could not be read: {e}"),
            );
            Err(error_response(&r))
        }
    }
}

fn essence(v: &str) -> &str {
    v.split(';').next().unwrap_or("").trim()
}

/// Whether `Host` is on the list (`None`: any host may reach the adapter).
fn host_allowed(headers: &HeaderMap, allowed_hosts: Option<&[String]>) -> bool {
    let Some(allowed) = allowed_hosts else { return true };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    allowed.iter().any(|a| a.eq_ignore_ascii_case(host))
}

/// Whether the body is declared `application/json`.
fn json_content(headers: &HeaderMap) -> bool {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(essence);
    content_type.is_some_and(|ct| ct.eq_ignore_ascii_case("application/json"))
}

/// Whether the client accepts both JSON and SSE, as Streamable HTTP requires.
fn accepts_json_and_sse(headers: &HeaderMap) -> bool {
    let accepts = |wanted: &str| {
        headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|a| essence(a).eq_ignore_ascii_case(wanted))
    };
    accepts("application/json") && accepts("text/event-stream")
}

/// Whether the request's method and headers are those of a plain stateless call.
fn takes(method: &Method, headers: &HeaderMap, allowed_hosts: Option<&[String]>) -> bool {
    if method != Method::POST || headers.contains_key(header::ORIGIN) || !host_allowed(headers, allowed_hosts) {
        return false;
    }
    if !json_content(headers) || !accepts_json_and_sse(headers) {
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
/// "params":{"name":…,"arguments":{…},"_meta":{…}}}` (arguments and `_meta` optional) with a
/// string id or an integer in the signed 64-bit range (the ids rmcp carries). Read into typed
/// fields (no tree for the envelope); any other key, a repeated key or another shape is not a
/// plain call.
fn parse_call(body: &[u8]) -> Option<Call> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let Envelope { jsonrpc, id, method, params } = from_object::<Envelope<'_>, _>(&mut de).ok()?;
    de.end().ok()?;
    let id_ok = match &id {
        Value::String(_) => true,
        Value::Number(n) => n.is_i64(),
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
    #[serde(deserialize_with = "from_object")]
    params: Params,
}

/// Reads a `T` from a JSON object only: serde's derived structs also read arrays, by position,
/// which would make `["2.0", 1, "tools/call", …]` or `"params": ["t"]` a call.
fn from_object<'de, T: serde::Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    struct Object<T>(std::marker::PhantomData<T>);
    impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(Object(std::marker::PhantomData))
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

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// A JSON-RPC error answered here, with the status of the protocol's table.
fn error_response(r: &Rejection) -> Response {
    json_response(r.http_status(), r.to_line().into_bytes())
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
            br#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"tools/call","params":{"name":"t"}}"#,
            br#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"t"}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":[1]}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","task":{}}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":[1]}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["t"]}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["t",{}]}"#,
            br#"["2.0",1,"tools/call",{"name":"t"}]"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}} {}"#,
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
