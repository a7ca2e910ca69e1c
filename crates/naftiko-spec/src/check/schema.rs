//! The official JSON Schema of the declared version, as warnings.
//!
//! Real files break the schema in harmless ways, so every schema finding is a warning; what
//! would make execution wrong is found by the reader and the semantic checks, as errors.
//! `oneOf`/`anyOf` failures are reduced to the branch the author most likely meant (the one
//! whose `type` discriminator matches, then the one with fewest problems), so the message
//! says what to fix instead of "not valid under any of the schemas".

use std::collections::HashSet;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::model::Version;
use crate::source::Span;
use crate::yaml::Node;

const ALPHA1: &str = include_str!("../../../../schema/naftiko-1.0.0-alpha1.json");
const ALPHA2: &str = include_str!("../../../../schema/naftiko-1.0.0-alpha2.json");
const ALPHA3: &str = include_str!("../../../../schema/naftiko-1.0.0-alpha3.json");

struct Compiled {
    schema: Value,
    validator: Validator,
}

fn compiled(version: Version) -> &'static Compiled {
    static CACHE: [OnceLock<Compiled>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (idx, text) = match version {
        Version::Alpha1 => (0, ALPHA1),
        Version::Alpha2 => (1, ALPHA2),
        Version::Alpha3 => (2, ALPHA3),
    };
    CACHE[idx].get_or_init(|| {
        // The schemas are vendored and tested: failing here is a build defect, not bad input.
        let schema: Value = serde_json::from_str(text).expect("vendored schema is valid JSON");
        let mut dispatched = schema.clone();
        let defs = schema.get("$defs").cloned().unwrap_or_default();
        dispatch(&mut dispatched, &defs);
        let validator = jsonschema::draft202012::new(&dispatched).expect("vendored schema compiles");
        Compiled { schema, validator }
    })
}

