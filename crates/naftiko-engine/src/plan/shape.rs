//! Output shaping (SEMANTICS §5): the compiled form of `outputParameters`.
//!
//! Object properties are evaluated relative to the object's own `mapping` (so `type: object,
//! mapping: $.` is the whole value), array `items` relative to each element, scalars converted
//! to their declared type when that is lossless, and `value`s rendered as templates.

use naftiko_spec::model::{Items, OutputParam};
use serde_json::{Map, Value};

use crate::expr::{Scope, Tpl, Vocabulary};
use crate::path::Path;

/// A declared output type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `string`.
    String,
    /// `number`.
    Number,
    /// `integer`.
    Integer,
    /// `boolean`.
    Boolean,
    /// `object`.
    Object,
    /// `array`.
    Array,
    /// No type (or one we do not know): values pass unchanged.
    Any,
}

impl Ty {
    /// Parses a `type`.
    pub fn parse(s: Option<&str>) -> Ty {
        match s.map(str::trim) {
            Some("string") => Ty::String,
            Some("number") => Ty::Number,
            Some("integer") => Ty::Integer,
            Some("boolean") => Ty::Boolean,
            Some("object") => Ty::Object,
            Some("array") => Ty::Array,
            _ => Ty::Any,
        }
    }

    /// Converts a value to this type when no information is lost; otherwise returns it unchanged.
    pub fn convert(self, v: Value) -> Value {
        match (self, v) {
            (Ty::Number | Ty::Integer, Value::String(s)) => match s.trim().parse::<serde_json::Number>() {
                Ok(n) if self == Ty::Number || n.is_i64() || n.is_u64() => Value::Number(n),
                _ => Value::String(s),
            },
            (Ty::Boolean, Value::String(s)) if s == "true" || s == "false" => Value::Bool(s == "true"),
            (Ty::String, Value::Number(n)) => Value::String(n.to_string()),
            (Ty::String, Value::Bool(b)) => Value::String(b.to_string()),
            (_, v) => v,
        }
    }

    /// The JSON Schema type name (for MCP output schemas).
    pub fn schema_name(self) -> Option<&'static str> {
        Some(match self {
            Ty::String => "string",
            Ty::Number => "number",
            Ty::Integer => "integer",
            Ty::Boolean => "boolean",
            Ty::Object => "object",
            Ty::Array => "array",
            Ty::Any => return None,
        })
    }
}

/// A compiled output parameter.
#[derive(Debug, Clone)]
pub enum Shape {
    /// A JSONPath, converted to the type.
    Path(Path, Ty),
    /// An object: properties relative to `scope`; with no properties, the scoped value itself.
    Object(Path, Vec<(String, Shape)>),
    /// An array: `items` applied to each element of `scope`; without items, the elements as they are.
    Array(Path, Option<Box<Shape>>),
    /// A static value or template over the inputs, converted to the type.
    Value(Tpl, Ty),
    /// A literal non-string value.
    Const(Value),
    /// Nothing to select.
    Null,
}

/// How output parameters without `mapping` are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Simple mode: only what `mapping`/`value` say.
    Mapped,
    /// Orchestrated mode: a named parameter without `mapping` reads the field of that name.
    ByName,
}

impl Shape {
    /// Compiles one output parameter.
    pub fn compile(p: &OutputParam, vocab: &Vocabulary, mode: Mode) -> Result<Shape, String> {
        Shape::compile_named(p, p.name.as_ref().map(|n| n.value.as_str()), vocab, mode)
    }

    /// Compiles a parameter known by `name` (its `name`, or its key in `properties`).
    fn compile_named(p: &OutputParam, name: Option<&str>, vocab: &Vocabulary, mode: Mode) -> Result<Shape, String> {
        let ty = Ty::parse(p.ty.as_ref().map(|t| t.value.as_str()));
        let mapping = p.mapping.as_ref().map(|m| m.value.as_str());
        if let Some(v) = &p.value {
            match &v.value {
                Value::String(s) if s.trim_start().starts_with('$') && mapping.is_none() && p.name.is_some() => {
                    // `value: $.x` on a named parameter is a mapping (as in the reference engine).
                    return Shape::compile_mapped(Some(s), p, name, vocab, mode, ty);
                }
                Value::String(s) => return Ok(Shape::Value(vocab.template(s)?, ty)),
                other => return Ok(Shape::Const(ty.convert(other.clone()))),
            }
        }
        Shape::compile_mapped(mapping, p, name, vocab, mode, ty)
    }

