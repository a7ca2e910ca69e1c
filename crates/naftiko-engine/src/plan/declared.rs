//! Declared REST inputs (SEMANTICS §6): read from their `in` location, coerced to their
//! `type`, defaulted from `value`, and validated (`required`, `type`, `pattern`).

use http::Method;
use naftiko_spec::model::{ExposedParam, ParamIn};
use regex::Regex;
use serde_json::Value;

use crate::path::Path;
use crate::plan::shape::Ty;

/// A compiled declared input.
#[derive(Debug, Clone)]
pub struct DeclaredInput {
    /// Its name (the key it has in the inputs).
    pub name: String,
    /// Where it is read from.
    pub location: ParamIn,
    /// Its type.
    pub ty: Ty,
    /// Whether a missing value is an error.
    pub required: bool,
    /// The pattern a value must match.
    pub pattern: Option<Regex>,
    /// The default when absent (`value`; a default, not an override).
    pub default: Option<Value>,
    /// For body inputs: a JSONPath into the request body (`mapping`, or a `value` starting with `$`).
    pub body_path: Option<Path>,
    /// The name looked up at its location (the input name, or what a `$.query.x`-style
    /// mapping names).
    pub key: String,
}

impl DeclaredInput {
    /// Compiles a declaration. `path_vars` are the route's variables (an input named like one
    /// is read from the path when `in` is omitted).
    pub fn compile(p: &ExposedParam, path_vars: &[String], method: &Method) -> Result<DeclaredInput, String> {
        let name = p.name.value.clone();
        // A mapping written against the request (`$.path.id`, `$.query.q`, `$.headers.x`,
        // `$.body.a.b`) says where the value is.
        let request_view = p.mapping.as_ref().and_then(|m| request_location(&m.value));
        let location = match &p.location {
            None if request_view.is_some() => request_view.as_ref().map(|(l, _)| *l).unwrap_or(ParamIn::Body),
            Some(l) => l.value,
            None if path_vars.iter().any(|v| v == &name) => ParamIn::Path,
            None if matches!(*method, Method::GET | Method::DELETE | Method::HEAD) => ParamIn::Query,
            None => ParamIn::Body,
        };
        let pattern = match &p.pattern {
            Some(pat) => {
                Some(Regex::new(&format!("^(?:{})$", pat.value)).map_err(|e| format!("`pattern` of `{name}`: {e}"))?)
            }
            None => None,
        };
        let (default, mut body_path) = match &p.value {
            Some(v) => match &v.value {
                Value::String(s) if s.trim_start().starts_with('$') => (None, Some(Path::compile(s)?)),
                other => (Some(other.clone()), None),
            },
            None => (None, None),
        };
        let mut key = name.clone();
        match (&request_view, &p.mapping) {
            (Some((ParamIn::Body, rest)), _) => body_path = Some(Path::compile(&format!("$.{rest}"))?),
            (Some((_, rest)), _) => key = rest.clone(),
            (None, Some(m)) => body_path = Some(Path::compile(&m.value)?),
            (None, None) => {}
        }
        Ok(DeclaredInput {
            required: p.required.unwrap_or(location == ParamIn::Path),
            ty: Ty::parse(p.ty.as_ref().map(|t| t.value.as_str())),
            name,
            location,
            pattern,
            default,
            body_path,
            key,
        })
    }

    /// Coerces and validates a raw value; `Ok(None)` when absent and optional.
    pub fn accept(&self, raw: Option<Value>) -> Result<Option<Value>, String> {
        let value = match raw.filter(|v| !v.is_null()) {
            Some(v) => v,
            None => match &self.default {
                Some(d) => d.clone(),
                None if self.required => {
                    return Err(format!("required {} parameter `{}` is missing", self.location.as_str(), self.name));
                }
                None => return Ok(None),
            },
        };
        let value = coerce(self.ty, value).map_err(|found| {
            format!("{} parameter `{}` must be {}, got {found}", self.location.as_str(), self.name, ty_words(self.ty))
        })?;
        if let (Some(re), Value::String(s)) = (&self.pattern, &value)
            && !re.is_match(s)
        {
            return Err(format!(
                "{} parameter `{}` does not match the pattern `{}`",
                self.location.as_str(),
                self.name,
                pattern_text(re)
            ));
        }
        Ok(Some(value))
    }
}

/// `$.path.id` → (path, "id"); `$.body.a.b` → (body, "a.b"); otherwise `None`.
fn request_location(mapping: &str) -> Option<(ParamIn, String)> {
    let rest = mapping.trim().strip_prefix("$.")?;
    let (head, tail) = rest.split_once('.')?;
    let location = match head {
        "path" | "params" => ParamIn::Path,
        "query" => ParamIn::Query,
        "header" | "headers" => ParamIn::Header,
        "cookie" | "cookies" => ParamIn::Cookie,
        "body" => ParamIn::Body,
        _ => return None,
    };
    (!tail.is_empty()).then(|| (location, tail.to_string()))
}