/// Rewrites each costly `oneOf`/`anyOf` whose branches can be told apart (by a `type` constant,
/// a JSON type, or a key only that branch requires) into an `if`/`then`/`else` chain, so the
/// validator checks only the branch that applies. Without this, every failing entry is checked
/// against every branch and each branch's errors copy the whole entry (a 700 kB consumes block
/// took 180 ms); with it, errors come from the branch meant, which also gives better messages.
/// When no condition matches, the original `oneOf`/`anyOf` runs, so nothing is lost.
fn dispatch(node: &mut Value, defs: &Value) {
    match node {
        Value::Object(map) => {
            // Children first, so the rewritten chain is never rewritten again.
            for v in map.values_mut() {
                dispatch(v, defs);
            }
            for kw in ["oneOf", "anyOf"] {
                let Some(Value::Array(branches)) = map.get(kw) else { continue };
                let costly = branches.iter().any(|b| b.get("$ref").is_some() || b.get("properties").is_some());
                if !costly {
                    continue;
                }
                let resolved: Vec<Value> = branches.iter().map(|b| resolve_branch(b, defs)).collect();
                let mut conditions: Vec<Option<Value>> = Vec::new();
                for (i, b) in resolved.iter().enumerate() {
                    conditions.push(branch_condition(b, &resolved, i));
                }
                let unconditioned: Vec<usize> = (0..conditions.len()).filter(|&i| conditions[i].is_none()).collect();
                if unconditioned.len() > 1 {
                    continue;
                }
                let original = serde_json::json!({ kw: branches.clone() });
                let mut chain = match unconditioned.first() {
                    Some(&i) => branches[i].clone(),
                    None => original,
                };
                for i in (0..branches.len()).rev() {
                    if let Some(cond) = &conditions[i] {
                        chain = serde_json::json!({ "if": cond, "then": branches[i].clone(), "else": chain });
                    }
                }
                map.remove(kw);
                let mut all = match map.remove("allOf") {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                };
                all.push(chain);
                map.insert("allOf".into(), Value::Array(all));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| dispatch(v, defs)),
        _ => {}
    }
}

/// A branch with its `$ref` and `allOf` parts merged (only what conditions need).
fn resolve_branch(b: &Value, defs: &Value) -> Value {
    let mut out = serde_json::Map::new();
    let merge = |v: &Value, out: &mut serde_json::Map<String, Value>| {
        if let Some(o) = v.as_object() {
            for (k, val) in o {
                match (k.as_str(), out.get_mut(k)) {
                    ("properties", Some(Value::Object(existing))) => {
                        if let Some(p) = val.as_object() {
                            for (pk, pv) in p {
                                if !pv.is_boolean() || !existing.contains_key(pk) {
                                    existing.insert(pk.clone(), pv.clone());
                                }
                            }
                        }
                    }
                    ("required", Some(Value::Array(existing))) => {
                        if let Some(r) = val.as_array() {
                            existing.extend(r.iter().cloned());
                        }
                    }
                    (_, None) => {
                        out.insert(k.clone(), val.clone());
                    }
                    _ => {}
                }
            }
        }
    };
    let deref = |v: &Value| -> Value {
        match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
            Some(name) => defs.get(name).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let top = deref(b);
    merge(&top, &mut out);
    if let Some(all) = top.get("allOf").and_then(Value::as_array) {
        for part in all {
            let part = deref(part);
            merge(&part, &mut out);
        }
    }
    Value::Object(out)
}

/// What tells a branch apart from its siblings: a property every branch pins to a constant
/// (`type`, `transport`), else a JSON type, else a key only this branch requires.
fn branch_condition(b: &Value, all: &[Value], index: usize) -> Option<Value> {
    let pinned = |branch: &Value, prop: &str| -> bool {
        branch
            .get("properties")
            .and_then(|p| p.get(prop))
            .is_some_and(|v| v.get("const").is_some() || v.get("enum").is_some())
    };
    let discriminator = b
        .get("properties")
        .and_then(Value::as_object)
        .and_then(|props| props.keys().find(|k| all.iter().all(|o| pinned(o, k))).cloned());
    if let Some(prop) = discriminator.filter(|p| p != "type") {
        let v = &b["properties"][&prop];
        let cond = if let Some(c) = v.get("const") {
            serde_json::json!({"const": c})
        } else {
            serde_json::json!({"enum": v["enum"]})
        };
        return Some(serde_json::json!({"type": "object", "required": [prop.clone()], "properties": {prop: cond}}));
    }
    let ty = b.get("properties").and_then(|p| p.get("type"));
    if let Some(c) = ty.and_then(|t| t.get("const")) {
        return Some(serde_json::json!({"type": "object", "required": ["type"], "properties": {"type": {"const": c}}}));
    }
    if let Some(e) = ty.and_then(|t| t.get("enum")) {
        return Some(serde_json::json!({"type": "object", "required": ["type"], "properties": {"type": {"enum": e}}}));
    }
    if let Some(t) = b.get("type").and_then(Value::as_str)
        && t != "object"
    {
        return Some(serde_json::json!({"type": t}));
    }
    let required: Vec<&str> = b.get("required").and_then(Value::as_array)?.iter().filter_map(Value::as_str).collect();
    // A key only this branch requires tells it apart.
    let another_requires = |k: &str| {
        all.iter().enumerate().filter(|(j, _)| *j != index).any(|(_, o)| {
            o.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|x| x.as_str() == Some(k)))
        })
    };
    let key = required.into_iter().find(|k| !another_requires(k))?;
    Some(serde_json::json!({"type": "object", "required": [key]}))
}

/// The raw schema of a version (for tools and documentation).
pub fn schema_json(version: Version) -> &'static Value {
    &compiled(version).schema
}

/// One schema problem, before it is located in the YAML.
#[derive(Debug, Clone, PartialEq)]
struct Finding {
    pointer: String,
    code: Code,
    message: String,
    help: Option<String>,
    /// Point at this key of the object rather than at the object.
    key: Option<String>,
}

/// Validates the main file's tree against the schema of `version`.
pub fn check(root: &Node, version: Version) -> Vec<Diagnostic> {
    let c = compiled(version);
    let instance = root.to_json();
    let mut findings = Vec::new();
    for err in c.validator.iter_errors(&instance) {
        flatten(&err, &c.schema, &mut findings);
    }
    let mut seen = HashSet::new();
    findings
        .into_iter()
        .filter(|f| seen.insert((f.pointer.clone(), f.key.clone(), f.message.clone())))
        .map(|f| locate(f, root))
        .collect()
}

fn locate(f: Finding, root: &Node) -> Diagnostic {
    let (node, key, _) = root.at_pointer(&f.pointer);
    let span: Span = match &f.key {
        Some(k) => node.get_key(k).map(|k| k.span).unwrap_or(node.span),
        None => {
            // Point at the key of a member ("port: x" → at `port`'s value), else the node.
            let _ = key;
            node.span
        }
    };
    Diagnostic::new(f.code, span, f.message).maybe_help(f.help)
}

