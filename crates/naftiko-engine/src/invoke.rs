//! Executing a compiled [`Handler`] for one invocation: simple calls, orchestrations and mocks.
//!
//! The result is an [`Outcome`] (status and body as the upstream gave them, shaped when the
//! handler declares outputs) or an [`InvokeError`]; adapters render both in their protocol.
//! Upstream statuses are reported faithfully — the REST adapter turns 5xx into 502, the MCP
//! adapter turns ≥ 400 into `isError` results.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Map, Value};

use crate::CallSite;
use crate::decode::{RawFormat, decode};
use crate::expr::{Scope, value_text};
use crate::http::{Auth, HttpExecutor, UpstreamBody, UpstreamError, UpstreamRequest};
use crate::inputs::Inputs;
use crate::plan::handler::{Handler, Kind, LookupValue, Orchestration, StepPlan, eval_with};
use crate::plan::request::{InputProblem, RequestPlan};
use crate::plan::shape::Output;
use crate::secret::Redactor;

/// What an invocation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// HTTP status (the upstream's in simple mode; 200 for orchestrations and mocks).
    pub status: StatusCode,
    /// The body.
    pub body: OutBody,
    /// The consumed operation that answered, when one did.
    pub call: Option<CallSite>,
    /// The upstream's `Location` on a 3xx answer (redirects are not followed; MCP names it).
    pub location: Option<String>,
}

/// A response body.
#[derive(Debug, Clone, PartialEq)]
pub enum OutBody {
    /// A JSON value (mapped, orchestrated or mock).
    Json(Value),
    /// Upstream bytes passed through with their content type.
    Raw {
        /// The bytes.
        bytes: Bytes,
        /// The upstream `Content-Type`.
        content_type: Option<String>,
    },
    /// Upstream JSON text already checked to be one well-formed value (the whole-body output):
    /// sent on as it is, `application/json`.
    JsonText(Bytes),
    /// No body (e.g. 204).
    Empty,
}

impl OutBody {
    /// The body as JSON when it is or parses as JSON (for MCP structured content).
    pub fn to_json(&self) -> Option<Value> {
        match self {
            OutBody::Json(v) => Some(v.clone()),
            OutBody::Raw { bytes, .. } | OutBody::JsonText(bytes) => serde_json::from_slice(bytes).ok(),
            OutBody::Empty => None,
        }
    }

