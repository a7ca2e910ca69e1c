//! Screening of incoming JSON-RPC messages, shared by Streamable HTTP and stdio: what rmcp
//! would answer badly (an HTTP 415 in plain text for a body that is not a request, `-32601`
//! for a `tools/call` whose params have the wrong shape) is answered here, by the book, before
//! rmcp sees the message; everything else goes on to rmcp exactly as it came.
//!
//! - Not JSON, empty, truncated, or nested deeper than serde_json's limit (128) → `-32700`.
//! - Not a request object (`jsonrpc` other than `"2.0"`, `method` missing or not a string, an
//!   `id` that is not a string or a 64-bit signed integer, `params` neither object nor array,
//!   `[]`) → `-32600`, with the id echoed when it was a valid one.
//! - `tools/call`, `prompts/get` and `resources/read` whose params lack the name (uri) or carry
//!   arguments that are not an object → `-32602`.
//! - A batch (a JSON array) is a list of messages only for protocol version 2025-03-26 (the one
//!   revision that had them); any other version gets `-32600`.
//!
//! Over HTTP each error's status follows `spec/ikanos/MCP-2026-07-28.md` ([`http_status`]).

use http::StatusCode;
use serde_json::{Map, Value, json};

/// JSON-RPC "parse error": the message is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC "invalid request": JSON, but not a request object.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC "method not found".
pub const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC "invalid params".
pub const INVALID_PARAMS: i64 = -32602;
/// JSON-RPC "internal error".
pub const INTERNAL_ERROR: i64 = -32603;

/// The protocol version of a Streamable HTTP request without `MCP-Protocol-Version` (the MCP
/// specification says to assume it), and of a stdio client that has not said otherwise.
pub const ASSUMED_VERSION: &str = "2025-03-26";

/// The protocol versions whose clients may send JSON-RPC batches (2025-06-18 removed them).
const BATCH_VERSIONS: [&str; 1] = ["2025-03-26"];

/// The `_meta` key carrying a 2026-07-28 request's protocol version.
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

/// The HTTP status of a JSON-RPC error answered over Streamable HTTP (the table of
/// `spec/ikanos/MCP-2026-07-28.md`): malformed input 400, unknown method 404, internal 500.
pub fn http_status(code: i64) -> StatusCode {
    match code {
        PARSE_ERROR | INVALID_REQUEST | INVALID_PARAMS | -32020 | -32021 | -32022 => StatusCode::BAD_REQUEST,
        METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        INTERNAL_ERROR => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::OK,
    }
}

/// An error answered by naftiko instead of rmcp.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The request's id when it had a valid one, else `null`.
    pub id: Value,
    /// The JSON-RPC error code.
    pub code: i64,
    /// What is wrong, for the client's author.
    pub message: String,
}

impl Rejection {
    /// A rejection with `code` for the request `id` (`null` when unknown).
    pub fn new(id: Value, code: i64, message: impl Into<String>) -> Rejection {
        Rejection { id, code, message: message.into() }
    }

    /// The JSON-RPC error response.
    pub fn to_json(&self) -> Value {
        json!({"jsonrpc": "2.0", "id": self.id, "error": {"code": self.code, "message": self.message}})
    }

    /// The error response as one line of JSON text.
    pub fn to_line(&self) -> String {
        self.to_json().to_string()
    }

    /// Its status over Streamable HTTP.
    pub fn http_status(&self) -> StatusCode {
        http_status(self.code)
    }
}

/// What kind of message passed the screening.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A request, answered under this id.
    Request {
        /// The id (a string or an integer).
        id: Value,
    },
    /// A notification: never answered.
    Notification,
    /// A client's response (or error response) to a server request.
    Response,
}

/// One message of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    /// For rmcp: the message and its kind.
    Pass(Value, Kind),
    /// Answered here, in the batch's reply.
    Rejected(Rejection),
}

/// The outcome of screening one JSON text (an HTTP body, a stdio line).
#[derive(Debug, Clone, PartialEq)]
pub enum Screened {
    /// One message for rmcp, to be handed on as it came (the parsed value, for a look at it).
    Single(Value, Kind),
    /// A batch the protocol version allows: each element, in order.
    Batch(Vec<Element>),
    /// Answered here with this error.
    Rejected(Rejection),
}

