//! JSONPath and output shapes: an arbitrary path compiled (`Path::compile`: normalised as real
//! files write it, then a direct chain or RFC 9535) and an arbitrary `outputParameters` shape
//! compiled (`Shape`, `Output`), both evaluated against arbitrary JSON.
//!
//! Input: `PATH \0 SHAPE \0 DATA`. SHAPE is JSON describing output parameters as documents
//! write them (`{"name", "type", "mapping", "value", "properties": {k: …}, "items": … | […]}`, or
//! a list of them); when it is not JSON the shape is `{"mapping": PATH}`. DATA is the JSON the
//! upstream answered (`null` when it is not JSON); it is also the invocation's inputs when it is
//! an object.
//!
//! Checks, besides no panic and bounded time: `$` is the whole value; a chain (the paths the
//! engine navigates itself) selects what `serde_json_path` selects for the same normalised query
//! — one node, or nothing when the engine says missing. (Chains RFC 9535 does not accept — an
//! index with a leading zero or `+`, an unescaped control character in a quoted name — are the
//! engine's leniency, not compared.)

#![no_main]

use libfuzzer_sys::fuzz_target;
use naftiko_engine::expr::{Scope, Vocabulary};
use naftiko_engine::inputs::Inputs;
use naftiko_engine::path::Path;
use naftiko_engine::plan::shape::{Mode, Output, Shape};
use naftiko_spec::expr::normalize_jsonpath;
use naftiko_spec::model::{Items, OutputParam, Sp};
use naftiko_spec::source::Span;
use serde_json::Value;
use serde_json_path::JsonPath;

/// Deepest shape nesting built from the input (documents stay far below).
const MAX_SHAPE_DEPTH: usize = 16;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let Ok(path_text) = std::str::from_utf8(parts.next().unwrap_or_default()) else { return };
    let shape_part = parts.next().unwrap_or_default();
    let value: Value = serde_json::from_slice(parts.next().unwrap_or_default()).unwrap_or(Value::Null);

    if let Ok(path) = Path::compile(path_text) {
        let selected = path.eval(&value);
        match &path {
            Path::Root => assert_eq!(selected, value),
            Path::Chain(_) => chain_agrees_with_rfc9535(path_text, &path, &value),
            Path::Query(_) => assert!(selected.is_array(), "an indefinite path gives an array"),
        }
    }

    let inputs = Inputs::from_map(value.as_object().cloned().unwrap_or_default());
    let scope = Scope::of(&inputs);
    let vocab = Vocabulary::default();
    let params = match serde_json::from_slice::<Value>(shape_part) {
        Ok(Value::Array(items)) => items.iter().map(|i| param(i, 0)).collect(),
        Ok(shape) => vec![param(&shape, 0)],
        Err(_) => vec![param(&serde_json::json!({ "mapping": path_text }), 0)],
    };
    for mode in [Mode::Mapped, Mode::ByName] {
        if let Ok(output) = Output::compile(&params, &vocab, mode) {
            let _ = output.apply(&value, &scope);
            let _ = (output.schema(), output.is_static(), output.is_identity());
        }
        for p in &params {
            if let Ok(shape) = Shape::compile(p, &vocab, mode) {
                let _ = shape.apply(&value, &scope);
            }
        }
    }
});

/// A chain selects at most one node, the one RFC 9535 selects for the normalised query.
fn chain_agrees_with_rfc9535(src: &str, path: &Path, value: &Value) {
    let norm = normalize_jsonpath(src);
    let Ok(query) = JsonPath::parse(&norm) else { return };
    let nodes = query.query(value).all();
    let ours = path.eval_ref(value);
    assert!(nodes.len() <= 1, "`{norm}` is a chain but selects {} nodes", nodes.len());
    assert_eq!(ours, nodes.first().copied(), "`{src}` (read as `{norm}`) selects differently");
    assert_eq!(path.eval(value), ours.cloned().unwrap_or(Value::Null));
}

/// An output parameter from its JSON description (as much of it as makes sense).
fn param(v: &Value, depth: usize) -> OutputParam {
    let sp = |v: &Value| v.as_str().map(|s| Sp::new(s.to_string(), Span::default()));
    let nested = depth < MAX_SHAPE_DEPTH;
    OutputParam {
        name: v.get("name").and_then(sp),
        ty: v.get("type").and_then(sp),
        mapping: v.get("mapping").and_then(sp),
        value: v.get("value").map(|x| Sp::new(x.clone(), Span::default())),
        description: None,
        properties: match v.get("properties") {
            Some(Value::Object(m)) if nested => {
                m.iter().map(|(k, p)| (Sp::new(k.clone(), Span::default()), param(p, depth + 1))).collect()
            }
            _ => Vec::new(),
        },
        items: match v.get("items") {
            Some(Value::Array(list)) if nested => Some(Items::List(list.iter().map(|p| param(p, depth + 1)).collect())),
            Some(one) if nested => Some(Items::One(Box::new(param(one, depth + 1)))),
            _ => None,
        },
        span: Span::default(),
    }
}
