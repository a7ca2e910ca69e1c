//! Request → invocation inputs (SEMANTICS §6).
//!
//! Declared inputs are read from their location, coerced and validated (every problem is
//! reported in one 400). Then every path variable, query parameter, top-level JSON body field
//! and header is added by name, plus `body` for the whole body; when a name occurs in several
//! places the first wins: declared input, path, query, body field, header.

use axum::body::Body;
use axum::extract::Request;
use http::StatusCode;
use http_body_util::BodyExt;
use naftiko_engine::inbound::percent_decode;
use naftiko_engine::inputs::Inputs;
use naftiko_engine::plan::RestOperation;
use naftiko_engine::plan::declared::DeclaredInput;
use naftiko_spec::model::ParamIn;
use serde_json::{Map, Value};

use crate::MAX_REQUEST_BODY;
use crate::problem::{FieldError, Problem};

/// Reads a request into inputs for `op`.
pub(crate) async fn gather(op: &RestOperation, vars: Vec<(String, String)>, req: Request) -> Result<Inputs, Problem> {
    let (parts, body) = req.into_parts();
    let query = parse_query(parts.uri.query().unwrap_or(""));
    let body = read_body(body, &parts.headers).await?;
    let mut inputs = Inputs::new();
    let mut errors = Vec::new();
    for d in &op.declared {
        let raw = raw_value(d, &vars, &query, &body, &parts.headers);
        match d.accept(raw) {
            Ok(Some(v)) => inputs.insert_if_absent(d.name.clone(), v),
            Ok(None) => {}
            Err(message) => {
                errors.push(FieldError { name: d.name.clone(), location: d.location.as_str().into(), message })
            }
        }
    }
    if !errors.is_empty() {
        let detail = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
        return Err(Problem::new(StatusCode::BAD_REQUEST, "Invalid request", detail).errors(errors));
    }
    for (k, v) in vars {
        inputs.insert_if_absent(k, Value::String(v));
    }
    for (k, values) in query {
        let v = if values.len() == 1 {
            Value::String(values.into_iter().next().unwrap_or_default())
        } else {
            Value::Array(values.into_iter().map(Value::String).collect())
        };
        inputs.insert_if_absent(k, v);
    }
    if let Some(Value::Object(fields)) = &body {
        for (k, v) in fields {
            inputs.insert_if_absent(k.clone(), v.clone());
        }
    }
    for (name, value) in &parts.headers {
        if let Ok(v) = value.to_str() {
            inputs.insert_if_absent(name.as_str().to_string(), Value::String(v.to_string()));
        }
    }
    if let Some(b) = body {
        inputs.set("body", b);
    }
    Ok(inputs)
}

fn raw_value(
    d: &DeclaredInput,
    vars: &[(String, String)],
    query: &[(String, Vec<String>)],
    body: &Option<Value>,
    headers: &http::HeaderMap,
) -> Option<Value> {
    let at = |location: ParamIn, key: &str| -> Option<Value> {
        let tolerant = |a: &str| a == key || a.replace('_', "-").eq_ignore_ascii_case(&key.replace('_', "-"));
        match location {
            ParamIn::Path => vars.iter().find(|(k, _)| tolerant(k)).map(|(_, v)| Value::String(v.clone())),
            ParamIn::Query => query.iter().find(|(k, _)| tolerant(k)).map(|(_, v)| {
                if v.len() == 1 {
                    Value::String(v[0].clone())
                } else {
                    Value::Array(v.iter().cloned().map(Value::String).collect())
                }
            }),
            ParamIn::Header => headers.get(key).and_then(|v| v.to_str().ok()).map(|v| Value::String(v.to_string())),
            ParamIn::Cookie => headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).and_then(|c| {
                c.split(';').find_map(|kv| {
                    kv.trim().split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| Value::String(v.to_string()))
                })
            }),
            ParamIn::Body | ParamIn::Environment => match body.as_ref()? {
                Value::Object(m) => m.iter().find(|(k, _)| tolerant(k)).map(|(_, v)| v.clone()),
                _ => None,
            },
        }
    };
    let found = match (d.location, &d.body_path, body) {
        (ParamIn::Body, Some(p), Some(body)) => {
            let v = p.eval(body);
            if !v.is_null() {
                Some(v)
            } else if p.first_key() == Some("body") && body.get("body").is_none() {
                // `$.body.x` written against the request: the body is `body` there.
                Some(p.eval(&serde_json::json!({ "body": body }))).filter(|v| !v.is_null())
            } else {
                None
            }
        }
        (location, _, _) => at(location, &d.key),
    };
    // Not where it was declared: take it from wherever the caller put it, like any input.
    found.or_else(|| {
        [ParamIn::Path, ParamIn::Query, ParamIn::Body, ParamIn::Header]
            .into_iter()
            .filter(|l| *l != d.location)
            .find_map(|l| at(l, &d.key))
    })
}

/// `a=1&b=2&a=3` → `[("a", ["1", "3"]), ("b", ["2"])]`, decoded, in first-seen order.
fn parse_query(q: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        match out.iter_mut().find(|(name, _)| *name == k) {
            Some((_, values)) => values.push(v),
            None => out.push((k, vec![v])),
        }
    }
    out
}

/// Reads and parses the body: JSON (invalid JSON is a 400 saying where), forms into fields,
/// anything else as text.
async fn read_body(body: Body, headers: &http::HeaderMap) -> Result<Option<Value>, Problem> {
    let bytes = match http_body_util::Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                format!("the request body exceeds {} bytes", MAX_REQUEST_BODY),
            ));
        }
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    let content_type =
        headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let text = String::from_utf8_lossy(&bytes);
        let mut map = Map::new();
        for (k, v) in parse_query(&text) {
            let v = if v.len() == 1 {
                Value::String(v[0].clone())
            } else {
                Value::Array(v.into_iter().map(Value::String).collect())
            };
            map.insert(k, v);
        }
        return Ok(Some(Value::Object(map)));
    }
    let looks_json = content_type.contains("json")
        || matches!(bytes.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{') | Some(b'['));
    if looks_json {
        return serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "Invalid JSON body",
                format!("the request body is not valid JSON: {e}"),
            )
            .errors(vec![FieldError {
                name: "body".into(),
                location: "body".into(),
                message: format!("invalid JSON at line {} column {}", e.line(), e.column()),
            }])
        });
    }
    Ok(Some(Value::String(String::from_utf8_lossy(&bytes).into_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_and_group_repeated_keys() {
        assert_eq!(
            parse_query("a=1&b=x%20y&a=3&c"),
            vec![
                ("a".into(), vec!["1".into(), "3".into()]),
                ("b".into(), vec!["x y".into()]),
                ("c".into(), vec!["".into()])
            ]
        );
    }
}
