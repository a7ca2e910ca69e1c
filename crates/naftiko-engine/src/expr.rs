//! Templates compiled once and rendered per request (SEMANTICS §3).
//!
//! At compile time every `{{name}}` is classified: a bind variable (its secret value is fixed
//! at start-up), an invocation value looked up by name (reference prefixes such as `rest.` or
//! `tools.` stripped), or a JSONPath into the step context. Rendering depends on where the
//! result goes — text, a URL path segment, a header, or JSON — and never HTML-escapes.

use std::borrow::Cow;
use std::collections::HashMap;

use naftiko_spec::expr::{Part, Template, TemplateError, parse_template};
use serde_json::{Map, Value};

use crate::inputs::{Inputs, lookup};
use crate::path::Path;
use crate::secret::Secret;

/// What a compiled template variable refers to.
#[derive(Debug, Clone)]
pub enum Var {
    /// A bind variable, resolved at start-up.
    Bind(String, Secret),
    /// A value of the invocation (a `with` result, an input, a step output), by name.
    Name(String),
    /// `{{$.step.path}}`: a JSONPath over the step outputs.
    Path(Path),
}

/// Names and prefixes a template can refer to, known at compile time.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    /// Bind variables by `VAR` and by `namespace.VAR`.
    pub binds: HashMap<String, Secret>,
    /// Prefixes that mean "the invocation input" (`rest`, `tools`, `mcp`, adapter and aggregate
    /// namespaces).
    pub input_prefixes: Vec<String>,
}

impl Vocabulary {
    /// Classifies one template variable.
    pub fn var(&self, name: &str) -> Result<Var, String> {
        if let Some(secret) = self.binds.get(name) {
            return Ok(Var::Bind(name.to_string(), secret.clone()));
        }
        if name.starts_with('$') {
            return Path::compile(name).map(Var::Path);
        }
        if let Some((prefix, rest)) = name.split_once('.')
            && self.input_prefixes.iter().any(|p| p == prefix)
        {
            return Ok(Var::Name(rest.to_string()));
        }
        Ok(Var::Name(name.to_string()))
    }

    /// Compiles template text.
    pub fn template(&self, text: &str) -> Result<Tpl, String> {
        let parsed = parse_template(text).map_err(|e: TemplateError| e.message)?;
        self.compile(&parsed)
    }

    /// Compiles an already parsed template.
    pub fn compile(&self, t: &Template) -> Result<Tpl, String> {
        let mut parts = Vec::with_capacity(t.parts.len());
        for p in &t.parts {
            parts.push(match p {
                Part::Lit(s) => TPart::Lit(s.clone()),
                Part::Var(v) => TPart::Var(self.var(v)?),
            });
        }
        Ok(Tpl { parts })
    }
}

/// A compiled template.
#[derive(Debug, Clone, Default)]
pub struct Tpl {
    /// Literal text and variables, in order.
    pub parts: Vec<TPart>,
}

/// A piece of a [`Tpl`].
#[derive(Debug, Clone)]
pub enum TPart {
    /// Copied as is.
    Lit(String),
    /// Substituted.
    Var(Var),
}

/// Where an invocation's values come from while rendering.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// `with` results of the call being built (looked up first).
    pub args: Option<&'a Map<String, Value>>,
    /// The invocation inputs.
    pub inputs: &'a Inputs,
    /// Step outputs by step name (orchestration).
    pub steps: Option<&'a Map<String, Value>>,
    /// Render bind variables as `***` (dry runs, error messages).
    pub redact: bool,
}

