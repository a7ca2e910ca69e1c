//! Tools: the `tools/list` entries built once, argument validation with a schema compiled once
//! per tool, and turning engine outcomes into tool results an agent can act on (SEMANTICS §8).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use naftiko_engine::inputs::Inputs;
use naftiko_engine::invoke::{Engine, InvokeError, OutBody, Outcome};
use naftiko_engine::plan::Tool as ToolPlan;
use rmcp::model::{CallToolResult, ContentBlock, Tool};
use serde_json::{Map, Value, json};

/// One tool, ready to list and call.
pub(crate) struct ToolEntry {
    pub plan: Arc<ToolPlan>,
    pub listed: Tool,
    validator: Option<jsonschema::Validator>,
}

/// Every tool of an adapter, in declaration order.
pub(crate) struct Tools {
    pub entries: Vec<ToolEntry>,
    by_name: HashMap<String, usize>,
}

impl Tools {
    pub fn new(plans: &[Arc<ToolPlan>]) -> Tools {
        let mut entries = Vec::with_capacity(plans.len());
        let mut by_name = HashMap::new();
        for plan in plans {
            let mut annotations = Map::new();
            let h = &plan.hints;
            if let Some(t) = &plan.title {
                annotations.insert("title".into(), json!(t));
            }
            for (k, v) in [
                ("readOnlyHint", h.read_only),
                ("destructiveHint", h.destructive),
                ("idempotentHint", h.idempotent),
                ("openWorldHint", h.open_world),
            ] {
                if let Some(v) = v {
                    annotations.insert(k.into(), json!(v));
                }
            }
            let mut tool = json!({"name": plan.name, "inputSchema": plan.input_schema});
            if let Some(t) = &plan.title {
                tool["title"] = json!(t);
            }
            if let Some(d) = &plan.description {
                tool["description"] = json!(d);
            }
            if !annotations.is_empty() {
                tool["annotations"] = Value::Object(annotations);
            }
            if let Some(o) = &plan.output_schema {
                tool["outputSchema"] = o.clone();
            }
            let listed: Tool = match serde_json::from_value(tool) {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!("tool `{}` cannot be listed: {e}", plan.name);
                    continue;
                }
            };
            let validator = jsonschema::draft202012::new(&plan.input_schema).ok();
            by_name.insert(plan.name.clone(), entries.len());
            entries.push(ToolEntry { plan: plan.clone(), listed, validator });
        }
        Tools { entries, by_name }
    }

    pub fn get(&self, name: &str) -> Option<&ToolEntry> {
        self.by_name.get(name).map(|&i| &self.entries[i])
    }
}

impl ToolEntry {
    /// Every way `args` breaks the input schema, each naming the argument.
    pub fn problems(&self, args: &Value) -> Vec<String> {
        let Some(v) = &self.validator else { return Vec::new() };
        v.iter_errors(args)
            .map(|e| {
                let at = e.instance_path().as_str().trim_start_matches('/').replace('/', ".");
                let what = match e.kind() {
                    jsonschema::error::ValidationErrorKind::Required { property } => {
                        return format!("missing required argument `{}`", property.as_str().unwrap_or_default());
                    }
                    _ => e.to_string(),
                };
                if at.is_empty() { what } else { format!("argument `{at}`: {what}") }
            })
            .collect()
    }

    /// Calls the tool; `wrap` wraps non-object results as `{"result": …}` for older clients.
    pub async fn call(&self, engine: &Engine, args: Map<String, Value>, wrap: bool) -> ToolReply {
        let args = Value::Object(args);
        let problems = self.problems(&args);
        if !problems.is_empty() {
            return ToolReply::error(format!("invalid arguments for `{}`: {}", self.plan.name, problems.join("; ")));
        }
        let Value::Object(args) = args else { unreachable!("built as an object above") };
        let inputs = Inputs::from_map(args);
        match engine.invoke(&self.plan.handler, &inputs).await {
            Ok(outcome) => ToolReply::of(outcome, wrap),
            Err(e) => ToolReply::error(invoke_error_text(&e)),
        }
    }
}

/// What a tool call answers, before it is written as rmcp's result type (SDK paths) or
/// straight to JSON (the HTTP fast lane): one outcome, two renderings.
#[derive(Debug)]
pub(crate) struct ToolReply {
    /// `isError`.
    pub is_error: bool,
    /// The text content.
    pub text: String,
    /// `structuredContent`, when the call succeeded.
    pub structured: Option<Structured>,
}

