//! MCP tool input schemas (SEMANTICS §8): from the tool's declared `inputParameters`, or —
//! as in most real files — inferred from its `with` references and the consumed parameters
//! they feed, so agents know exactly which arguments a tool takes.

use naftiko_spec::expr::{parse_path_template, parse_template};
use naftiko_spec::model::{Body, ConsumedParam, Document, Handler as HandlerDecl, ParamIn, ToolParam};
use serde_json::{Map, Value, json};

/// The JSON Schema of a tool's arguments.
pub fn input_schema(declared: &[ToolParam], handler: &HandlerDecl, doc: &Document, prefixes: &[String]) -> Value {
    let mut declared = declared;
    let mut handler = handler;
    let mut prefixes = prefixes.to_vec();
    if let Some(r) = &handler.reference
        && let Some((agg, f)) = doc.resolve_ref(&r.value)
    {
        if declared.is_empty() {
            declared = &f.input_parameters;
        }
        if handler.call.is_none() && handler.steps.is_empty() {
            handler = &f.handler;
        }
        if let Some(ns) = &agg.namespace {
            prefixes.push(ns.value.clone());
        }
    }
    let mut props = Map::new();
    let mut required: Vec<String> = Vec::new();
    if !declared.is_empty() {
        for p in declared {
            let mut schema = Map::new();
            schema.insert("type".into(), json!(p.ty.as_ref().map(|t| t.value.as_str()).unwrap_or("string")));
            if let Some(d) = &p.description {
                schema.insert("description".into(), json!(d.value));
            }
            props.insert(p.name.value.clone(), Value::Object(schema));
            if p.required != Some(false) {
                required.push(p.name.value.clone());
            }
        }
        return finish(props, required);
    }
    let mut infer = Inference { props, required, prefixes: &prefixes, doc };
    if let Some(call) = &handler.call {
        infer.call(&call.value, &handler.with);
    }
    let step_names: Vec<&str> =
        handler.steps.iter().filter_map(|s| s.name.as_ref().map(|n| n.value.as_str())).collect();
    for step in &handler.steps {
        infer.with_only(&step.with, &step_names);
        if let Some(call) = &step.call {
            infer.call_unsupplied(&call.value, &step.with, &step_names);
        }
    }
    finish(infer.props, infer.required)
}

fn finish(props: Map<String, Value>, required: Vec<String>) -> Value {
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(props));
    if !required.is_empty() {
        schema.insert("required".into(), json!(required));
    }
    Value::Object(schema)
}

struct Inference<'a> {
    props: Map<String, Value>,
    required: Vec<String>,
    prefixes: &'a [String],
    doc: &'a Document,
}

/// A consumed parameter (or bare path placeholder) a value feeds.
struct Target<'a> {
    param: Option<&'a ConsumedParam>,
    placeholder: bool,
}

