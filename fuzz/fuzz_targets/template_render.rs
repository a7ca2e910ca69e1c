//! `{{…}}` templates: arbitrary template text compiled (naftiko-spec's parse, the engine's
//! classification) and rendered against an arbitrary scope, every way a request uses one.
//!
//! Input: `TEMPLATE \0 SCOPE \0 TOKEN`, each part optional. SCOPE is JSON
//! `{"inputs": {…}, "args": {…}, "steps": {…}, "redact": bool}` (any other JSON object is the
//! inputs; anything else is the text of the inputs `x` and `name`). TOKEN is the value of the bind
//! variable `TOKEN`; the bind `API_KEY` is a fixed marker.
//!
//! Checks, besides no panic:
//! - a rendered header value with CR, LF or NUL is refused (header parameters and credentials),
//!   and no header the request carries holds one;
//! - a raw JSON body renders as valid JSON whenever the template is valid JSON (rendered with
//!   every variable missing);
//! - a literal template renders as its text; a redacted rendering never shows the marker bind.

#![no_main]

use std::collections::HashMap;

use http::{HeaderMap, Method};
use libfuzzer_sys::fuzz_target;
use naftiko_engine::CallSite;
use naftiko_engine::decode::RawFormat;
use naftiko_engine::expr::{JsonTextTpl, Scope, TPart, Tpl, Vocabulary, value_text};
use naftiko_engine::fuzzing::auth_headers;
use naftiko_engine::inputs::Inputs;
use naftiko_engine::json_syntax;
use naftiko_engine::plan::RequestPlan;
use naftiko_engine::plan::request::{AuthPlan, BodyPlan, ParamPlan, StepOutput, ValueSource, render_auth};
use naftiko_engine::{Secret, http::Auth};
use naftiko_spec::model::ParamIn;
use serde_json::{Map, Value};

const MARKER: &str = "sk-fuzz-marker-7f3a";

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let Ok(text) = std::str::from_utf8(parts.next().unwrap_or_default()) else { return };
    let scope_part = parts.next().unwrap_or_default();
    let token = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();

    let mut binds = HashMap::new();
    for (name, value) in [("API_KEY", MARKER), ("env.API_KEY", MARKER), ("TOKEN", token.as_str())] {
        binds.insert(name.to_string(), Secret::new(value));
    }
    let vocab = Vocabulary { binds, input_prefixes: vec!["rest".into(), "tools".into(), "mcp".into()] };

    let (inputs, args, steps, redact) = scope_of(scope_part);
    let inputs = Inputs::from_map(inputs);
    let scope = Scope { args: args.as_ref(), inputs: &inputs, steps: steps.as_ref(), redact };

    let Ok(tpl) = vocab.template(text) else { return };
    let (rendered, missing) = tpl.render(&scope);
    if tpl.is_literal() {
        let lits: String = tpl.parts.iter().map(|p| if let TPart::Lit(s) = p { s.as_str() } else { "" }).collect();
        assert_eq!(rendered, lits);
        assert_eq!(missing, None);
    }
    if redact && !data.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()) {
        assert!(!rendered.contains(MARKER), "a redacted rendering shows a bind: {rendered:?}");
    }
    let value = tpl.render_value(&scope);

    headers_refuse_line_breaks(&tpl, &value, &scope);
    credentials_refuse_line_breaks(&tpl, &scope);
    json_bodies_stay_json(text, &vocab, &scope);
});

/// The scope parts from the input's SCOPE part.
fn scope_of(part: &[u8]) -> (Map<String, Value>, Option<Map<String, Value>>, Option<Map<String, Value>>, bool) {
    match serde_json::from_slice::<Value>(part) {
        Ok(Value::Object(mut m)) if m.contains_key("inputs") || m.contains_key("args") || m.contains_key("steps") => {
            let mut object = |k: &str| match m.remove(k) {
                Some(Value::Object(o)) => Some(o),
                _ => None,
            };
            let (inputs, args, steps) = (object("inputs").unwrap_or_default(), object("args"), object("steps"));
            (inputs, args, steps, m.get("redact") == Some(&Value::Bool(true)))
        }
        Ok(Value::Object(m)) => (m, None, None, false),
        _ => {
            let text = Value::String(String::from_utf8_lossy(part).into_owned());
            let inputs = Map::from_iter([("x".to_string(), text.clone()), ("name".to_string(), text)]);
            (inputs, None, None, false)
        }
    }
}