    /// A short, readable excerpt of the body (for error messages).
    pub fn excerpt(&self, max: usize) -> String {
        let text = match self {
            OutBody::Json(v) => v.to_string(),
            OutBody::Raw { bytes, .. } | OutBody::JsonText(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            OutBody::Empty => String::new(),
        };
        if text.chars().count() > max { format!("{}…", text.chars().take(max).collect::<String>()) } else { text }
    }
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// Inputs are missing or invalid (400 / `isError`), each problem named.
    #[error("invalid input: {}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    Input(Vec<InputProblem>),
    /// The upstream could not be reached, timed out, or answered too much.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The upstream body could not be decoded for mapping.
    #[error("upstream {call} answered a body that could not be read as {format}: {message}")]
    Decode {
        /// The call.
        call: CallSite,
        /// The expected format.
        format: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A step of an orchestration failed with an upstream status.
    #[error("step `{step}` ({call}) failed: upstream answered {status}: {excerpt}")]
    StepFailed {
        /// The step.
        step: String,
        /// Its call.
        call: CallSite,
        /// Upstream status.
        status: StatusCode,
        /// Start of the upstream body.
        excerpt: String,
    },
    /// The handler has nothing to execute.
    #[error("not implemented: {0}")]
    NotImplemented(String),
}

impl InvokeError {
    /// The same error with every value `redactor` knows scrubbed from its texts: what adapters
    /// show callers never holds a bind value, even one an upstream echoed into its answer.
    pub fn redacted(self, redactor: &Redactor) -> InvokeError {
        if redactor.is_empty() {
            return self;
        }
        match self {
            InvokeError::Input(mut problems) => {
                for p in &mut problems {
                    redactor.scrub_in_place(&mut p.message);
                }
                InvokeError::Input(problems)
            }
            InvokeError::Upstream(e) => InvokeError::Upstream(e.redacted(redactor)),
            InvokeError::Decode { call, format, mut message } => {
                redactor.scrub_in_place(&mut message);
                InvokeError::Decode { call, format, message }
            }
            InvokeError::StepFailed { step, call, status, mut excerpt } => {
                redactor.scrub_in_place(&mut excerpt);
                InvokeError::StepFailed { step, call, status, excerpt }
            }
            InvokeError::NotImplemented(mut why) => {
                redactor.scrub_in_place(&mut why);
                InvokeError::NotImplemented(why)
            }
        }
    }
}

/// Executes handlers. Cheap to clone and shared by every adapter.
#[derive(Debug, Clone)]
pub struct Engine {
    executor: HttpExecutor,
    dry_run: bool,
}

impl Engine {
    /// An engine sending through `executor`; with `dry_run`, nothing is sent and each call
    /// answers with the request it would have sent (secrets redacted).
    pub fn new(executor: HttpExecutor, dry_run: bool) -> Engine {
        Engine { executor, dry_run }
    }

    /// The executor (for forward, which streams).
    pub fn executor(&self) -> &HttpExecutor {
        &self.executor
    }

    /// True in dry-run mode.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// The capability's bind values, for adapters to scrub from the texts they write about
    /// failures (an upstream's 5xx excerpt, say).
    pub fn redactor(&self) -> &Redactor {
        &self.executor.config().redactor
    }

    /// The dry-run answer for `req` ([`describe`]) with every bind value scrubbed, however it
    /// reached the request.
    pub fn describe(&self, req: &UpstreamRequest) -> Value {
        let mut v = describe(req);
        scrub_strings(&mut v, self.redactor());
        v
    }

    /// Runs a handler with the given inputs. Errors come with bind values scrubbed
    /// ([`InvokeError::redacted`]).
    pub async fn invoke(&self, handler: &Handler, inputs: &Inputs) -> Result<Outcome, InvokeError> {
        self.run(handler, inputs).await.map_err(|e| e.redacted(self.redactor()))
    }

    async fn run(&self, handler: &Handler, inputs: &Inputs) -> Result<Outcome, InvokeError> {
        let scope = Scope::of(inputs);
        match &handler.kind {
            Kind::Simple(plan) => {
                let args = handler.eval_with(&scope);
                self.simple(plan, &args, inputs, &handler.output).await
            }
            Kind::Orchestrated(o) => self.orchestrate(o, handler, inputs).await,
            Kind::Mock => Ok(Outcome {
                status: StatusCode::OK,
                body: OutBody::Json(handler.output.apply(&Value::Null, &scope)),
                call: None,
                location: None,
            }),
            Kind::Unimplemented(why) => Err(InvokeError::NotImplemented(why.clone())),
        }
    }

    async fn simple(
        &self,
        plan: &RequestPlan,
        args: &Map<String, Value>,
        inputs: &Inputs,
        output: &Output,
    ) -> Result<Outcome, InvokeError> {
        let scope = Scope { args: Some(args), inputs, steps: None, redact: self.dry_run };
        let request = plan.build(&scope).map_err(InvokeError::Input)?;
        if self.dry_run {
            return Ok(Outcome {
                status: StatusCode::OK,
                body: OutBody::Json(self.describe(&request)),
                call: Some(plan.call.clone()),
                location: None,
            });
        }
        let response = self.executor.send(request).await?;
        let content_type =
            response.headers.get("content-type").and_then(|v| std::str::from_utf8(v).ok()).map(str::to_owned);
        let body = response.body;
        let status = response.status;
        let call = Some(plan.call.clone());
        // Only successful bodies are mapped; errors, pass-through and binary come back as they are.
        if !status.is_success() || matches!(output, Output::Passthrough) || plan.format == RawFormat::Binary {
            let body = if body.is_empty() { OutBody::Empty } else { OutBody::Raw { bytes: body, content_type } };
            let location = status
                .is_redirection()
                .then(|| response.headers.get("location").map(|v| String::from_utf8_lossy(v).into_owned()))
                .flatten();
            return Ok(Outcome { status, body, call, location });
        }
        if status == StatusCode::NO_CONTENT || (body.is_empty() && plan.format == RawFormat::Json) {
            return Ok(Outcome { status, body: OutBody::Empty, call, location: None });
        }
        let decode_error = |e: crate::decode::DecodeError| InvokeError::Decode {
            call: plan.call.clone(),
            format: plan.format.as_str(),
            message: e.to_string(),
        };
        if output.is_identity() && plan.format == RawFormat::Json && !body.iter().all(u8::is_ascii_whitespace) {
            // The same JSON value, without parsing it into a tree and writing it out again.
            crate::decode::check_json(&body).map_err(decode_error)?;
            return Ok(Outcome { status, body: OutBody::JsonText(body), call, location: None });
        }
        let decoded = decode(plan.format, &body, plan.output_schema.as_deref()).map_err(decode_error)?;
        let scope = Scope { args: Some(args), inputs, steps: None, redact: false };
        Ok(Outcome { status, body: OutBody::Json(output.apply(&decoded, &scope)), call, location: None })
    }

    /// Runs one consumed call for a step and returns its shaped output.
    async fn step_call(
        &self,
        name: &str,
        plan: &RequestPlan,
        args: &Map<String, Value>,
        inputs: &Inputs,
    ) -> Result<Value, InvokeError> {
        let scope = Scope { args: Some(args), inputs, steps: None, redact: self.dry_run };
        let request = plan.build(&scope).map_err(InvokeError::Input)?;
        if self.dry_run {
            return Ok(self.describe(&request));
        }
        let response = self.executor.send(request).await?;
        if !response.status.is_success() {
            return Err(InvokeError::StepFailed {
                step: name.to_string(),
                call: plan.call.clone(),
                status: response.status,
                excerpt: OutBody::Raw { bytes: response.body, content_type: None }.excerpt(200),
            });
        }
        if response.body.is_empty() {
            return Ok(Value::Null);
        }
        let decoded = decode(plan.format, &response.body, plan.output_schema.as_deref()).map_err(|e| {
            InvokeError::Decode { call: plan.call.clone(), format: plan.format.as_str(), message: e.to_string() }
        })?;
        Ok(plan.step_output.apply(&decoded, &Scope::of(inputs)))
    }

    async fn orchestrate(&self, o: &Orchestration, handler: &Handler, inputs: &Inputs) -> Result<Outcome, InvokeError> {
        // The operation-level `with` adds to what the steps see.
        let mut merged = inputs.clone();
        for (k, v) in handler.eval_with(&Scope::of(inputs)) {
            merged.set(k, v);
        }
        let inputs = &merged;
        let mut outputs = Map::new();
        let mut last_call: Option<Value> = None;
        let mut i = 0;
        while i < o.steps.len() {
            // Consecutive call steps that do not read each other run concurrently.
            let mut batch = vec![i];
            while let Some(StepPlan::Call { depends_on, .. }) = o.steps.get(i + batch.len()) {
                if !matches!(o.steps[i], StepPlan::Call { .. }) || depends_on.iter().any(|d| batch.contains(d)) {
                    break;
                }
                batch.push(i + batch.len());
            }
            let futures = batch.iter().map(|&j| {
                let step = &o.steps[j];
                let outputs = &outputs;
                async move {
                    match step {
                        StepPlan::Call { name, plan, with, .. } => {
                            let scope = Scope { args: None, inputs, steps: Some(outputs), redact: false };
                            let args = eval_with(with, &scope);
                            let mut step_inputs = inputs.clone();
                            // Step templates may name earlier step outputs.
                            for (k, v) in outputs.iter() {
                                step_inputs.insert_if_absent(k.clone(), v.clone());
                            }
                            self.step_call(name, plan, &args, &step_inputs).await.map(|v| (name.clone(), v, true))
                        }
                        StepPlan::Lookup { name, index, match_field, value, fields, .. } => {
                            Ok((name.clone(), lookup_step(outputs, inputs, index, match_field, value, fields), false))
                        }
                    }
                }
            });
            let results = futures_util::future::join_all(futures).await;
            for r in results {
                let (name, value, is_call) = r?;
                if is_call {
                    last_call = Some(value.clone());
                }
                outputs.insert(name, value);
            }
            i += batch.len();
        }
        let context = Value::Object(outputs);
        let result = if o.mappings.is_empty() {
            last_call.unwrap_or(Value::Null)
        } else {
            let mut mapped = Map::new();
            for (target, path) in &o.mappings {
                insert_dotted(&mut mapped, target, path.eval(&context));
            }
            Value::Object(mapped)
        };
        let scope = Scope { args: None, inputs, steps: context.as_object(), redact: false };
        let body = match &handler.output {
            Output::Passthrough => result,
            output => output.apply(&result, &scope),
        };
        Ok(Outcome { status: StatusCode::OK, body: OutBody::Json(body), call: None, location: None })
    }
}

fn lookup_step(
    outputs: &Map<String, Value>,
    inputs: &Inputs,
    index: &str,
    match_field: &str,
    value: &LookupValue,
    fields: &[String],
) -> Value {
    let table = outputs.get(index).cloned().unwrap_or(Value::Null);
    let entries: Vec<&Value> = match &table {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![&table],
        _ => Vec::new(),
    };
    let keep = |entry: &Value| -> Value {
        if fields.is_empty() {
            return entry.clone();
        }
        let found =
            |f: &str| entry.as_object().and_then(|o| crate::inputs::lookup(o, f)).cloned().unwrap_or(Value::Null);
        Value::Object(fields.iter().map(|f| (f.clone(), found(f))).collect())
    };
    let find = |wanted: &Value| -> Option<Value> {
        let wanted = value_text(wanted);
        entries
            .iter()
            .find(|e| {
                e.as_object()
                    .and_then(|o| crate::inputs::lookup(o, match_field))
                    .is_some_and(|v| value_text(v) == wanted)
            })
            .map(|e| keep(e))
    };
    let context = Value::Object(outputs.clone());
    let looked_up = match value {
        LookupValue::Path(p) => p.eval(&context),
        LookupValue::Tpl(t) => {
            t.render_value(&Scope { args: None, inputs, steps: Some(outputs), redact: false }).unwrap_or(Value::Null)
        }
    };
    match looked_up {
        Value::Array(items) => Value::Array(items.iter().filter_map(find).collect()),
        Value::Null => Value::Null,
        single => find(&single).unwrap_or(Value::Null),
    }
}

/// Sets `target` (a dotted name split into parts) in `map`, creating nested objects.
fn insert_dotted(map: &mut Map<String, Value>, target: &[String], value: Value) {
    match target {
        [] => {}
        [last] => {
            map.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = map.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                insert_dotted(inner, rest, value);
            }
        }
    }
}

/// Every string in `v` (keys too) with the values `redactor` knows replaced by `***`.
fn scrub_strings(v: &mut Value, redactor: &Redactor) {
    if redactor.is_empty() {
        return;
    }
    match v {
        Value::String(s) => redactor.scrub_in_place(s),
        Value::Array(items) => items.iter_mut().for_each(|i| scrub_strings(i, redactor)),
        Value::Object(m) => {
            let scrubbed: Map<String, Value> = std::mem::take(m)
                .into_iter()
                .map(|(k, mut v)| {
                    scrub_strings(&mut v, redactor);
                    (redactor.scrub(&k).into_owned(), v)
                })
                .collect();
            *m = scrubbed;
        }
        _ => {}
    }
}

/// The request a dry run would have sent: method, URL (query included), headers and body, with
/// credentials shown as `***` (and the URL's display form, [`UpstreamRequest::display_url`]).
pub fn describe(req: &UpstreamRequest) -> Value {
    let mut url = req.display_url().to_string();
    let mut query = req.query.clone();
    let mut headers = Map::new();
    for (name, value) in &req.headers {
        headers.insert(name.as_str().to_string(), Value::String(value.to_str().unwrap_or("<binary>").to_string()));
    }
    match &req.auth {
        Some(Auth::Bearer(_)) => {
            headers.insert("authorization".into(), Value::String("Bearer ***".into()));
        }
        Some(Auth::Basic { .. }) => {
            headers.insert("authorization".into(), Value::String("Basic ***".into()));
        }
        Some(Auth::Digest { username, .. }) => {
            headers
                .insert("authorization".into(), Value::String(format!("Digest username=\"{username}\", response=***")));
        }
        Some(Auth::ApiKeyHeader { name, .. }) => {
            headers.insert(name.as_str().to_string(), Value::String("***".into()));
        }
        Some(Auth::ApiKeyQuery { name, .. }) => query.push((name.clone(), "***".into())),
        None => {}
    }
    if !query.is_empty() {
        let q: Vec<String> = query.iter().map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v))).collect();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&q.join("&"));
    }
    let body = match &req.body {
        UpstreamBody::None => Value::Null,
        UpstreamBody::Bytes { bytes, content_type } => {
            if let Some(ct) = content_type {
                headers.insert("content-type".into(), Value::String(ct.to_str().unwrap_or_default().to_string()));
            }
            serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
        }
        UpstreamBody::Stream { .. } => Value::String("<stream>".into()),
    };
    serde_json::json!({
        "dryRun": true,
        "call": req.call.to_string(),
        "method": req.method.as_str(),
        "url": url,
        "headers": headers,
        "body": body,
    })
}