/// Parses `bytes` as one JSON value. serde_json refuses nesting deeper than 128 levels without
/// recursing further, so a 100 000-deep body is a quick parse error, not a stack overflow.
pub fn parse(bytes: &[u8]) -> Result<Value, Rejection> {
    let text = bytes.trim_ascii();
    if text.is_empty() {
        return Err(Rejection::new(Value::Null, PARSE_ERROR, "Parse error: the message is empty"));
    }
    serde_json::from_slice(text).map_err(|e| Rejection::new(Value::Null, PARSE_ERROR, format!("Parse error: {e}")))
}

/// Screens one JSON text; `version` is the client's protocol version (it decides batches).
pub fn screen(bytes: &[u8], version: &str) -> Screened {
    match parse(bytes) {
        Ok(value) => screen_value(value, version),
        Err(r) => Screened::Rejected(r),
    }
}

/// Screens one parsed JSON value; `version` decides whether an array is a batch.
pub fn screen_value(value: Value, version: &str) -> Screened {
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Screened::Rejected(Rejection::new(
                    Value::Null,
                    INVALID_REQUEST,
                    "Invalid request: an empty array is not a request",
                ));
            }
            if !batches_allowed(version) {
                return Screened::Rejected(Rejection::new(
                    Value::Null,
                    INVALID_REQUEST,
                    format!(
                        "Invalid request: batches are not supported by protocol version {version} (send one message at a time)"
                    ),
                ));
            }
            Screened::Batch(
                items
                    .into_iter()
                    .map(|item| match check(&item) {
                        Ok(kind) => Element::Pass(item, kind),
                        Err(r) => Element::Rejected(r),
                    })
                    .collect(),
            )
        }
        value => match check(&value) {
            Ok(kind) => Screened::Single(value, kind),
            Err(r) => Screened::Rejected(r),
        },
    }
}

/// Whether a client speaking `version` may send batches.
pub fn batches_allowed(version: &str) -> bool {
    BATCH_VERSIONS.contains(&version)
}

/// The protocol version a message declares in its `_meta` (2026-07-28 requests do).
pub fn meta_version(message: &Value) -> Option<&str> {
    message.get("params")?.get("_meta")?.get(META_VERSION)?.as_str()
}

/// Whether `id` is one JSON-RPC allows and rmcp carries: a string or an integer in the signed
/// 64-bit range (no fractions, no `1.0`, nothing beyond `i64`).
pub fn valid_id(id: &Value) -> bool {
    match id {
        Value::String(_) => true,
        Value::Number(n) => n.is_i64(),
        _ => false,
    }
}

/// Checks one message (not a batch).
fn check(value: &Value) -> Result<Kind, Rejection> {
    let invalid = |id: &Value, message: String| Rejection::new(id.clone(), INVALID_REQUEST, message);
    let Value::Object(m) = value else {
        return Err(invalid(&Value::Null, "Invalid request: a JSON-RPC message is an object".into()));
    };
    let id = m.get("id");
    let id_ok = id.is_some_and(valid_id);
    // The id to answer with: the request's when it is a valid one.
    let echo = if id_ok { id.cloned().unwrap_or(Value::Null) } else { Value::Null };
    if m.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(&echo, "Invalid request: `jsonrpc` must be \"2.0\"".into()));
    }
    let method = match m.get("method") {
        Some(Value::String(method)) => method,
        Some(_) => return Err(invalid(&echo, "Invalid request: `method` must be a string".into())),
        None if m.contains_key("result") || m.contains_key("error") => {
            // A client's answer to a server request: an error may answer an unknown id (null).
            let error_without_id = m.contains_key("error") && id.is_none_or(Value::is_null);
            return if id_ok || error_without_id {
                Ok(Kind::Response)
            } else {
                Err(invalid(&Value::Null, format!("Invalid request: {}", id_problem(id))))
            };
        }
        None => return Err(invalid(&echo, "Invalid request: `method` is missing".into())),
    };
    if m.contains_key("result") || m.contains_key("error") {
        return Err(invalid(&echo, "Invalid request: a request has no `result` or `error`".into()));
    }
    if id.is_some() && !id_ok {
        return Err(invalid(&Value::Null, format!("Invalid request: {}", id_problem(id))));
    }
    let params = m.get("params");
    if params.is_some_and(|p| !p.is_object() && !p.is_array()) {
        return Err(invalid(&echo, "Invalid request: `params` must be an object or an array".into()));
    }
    if !id_ok {
        return Ok(Kind::Notification);
    }
    if let Some(problem) = params_problem(method, params) {
        return Err(Rejection::new(echo, INVALID_PARAMS, format!("Invalid params: {problem}")));
    }
    Ok(Kind::Request { id: echo })
}