fn pattern_text(re: &Regex) -> String {
    let s = re.as_str();
    s.strip_prefix("^(?:").and_then(|s| s.strip_suffix(")$")).unwrap_or(s).to_string()
}

fn ty_words(ty: Ty) -> &'static str {
    match ty {
        Ty::String => "a string",
        Ty::Number => "a number",
        Ty::Integer => "an integer",
        Ty::Boolean => "a boolean (true or false)",
        Ty::Object => "a JSON object",
        Ty::Array => "an array",
        Ty::Any => "a value",
    }
}

/// Converts text from a path, query or header to the declared type; JSON values must already
/// have it. The error is a short description of what was found.
fn coerce(ty: Ty, v: Value) -> Result<Value, String> {
    let describe = |v: &Value| match v {
        Value::String(s) => format!("\"{}\"", s.chars().take(40).collect::<String>()),
        Value::Object(_) => "an object".into(),
        Value::Array(_) => "an array".into(),
        other => other.to_string(),
    };
    match (ty, v) {
        (Ty::Any, v) => Ok(v),
        (Ty::String, Value::String(s)) => Ok(Value::String(s)),
        (Ty::String, v @ (Value::Number(_) | Value::Bool(_))) => Ok(Value::String(v.to_string())),
        (Ty::Number, v @ Value::Number(_)) => Ok(v),
        (Ty::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Value::Number(n)),
        (Ty::Number, Value::String(s)) => {
            s.trim().parse::<serde_json::Number>().map(Value::Number).map_err(|_| describe(&Value::String(s)))
        }
        (Ty::Integer, Value::String(s)) => {
            s.trim().parse::<i64>().map(Value::from).map_err(|_| describe(&Value::String(s)))
        }
        (Ty::Boolean, v @ Value::Bool(_)) => Ok(v),
        (Ty::Boolean, Value::String(s)) => match s.trim() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(describe(&Value::String(s))),
        },
        (Ty::Array, v @ Value::Array(_)) => Ok(v),
        (Ty::Array, Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(v @ Value::Array(_)) => Ok(v),
            _ => Ok(Value::Array(s.split(',').map(|p| Value::String(p.trim().to_string())).collect())),
        },
        (Ty::Object, v @ Value::Object(_)) => Ok(v),
        (Ty::Object, Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(describe(&Value::String(s))),
        },
        (_, v) => Err(describe(&v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use naftiko_spec::model::Sp;
    use naftiko_spec::source::Span;
    use serde_json::json;

    fn decl(name: &str, location: Option<ParamIn>, ty: &str) -> ExposedParam {
        let sp = |s: &str| Sp::new(s.to_string(), Span::default());
        ExposedParam {
            name: sp(name),
            location: location.map(|l| Sp::new(l, Span::default())),
            ty: Some(sp(ty)),
            description: None,
            pattern: None,
            required: None,
            value: None,
            mapping: None,
            span: Span::default(),
        }
    }

    #[test]
    fn values_are_coerced_to_the_declared_type() {
        let d = DeclaredInput::compile(&decl("limit", Some(ParamIn::Query), "integer"), &[], &Method::GET).unwrap();
        assert_eq!(d.accept(Some(json!("10"))).unwrap(), Some(json!(10)));
        assert_eq!(
            d.accept(Some(json!("ten"))).unwrap_err(),
            "query parameter `limit` must be an integer, got \"ten\""
        );
        assert_eq!(d.accept(None).unwrap(), None);
        let b = DeclaredInput::compile(&decl("flag", Some(ParamIn::Query), "boolean"), &[], &Method::GET).unwrap();
        assert_eq!(b.accept(Some(json!("true"))).unwrap(), Some(json!(true)));
    }

    #[test]
    fn locations_default_from_the_route_and_method() {
        let p = DeclaredInput::compile(&decl("id", None, "string"), &["id".into()], &Method::GET).unwrap();
        assert_eq!(p.location, ParamIn::Path);
        assert!(p.required, "path inputs are required");
        assert_eq!(p.accept(None).unwrap_err(), "required path parameter `id` is missing");
        assert_eq!(
            DeclaredInput::compile(&decl("q", None, "string"), &[], &Method::GET).unwrap().location,
            ParamIn::Query
        );
        assert_eq!(
            DeclaredInput::compile(&decl("q", None, "string"), &[], &Method::POST).unwrap().location,
            ParamIn::Body
        );
    }

    #[test]
    fn defaults_and_patterns() {
        let mut p = decl("status", Some(ParamIn::Query), "string");
        p.value = Some(Sp::new(json!("active"), Span::default()));
        p.pattern = Some(Sp::new("[a-z]+".into(), Span::default()));
        let d = DeclaredInput::compile(&p, &[], &Method::GET).unwrap();
        assert_eq!(d.accept(None).unwrap(), Some(json!("active")), "value is a default");
        assert_eq!(
            d.accept(Some(json!("laid_up"))).unwrap_err(),
            "query parameter `status` does not match the pattern `[a-z]+`"
        );
        assert_eq!(d.accept(Some(json!("scrapped"))).unwrap(), Some(json!("scrapped")));
    }
}
