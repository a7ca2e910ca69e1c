//! Tools: the `tools/list` entries built once, argument validation with a schema compiled once
//! per tool, and turning engine outcomes into tool results an agent can act on (SEMANTICS §8).

use std::collections::HashMap;
use std::sync::Arc;

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
    pub async fn call(&self, engine: &Engine, args: Map<String, Value>, wrap: bool) -> CallToolResult {
        let problems = self.problems(&Value::Object(args.clone()));
        if !problems.is_empty() {
            return error(format!("invalid arguments for `{}`: {}", self.plan.name, problems.join("; ")));
        }
        let inputs = Inputs::from_map(args);
        match engine.invoke(&self.plan.handler, &inputs).await {
            Ok(outcome) => outcome_result(outcome, wrap),
            Err(e) => error(invoke_error_text(&e)),
        }
    }
}

/// A tool result with `isError: true` and a readable text.
pub(crate) fn error(text: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text)])
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

fn outcome_result(outcome: Outcome, wrap: bool) -> CallToolResult {
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
        return error(text);
    }
    let value = match &outcome.body {
        OutBody::Empty => Value::Null,
        body => match body.to_json() {
            Some(v) => v,
            None => {
                // Not JSON (text, CSV, …): the text itself.
                let text = body.excerpt(usize::MAX);
                let structured = if wrap { json!({"result": text}) } else { Value::String(text.clone()) };
                return success(text, structured);
            }
        },
    };
    // A JSON body passed through is already its own text; anything built is printed once.
    let text = match &outcome.body {
        OutBody::Raw { bytes, .. } => String::from_utf8_lossy(bytes).trim().to_string(),
        _ => value.to_string(),
    };
    let structured = if wrap && !value.is_object() { json!({ "result": value }) } else { value };
    success(text, structured)
}

fn success(text: String, structured: Value) -> CallToolResult {
    let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
    r.structured_content = Some(structured);
    r
}