fn id_problem(id: Option<&Value>) -> String {
    let what = match id {
        None => "missing",
        Some(Value::Null) => "null",
        Some(Value::Number(n)) if n.is_u64() => "an integer beyond the signed 64-bit range",
        Some(Value::Number(_)) => "not an integer",
        Some(Value::Bool(_)) => "a boolean",
        Some(Value::Object(_)) => "an object",
        Some(Value::Array(_)) => "an array",
        Some(Value::String(_)) => "a string",
    };
    format!("`id` must be a string or an integer (in the signed 64-bit range), got {what}")
}

/// What is wrong with the params of the methods whose params rmcp reads into types (a wrong
/// shape there made rmcp answer "method not found").
fn params_problem(method: &str, params: Option<&Value>) -> Option<String> {
    let (key, has_arguments) = match method {
        "tools/call" | "prompts/get" => ("name", true),
        "resources/read" => ("uri", false),
        _ => return None,
    };
    let Some(Value::Object(params)) = params else {
        return Some(format!("`{method}` needs `params`, an object with `{key}`"));
    };
    if let Some(problem) = string_member(params, key) {
        return Some(format!("`{method}`: {problem}"));
    }
    // `null` arguments are read as none (as rmcp always has).
    if has_arguments && params.get("arguments").is_some_and(|a| !a.is_object() && !a.is_null()) {
        return Some(format!("`{method}`: `arguments` must be an object"));
    }
    None
}