fn pointer_of(err: &ValidationError) -> String {
    err.instance_path().as_str().to_string()
}

fn last_segment(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or("")
}

/// The schema object at a keyword location (`…#/$defs/X/additionalProperties` → `$defs/X`).
fn keyword_parent<'s>(schema: &'s Value, err: &ValidationError) -> Option<(&'s Value, String)> {
    let loc = err.absolute_keyword_location()?.to_string();
    let frag = loc.split_once('#')?.1.to_string();
    let parent = frag.rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default();
    Some((schema.pointer(&parent)?, parent))
}

fn resolve_ref<'s>(schema: &'s Value, v: &'s Value) -> &'s Value {
    match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(p) => schema.pointer(p).unwrap_or(v),
        None => v,
    }
}

/// Keys the schema allows at the object that produced an additional/unevaluated-properties error.
fn known_keys(schema: &Value, err: &ValidationError) -> Vec<String> {
    let Some((obj, parent_ptr)) = keyword_parent(schema, err) else { return Vec::new() };
    let mut keys: Vec<String> = Vec::new();
    let mut add = |v: &Value| {
        if let Some(props) = resolve_ref(schema, v).get("properties").and_then(Value::as_object) {
            for k in props.keys() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
    };
    add(obj);
    // Inside `allOf/N`, the sibling schemas (often a `$ref` to a base) contribute keys too.
    if let Some((gp, idx)) = parent_ptr.rsplit_once('/')
        && idx.parse::<usize>().is_ok()
        && gp.ends_with("/allOf")
        && let Some(all) = schema.pointer(gp).and_then(Value::as_array)
    {
        for s in all {
            add(s);
        }
    }
    keys
}

fn def_name(err: &ValidationError) -> Option<String> {
    let loc = err.absolute_keyword_location()?.to_string();
    let frag = loc.split_once('#')?.1;
    let mut name = None;
    let mut it = frag.split('/');
    while let Some(seg) = it.next() {
        if seg == "$defs" {
            name = it.next().map(str::to_owned);
        }
    }
    name
}

fn flatten(err: &ValidationError, schema: &Value, out: &mut Vec<Finding>) {
    let pointer = pointer_of(err);
    let field = last_segment(&pointer).to_string();
    let field_desc = if field.is_empty() { "the document".to_string() } else { format!("`{field}`") };
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let known = known_keys(schema, err);
            let place = def_name(err).map(|d| format!(" of {}", humanize(&d))).unwrap_or_default();
            for key in unexpected {
                let extension = def_name(err).and_then(|d| extension_note(&d, key));
                let help = match did_you_mean(key, known.iter().map(String::as_str)) {
                    _ if extension.is_some() => extension,
                    Some(s) => Some(format!("did you mean `{s}`? (unknown keys are ignored)")),
                    None if !known.is_empty() => Some(format!("known keys here: {}", known.join(", "))),
                    None => None,
                };
                out.push(Finding {
                    pointer: pointer.clone(),
                    code: Code::UnknownKey,
                    message: format!("unknown key `{key}`{place}"),
                    help,
                    key: Some(key.clone()),
                });
            }
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            best_branch(err, context, schema, &pointer, out);
        }
        ValidationErrorKind::Required { property } => {
            let p = property.as_str().unwrap_or_default();
            let def = def_name(err);
            if p == "properties" && def.as_deref() == Some("MappedOutputParameterObject") {
                out.push(Finding {
                    pointer,
                    code: Code::Schema,
                    message: "`type: object` output has no `properties` (the specification requires them)".into(),
                    help: Some(
                        "the value selected by `mapping` is returned as it is; add `properties` to pick fields".into(),
                    ),
                    key: None,
                });
                return;
            }
            let place = def.map(|d| format!(" in {}", humanize(&d))).unwrap_or_default();
            out.push(Finding {
                pointer,
                code: Code::Schema,
                message: format!("missing key `{p}`{place}"),
                help: Some(format!("the specification requires `{p}` here")),
                key: None,
            });
        }
        ValidationErrorKind::Type { kind } => out.push(Finding {
            pointer,
            code: Code::Schema,
            message: format!("{field_desc} should be {}", type_words(kind)),
            help: None,
            key: None,
        }),
        ValidationErrorKind::Enum { options } => out.push(Finding {
            pointer,
            code: Code::Schema,
            message: format!("{field_desc} is {}, not one of the specified values", short(err.instance())),
            help: Some(format!("use one of: {}", list_values(options))),
            key: None,
        }),
        ValidationErrorKind::Constant { expected_value } => out.push(Finding {
            pointer,
            code: Code::Schema,
            message: format!(
                "{field_desc} is {}, the specification expects {}",
                short(err.instance()),
                short(expected_value)
            ),
            help: None,
            key: None,
        }),
        ValidationErrorKind::Pattern { pattern } => out.push(Finding {
            pointer,
            code: Code::Schema,
            message: format!("{field_desc} is {}, which does not match the specified format", short(err.instance())),
            help: Some(pattern_words(pattern)),
            key: None,
        }),
        ValidationErrorKind::MinItems { .. } => out.push(Finding {
            pointer,
            code: Code::Schema,
            message: format!("{field_desc} is an empty list"),
            help: Some("add at least one entry, or remove the key".into()),
            key: None,
        }),
        ValidationErrorKind::Not { schema: not } => {
            let keys: Vec<String> = not
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).map(|k| format!("`{k}`")).collect())
                .unwrap_or_default();
            let message = if keys.is_empty() {
                format!("{field_desc} has a combination of keys the specification does not allow")
            } else {
                format!("{} must not be present here", keys.join(" and "))
            };
            out.push(Finding { pointer, code: Code::Schema, message, help: None, key: None })
        }
        _ => out.push(Finding {
            pointer,
            code: Code::Schema,
            message: format!("{field_desc}: {err}"),
            help: None,
            key: None,
        }),
    }
}