impl Inference<'_> {
    fn add(&mut self, name: &str, target: &Target, force_required: bool) {
        if self.props.contains_key(name) {
            return;
        }
        let mut schema = Map::new();
        let ty = target.param.and_then(|p| p.ty.as_ref()).map(|t| t.value.as_str());
        match ty {
            Some(t @ ("string" | "number" | "integer" | "boolean" | "array" | "object")) => {
                schema.insert("type".into(), json!(t));
            }
            _ if target.placeholder => {
                schema.insert("type".into(), json!("string"));
            }
            _ => {
                let loc = target.param.map(|p| p.location.value);
                if matches!(loc, Some(ParamIn::Query | ParamIn::Header | ParamIn::Path | ParamIn::Cookie)) {
                    schema.insert("type".into(), json!("string"));
                }
            }
        }
        if let Some(d) = target.param.and_then(|p| p.description.as_ref()) {
            schema.insert("description".into(), json!(d.value));
        }
        self.props.insert(name.to_string(), Value::Object(schema));
        let required = force_required || target.placeholder || target.param.is_some_and(|p| p.required == Some(true));
        if required && !self.required.iter().any(|r| r == name) {
            self.required.push(name.to_string());
        }
    }

    fn reference<'v>(&self, v: &'v Value) -> Option<&'v str> {
        let s = v.as_str()?;
        let (prefix, name) = s.split_once('.')?;
        (self.prefixes.iter().any(|p| p == prefix) && !name.is_empty() && !s.contains("{{")).then_some(name)
    }

    fn call(&mut self, call: &str, with: &[naftiko_spec::model::WithEntry]) {
        let Ok(r) = self.doc.resolve_call(call) else { return };
        let params = merged_params(r.consumes, r.resource, r.operation);
        let placeholders = placeholders(r.resource.path.as_ref().map(|p| p.value.as_str()).unwrap_or(""));
        let find = |name: &str| -> Target {
            let param = params.iter().copied().find(|p| p.name.value == name);
            Target {
                param,
                placeholder: param.is_none() && placeholders.iter().any(|p| p == name)
                    || param.is_some_and(|p| p.location.value == ParamIn::Path),
            }
        };
        for w in with {
            if let Some(name) = self.reference(&w.value.value) {
                let target = find(&w.key.value);
                self.add(name, &target, false);
            } else if let Some(text) = w.value.value.as_str().filter(|s| s.contains("{{")) {
                let target = find(&w.key.value);
                let required = target.placeholder || target.param.is_some_and(|p| p.required == Some(true));
                for var in template_names(text, self.prefixes) {
                    self.add(&var, &Target { param: None, placeholder: false }, required);
                }
            }
        }
        self.call_unsupplied(call, with, &[]);
    }

    /// Consumed parameters and placeholders nothing else supplies become arguments under their own names.
    fn call_unsupplied(&mut self, call: &str, with: &[naftiko_spec::model::WithEntry], steps: &[&str]) {
        let Ok(r) = self.doc.resolve_call(call) else { return };
        let supplied = |name: &str| with.iter().any(|w| w.key.value == name);
        let params = merged_params(r.consumes, r.resource, r.operation);
        for name in placeholders(r.resource.path.as_ref().map(|p| p.value.as_str()).unwrap_or("")) {
            let param = params.iter().copied().find(|p| p.name.value == name);
            if !supplied(&name) && param.is_none_or(|p| p.value.is_none()) && !steps.contains(&name.as_str()) {
                self.add(&name, &Target { param, placeholder: true }, false);
            }
        }
        // A value the path's fragment names is sent for the agent (selector.rs).
        let path = r.resource.path.as_ref().map(|p| p.value.as_str()).unwrap_or("");
        let fragment = super::selector::split_fragment(path).1;
        let fixed = |name: &str| fragment.0.iter().any(|c| c.value.is_some() && c.name.eq_ignore_ascii_case(name));
        for p in &params {
            if matches!(p.location.value, ParamIn::Path | ParamIn::Environment)
                || p.value.is_some()
                || supplied(&p.name.value)
                || fixed(&p.name.value)
            {
                continue;
            }
            self.add(&p.name.value, &Target { param: Some(p), placeholder: false }, false);
        }
        let body_text = match &r.operation.body {
            Some(Body::Raw(s)) => s.value.clone(),
            Some(Body::Typed { data, .. }) => data.value.to_string(),
            None => String::new(),
        };
        for var in template_names(&body_text, self.prefixes) {
            if !supplied(&var) && !steps.contains(&var.as_str()) && !self.doc.bind_variables().any(|(_, v)| v == var) {
                self.add(&var, &Target { param: None, placeholder: false }, false);
            }
        }
    }

    fn with_only(&mut self, with: &[naftiko_spec::model::WithEntry], steps: &[&str]) {
        for w in with {
            if let Some(name) = self.reference(&w.value.value) {
                self.add(name, &Target { param: None, placeholder: false }, false);
            } else if let Some(text) = w.value.value.as_str() {
                for var in template_names(text, self.prefixes) {
                    let head = var.split('.').next().unwrap_or("");
                    if !steps.contains(&head) && !self.doc.bind_variables().any(|(_, v)| v == var) {
                        self.add(&var, &Target { param: None, placeholder: false }, false);
                    }
                }
            }
        }
    }
}

fn merged_params<'d>(
    c: &'d naftiko_spec::model::Consumes,
    r: &'d naftiko_spec::model::ConsumedResource,
    op: &'d naftiko_spec::model::ConsumedOperation,
) -> Vec<&'d ConsumedParam> {
    let mut merged: Vec<&ConsumedParam> = Vec::new();
    for p in c.input_parameters.iter().chain(&r.input_parameters).chain(&op.input_parameters) {
        merged.retain(|q| !(q.name.value == p.name.value && q.location.value == p.location.value));
        merged.push(p);
    }
    merged
}

fn placeholders(path: &str) -> Vec<String> {
    parse_path_template(path).map(|t| t.vars().map(str::to_owned).collect()).unwrap_or_default()
}

/// Input names a template reads (reference prefixes stripped; JSONPath and bind-looking names skipped).
fn template_names(text: &str, prefixes: &[String]) -> Vec<String> {
    let Ok(t) = parse_template(text) else { return Vec::new() };
    t.vars()
        .filter(|v| !v.starts_with('$'))
        .map(|v| match v.split_once('.') {
            Some((p, rest)) if prefixes.iter().any(|x| x == p) => rest.to_string(),
            _ => v.to_string(),
        })
        .filter(|v| !v.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .collect()
}
