//! Compiled JSONPath: parsed once at start-up, evaluated on the request path.
//!
//! Most paths in real files are `$` (the whole value) or a chain of member names and indexes
//! (`$.data.items[0].id`); those are evaluated by direct navigation. Anything else (wildcards,
//! filters, slices, descendants) goes through the RFC 9535 implementation. A definite path that
//! is missing gives `null`; an indefinite one gives an array (SEMANTICS §3).

use naftiko_spec::expr::{compile_jsonpath, normalize_jsonpath};
use serde_json::Value;

/// A JSONPath ready to evaluate.
#[derive(Debug, Clone)]
pub enum Path {
    /// `$`: the whole value.
    Root,
    /// A definite chain of member names and array indexes.
    Chain(Vec<Seg>),
    /// Any other RFC 9535 query (indefinite: always yields an array).
    Query(serde_json_path::JsonPath),
}

/// One step of a [`Path::Chain`].
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    /// `.name` or `['name']`.
    Key(String),
    /// `[3]` or `[-1]`.
    Index(i64),
}

impl Path {
    /// Compiles a path as written in a document (normalised first: `$.`, `$.a-b`, …).
    pub fn compile(src: &str) -> Result<Path, String> {
        let norm = normalize_jsonpath(src);
        if norm == "$" {
            return Ok(Path::Root);
        }
        if let Some(chain) = parse_chain(&norm) {
            return Ok(Path::Chain(chain));
        }
        compile_jsonpath(src).map(Path::Query)
    }

    /// The first segment when it is a member name (`$.get-ship.imo` → `get-ship`).
    pub fn first_key(&self) -> Option<&str> {
        match self {
            Path::Chain(segs) => match segs.first() {
                Some(Seg::Key(k)) => Some(k),
                _ => None,
            },
            _ => None,
        }
    }

    /// Evaluates the path, cloning only the selected value.
    pub fn eval(&self, value: &Value) -> Value {
        match self {
            Path::Root => value.clone(),
            Path::Chain(_) => self.eval_ref(value).cloned().unwrap_or(Value::Null),
            Path::Query(q) => Value::Array(q.query(value).all().into_iter().cloned().collect()),
        }
    }

    /// Evaluates a definite path by reference (`None` when missing or indefinite).
    pub fn eval_ref<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        match self {
            Path::Root => Some(value),
            Path::Chain(segs) => {
                let mut cur = value;
                for seg in segs {
                    cur = match (seg, cur) {
                        (Seg::Key(k), Value::Object(m)) => m.get(k)?,
                        (Seg::Index(i), Value::Array(a)) => {
                            let idx =
                                if *i < 0 { a.len().checked_sub(i.unsigned_abs() as usize)? } else { *i as usize };
                            a.get(idx)?
                        }
                        _ => return None,
                    };
                }
                Some(cur)
            }
            Path::Query(_) => None,
        }
    }
}

/// Parses `$.a.b['c d'][0]` into segments; `None` for anything that is not a plain chain.
fn parse_chain(norm: &str) -> Option<Vec<Seg>> {
    let rest = norm.strip_prefix('$')?;
    let b = rest.as_bytes();
    let mut i = 0;
    let mut segs = Vec::new();
    while i < b.len() {
        match b[i] {
            b'.' => {
                if b.get(i + 1) == Some(&b'.') {
                    return None;
                }
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'.' && b[j] != b'[' {
                    j += 1;
                }
                let name = &rest[start..j];
                if name.is_empty() || name == "*" {
                    return None;
                }
                segs.push(Seg::Key(name.to_string()));
                i = j;
            }
            b'[' => {
                let close = rest[i..].find(']')? + i;
                let inner = rest[i + 1..close].trim();
                if let Some(q) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                    if q.contains('\\') || q.contains('\'') {
                        return None;
                    }
                    segs.push(Seg::Key(q.to_string()));
                } else if let Some(q) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    if q.contains('\\') || q.contains('"') {
                        return None;
                    }
                    segs.push(Seg::Key(q.to_string()));
                } else {
                    segs.push(Seg::Index(inner.parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(segs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(p: &str, v: &Value) -> Value {
        Path::compile(p).unwrap().eval(v)
    }

    #[test]
    fn root_and_chains_navigate_directly() {
        let v = json!({"a": {"b-c": [10, 20, {"d": true}]}, "x y": 1});
        assert!(matches!(Path::compile("$.").unwrap(), Path::Root));
        assert_eq!(eval("$", &v), v);
        assert_eq!(eval("$.a.b-c[1]", &v), json!(20));
        assert_eq!(eval("$.a.b-c[-1].d", &v), json!(true));
        assert_eq!(eval("$['x y']", &v), json!(1));
        assert_eq!(eval("$.a.missing", &v), Value::Null, "a definite path that is missing gives null");
        assert!(matches!(Path::compile("$.a.b-c[0]").unwrap(), Path::Chain(_)));
    }

    #[test]
    fn indefinite_paths_give_arrays() {
        let v = json!({"items": [{"id": 1}, {"id": 2}, {"x": 3}]});
        assert_eq!(eval("$.items[*].id", &v), json!([1, 2]));
        assert_eq!(eval("$..id", &v), json!([1, 2]));
        assert_eq!(eval("$.items[?@.id > 1].id", &v), json!([2]));
        assert_eq!(eval("$.nothing[*]", &v), json!([]));
    }

    #[test]
    fn first_key_names_the_step() {
        assert_eq!(Path::compile("$.get-ship.imo_number").unwrap().first_key(), Some("get-ship"));
    }
}
