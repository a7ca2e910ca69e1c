//! A consumed operation compiled into a request recipe (SEMANTICS §4), and building the
//! upstream request from it for one invocation.
//!
//! Compile time: the URL is split into literal and placeholder pieces, parameters of the
//! consumes, resource and operation levels are merged, every template is parsed, the body and
//! the authentication are prepared. Request time: values are looked up (parameter `value`,
//! then `with` results, then inputs, tolerantly), encoded for where they go, and checked.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use naftiko_spec::expr::{Part, parse_path_template};
use naftiko_spec::model::{
    Auth as AuthDecl, Body, ConsumedOperation, ConsumedParam, ConsumedResource, Consumes, ParamIn,
};
use serde_json::{Map, Value};

use crate::CallSite;
use crate::containment;
use crate::decode::RawFormat;
use crate::expr::{JsonTextTpl, JsonTpl, Scope, TPart, Tpl, Var, Vocabulary, value_text, var_name};
use crate::http::{Auth, UpstreamBody, UpstreamRequest};
use crate::plan::shape::{Mode, Shape};
use crate::secret::Secret;

/// A compiled consumed operation.
#[derive(Debug, Clone)]
pub struct RequestPlan {
    /// `namespace.operation`, for errors and logs.
    pub call: CallSite,
    /// The HTTP method.
    pub method: Method,
    /// The base URI (bind variables resolved; may still hold invocation variables).
    pub base: Tpl,
    /// The resource path: literal pieces and placeholders.
    pub path: Vec<PathPiece>,
    /// True when a bind value is substituted into the URL (`http://host/bot{{TOKEN}}`): each
    /// request then also renders its URL for showing, with `***` in its place.
    pub secret_url: bool,
    /// Query, header, cookie and body parameters.
    pub params: Vec<ParamPlan>,
    /// How the request body is made.
    pub body: BodyPlan,
    /// Outbound credentials.
    pub auth: Option<AuthPlan>,
    /// How the response is decoded.
    pub format: RawFormat,
    /// `outputSchema` (decoder hint for html/markdown).
    pub output_schema: Option<String>,
    /// Consumed `outputParameters`: the shape of this call's output as an orchestration step.
    pub step_output: StepOutput,
}

/// A piece of the resource path.
#[derive(Debug, Clone)]
pub enum PathPiece {
    /// Literal text.
    Lit(String),
    /// A placeholder, filled from the parameter's `value` or by name.
    Var(String, Option<Tpl>),
}

/// A non-path parameter.
#[derive(Debug, Clone)]
pub struct ParamPlan {
    /// Its name (query key, header name, cookie name, body field).
    pub name: String,
    /// Where it goes.
    pub location: ParamIn,
    /// Its own `value`, when declared.
    pub value: Option<ValueSource>,
    /// `required: true`: a missing value fails the call before anything is sent.
    pub required: bool,
    /// The value the path's `#…` fragment names for it ([`super::selector`]): sent when the call
    /// supplies none.
    pub default: Option<String>,
}

/// Where a declared `value` comes from.
#[derive(Debug, Clone)]
pub enum ValueSource {
    /// A string template.
    Tpl(Tpl),
    /// A literal of another type (number, boolean, object).
    Const(Value),
}