impl<'a> Scope<'a> {
    /// A scope over inputs only.
    pub fn of(inputs: &'a Inputs) -> Scope<'a> {
        Scope { args: None, inputs, steps: None, redact: false }
    }

    /// Looks a name up: `with` results, inputs, then step outputs (`step.field.0`), then a
    /// dotted path through inputs (`body.id`).
    pub fn lookup(&self, name: &str) -> Option<&'a Value> {
        if let Some(v) = self.args.and_then(|a| lookup(a, name)) {
            return Some(v);
        }
        if let Some(v) = self.inputs.get(name) {
            return Some(v);
        }
        let (head, rest) = name.split_once('.')?;
        if let Some(steps) = self.steps
            && let Some(v) = lookup(steps, head)
        {
            return navigate(v, rest);
        }
        let base = self.args.and_then(|a| lookup(a, head)).or_else(|| self.inputs.get(head))?;
        navigate(base, rest)
    }

    /// A variable's value as text, `None` when it has none (missing or `null`).
    pub fn render_var(&self, var: &Var) -> Option<String> {
        self.var_value(var).filter(|v| !v.is_null()).map(|v| value_text(&v).into_owned())
    }

    fn var_value(&self, var: &Var) -> Option<Cow<'a, Value>> {
        match var {
            Var::Bind(..) if self.redact => Some(Cow::Owned(Value::String("***".into()))),
            Var::Bind(_, s) => Some(Cow::Owned(Value::String(s.expose().to_string()))),
            Var::Name(n) => self.lookup(n).map(Cow::Borrowed),
            Var::Path(p) => {
                let steps = self.steps?;
                let root = Value::Object(steps.clone());
                Some(Cow::Owned(p.eval(&root)))
            }
        }
    }
}

/// Follows `a.b.0` through objects and arrays.
fn navigate<'v>(mut v: &'v Value, path: &str) -> Option<&'v Value> {
    for seg in path.split('.') {
        v = match v {
            Value::Object(m) => lookup(m, seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

/// A value as text: strings as they are, `null` as nothing, numbers and booleans in JSON form,
/// objects and arrays as compact JSON (never a language's debug text).
pub fn value_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        other => Cow::Owned(other.to_string()),
    }
}

impl Tpl {
    /// A template that is only literal text.
    pub fn literal(text: impl Into<String>) -> Tpl {
        Tpl { parts: vec![TPart::Lit(text.into())] }
    }

    /// True when it has no variables.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, TPart::Lit(_)))
    }

    /// The variable when the template is exactly one `{{x}}`.
    pub fn sole_var(&self) -> Option<&Var> {
        match self.parts.as_slice() {
            [TPart::Var(v)] => Some(v),
            _ => None,
        }
    }

    /// True when some part is a bind variable (the rendered text is a secret).
    pub fn uses_binds(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, TPart::Var(Var::Bind(..))))
    }

    /// Renders as text. Missing values render as nothing; the first missing name is returned so
    /// callers can decide (omit a query parameter, fail on a path placeholder).
    pub fn render(&self, scope: &Scope) -> (String, Option<String>) {
        let mut out = String::new();
        let mut missing = None;
        for p in &self.parts {
            match p {
                TPart::Lit(s) => out.push_str(s),
                TPart::Var(v) => match scope.var_value(v) {
                    Some(val) if !val.is_null() => out.push_str(&value_text(&val)),
                    _ => {
                        if missing.is_none() {
                            missing = Some(var_name(v));
                        }
                    }
                },
            }
        }
        (out, missing)
    }

    /// Renders as a typed value: a sole `{{x}}` keeps the value's JSON type; anything else is
    /// a string. `None` when a sole variable is missing.
    pub fn render_value(&self, scope: &Scope) -> Option<Value> {
        match self.sole_var() {
            Some(v) => scope.var_value(v).map(Cow::into_owned).filter(|v| !v.is_null()),
            None => Some(Value::String(self.render(scope).0)),
        }
    }
}

/// The name a variable was written with (for error messages).
pub fn var_name(v: &Var) -> String {
    match v {
        Var::Bind(n, _) => n.clone(),
        Var::Name(n) => n.clone(),
        Var::Path(_) => "$…".into(),
    }
}

