//! The values an invocation starts with, and tolerant name matching (SEMANTICS §3).
//!
//! A REST request contributes declared inputs, path variables, query parameters, top-level body
//! fields, headers and `body`; an MCP call contributes its arguments. Names are matched exactly
//! first, then treating `-` and `_` as the same character, then ignoring case (for headers) — so
//! a route variable `{integration-id}` feeds `rest.integration_id`.

use serde_json::{Map, Value};

/// Name → value, in insertion order; the first insertion of a name wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    values: Map<String, Value>,
}

impl Inputs {
    /// No inputs.
    pub fn new() -> Inputs {
        Inputs::default()
    }

    /// Inputs from a JSON object (MCP arguments).
    pub fn from_map(values: Map<String, Value>) -> Inputs {
        Inputs { values }
    }

    /// Adds a value unless the name is already present (earlier sources win).
    pub fn insert_if_absent(&mut self, name: impl Into<String>, value: Value) {
        self.values.entry(name.into()).or_insert(value);
    }

    /// Sets a value, replacing any earlier one.
    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        self.values.insert(name.into(), value);
    }

    /// Looks a name up tolerantly: exact, then `-`≡`_`, then case-insensitively.
    pub fn get(&self, name: &str) -> Option<&Value> {
        lookup(&self.values, name)
    }

    /// Every entry, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.values.iter()
    }

    /// The inputs as a JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.values
    }

    /// True when there are no inputs.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Tolerant lookup in any JSON object (also used for step outputs and `with` results).
pub fn lookup<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    if let Some(v) = map.get(name) {
        return Some(v);
    }
    let dashed = |c: char| if c == '_' { '-' } else { c };
    let same_sep = |k: &str| k.len() == name.len() && k.chars().map(dashed).eq(name.chars().map(dashed));
    if let Some((_, v)) = map.iter().find(|(k, _)| same_sep(k)) {
        return Some(v);
    }
    let loose = |k: &str| {
        k.len() == name.len()
            && k.chars()
                .map(dashed)
                .map(|c| c.to_ascii_lowercase())
                .eq(name.chars().map(dashed).map(|c| c.to_ascii_lowercase()))
    };
    map.iter().find(|(k, _)| loose(k)).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_match_exactly_then_by_separator_then_by_case() {
        let mut i = Inputs::new();
        i.insert_if_absent("integration-id", json!("abc"));
        i.insert_if_absent("x-integration-id", json!("hdr"));
        i.insert_if_absent("page_size", json!("10"));
        assert_eq!(i.get("integration_id"), Some(&json!("abc")));
        assert_eq!(i.get("X-Integration-Id"), Some(&json!("hdr")));
        assert_eq!(i.get("page-size"), Some(&json!("10")));
        assert_eq!(i.get("nope"), None);
    }

    #[test]
    fn the_first_source_wins() {
        let mut i = Inputs::new();
        i.insert_if_absent("id", json!("path"));
        i.insert_if_absent("id", json!("query"));
        assert_eq!(i.get("id"), Some(&json!("path")));
        let mut m = Map::new();
        m.insert("exact_name".into(), json!(1));
        m.insert("exact-name".into(), json!(2));
        assert_eq!(lookup(&m, "exact-name"), Some(&json!(2)), "an exact match beats a tolerant one");
    }
}