/// How the request body is made.
#[derive(Debug, Clone)]
pub enum BodyPlan {
    /// No body.
    None,
    /// JSON data with templates in its strings.
    Json(JsonTpl),
    /// JSON written as text with templates (rendered JSON-aware).
    JsonText(JsonTextTpl),
    /// Text with templates, sent with this content type.
    Text(Tpl, &'static str),
    /// `application/x-www-form-urlencoded` from key/value data.
    Form(JsonTpl),
    /// `multipart/form-data` parts: name, value, filename, content type.
    Multipart(Vec<(String, Tpl, Option<String>, Option<String>)>),
    /// From `in: body` parameters: one is the whole body, several form an object.
    Params(Vec<String>),
}

/// Outbound credentials, templates not yet rendered.
#[derive(Debug, Clone)]
pub enum AuthPlan {
    /// `Authorization: Bearer <token>`.
    Bearer(Tpl),
    /// HTTP basic.
    Basic(Tpl, Tpl),
    /// An API key in a header.
    ApiKeyHeader(HeaderName, Tpl),
    /// An API key in the query string.
    ApiKeyQuery(String, Tpl),
    /// HTTP digest (challenge round-trip by the executor).
    Digest(Tpl, Tpl),
}

/// A value the request needs but the invocation does not supply, or supplies badly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    /// The parameter (or input) name.
    pub name: String,
    /// Where it goes or comes from (`path`, `query`, `header`, `body`, …).
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl RequestPlan {
    /// Compiles one consumed operation of `consumes`.
    pub fn compile(
        c: &Consumes,
        r: &ConsumedResource,
        op: &ConsumedOperation,
        vocab: &Vocabulary,
    ) -> Result<RequestPlan, String> {
        let call = CallSite {
            namespace: c.namespace.value.clone(),
            operation: op.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
        };
        let method_text =
            op.method.as_ref().map(|m| m.value.trim().to_ascii_uppercase()).unwrap_or_else(|| "GET".into());
        let method =
            Method::from_bytes(method_text.as_bytes()).map_err(|_| format!("invalid method `{method_text}`"))?;
        let base_text = c.base_uri.as_ref().map(|b| b.value.as_str()).unwrap_or_default();
        let base = compile_path_like(base_text, vocab)?;
        // Parameters: consumes level, then resource, then operation; later levels override.
        let mut merged: Vec<&ConsumedParam> = Vec::new();
        for p in c.input_parameters.iter().chain(&r.input_parameters).chain(&op.input_parameters) {
            merged.retain(|q| !(q.name.value == p.name.value && q.location.value == p.location.value));
            merged.push(p);
        }
        let path_text = r.path.as_ref().map(|p| p.value.as_str()).unwrap_or_default();
        // A fragment is never sent: its conditions become parameter values (selector.rs).
        let (path_text, selector) = super::selector::split_fragment(path_text);
        let parsed = parse_path_template(path_text).map_err(|e| e.message)?;
        let mut path = Vec::new();
        for part in parsed.parts {
            path.push(match part {
                Part::Lit(s) => PathPiece::Lit(s),
                Part::Var(name) => {
                    let declared = merged.iter().find(|p| p.location.value == ParamIn::Path && p.name.value == name);
                    let tpl = match declared.and_then(|p| p.value.as_ref()) {
                        Some(v) => Some(vocab.template(&value_text(&v.value))?),
                        None => None,
                    };
                    PathPiece::Var(name, tpl)
                }
            });
        }
        let mut params = Vec::new();
        for p in &merged {
            if matches!(p.location.value, ParamIn::Path | ParamIn::Environment) {
                continue;
            }
            let value = match p.value.as_ref().map(|v| &v.value) {
                Some(Value::String(s)) => Some(ValueSource::Tpl(vocab.template(s)?)),
                Some(other) => Some(ValueSource::Const(other.clone())),
                None => None,
            };
            params.push(ParamPlan {
                name: p.name.value.clone(),
                location: p.location.value,
                value,
                required: p.required == Some(true),
                default: None,
            });
        }
        for condition in selector.0 {
            let (name, Some(value)) = (condition.name, condition.value) else { continue };
            match params.iter_mut().find(|p| p.name.eq_ignore_ascii_case(&name) && p.location != ParamIn::Body) {
                Some(p) => p.default = Some(value),
                None => params.push(ParamPlan {
                    location: super::selector::default_location(&name),
                    name,
                    value: None,
                    required: false,
                    default: Some(value),
                }),
            }
        }
        let secret_url =
            base.uses_binds() || path.iter().any(|p| matches!(p, PathPiece::Var(_, Some(t)) if t.uses_binds()));
        let body = compile_body(op.body.as_ref(), &params, vocab)?;
        let auth = match &c.authentication {
            Some(a) => compile_auth(a, vocab)?,
            None => None,
        };
        let format = op.output_raw_format.as_ref().and_then(|f| RawFormat::parse(&f.value)).unwrap_or(RawFormat::Json);
        let step_output = step_output(op, vocab)?;
        Ok(RequestPlan {
            call,
            method,
            base,
            path,
            secret_url,
            params,
            body,
            auth,
            format,
            output_schema: op.output_schema.as_ref().map(|s| s.value.clone()),
            step_output,
        })
    }

    /// Builds the upstream request for one invocation. All problems are reported together.
    pub fn build(&self, scope: &Scope) -> Result<UpstreamRequest, Vec<InputProblem>> {
        let mut problems = Vec::new();
        let url = self.url(scope, &mut problems);
        // What logs and messages show: the same URL with `***` for each bind value.
        let shown_url =
            (self.secret_url && !scope.redact).then(|| self.url(&Scope { redact: true, ..*scope }, &mut Vec::new()));
        let mut headers = HeaderMap::new();
        let mut query: Vec<(String, String)> = Vec::new();
        let mut cookies: Vec<String> = Vec::new();
        let mut body_fields = Map::new();
        for p in &self.params {
            let value = self.param_value(p, scope).filter(|v| !v.is_null());
            let Some(value) = value.or_else(|| p.default.clone().map(Value::String)) else {
                if p.required {
                    problems.push(InputProblem {
                        name: p.name.clone(),
                        location: p.location.as_str().into(),
                        message: format!("required {} parameter `{}` is missing", p.location.as_str(), p.name),
                    });
                }
                continue;
            };
            match p.location {
                ParamIn::Query => match &value {
                    Value::Array(items) => {
                        query.extend(items.iter().map(|i| (p.name.clone(), value_text(i).into_owned())));
                    }
                    v => query.push((p.name.clone(), value_text(v).into_owned())),
                },
                ParamIn::Header => {
                    let text = value_text(&value);
                    match (HeaderName::from_bytes(p.name.as_bytes()), HeaderValue::from_str(&text)) {
                        (Ok(name), Ok(v)) => {
                            headers.insert(name, v);
                        }
                        _ => problems.push(InputProblem {
                            name: p.name.clone(),
                            location: "header".into(),
                            message: format!(
                                "header `{}` has a value that cannot be sent (line breaks or control characters)",
                                p.name
                            ),
                        }),
                    }
                }
                ParamIn::Cookie => cookies.push(format!("{}={}", p.name, value_text(&value))),
                ParamIn::Body => {
                    body_fields.insert(p.name.clone(), value);
                }
                ParamIn::Path | ParamIn::Environment => {}
            }
        }
        if !cookies.is_empty()
            && let Ok(v) = HeaderValue::from_str(&cookies.join("; "))
        {
            headers.insert(http::header::COOKIE, v);
        }
        let body = self.render_body(scope, body_fields, &mut headers);
        let auth = self.auth.as_ref().and_then(|a| render_auth(a, scope));
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(UpstreamRequest {
            call: self.call.clone(),
            method: self.method.clone(),
            url,
            shown_url,
            query,
            headers,
            body,
            auth,
        })
    }

    fn param_value(&self, p: &ParamPlan, scope: &Scope) -> Option<Value> {
        match &p.value {
            Some(ValueSource::Tpl(t)) => t.render_value(scope),
            Some(ValueSource::Const(c)) => Some(c.clone()),
            None => scope.lookup(&p.name).cloned(),
        }
    }

    /// The URL: the base (bind variables as written, invocation values each one encoded
    /// segment) and the resource path (each placeholder one encoded segment). A value that would
    /// change the URL's structure is refused ([`containment`]), naming its parameter.
    fn url(&self, scope: &Scope, problems: &mut Vec<InputProblem>) -> String {
        let mut base = String::new();
        let mut missing = None;
        for part in &self.base.parts {
            match part {
                TPart::Lit(s) => base.push_str(s),
                TPart::Var(var @ Var::Bind(..)) => match scope.render_var(var) {
                    Some(text) => base.push_str(&text),
                    None => missing = missing.or_else(|| Some(var_name(var))),
                },
                TPart::Var(var) => match scope.render_var(var) {
                    Some(text) => {
                        if let Err(why) = containment::push_segment(&text, &mut base) {
                            problems.push(refused_segment(&var_name(var), "baseUri", why));
                        }
                    }
                    None => missing = missing.or_else(|| Some(var_name(var))),
                },
            }
        }
        if let Some(m) = missing {
            problems.push(InputProblem {
                name: m.clone(),
                location: "baseUri".into(),
                message: format!("`baseUri` needs `{m}`, which has no value"),
            });
        }
        let mut path = String::new();
        for piece in &self.path {
            match piece {
                PathPiece::Lit(s) => path.push_str(s),
                PathPiece::Var(name, tpl) => {
                    let value = match tpl {
                        Some(t) => t.render_value(scope),
                        None => scope.lookup(name).cloned(),
                    };
                    match value.filter(|v| !v.is_null() && !value_text(v).is_empty()) {
                        Some(v) => {
                            if let Err(why) = containment::push_segment(&value_text(&v), &mut path) {
                                problems.push(refused_segment(name, "path", why));
                            }
                        }
                        None => problems.push(InputProblem {
                            name: name.clone(),
                            location: "path".into(),
                            message: format!("path parameter `{name}` is missing"),
                        }),
                    }
                }
            }
        }
        join_url(&base, &path)
    }

    fn render_body(&self, scope: &Scope, fields: Map<String, Value>, headers: &mut HeaderMap) -> UpstreamBody {
        let (bytes, content_type): (Vec<u8>, &str) = match &self.body {
            BodyPlan::None => return UpstreamBody::None,
            BodyPlan::Json(t) => (t.render(scope).to_string().into_bytes(), "application/json"),
            BodyPlan::JsonText(t) => (t.render(scope).into_bytes(), "application/json"),
            BodyPlan::Text(t, ct) => (t.render(scope).0.into_bytes(), ct),
            BodyPlan::Form(t) => (form_encode(&t.render(scope)).into_bytes(), "application/x-www-form-urlencoded"),
            BodyPlan::Multipart(parts) => {
                let boundary = "naftiko-boundary-7d93b1c4e2";
                let mut out = Vec::new();
                for (name, value, filename, ct) in parts {
                    out.extend_from_slice(
                        format!(
                            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"",
                            name.replace('"', "%22")
                        )
                        .as_bytes(),
                    );
                    if let Some(f) = filename {
                        out.extend_from_slice(format!("; filename=\"{}\"", f.replace('"', "%22")).as_bytes());
                    }
                    out.extend_from_slice(b"\r\n");
                    if let Some(ct) = ct {
                        out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
                    }
                    out.extend_from_slice(b"\r\n");
                    out.extend_from_slice(value.render(scope).0.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
                let ct = HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}")).ok();
                return UpstreamBody::Bytes {
                    bytes: Bytes::from(out),
                    content_type: headers.remove(http::header::CONTENT_TYPE).or(ct),
                };
            }
            BodyPlan::Params(names) => {
                let value = match names.as_slice() {
                    [one] => match fields.get(one) {
                        Some(v) => v.clone(),
                        None => return UpstreamBody::None,
                    },
                    _ if fields.is_empty() => return UpstreamBody::None,
                    _ => Value::Object(fields),
                };
                (value.to_string().into_bytes(), "application/json")
            }
        };
        // A declared `Content-Type` header parameter wins over the body's default.
        let content_type =
            headers.remove(http::header::CONTENT_TYPE).or_else(|| HeaderValue::from_str(content_type).ok());
        UpstreamBody::Bytes { bytes: Bytes::from(bytes), content_type }
    }
}

/// Parses a base URI or path where `{x}` and `{{x}}` are both placeholders.
fn compile_path_like(text: &str, vocab: &Vocabulary) -> Result<Tpl, String> {
    let parsed = parse_path_template(text).map_err(|e| e.message)?;
    vocab.compile(&parsed)
}

fn compile_body(body: Option<&Body>, params: &[ParamPlan], vocab: &Vocabulary) -> Result<BodyPlan, String> {
    Ok(match body {
        Some(Body::Raw(s)) => match JsonTextTpl::compile(&s.value, vocab)? {
            Some(t) => BodyPlan::JsonText(t),
            None => BodyPlan::Text(vocab.template(&s.value)?, "text/plain; charset=utf-8"),
        },
        Some(Body::Typed { kind, data, .. }) => match (kind.value.as_str(), &data.value) {
            ("json", Value::String(s)) => match JsonTextTpl::compile(s, vocab)? {
                Some(t) => BodyPlan::JsonText(t),
                None => BodyPlan::Json(JsonTpl::compile(&data.value, vocab)?),
            },
            ("json", v) => BodyPlan::Json(JsonTpl::compile(v, vocab)?),
            ("text", v) => BodyPlan::Text(vocab.template(&value_text(v))?, "text/plain; charset=utf-8"),
            ("xml", v) => BodyPlan::Text(vocab.template(&value_text(v))?, "application/xml"),
            ("sparql", v) => BodyPlan::Text(vocab.template(&value_text(v))?, "application/sparql-query"),
            ("formUrlEncoded", Value::String(s)) => {
                BodyPlan::Text(vocab.template(s)?, "application/x-www-form-urlencoded")
            }
            ("formUrlEncoded", v) => BodyPlan::Form(JsonTpl::compile(v, vocab)?),
            ("multipartForm", Value::Array(parts)) => BodyPlan::Multipart(
                parts
                    .iter()
                    .map(|p| {
                        let field = |k: &str| p.get(k).map(|v| value_text(v).into_owned());
                        Ok((
                            field("name").unwrap_or_default(),
                            vocab.template(&field("value").unwrap_or_default())?,
                            field("filename"),
                            field("contentType"),
                        ))
                    })
                    .collect::<Result<_, String>>()?,
            ),
            (_, v) => BodyPlan::Json(JsonTpl::compile(v, vocab)?),
        },
        None => {
            let names: Vec<String> =
                params.iter().filter(|p| p.location == ParamIn::Body).map(|p| p.name.clone()).collect();
            if names.is_empty() { BodyPlan::None } else { BodyPlan::Params(names) }
        }
    })
}

pub(crate) fn compile_auth(a: &AuthDecl, vocab: &Vocabulary) -> Result<Option<AuthPlan>, String> {
    let tpl = |f: &Option<naftiko_spec::model::Sp<String>>| -> Result<Tpl, String> {
        vocab.template(f.as_ref().map(|s| s.value.as_str()).unwrap_or_default())
    };
    Ok(Some(match a.kind.value.as_str() {
        "bearer" => AuthPlan::Bearer(tpl(&a.token)?),
        "basic" => AuthPlan::Basic(tpl(&a.username)?, tpl(&a.password)?),
        "digest" => AuthPlan::Digest(tpl(&a.username)?, tpl(&a.password)?),
        "apikey" => {
            let key = a.key.as_ref().map(|k| k.value.clone()).unwrap_or_default();
            if a.placement.as_ref().is_some_and(|p| p.value == "query") {
                AuthPlan::ApiKeyQuery(key, tpl(&a.value)?)
            } else {
                let name = HeaderName::from_bytes(key.as_bytes())
                    .map_err(|_| format!("apikey `key` `{key}` is not a valid header name"))?;
                AuthPlan::ApiKeyHeader(name, tpl(&a.value)?)
            }
        }
        _ => return Ok(None),
    }))
}

/// Renders outbound credentials for one request (bind values are fixed; inputs may appear).
pub fn render_auth(a: &AuthPlan, scope: &Scope) -> Option<Auth> {
    let secret = |t: &Tpl| Secret::new(t.render(scope).0);
    Some(match a {
        AuthPlan::Bearer(t) => Auth::Bearer(secret(t)),
        AuthPlan::Basic(u, p) => Auth::Basic { username: u.render(scope).0, password: secret(p) },
        AuthPlan::Digest(u, p) => Auth::Digest { username: u.render(scope).0, password: secret(p) },
        AuthPlan::ApiKeyHeader(name, v) => Auth::ApiKeyHeader { name: name.clone(), value: secret(v) },
        AuthPlan::ApiKeyQuery(name, v) => Auth::ApiKeyQuery { name: name.clone(), value: secret(v) },
    })
}

fn step_output(op: &ConsumedOperation, vocab: &Vocabulary) -> Result<StepOutput, String> {
    // Consumed outputs are `name` + `value: $.x`; each becomes a mapped output parameter.
    let fields = op
        .output_parameters
        .iter()
        .map(|o| {
            let param = naftiko_spec::model::OutputParam {
                name: o.name.clone(),
                ty: o.ty.clone().filter(|t| t.value != "object" && t.value != "array"),
                mapping: o.mapping.clone(),
                value: o.value.clone(),
                description: None,
                properties: Vec::new(),
                items: None,
                span: o.span,
            };
            Shape::compile(&param, vocab, Mode::Mapped).map(|s| (o.name.as_ref().map(|n| n.value.clone()), s))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(StepOutput { fields })
}

/// How consumed `outputParameters` shape a call step's output (as the reference engine does):
/// an object response becomes an object of the named fields; each element of an array response
/// keeps its fields and gains the named ones; with no named field, the first unnamed result is
/// the output; with no parameters, the response itself.
#[derive(Debug, Clone, Default)]
pub struct StepOutput {
    fields: Vec<(Option<String>, Shape)>,
}

impl StepOutput {
    /// Shapes a decoded response.
    pub fn apply(&self, v: &Value, scope: &Scope) -> Value {
        if self.fields.is_empty() {
            return v.clone();
        }
        let named: Vec<(&String, &Shape)> =
            self.fields.iter().filter_map(|(n, s)| n.as_ref().map(|n| (n, s))).collect();
        if named.is_empty() {
            return self.fields.iter().map(|(_, s)| s.apply(v, scope)).find(|x| !x.is_null()).unwrap_or(Value::Null);
        }
        match v {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| {
                        let mut out = match item {
                            Value::Object(m) => m.clone(),
                            _ => Map::new(),
                        };
                        for (name, shape) in &named {
                            out.insert((*name).clone(), shape.apply(item, scope));
                        }
                        Value::Object(out)
                    })
                    .collect(),
            ),
            other => {
                Value::Object(named.iter().map(|(name, shape)| ((*name).clone(), shape.apply(other, scope))).collect())
            }
        }
    }
}

/// Joins a base URI and a path with exactly one `/`.
pub fn join_url(base: &str, path: &str) -> String {
    if path.is_empty() {
        return base.to_string();
    }
    let b = base.trim_end_matches('/');
    let p = path.trim_start_matches('/');
    if p.is_empty() { format!("{b}/") } else { format!("{b}/{p}") }
}

/// The problem of a value refused as a path segment.
fn refused_segment(name: &str, location: &str, why: containment::SegmentRefusal) -> InputProblem {
    InputProblem {
        name: name.to_string(),
        location: location.into(),
        message: format!("{location} parameter `{name}` is refused: {}", why.reason()),
    }
}

fn form_encode(v: &Value) -> String {
    let mut out = String::new();
    let mut push = |k: &str, val: &str| {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&form_component(k));
        out.push('=');
        out.push_str(&form_component(val));
    };
    if let Value::Object(m) = v {
        for (k, val) in m {
            match val {
                Value::Array(items) => items.iter().for_each(|i| push(k, &value_text(i))),
                Value::Null => {}
                other => push(k, &value_text(other)),
            }
        }
    }
    out
}

fn form_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'*') => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_with_exactly_one_slash_and_segments_are_encoded() {
        assert_eq!(join_url("https://a/v1/", "/x"), "https://a/v1/x");
        assert_eq!(join_url("https://a/v1", "x"), "https://a/v1/x");
        assert_eq!(join_url("https://a/v1", ""), "https://a/v1");
        let mut s = String::new();
        containment::push_segment("a b/c?d%é", &mut s).unwrap();
        assert_eq!(s, "a%20b%2Fc%3Fd%25%C3%A9");
    }

    #[test]
    fn step_outputs_augment_array_elements_and_pick_object_fields() {
        let vocab = Vocabulary::default();
        let shape = |m: &str| {
            Shape::compile(
                &naftiko_spec::model::OutputParam {
                    name: None,
                    ty: None,
                    mapping: Some(naftiko_spec::model::Sp::new(m.to_string(), naftiko_spec::Span::default())),
                    value: None,
                    description: None,
                    properties: vec![],
                    items: None,
                    span: naftiko_spec::Span::default(),
                },
                &vocab,
                Mode::Mapped,
            )
            .unwrap()
        };
        let out = StepOutput { fields: vec![(Some("imo-number".into()), shape("$.imo_number"))] };
        let inputs = crate::inputs::Inputs::new();
        let scope = Scope::of(&inputs);
        let list = serde_json::json!([{"imo_number": "1", "name": "A"}]);
        assert_eq!(out.apply(&list, &scope), serde_json::json!([{"imo_number": "1", "name": "A", "imo-number": "1"}]));
        let one = serde_json::json!({"imo_number": "2", "name": "B"});
        assert_eq!(out.apply(&one, &scope), serde_json::json!({"imo-number": "2"}));
        assert_eq!(StepOutput::default().apply(&one, &scope), one);
    }

    #[test]
    fn forms_encode_like_browsers() {
        assert_eq!(form_encode(&serde_json::json!({"a": "x y", "b": ["1", "2"], "c": null})), "a=x+y&b=1&b=2");
    }
}