/// A structured result: a value, or JSON text already known to be well-formed.
#[derive(Debug)]
pub(crate) enum Structured {
    Value(Value),
    Json(Bytes),
}

impl ToolReply {
    /// A result with `isError: true` and a readable text.
    pub fn error(text: String) -> ToolReply {
        ToolReply { is_error: true, text, structured: None }
    }

    fn of(outcome: Outcome, wrap: bool) -> ToolReply {
        let status = outcome.status;
        if status.as_u16() >= 400 {
            let call = outcome.call.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "the upstream".into());
            let excerpt = outcome.body.excerpt(500);
            let reason = status.canonical_reason().unwrap_or("");
            let text = if excerpt.is_empty() {
                format!("upstream {call} answered {} {reason}", status.as_u16())
            } else {
                format!("upstream {call} answered {} {reason}: {excerpt}", status.as_u16())
            };
            return ToolReply::error(text);
        }
        let value = match outcome.body {
            OutBody::Empty => Value::Null,
            OutBody::Json(v) => v,
            OutBody::Raw { bytes, .. } => {
                let json = bytes.trim_ascii();
                let is_json = naftiko_engine::decode::check_json(json).is_ok();
                if is_json && (!wrap || json.first() == Some(&b'{')) {
                    // A JSON body passed through is its own text and structured content: no parsing.
                    let text = String::from_utf8_lossy(json).into_owned();
                    let json = bytes.slice_ref(json);
                    return ToolReply { is_error: false, text, structured: Some(Structured::Json(json)) };
                }
                match is_json.then(|| serde_json::from_slice::<Value>(json).ok()).flatten() {
                    Some(v) => {
                        // Wrapped for an older client; the text stays the upstream's.
                        let text = String::from_utf8_lossy(json).into_owned();
                        let structured = json!({ "result": v });
                        return ToolReply { is_error: false, text, structured: Some(Structured::Value(structured)) };
                    }
                    None => {
                        // Not JSON (text, CSV, …): the text itself.
                        let text = String::from_utf8_lossy(&bytes).into_owned();
                        let structured = if wrap { json!({"result": text}) } else { Value::String(text.clone()) };
                        return ToolReply { is_error: false, text, structured: Some(Structured::Value(structured)) };
                    }
                }
            }
        };
        let text = value.to_string();
        let structured = if wrap && !value.is_object() { json!({ "result": value }) } else { value };
        ToolReply { is_error: false, text, structured: Some(Structured::Value(structured)) }
    }

    /// As rmcp's result type.
    pub fn into_result(self) -> CallToolResult {
        let content = vec![ContentBlock::text(self.text)];
        if self.is_error {
            return CallToolResult::error(content);
        }
        let mut r = CallToolResult::success(content);
        r.structured_content = self.structured.map(|s| match s {
            Structured::Value(v) => v,
            // Checked when the reply was made.
            Structured::Json(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
        });
        r
    }

    /// Writes the reply as a `tools/call` result object, exactly as rmcp prints
    /// [`Self::into_result`]: with `resultType` for a 2026-07-28 client (`current`).
    pub fn write_result(&self, out: &mut Vec<u8>, current: bool) {
        if current {
            out.extend_from_slice(br#"{"resultType":"complete","content":[{"type":"text","text":"#);
        } else {
            out.extend_from_slice(br#"{"content":[{"type":"text","text":"#);
        }
        write_json_string(out, &self.text);
        out.extend_from_slice(b"}]");
        match &self.structured {
            Some(Structured::Json(b)) if !self.is_error => {
                out.extend_from_slice(br#","structuredContent":"#);
                out.extend_from_slice(b);
            }
            Some(Structured::Value(v)) if !self.is_error => {
                out.extend_from_slice(br#","structuredContent":"#);
                // Writing a `Value` into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, v);
            }
            _ => {}
        }
        out.extend_from_slice(if self.is_error { br#","isError":true}"# } else { br#","isError":false}"# });
    }
}

fn write_json_string(out: &mut Vec<u8>, s: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn invoke_error_text(e: &InvokeError) -> String {
    match e {
        InvokeError::Input(problems) => {
            let list: Vec<String> =
                problems.iter().map(|p| format!("{} (`{}` in {})", p.message, p.name, p.location)).collect();
            format!("invalid arguments: {}", list.join("; "))
        }
        other => other.to_string(),
    }
}
