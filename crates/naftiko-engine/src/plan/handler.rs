//! What an exposed operation, tool or aggregate function executes, compiled.
//!
//! Every adapter entry becomes a [`Handler`]: its `with` injections (reference, template or
//! literal, classified once), the execution kind (simple call, orchestration, mock) and the
//! output shape. `ref` to an aggregate function is resolved here: the function's fields are
//! inherited and explicit ones win, so REST and MCP share one compiled function.

use std::collections::HashMap;
use std::sync::Arc;

use naftiko_spec::model::{Document, Handler as HandlerDecl, Step};
use serde_json::{Map, Value};

use crate::expr::{Scope, Tpl, Vocabulary};
use crate::path::Path;
use crate::plan::request::RequestPlan;
use crate::plan::shape::{Mode, Output};

/// A compiled handler.
#[derive(Debug, Clone)]
pub struct Handler {
    /// `with` injections, in declaration order.
    pub with: Vec<(String, WithValue)>,
    /// How it executes.
    pub kind: Kind,
    /// How its result is shaped.
    pub output: Output,
}

/// A compiled `with` value (SEMANTICS §3).
#[derive(Debug, Clone)]
pub enum WithValue {
    /// `prefix.name`: the invocation value `name`, keeping its JSON type.
    Ref(String),
    /// A string with `{{…}}`.
    Tpl(Tpl),
    /// Anything else, as written.
    Literal(Value),
}

/// How a handler executes.
#[derive(Debug, Clone)]
pub enum Kind {
    /// One consumed operation (simple mode).
    Simple(Arc<RequestPlan>),
    /// Steps and mappings.
    Orchestrated(Arc<Orchestration>),
    /// Output `value`s only: no upstream.
    Mock,
    /// Nothing to execute; the reason is returned to callers (501).
    Unimplemented(String),
}

/// Orchestration: steps, then mappings.
#[derive(Debug, Clone)]
pub struct Orchestration {
    /// Steps in order.
    pub steps: Vec<StepPlan>,
    /// `targetName` (split on `.`) ← JSONPath over the step outputs.
    pub mappings: Vec<(Vec<String>, Path)>,
}

/// One compiled step.
#[derive(Debug, Clone)]
pub enum StepPlan {
    /// Call a consumed operation and store its (shaped) output under `name`.
    Call {
        /// Step name.
        name: String,
        /// The operation.
        plan: Arc<RequestPlan>,
        /// Step `with`.
        with: Vec<(String, WithValue)>,
        /// Indexes of earlier steps this one reads (for concurrency).
        depends_on: Vec<usize>,
    },
    /// Find entries of an earlier step's output whose `match` field equals the looked-up value(s).
    Lookup {
        /// Step name.
        name: String,
        /// The step searched.
        index: String,
        /// The compared field.
        match_field: String,
        /// The value(s) looked up.
        value: LookupValue,
        /// Fields kept (all when empty).
        fields: Vec<String>,
        /// Indexes of earlier steps this one reads.
        depends_on: Vec<usize>,
    },
}

/// What a lookup step looks up.
#[derive(Debug, Clone)]
pub enum LookupValue {
    /// A JSONPath over step outputs: an array means one lookup per element.
    Path(Path),
    /// A template over inputs and steps.
    Tpl(Tpl),
}

/// Where handler compilation looks things up.
pub struct Context<'a> {
    /// The document.
    pub doc: &'a Document,
    /// Compiled consumed operations by `namespace.operation`.
    pub operations: &'a HashMap<String, Arc<RequestPlan>>,
    /// Template names known at compile time.
    pub vocab: &'a Vocabulary,
}

impl Context<'_> {
    fn operation(&self, call: &str) -> Result<Arc<RequestPlan>, String> {
        let resolved = self.doc.resolve_call(call).map_err(|_| format!("`call: {call}` does not resolve"))?;
        let key = format!(
            "{}.{}",
            resolved.consumes.namespace.value,
            resolved.operation.name.as_ref().map(|n| n.value.as_str()).unwrap_or("")
        );
        self.operations
            .get(&key)
            .cloned()
            .ok_or_else(|| format!("`call: {call}` names an operation that could not be compiled"))
    }
}

impl Handler {
    /// Compiles a handler declaration; `prefixes` are the reference prefixes of the adapter
    /// that runs it (`rest`, `tools`, its namespace, …).
    pub fn compile(decl: &HandlerDecl, cx: &Context, prefixes: &[String]) -> Result<Handler, String> {
        let merged;
        let mut decl = decl;
        let mut prefixes = prefixes.to_vec();
        if let Some(r) = &decl.reference {
            let (agg, function) =
                cx.doc.resolve_ref(&r.value).ok_or_else(|| format!("`ref: {}` does not resolve", r.value))?;
            merged = inherit(decl, &function.handler);
            decl = &merged;
            if let Some(ns) = &agg.namespace {
                prefixes.push(ns.value.clone());
            }
        }
        let with = compile_with(&decl.with, cx.vocab, &prefixes)?;
        let (kind, mode) = if let Some(call) = &decl.call {
            (Kind::Simple(cx.operation(&call.value)?), Mode::Mapped)
        } else if !decl.steps.is_empty() {
            (Kind::Orchestrated(Arc::new(compile_orchestration(decl, cx, &prefixes)?)), Mode::ByName)
        } else {
            (Kind::Mock, Mode::Mapped)
        };
        let output = Output::compile(&decl.output_parameters, cx.vocab, mode)?;
        let kind = match kind {
            Kind::Mock if !output.is_static() => {
                Kind::Unimplemented("this operation declares no `call`, `steps`, `ref` or mock `value`s".to_string())
            }
            k => k,
        };
        Ok(Handler { with, kind, output })
    }