fn string_member(params: &Map<String, Value>, key: &str) -> Option<String> {
    match params.get(key) {
        Some(Value::String(_)) => None,
        Some(_) => Some(format!("`{key}` must be a string")),
        None => Some(format!("`{key}` is missing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V_NEW: &str = "2025-06-18";

    fn rejected(text: &str) -> Rejection {
        match screen(text.as_bytes(), V_NEW) {
            Screened::Rejected(r) => r,
            other => panic!("{text}: not rejected: {other:?}"),
        }
    }

    fn passes(text: &str) -> Kind {
        match screen(text.as_bytes(), V_NEW) {
            Screened::Single(_, kind) => kind,
            other => panic!("{text}: not passed: {other:?}"),
        }
    }

    #[test]
    fn what_is_not_json_is_a_parse_error() {
        for text in ["", "   \n", "not json", "{\"jsonrpc\": \"2.0\", \"id\": 1", "{\"a\":1}}", "\u{feff}{}"] {
            let r = rejected(text);
            assert_eq!((r.code, &r.id), (PARSE_ERROR, &Value::Null), "{text:?}");
            assert_eq!(r.http_status(), StatusCode::BAD_REQUEST);
        }
        assert!(rejected(&"[".repeat(100_000)).message.contains("recursion limit"));
        assert!(rejected(&format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000))).code == PARSE_ERROR);
        assert!(rejected(&format!("{}{}", "[".repeat(200), "]".repeat(200))).code == PARSE_ERROR);
    }

    #[test]
    fn what_is_not_a_request_object_is_an_invalid_request() {
        let cases: &[(&str, Value)] = &[
            (r#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#, json!(1)),
            (r#"{"id":"a","method":"tools/list"}"#, json!("a")),
            (r#"{"jsonrpc":2.0,"id":1,"method":"tools/list"}"#, json!(1)),
            (r#"{"jsonrpc":"2.0","id":1}"#, json!(1)),
            (r#"{"jsonrpc":"2.0","id":1,"method":5}"#, json!(1)),
            (r#"{"jsonrpc":"2.0","id":1,"method":null}"#, json!(1)),
            (r#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":1.0,"method":"tools/list"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":1e3,"method":"tools/list"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":true,"method":"tools/list"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":[1],"method":"tools/list"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"tools/list"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":99999999999999999999999999,"method":"tools/list"}"#, Value::Null),
            (r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":"x"}"#, json!(1)),
            (r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":3}"#, json!(1)),
            (r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":null}"#, json!(1)),
            (r#"{"jsonrpc":"2.0","id":1,"result":{},"method":"x"}"#, json!(1)),
            (r#"{"jsonrpc":"2.0","id":1.5,"result":{}}"#, Value::Null),
            ("[]", Value::Null),
            ("1", Value::Null),
            ("\"tools/list\"", Value::Null),
            ("null", Value::Null),
        ];
        for (text, id) in cases {
            let r = rejected(text);
            assert_eq!((r.code, &r.id), (INVALID_REQUEST, id), "{text}: {r:?}");
            assert_eq!(r.http_status(), StatusCode::BAD_REQUEST);
        }
        assert!(rejected(r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#).message.contains("not an integer"));
        assert!(rejected(r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"x"}"#).message.contains("64-bit"));
    }

    #[test]
    fn tools_prompts_and_resources_params_are_checked() {
        let cases = [
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call"}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":[]}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":7}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","arguments":"{}"}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","arguments":[1]}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"p","arguments":1}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":["x"]}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"resources/read"}"#,
        ];
        for text in cases {
            let r = rejected(text);
            assert_eq!((r.code, &r.id), (INVALID_PARAMS, &json!(3)), "{text}: {r:?}");
            assert_eq!(r.http_status(), StatusCode::BAD_REQUEST);
        }
        assert!(rejected(cases[3]).message.contains("`name` must be a string"), "{:?}", rejected(cases[3]));
        assert!(rejected(cases[4]).message.contains("`arguments` must be an object"));
        for text in [
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t"}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","arguments":null}}"#,
            r#"{"jsonrpc":"2.0","id":"x","method":"prompts/get","params":{"name":"p","arguments":{"a":"b"}}}"#,
            r#"{"jsonrpc":"2.0","id":-4,"method":"resources/read","params":{"uri":"docs://x"}}"#,
        ] {
            assert!(matches!(passes(text), Kind::Request { .. }), "{text}");
        }
    }

    #[test]
    fn valid_messages_pass_as_they_are() {
        assert_eq!(passes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#), Kind::Request { id: json!(1) });
        assert_eq!(
            passes(r#"{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{}}"#),
            Kind::Request { id: json!("a") }
        );
        assert_eq!(
            passes(r#"{"jsonrpc":"2.0","id":-9223372036854775808,"method":"no/such/method","params":[1]}"#),
            Kind::Request { id: json!(i64::MIN) }
        );
        // Notifications are never answered, whatever their params.
        assert_eq!(passes(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#), Kind::Notification);
        assert_eq!(passes(r#"{"jsonrpc":"2.0","method":"tools/call"}"#), Kind::Notification);
        // A client's answers to server requests go to rmcp.
        assert_eq!(passes(r#"{"jsonrpc":"2.0","id":4,"result":{}}"#), Kind::Response);
        assert_eq!(passes(r#"{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"m"}}"#), Kind::Response);
        // Depth below the limit is fine.
        let deep = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"t","arguments":{{"a":{}1{}}}}}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(matches!(passes(&deep), Kind::Request { .. }));
    }

    #[test]
    fn batches_depend_on_the_protocol_version() {
        let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"tools/call"},5]"#;
        for version in ["2024-11-05", "2025-06-18", "2025-11-25", "2026-07-28"] {
            let Screened::Rejected(r) = screen(batch.as_bytes(), version) else { panic!("{version}") };
            assert_eq!((r.code, &r.id), (INVALID_REQUEST, &Value::Null));
            assert!(r.message.contains(&format!("not supported by protocol version {version}")), "{r:?}");
        }
        let Screened::Batch(elements) = screen(batch.as_bytes(), ASSUMED_VERSION) else { panic!("a batch") };
        assert_eq!(elements.len(), 4);
        assert!(matches!(&elements[0], Element::Pass(_, Kind::Request { id }) if id == &json!(1)));
        assert!(matches!(&elements[1], Element::Pass(_, Kind::Notification)));
        assert!(matches!(&elements[2], Element::Rejected(r) if r.code == INVALID_PARAMS && r.id == json!(2)));
        assert!(matches!(&elements[3], Element::Rejected(r) if r.code == INVALID_REQUEST && r.id.is_null()));
        // `[]` is one invalid request at every version.
        assert!(matches!(screen(b"[]", ASSUMED_VERSION), Screened::Rejected(r) if r.code == INVALID_REQUEST));
    }

    #[test]
    fn errors_map_to_http_statuses_and_lines() {
        assert_eq!(http_status(METHOD_NOT_FOUND), StatusCode::NOT_FOUND);
        assert_eq!(http_status(INTERNAL_ERROR), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(http_status(-32022), StatusCode::BAD_REQUEST);
        let r = Rejection::new(json!("a"), INVALID_PARAMS, "Invalid params: x");
        assert_eq!(r.to_line(), r#"{"jsonrpc":"2.0","id":"a","error":{"code":-32602,"message":"Invalid params: x"}}"#);
        assert_eq!(meta_version(&json!({"params": {"_meta": {META_VERSION: "2026-07-28"}}})), Some("2026-07-28"));
    }
}