fn encode_query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'*') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Wraps an engine for sharing.
pub type SharedEngine = Arc<Engine>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_targets_build_nested_objects() {
        let mut m = Map::new();
        insert_dotted(&mut m, &["route".into(), "from".into()], json!("A"));
        insert_dotted(&mut m, &["route".into(), "to".into()], json!("B"));
        insert_dotted(&mut m, &["imo".into()], json!("1"));
        assert_eq!(Value::Object(m), json!({"route": {"from": "A", "to": "B"}, "imo": "1"}));
    }

    #[test]
    fn lookups_match_scalars_and_arrays() {
        let outputs = json!({"crew": [{"crewId": "c1", "fullName": "Ada", "role": "captain", "x": 1}, {"crewId": "c2", "fullName": "Bo", "role": "cook"}], "ship": {"assigned": ["c2", "c1", "zz"]}});
        let outputs = outputs.as_object().unwrap();
        let i = Inputs::new();
        let value = LookupValue::Path(crate::path::Path::compile("$.ship.assigned").unwrap());
        let fields = vec!["fullName".to_string(), "role".to_string()];
        assert_eq!(
            lookup_step(outputs, &i, "crew", "crewId", &value, &fields),
            json!([{"fullName": "Bo", "role": "cook"}, {"fullName": "Ada", "role": "captain"}])
        );
        let single = LookupValue::Path(crate::path::Path::compile("$.ship.assigned[1]").unwrap());
        assert_eq!(
            lookup_step(outputs, &i, "crew", "crewId", &single, &fields),
            json!({"fullName": "Ada", "role": "captain"})
        );
    }
}