/// A JSON value with templates inside strings: a string that is exactly `{{x}}` inserts the
/// typed value; a longer string inserts text.
#[derive(Debug, Clone)]
pub enum JsonTpl {
    /// No templates below.
    Const(Value),
    /// A string with templates.
    Str(Tpl),
    /// An array.
    Array(Vec<JsonTpl>),
    /// An object, in order.
    Object(Vec<(String, JsonTpl)>),
}

impl JsonTpl {
    /// Compiles templates found in the strings of `v`.
    pub fn compile(v: &Value, vocab: &Vocabulary) -> Result<JsonTpl, String> {
        Ok(match v {
            Value::String(s) if s.contains("{{") => JsonTpl::Str(vocab.template(s)?),
            Value::Array(a) => {
                let items = a.iter().map(|i| JsonTpl::compile(i, vocab)).collect::<Result<Vec<_>, _>>()?;
                if items.iter().all(|i| matches!(i, JsonTpl::Const(_))) {
                    JsonTpl::Const(v.clone())
                } else {
                    JsonTpl::Array(items)
                }
            }
            Value::Object(m) => {
                let entries = m
                    .iter()
                    .map(|(k, i)| JsonTpl::compile(i, vocab).map(|t| (k.clone(), t)))
                    .collect::<Result<Vec<_>, _>>()?;
                if entries.iter().all(|(_, i)| matches!(i, JsonTpl::Const(_))) {
                    JsonTpl::Const(v.clone())
                } else {
                    JsonTpl::Object(entries)
                }
            }
            other => JsonTpl::Const(other.clone()),
        })
    }

    /// Renders to a JSON value (a missing sole variable becomes `null`).
    pub fn render(&self, scope: &Scope) -> Value {
        match self {
            JsonTpl::Const(v) => v.clone(),
            JsonTpl::Str(t) => t.render_value(scope).unwrap_or(Value::Null),
            JsonTpl::Array(items) => Value::Array(items.iter().map(|i| i.render(scope)).collect()),
            JsonTpl::Object(entries) => {
                Value::Object(entries.iter().map(|(k, v)| (k.clone(), v.render(scope))).collect())
            }
        }
    }
}

/// A raw JSON body written as text with templates (`{"ids": {{crewIds}}, "name": "{{n}}"}`):
/// a variable inside a JSON string literal inserts escaped text; outside one it inserts the
/// value as JSON (`null` when missing).
#[derive(Debug, Clone)]
pub struct JsonTextTpl {
    parts: Vec<(TPart, bool)>,
}