    fn compile_mapped(
        mapping: Option<&str>,
        p: &OutputParam,
        name: Option<&str>,
        vocab: &Vocabulary,
        mode: Mode,
        ty: Ty,
    ) -> Result<Shape, String> {
        let by_name =
            || name.filter(|_| mode == Mode::ByName).map(|n| Path::Chain(vec![crate::path::Seg::Key(n.to_string())]));
        let path = match mapping {
            Some(m) => Some(Path::compile(m)?),
            None => by_name(),
        };
        let structured = ty == Ty::Object || (ty == Ty::Any && !p.properties.is_empty());
        if structured {
            let props = p
                .properties
                .iter()
                .map(|(k, v)| Shape::compile_named(v, Some(&k.value), vocab, mode).map(|s| (k.value.clone(), s)))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Shape::Object(path.unwrap_or(Path::Root), props));
        }
        if ty == Ty::Array || p.items.is_some() {
            let items = match &p.items {
                Some(Items::One(item)) => Some(Box::new(Shape::compile(item, vocab, Mode::Mapped)?)),
                Some(Items::List(fields)) => {
                    // Orchestrated form: each element keeps the listed fields.
                    let props = fields
                        .iter()
                        .filter_map(|f| f.name.as_ref().map(|n| (n, f)))
                        .map(|(n, f)| Shape::compile(f, vocab, Mode::ByName).map(|s| (n.value.clone(), s)))
                        .collect::<Result<Vec<_>, _>>()?;
                    Some(Box::new(Shape::Object(Path::Root, props)))
                }
                None => None,
            };
            return Ok(Shape::Array(path.unwrap_or(Path::Root), items));
        }
        Ok(match path {
            Some(path) => Shape::Path(path, ty),
            None => Shape::Null,
        })
    }

    /// Applies the shape to `v` (templates see `scope`).
    pub fn apply(&self, v: &Value, scope: &Scope) -> Value {
        match self {
            Shape::Path(p, ty) => ty.convert(p.eval(v)),
            Shape::Object(scope_path, props) => {
                let scoped = match scope_path.eval_ref(v) {
                    Some(s) => std::borrow::Cow::Borrowed(s),
                    None if matches!(scope_path, Path::Query(_)) => std::borrow::Cow::Owned(scope_path.eval(v)),
                    None => return Value::Null,
                };
                if props.is_empty() {
                    return scoped.into_owned();
                }
                // Nothing to read from: null, unless every property is a value (mock mode).
                if scoped.is_null() && !self.is_static() {
                    return Value::Null;
                }
                let mut out = Map::with_capacity(props.len());
                for (k, s) in props {
                    out.insert(k.clone(), s.apply(&scoped, scope));
                }
                Value::Object(out)
            }
            Shape::Array(scope_path, items) => {
                // A declared array is an array: a single value (one XML element, say) is one element.
                let elems = match scope_path.eval(v) {
                    Value::Array(elems) => elems,
                    Value::Null => return Value::Null,
                    // A collection wrapper (`<vessels><vessel/>…</vessels>` read as
                    // `{"vessel": […]}`): the collection is its one member.
                    Value::Object(m)
                        if items.is_some() && m.len() == 1 && m.values().all(|x| x.is_array() || x.is_object()) =>
                    {
                        match m.into_iter().next().map(|(_, x)| x) {
                            Some(Value::Array(elems)) => elems,
                            Some(single) => vec![single],
                            None => Vec::new(),
                        }
                    }
                    single => vec![single],
                };
                match items {
                    Some(item) => Value::Array(elems.iter().map(|e| item.apply(e, scope)).collect()),
                    None => Value::Array(elems),
                }
            }
            Shape::Value(t, ty) => ty.convert(t.render_value(scope).unwrap_or(Value::Null)),
            Shape::Const(c) => c.clone(),
            Shape::Null => Value::Null,
        }
    }

    /// True when the shape is built from `value`s only (mock mode needs no upstream).
    pub fn is_static(&self) -> bool {
        match self {
            Shape::Value(..) | Shape::Const(_) => true,
            Shape::Object(_, props) => !props.is_empty() && props.iter().all(|(_, s)| s.is_static()),
            Shape::Array(_, Some(item)) => item.is_static(),
            _ => false,
        }
    }

    /// A JSON Schema describing the shape, when it declares one (MCP `outputSchema`).
    pub fn schema(&self) -> Option<Value> {
        match self {
            Shape::Path(_, ty) | Shape::Value(_, ty) => ty.schema_name().map(|t| serde_json::json!({"type": t})),
            Shape::Object(_, props) if !props.is_empty() => {
                let mut properties = Map::new();
                for (k, s) in props {
                    properties.insert(k.clone(), s.schema().unwrap_or_else(|| serde_json::json!({})));
                }
                Some(serde_json::json!({"type": "object", "properties": properties}))
            }
            Shape::Array(_, Some(item)) => Some(
                serde_json::json!({"type": "array", "items": item.schema().unwrap_or_else(|| serde_json::json!({}))}),
            ),
            _ => None,
        }
    }
}

