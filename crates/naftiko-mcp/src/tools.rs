//! Tools: the `tools/list` entries built once, argument validation with a schema compiled once
//! per tool, and turning engine outcomes into tool results an agent can act on (SEMANTICS §8).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use naftiko_engine::inputs::Inputs;
use naftiko_engine::invoke::{Engine, InvokeError, OutBody, Outcome};
use naftiko_engine::plan::Tool as ToolPlan;
use naftiko_engine::secret::Redactor;
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
        if v.is_valid(args) {
            return Vec::new(); // the common case, without collecting errors
        }
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
            return ToolReply::Error(format!("invalid arguments for `{}`: {}", self.plan.name, problems.join("; ")));
        }
        let Value::Object(args) = args else { unreachable!("built as an object above") };
        let inputs = Inputs::from_map(args);
        match engine.invoke(&self.plan.handler, &inputs).await {
            Ok(outcome) => ToolReply::of(outcome, wrap, engine.redactor()),
            Err(e) => ToolReply::Error(invoke_error_text(&e)),
        }
    }
}

/// What a tool call answers, before it is written as rmcp's result type (SDK paths) or
/// straight to JSON (the HTTP fast lane): one outcome, two renderings.
#[derive(Debug)]
pub(crate) enum ToolReply {
    /// `isError: true` with a readable text.
    Error(String),
    /// JSON text known to be well-formed: the text content and, as it is, the structured content.
    JsonText(Bytes),
    /// A text content and a structured value.
    Value {
        /// The text content.
        text: String,
        /// The structured content.
        structured: Value,
    },
}

impl ToolReply {
    fn of(outcome: Outcome, wrap: bool, redactor: &Redactor) -> ToolReply {
        let status = outcome.status;
        if status.is_redirection() {
            // Redirects are not followed: an empty (`null`) success would hide that nothing came.
            let call = outcome.call.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "the upstream".into());
            let reason = status.canonical_reason().unwrap_or("");
            let target = match &outcome.location {
                Some(l) => format!("Location: {l}"),
                None => "no Location header".into(),
            };
            return ToolReply::Error(format!(
                "upstream {call} answered {} {reason} ({target}); redirects are not followed",
                status.as_u16()
            ));
        }
        if status.as_u16() >= 400 {
            let call = outcome.call.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "the upstream".into());
            // The upstream's words, without a bind value it may have echoed.
            let excerpt = redactor.scrub(&outcome.body.excerpt(500)).into_owned();
            let reason = status.canonical_reason().unwrap_or("");
            let text = if excerpt.is_empty() {
                format!("upstream {call} answered {} {reason}", status.as_u16())
            } else {
                format!("upstream {call} answered {} {reason}: {excerpt}", status.as_u16())
            };
            return ToolReply::Error(text);
        }
        let (bytes, checked) = match outcome.body {
            OutBody::Empty => return ToolReply::value(Value::Null, wrap),
            OutBody::Json(v) => return ToolReply::value(v, wrap),
            OutBody::JsonText(bytes) => (bytes, true),
            OutBody::Raw { bytes, .. } => (bytes, false),
        };
        let json = bytes.trim_ascii();
        let is_json = checked || naftiko_engine::decode::check_json(json).is_ok();
        if is_json && (!wrap || json.first() == Some(&b'{')) {
            // A JSON body passed through is its own text and structured content: no parsing.
            return ToolReply::JsonText(bytes.slice_ref(json));
        }
        match is_json.then(|| serde_json::from_slice::<Value>(json).ok()).flatten() {
            // Wrapped for an older client; the text stays the upstream's.
            Some(v) => ToolReply::Value {
                text: String::from_utf8_lossy(json).into_owned(),
                structured: json!({ "result": v }),
            },
            None => {
                // Not JSON (text, CSV, …): the text itself.
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let structured = if wrap { json!({"result": text}) } else { Value::String(text.clone()) };
                ToolReply::Value { text, structured }
            }
        }
    }

    /// A value built by naftiko: printed once for the text, wrapped for older clients when not an object.
    fn value(value: Value, wrap: bool) -> ToolReply {
        let text = value.to_string();
        let structured = if wrap && !value.is_object() { json!({ "result": value }) } else { value };
        ToolReply::Value { text, structured }
    }

    /// How long the reply's text is (to size buffers).
    pub fn text_len(&self) -> usize {
        match self {
            ToolReply::Error(t) | ToolReply::Value { text: t, .. } => t.len(),
            ToolReply::JsonText(b) => b.len(),
        }
    }

    /// As rmcp's result type.
    pub fn into_result(self) -> CallToolResult {
        let (text, structured) = match self {
            ToolReply::Error(text) => return CallToolResult::error(vec![ContentBlock::text(text)]),
            ToolReply::Value { text, structured } => (text, structured),
            ToolReply::JsonText(b) => {
                // Checked when the reply was made.
                (String::from_utf8_lossy(&b).into_owned(), serde_json::from_slice(&b).unwrap_or(Value::Null))
            }
        };
        let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
        r.structured_content = Some(structured);
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
        match self {
            ToolReply::Error(text) => {
                write_json_string(out, text);
                out.extend_from_slice(br#"}],"isError":true}"#);
                return;
            }
            ToolReply::JsonText(b) => {
                match std::str::from_utf8(b) {
                    Ok(text) => write_json_string(out, text),
                    Err(_) => write_json_string(out, &String::from_utf8_lossy(b)),
                }
                out.extend_from_slice(br#"}],"structuredContent":"#);
                out.extend_from_slice(b);
            }
            ToolReply::Value { text, structured } => {
                write_json_string(out, text);
                out.extend_from_slice(br#"}],"structuredContent":"#);
                // Writing a `Value` into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, structured);
            }
        }
        out.extend_from_slice(br#","isError":false}"#);
    }
}

fn write_json_string(out: &mut Vec<u8>, s: &str) {
    naftiko_engine::json_text::write_string(out, s);
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