/// Chooses the branch of a `oneOf`/`anyOf` the author most likely meant and reports its problems.
fn best_branch(
    err: &ValidationError,
    context: &[Vec<ValidationError<'static>>],
    schema: &Value,
    pointer: &str,
    out: &mut Vec<Finding>,
) {
    let discriminator = format!("{pointer}/type");
    let mut expected_types: Vec<String> = Vec::new();
    let mut candidates: Vec<Vec<Finding>> = Vec::new();
    for branch in context {
        let mut mismatched = false;
        for e in branch {
            let p = pointer_of(e);
            match e.kind() {
                ValidationErrorKind::Constant { expected_value } if p == discriminator => {
                    mismatched = true;
                    expected_types.push(short(expected_value));
                }
                ValidationErrorKind::Enum { options } if p == discriminator => {
                    mismatched = true;
                    expected_types.push(list_values(options));
                }
                ValidationErrorKind::Type { .. } if p == pointer => mismatched = true,
                _ => {}
            }
        }
        if mismatched {
            continue;
        }
        let mut findings = Vec::new();
        for e in branch {
            flatten(e, schema, &mut findings);
        }
        candidates.push(findings);
    }
    // The branch meant is the one whose problems are deepest: problems on this very object
    // (missing or unknown keys) say the author wrote a different shape; nested ones do not.
    let shallow = |fs: &Vec<Finding>| fs.iter().filter(|f| f.pointer == pointer).count();
    if let Some(best) = candidates.into_iter().min_by_key(|f| (shallow(f), f.len())) {
        out.extend(best);
        return;
    }
    let field = last_segment(pointer);
    let what = if field.is_empty() { "this entry".to_string() } else { format!("`{field}`") };
    if !expected_types.is_empty() {
        out.push(Finding {
            pointer: pointer.to_string(),
            code: Code::Schema,
            message: format!("{what} has a `type` the specification does not define here"),
            help: Some(format!("use one of: {}", expected_types.join(", "))),
            key: None,
        });
    } else {
        out.push(Finding {
            pointer: pointer.to_string(),
            code: Code::Schema,
            message: format!("{what} matches none of the shapes the specification allows"),
            help: Some(err.kind_name()),
            key: None,
        });
    }
}

trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for ValidationError<'_> {
    fn kind_name(&self) -> String {
        format!("see the specification for `{}`", def_name(self).unwrap_or_else(|| "this object".into()))
    }
}

fn type_words(kind: &jsonschema::error::TypeKind) -> String {
    use jsonschema::error::TypeKind;
    let one = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "object" => "a mapping".to_string(),
        "array" => "a list".to_string(),
        "string" => "a string".to_string(),
        "integer" => "an integer".to_string(),
        "number" => "a number".to_string(),
        "boolean" => "a boolean".to_string(),
        "null" => "null".to_string(),
        other => other.to_string(),
    };
    match kind {
        TypeKind::Single(t) => one(t),
        TypeKind::Multiple(ts) => ts.iter().map(|t| one(&t)).collect::<Vec<_>>().join(" or "),
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Object(_) => "a mapping".into(),
        Value::Array(_) => "a list".into(),
        other => other.to_string(),
    };
    if s.chars().count() > 80 { format!("{}…", s.chars().take(77).collect::<String>()) } else { s }
}