/// The output of a handler: what the response body is made of.
#[derive(Debug, Clone)]
pub enum Output {
    /// No `outputParameters`: the upstream body and content type, unchanged.
    Passthrough,
    /// One parameter: its value is the response.
    Single(Shape),
    /// Several named parameters: an object keyed by name, in order.
    Named(Vec<(String, Shape)>),
    /// Several, some unnamed: the first non-null value (the reference engine's rule).
    FirstNonNull(Vec<Shape>),
}

impl Output {
    /// Compiles a list of output parameters.
    pub fn compile(params: &[OutputParam], vocab: &Vocabulary, mode: Mode) -> Result<Output, String> {
        match params {
            [] => Ok(Output::Passthrough),
            [one] => Ok(Output::Single(Shape::compile(one, vocab, mode)?)),
            many if many.iter().all(|p| p.name.is_some()) => Ok(Output::Named(
                many.iter()
                    .map(|p| {
                        Shape::compile(p, vocab, mode)
                            .map(|s| (p.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(), s))
                    })
                    .collect::<Result<_, _>>()?,
            )),
            many => {
                Ok(Output::FirstNonNull(many.iter().map(|p| Shape::compile(p, vocab, mode)).collect::<Result<_, _>>()?))
            }
        }
    }

    /// Applies the output to a decoded value.
    pub fn apply(&self, v: &Value, scope: &Scope) -> Value {
        match self {
            Output::Passthrough => v.clone(),
            Output::Single(s) => s.apply(v, scope),
            Output::Named(list) => Value::Object(list.iter().map(|(k, s)| (k.clone(), s.apply(v, scope))).collect()),
            Output::FirstNonNull(list) => {
                list.iter().map(|s| s.apply(v, scope)).find(|x| !x.is_null()).unwrap_or(Value::Null)
            }
        }
    }

    /// True when the output is the whole decoded body unchanged (`type: object, mapping: $.`,
    /// no properties): a JSON body can then be sent on as it came, once checked.
    pub fn is_identity(&self) -> bool {
        matches!(self, Output::Single(Shape::Object(Path::Root, props)) if props.is_empty())
    }

    /// True when every part is static (mock mode).
    pub fn is_static(&self) -> bool {
        match self {
            Output::Passthrough => false,
            Output::Single(s) => s.is_static(),
            Output::Named(list) => list.iter().all(|(_, s)| s.is_static()),
            Output::FirstNonNull(list) => list.iter().all(Shape::is_static),
        }
    }