impl JsonTextTpl {
    /// Compiles a raw body; `None` when the text does not look like JSON.
    pub fn compile(text: &str, vocab: &Vocabulary) -> Result<Option<JsonTextTpl>, String> {
        let trimmed = text.trim_start();
        if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
            return Ok(None);
        }
        let tpl = vocab.template(text)?;
        let mut in_string = false;
        let mut parts = Vec::with_capacity(tpl.parts.len());
        for p in tpl.parts {
            match &p {
                TPart::Lit(s) => {
                    let mut escaped = false;
                    for c in s.chars() {
                        match (escaped, c) {
                            (true, _) => escaped = false,
                            (false, '\\') if in_string => escaped = true,
                            (false, '"') => in_string = !in_string,
                            _ => {}
                        }
                    }
                    parts.push((p, false));
                }
                TPart::Var(_) => parts.push((p, in_string)),
            }
        }
        Ok(Some(JsonTextTpl { parts }))
    }

    /// Renders the body text.
    pub fn render(&self, scope: &Scope) -> String {
        let mut out = String::new();
        for (p, in_string) in &self.parts {
            match p {
                TPart::Lit(s) => out.push_str(s),
                TPart::Var(v) => {
                    let val = scope.var_value(v);
                    if *in_string {
                        let text = val.as_deref().map(value_text).unwrap_or_default();
                        let quoted = Value::String(text.into_owned()).to_string();
                        out.push_str(&quoted[1..quoted.len() - 1]);
                    } else {
                        match val {
                            Some(v) => out.push_str(&v.to_string()),
                            None => out.push_str("null"),
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vocab() -> Vocabulary {
        let mut binds = HashMap::new();
        binds.insert("KOMBO_API_KEY".to_string(), Secret::new("sk-123"));
        binds.insert("env.KOMBO_API_KEY".to_string(), Secret::new("sk-123"));
        Vocabulary { binds, input_prefixes: vec!["rest".into(), "tools".into(), "mcp".into()] }
    }

    fn inputs(v: Value) -> Inputs {
        Inputs::from_map(v.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn binds_inputs_and_prefixes_resolve() {
        let i = inputs(json!({"integration-id": "int 1", "page": 3}));
        let s = Scope::of(&i);
        let t = vocab().template("Bearer {{env.KOMBO_API_KEY}}").unwrap();
        assert_eq!(t.render(&s).0, "Bearer sk-123");
        assert!(t.uses_binds());
        let redacted = Scope { redact: true, ..s };
        assert_eq!(t.render(&redacted).0, "Bearer ***");
        let t = vocab().template("{{rest.integration_id}}/{{tools.page}}/{{missing}}").unwrap();
        assert_eq!(t.render(&s), ("int 1/3/".to_string(), Some("missing".to_string())));
    }

    #[test]
    fn sole_variables_keep_their_type() {
        let i = inputs(json!({"ids": [1, 2], "obj": {"a": 1}, "n": 5}));
        let s = Scope::of(&i);
        let v = vocab();
        assert_eq!(v.template("{{ids}}").unwrap().render_value(&s), Some(json!([1, 2])));
        assert_eq!(v.template("n={{n}}").unwrap().render_value(&s), Some(json!("n=5")));
        assert_eq!(v.template("{{obj}}").unwrap().render(&s).0, r#"{"a":1}"#, "objects render as JSON");
        assert_eq!(v.template("{{nope}}").unwrap().render_value(&s), None);
    }

    #[test]
    fn json_data_templates_insert_typed_values() {
        let i = inputs(json!({"name": "Ada \"the\" first", "ids": [1, 2]}));
        let s = Scope::of(&i);
        let t =
            JsonTpl::compile(&json!({"n": "{{name}}", "greeting": "hi {{name}}", "ids": "{{ids}}", "k": 1}), &vocab())
                .unwrap();
        assert_eq!(
            t.render(&s),
            json!({"n": "Ada \"the\" first", "greeting": "hi Ada \"the\" first", "ids": [1, 2], "k": 1})
        );
    }

    #[test]
    fn raw_json_bodies_are_rendered_json_aware() {
        let i = inputs(json!({"shipImo": "IMO \"9\"", "crewIds": ["c1", "c2"]}));
        let s = Scope::of(&i);
        let t = JsonTextTpl::compile(
            "{\n \"shipImo\": \"{{shipImo}}\",\n \"crewIds\": {{crewIds}},\n \"cargoIds\": {{cargoIds}}\n}",
            &vocab(),
        )
        .unwrap()
        .unwrap();
        let out = t.render(&s);
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, json!({"shipImo": "IMO \"9\"", "crewIds": ["c1", "c2"], "cargoIds": null}));
        assert!(JsonTextTpl::compile("plain {{x}}", &vocab()).unwrap().is_none());
    }

    #[test]
    fn step_outputs_are_reachable_by_dotted_names_and_jsonpath() {
        let i = Inputs::new();
        let steps = json!({"get-ship": {"imo": "IMO-1", "crew": ["a", "b"]}});
        let s = Scope { args: None, inputs: &i, steps: steps.as_object(), redact: false };
        assert_eq!(vocab().template("{{get-ship.crew.1}}").unwrap().render(&s).0, "b");
        assert_eq!(vocab().template("{{$.get-ship.imo}}").unwrap().render(&s).0, "IMO-1");
    }
}