/// Keys the specification does not define but naftiko reads (SEMANTICS §4, §8).
fn extension_note(def: &str, key: &str) -> Option<String> {
    match (def, key) {
        ("ConsumedInputParameter", "type" | "description") => {
            Some("not in the specification, but naftiko uses it to describe the argument in MCP tool schemas".into())
        }
        ("ConsumedInputParameter", "required") => Some(
            "not in the specification, but naftiko enforces it: a missing required value fails the call before sending"
                .into(),
        ),
        _ => None,
    }
}

fn pattern_words(pattern: &str) -> String {
    match pattern {
        "^[a-zA-Z0-9-]+$" => "names here use letters, digits and `-` only".into(),
        "^[a-zA-Z0-9-_*]+$" => "names here use letters, digits, `-`, `_` and `*` only".into(),
        "^[a-zA-Z0-9-]+\\.[a-zA-Z0-9-]+$" => "write `namespace.name` (letters, digits and `-`)".into(),
        "^https?://[^/]+(/[^{]*)?$" => "an http(s) URL without `{` placeholders".into(),
        "^file:///" => "a `file:///` URI".into(),
        _ => format!("expected a value matching `{pattern}`"),
    }
}

fn list_values(options: &Value) -> String {
    match options.as_array() {
        Some(a) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        None => options.to_string(),
    }
}

/// `ExposedOperation` → "an exposed operation": readable names for schema definitions.
fn humanize(def: &str) -> String {
    let mut words = String::new();
    for (i, c) in def.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    let words =
        words.replace("mcp", "MCP").replace("http", "HTTP").replace("rest", "REST").replace("api key", "API key");
    let article = if words.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {words}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;
    use crate::yaml::parse;

    fn warnings(src: &str) -> Vec<Diagnostic> {
        let root = parse(src, FileId(0)).unwrap();
        check(&root, Version::Alpha2)
    }

    const BASE: &str = "naftiko: 1.0.0-alpha2\ninfo:\n  label: x\n  description: y\ncapability:\n";

    #[test]
    fn vendored_schemas_compile() {
        for v in Version::ALL {
            assert!(schema_json(v).get("$defs").is_some());
        }
    }

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let src = format!(
            "{BASE}  exposes:\n    - type: rest\n      port: 8080\n      namespace: api\n      resources:\n        - path: /a\n          operations:\n            - method: GET\n              call: x.y\n              inputParameter: []\n"
        );
        let w = warnings(&src);
        let d = w.iter().find(|d| d.code == Code::UnknownKey).unwrap_or_else(|| panic!("{w:#?}"));
        assert!(d.message.contains("`inputParameter`"), "{}", d.message);
        assert_eq!(d.help.as_deref(), Some("did you mean `inputParameters`? (unknown keys are ignored)"));
        assert_eq!((d.span.line, d.span.col), (15, 15));
    }

    #[test]
    fn one_of_failures_report_the_intended_branch() {
        let src = format!(
            "{BASE}  exposes:\n    - type: rest\n      port: 8080\n      namespace: api\n      descriptio: z\n      resources:\n        - path: /a\n          operations:\n            - method: GET\n"
        );
        let w = warnings(&src);
        assert!(w.iter().any(|d| d.message.contains("unknown key `descriptio`")), "{w:#?}");
        assert!(!w.iter().any(|d| d.message.contains("matches none")), "{w:#?}");
    }

    #[test]
    fn unknown_adapter_type_lists_the_defined_types() {
        let src = format!("{BASE}  exposes:\n    - type: graphql\n      port: 8080\n");
        let w = warnings(&src);
        let d = w
            .iter()
            .find(|d| d.message.contains("`type` the specification does not define"))
            .unwrap_or_else(|| panic!("{w:#?}"));
        assert!(d.help.as_deref().unwrap_or("").contains("rest"), "{d:?}");
    }

    #[test]
    fn all_schema_findings_are_warnings() {
        let src = format!("{BASE}  exposes: 5\n");
        assert!(warnings(&src).iter().all(|d| !d.is_error()));
    }
}