    /// Evaluates `with` against the invocation: the values that feed the consumed operation.
    pub fn eval_with(&self, scope: &Scope) -> Map<String, Value> {
        eval_with(&self.with, scope)
    }
}

/// Evaluates compiled `with` entries.
pub fn eval_with(with: &[(String, WithValue)], scope: &Scope) -> Map<String, Value> {
    let mut out = Map::with_capacity(with.len());
    for (k, v) in with {
        let value = match v {
            WithValue::Ref(name) => scope.lookup(name).cloned(),
            WithValue::Tpl(t) => t.render_value(scope),
            WithValue::Literal(l) => Some(l.clone()),
        };
        if let Some(value) = value {
            out.insert(k.clone(), value);
        }
    }
    out
}

fn compile_with(
    with: &[naftiko_spec::model::WithEntry],
    vocab: &Vocabulary,
    prefixes: &[String],
) -> Result<Vec<(String, WithValue)>, String> {
    with.iter()
        .map(|w| {
            let value = match &w.value.value {
                Value::String(s) if s.contains("{{") => WithValue::Tpl(vocab.template(s)?),
                Value::String(s) => match s.split_once('.') {
                    Some((prefix, name)) if prefixes.iter().any(|p| p == prefix) && !name.is_empty() => {
                        WithValue::Ref(name.to_string())
                    }
                    _ => WithValue::Literal(Value::String(s.clone())),
                },
                other => WithValue::Literal(other.clone()),
            };
            Ok((w.key.value.clone(), value))
        })
        .collect()
}

fn compile_orchestration(decl: &HandlerDecl, cx: &Context, prefixes: &[String]) -> Result<Orchestration, String> {
    let mut steps = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, s) in decl.steps.iter().enumerate() {
        let name = s.name.as_ref().map(|n| n.value.clone()).unwrap_or_else(|| format!("step-{}", i + 1));
        let depends_on = dependencies(s, &names);
        let plan = match s.kind.value.as_str() {
            "call" => {
                let call = s.call.as_ref().ok_or("call step without `call`")?;
                StepPlan::Call {
                    name: name.clone(),
                    plan: cx.operation(&call.value)?,
                    with: compile_with(&s.with, cx.vocab, prefixes)?,
                    depends_on,
                }
            }
            "lookup" => {
                let lv = s.lookup_value.as_ref().map(|v| v.value.as_str()).unwrap_or_default();
                let value = if lv.trim_start().starts_with('$') {
                    LookupValue::Path(Path::compile(lv)?)
                } else {
                    LookupValue::Tpl(cx.vocab.template(lv)?)
                };
                StepPlan::Lookup {
                    name: name.clone(),
                    index: s.index.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                    match_field: s.match_field.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                    value,
                    fields: s.output_fields.iter().map(|f| f.value.clone()).collect(),
                    depends_on,
                }
            }
            other => return Err(format!("unsupported step type `{other}`")),
        };
        steps.push(plan);
        names.push(name);
    }
    let mappings = decl
        .mappings
        .iter()
        .map(|m| Ok((m.target_name.value.split('.').map(str::to_owned).collect(), Path::compile(&m.value.value)?)))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Orchestration { steps, mappings })
}

/// Earlier steps a step reads: named in its templates, `with` values, `index` or lookup path.
fn dependencies(s: &Step, earlier: &[String]) -> Vec<usize> {
    let mut text = String::new();
    for w in &s.with {
        text.push_str(&w.value.value.to_string());
        text.push(' ');
    }
    for f in [&s.index, &s.lookup_value, &s.call].into_iter().flatten() {
        text.push_str(&f.value);
        text.push(' ');
    }
    earlier
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            text.match_indices(n.as_str()).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = text[i + n.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
            })
        })
        .map(|(i, _)| i)
        .collect()
}

/// The function's fields, overridden by the referencing entry's explicit ones.
fn inherit(own: &HandlerDecl, function: &HandlerDecl) -> HandlerDecl {
    HandlerDecl {
        call: own.call.clone().or_else(|| function.call.clone()),
        with: if own.with.is_empty() {
            function.with.clone()
        } else {
            let mut w = function.with.clone();
            w.retain(|f| !own.with.iter().any(|o| o.key.value == f.key.value));
            w.extend(own.with.iter().cloned());
            w
        },
        reference: None,
        steps: if own.steps.is_empty() { function.steps.clone() } else { own.steps.clone() },
        mappings: if own.mappings.is_empty() { function.mappings.clone() } else { own.mappings.clone() },
        output_parameters: if own.output_parameters.is_empty() {
            function.output_parameters.clone()
        } else {
            own.output_parameters.clone()
        },
    }
}