fn has_line_break(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0))
}

fn assert_clean(headers: &HeaderMap) {
    for (name, value) in headers {
        assert!(!has_line_break(value.as_bytes()), "header `{name}` carries a line break: {value:?}");
    }
}

/// The template as a header, query, cookie parameter and a body of an upstream request.
fn headers_refuse_line_breaks(tpl: &Tpl, value: &Option<Value>, scope: &Scope) {
    let param = |name: &str, location| ParamPlan {
        name: name.into(),
        location,
        value: Some(ValueSource::Tpl(tpl.clone())),
        required: false,
        default: None,
    };
    let plan = RequestPlan {
        call: CallSite { namespace: "fuzz".into(), operation: "op".into() },
        method: Method::POST,
        base: Tpl::literal("http://upstream.test/v1"),
        path: Vec::new(),
        params: vec![param("x-fuzz", ParamIn::Header), param("q", ParamIn::Query), param("c", ParamIn::Cookie)],
        body: BodyPlan::Text(tpl.clone(), "text/plain"),
        auth: Some(AuthPlan::Bearer(tpl.clone())),
        format: RawFormat::Json,
        output_schema: None,
        step_output: StepOutput::default(),
    };
    let sent_as_header = value.as_ref().filter(|v| !v.is_null()).map(|v| value_text(v).into_owned());
    match plan.build(scope) {
        Ok(req) => {
            assert_clean(&req.headers);
            if let Some(text) = &sent_as_header {
                assert!(!has_line_break(text.as_bytes()), "a header value with a line break was accepted: {text:?}");
            }
        }
        Err(problems) => {
            if sent_as_header.as_deref().is_some_and(|t| has_line_break(t.as_bytes())) {
                assert!(problems.iter().any(|p| p.location == "header"), "{problems:?}");
            }
        }
    }
}

/// The template as every kind of credential that becomes a header.
fn credentials_refuse_line_breaks(tpl: &Tpl, scope: &Scope) {
    let plans = [
        AuthPlan::Bearer(tpl.clone()),
        AuthPlan::Basic(tpl.clone(), tpl.clone()),
        AuthPlan::ApiKeyHeader(http::HeaderName::from_static("x-api-key"), tpl.clone()),
    ];
    for plan in &plans {
        let auth = render_auth(plan, scope);
        let secret = match &auth {
            Some(Auth::Bearer(s)) | Some(Auth::ApiKeyHeader { value: s, .. }) => Some(s.expose().to_string()),
            _ => None,
        };
        match auth_headers(&auth) {
            Ok(headers) => assert_clean(&headers),
            Err(_) => {}
        }
        if let Some(secret) = secret
            && has_line_break(secret.as_bytes())
        {
            assert!(auth_headers(&auth).is_err(), "a credential with a line break was accepted: {secret:?}");
        }
    }
}

/// A raw JSON body (`{"a": {{x}}, "b": "{{y}}"}`) that is valid JSON stays valid once rendered.
fn json_bodies_stay_json(text: &str, vocab: &Vocabulary, scope: &Scope) {
    let Ok(Some(body)) = JsonTextTpl::compile(text, vocab) else { return };
    let nothing = Inputs::new();
    let empty = Scope { args: None, inputs: &nothing, steps: None, redact: scope.redact };
    if !is_json(&body.render(&empty)) {
        return; // not JSON to begin with
    }
    let out = body.render(scope);
    assert!(is_json(&out), "a JSON template rendered invalid JSON: {out:?}");
}

/// serde_json's verdict; past its nesting limit, the engine's depth-free checker's.
fn is_json(text: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(_) => true,
        Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
            json_syntax::validate(text.as_bytes()).is_ok()
        }
        Err(_) => false,
    }
}