    /// The JSON Schema of the result, when the outputs declare a shape.
    pub fn schema(&self) -> Option<Value> {
        match self {
            Output::Single(s) => s.schema(),
            Output::Named(list) => {
                let mut properties = Map::new();
                for (k, s) in list {
                    properties.insert(k.clone(), s.schema().unwrap_or_else(|| serde_json::json!({})));
                }
                Some(serde_json::json!({"type": "object", "properties": properties}))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::Inputs;
    use naftiko_spec::model::{Items, Sp};
    use naftiko_spec::source::Span;
    use serde_json::json;

    fn sp<T>(v: T) -> Sp<T> {
        Sp::new(v, Span::default())
    }

    fn param(ty: &str, mapping: Option<&str>) -> OutputParam {
        OutputParam {
            name: None,
            ty: Some(sp(ty.to_string())),
            mapping: mapping.map(|m| sp(m.to_string())),
            value: None,
            description: None,
            properties: vec![],
            items: None,
            span: Span::default(),
        }
    }

    fn with_props(mut p: OutputParam, props: Vec<(&str, OutputParam)>) -> OutputParam {
        p.properties = props.into_iter().map(|(k, v)| (sp(k.to_string()), v)).collect();
        p
    }

    fn apply(p: &OutputParam, v: &Value) -> Value {
        let i = Inputs::new();
        Shape::compile(p, &Vocabulary::default(), Mode::Mapped).unwrap().apply(v, &Scope::of(&i))
    }

    #[test]
    fn object_with_whole_mapping_and_no_properties_is_the_whole_body() {
        let body = json!({"data": {"id": 1}, "status": "ok"});
        assert_eq!(apply(&param("object", Some("$.")), &body), body);
    }

    #[test]
    fn object_properties_are_relative_to_the_object_mapping() {
        let body = json!({"data": {"id": "7", "nested": {"x": true}}, "id": "root"});
        let p = with_props(
            param("object", Some("$.data")),
            vec![("id", param("number", Some("$.id"))), ("x", param("boolean", Some("$.nested.x")))],
        );
        assert_eq!(apply(&p, &body), json!({"id": 7, "x": true}));
    }

    #[test]
    fn arrays_apply_items_to_each_element() {
        let body = json!({"vessels": [{"imo_number": "1", "n": "A"}, {"imo_number": "2", "n": "B"}]});
        let mut p = param("array", Some("$.vessels"));
        p.items = Some(Items::One(Box::new(with_props(
            param("object", None),
            vec![("imo", param("string", Some("$.imo_number")))],
        ))));
        assert_eq!(apply(&p, &body), json!([{"imo": "1"}, {"imo": "2"}]));
        assert_eq!(apply(&param("array", Some("$.vessels[*].n")), &body), json!(["A", "B"]));
        let one = json!({"vessel": {"imo_number": "9"}});
        let mut p2 = param("array", Some("$.vessel"));
        p2.items = p.items.clone();
        assert_eq!(apply(&p2, &one), json!([{"imo": "9"}]), "a single element is an array of one");
    }

    #[test]
    fn scalars_convert_when_lossless() {
        let body = json!({"n": "42", "b": "true", "s": 5, "x": "4.5", "bad": "abc"});
        assert_eq!(apply(&param("number", Some("$.n")), &body), json!(42));
        assert_eq!(apply(&param("integer", Some("$.x")), &body), json!("4.5"));
        assert_eq!(apply(&param("boolean", Some("$.b")), &body), json!(true));
        assert_eq!(apply(&param("string", Some("$.s")), &body), json!("5"));
        assert_eq!(apply(&param("number", Some("$.bad")), &body), json!("abc"));
    }

    #[test]
    fn values_are_templates_over_the_inputs() {
        let mut p = param("number", None);
        p.value = Some(sp(json!("{{count}}")));
        let i = Inputs::from_map(json!({"count": "3"}).as_object().cloned().unwrap());
        let s = Shape::compile(&p, &Vocabulary::default(), Mode::Mapped).unwrap();
        assert!(s.is_static());
        assert_eq!(s.apply(&Value::Null, &Scope::of(&i)), json!(3));
    }

    #[test]
    fn an_object_of_values_is_built_without_an_upstream_body() {
        let p = with_props(
            param("object", None),
            vec![("name", OutputParam { value: Some(sp(json!("Northern Star"))), ..param("string", None) })],
        );
        assert_eq!(apply(&p, &Value::Null), json!({"name": "Northern Star"}));
        // An object read from the body is null when the body has nothing there.
        let mapped = with_props(param("object", Some("$.ship")), vec![("name", param("string", Some("$.name")))]);
        assert_eq!(apply(&mapped, &json!({})), Value::Null);
    }

    #[test]
    fn several_outputs_form_an_object_or_take_the_first_non_null() {
        let body = json!({"login": "octo", "id": 1});
        let mut a = param("string", Some("$.login"));
        a.name = Some(sp("login".into()));
        let mut b = param("number", Some("$.id"));
        b.name = Some(sp("id".into()));
        let i = Inputs::new();
        let out = Output::compile(&[a.clone(), b.clone()], &Vocabulary::default(), Mode::Mapped).unwrap();
        assert_eq!(out.apply(&body, &Scope::of(&i)), json!({"login": "octo", "id": 1}));
        a.name = None;
        a.mapping = Some(sp("$.missing".into()));
        let out = Output::compile(&[a, b], &Vocabulary::default(), Mode::Mapped).unwrap();
        assert_eq!(out.apply(&body, &Scope::of(&i)), json!(1));
        assert!(matches!(Output::compile(&[], &Vocabulary::default(), Mode::Mapped).unwrap(), Output::Passthrough));
    }
}
