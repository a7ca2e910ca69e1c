//! Resources: static file directories (one resource per file, containment-checked reads) and
//! dynamic resources executed through the engine, with `{name}` URI templates.

use std::path::{Path, PathBuf};

use naftiko_engine::files::{FileError, list_files, media_type, resolve_inside};
use naftiko_engine::inputs::Inputs;
use naftiko_engine::invoke::Engine;
use naftiko_engine::plan::Handler;
use naftiko_spec::model::McpResource;
use serde_json::{Map, Value, json};

/// Why a read failed: the message for a JSON-RPC error.
pub(crate) enum ReadError {
    /// Unknown URI or rejected path (-32602).
    Invalid(String),
    /// The resource exists but could not be produced (-32603).
    Internal(String),
}

struct Common {
    uri: String,
    name: String,
    title: String,
    description: Option<String>,
    mime: Option<String>,
}

enum Entry {
    Static(Common, PathBuf),
    Dynamic(Common, Option<Vec<Piece>>, Handler),
}

enum Piece {
    Lit(String),
    Var(String),
}

/// Every resource of an adapter, in declaration order.
pub(crate) struct Resources {
    entries: Vec<Entry>,
}

impl Resources {
    pub fn new(declared: &[(McpResource, Option<Handler>)], base_dir: &Path) -> Resources {
        let mut entries = Vec::new();
        for (r, handler) in declared {
            let name = r.name.as_ref().map(|n| n.value.clone()).unwrap_or_default();
            let common = Common {
                uri: r.uri.as_ref().map(|u| u.value.trim_end_matches('/').to_string()).unwrap_or_default(),
                title: r.label.as_ref().map(|l| l.value.clone()).unwrap_or_else(|| name.clone()),
                name,
                description: r.description.as_ref().map(|d| d.value.clone()),
                mime: r.mime_type.as_ref().map(|m| m.value.clone()),
            };
            match (&r.location, handler) {
                (Some(loc), _) => {
                    let dir = naftiko_spec::load::resolve_location(&loc.value, &base_dir.join("capability.yaml"));
                    entries.push(Entry::Static(common, dir));
                }
                (None, Some(h)) => {
                    let template = common.uri.contains('{').then(|| parse_template(&common.uri));
                    entries.push(Entry::Dynamic(common, template, h.clone()));
                }
                (None, None) => {}
            }
        }
        Resources { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `resources/list`: static files and dynamic resources without templates.
    pub fn list(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for e in &self.entries {
            match e {
                Entry::Static(c, dir) => {
                    for f in list_files(dir).unwrap_or_default() {
                        let mime = c.mime.clone().unwrap_or_else(|| plain(media_type(&f.path)));
                        out.push(described(c, format!("{}/{}", c.uri, f.path), Some(mime)));
                    }
                }
                Entry::Dynamic(c, None, _) => out.push(described(c, c.uri.clone(), c.mime.clone())),
                Entry::Dynamic(_, Some(_), _) => {}
            }
        }
        out
    }

    /// `resources/templates/list`.
    pub fn templates(&self) -> Vec<Value> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Dynamic(c, Some(_), _) => {
                    let mut v = json!({"uriTemplate": c.uri, "name": c.name, "title": c.title});
                    if let Some(d) = &c.description {
                        v["description"] = json!(d);
                    }
                    if let Some(m) = &c.mime {
                        v["mimeType"] = json!(m);
                    }
                    Some(v)
                }
                _ => None,
            })
            .collect()
    }

    /// `resources/read`: the first declaration that matches wins.
    pub async fn read(&self, uri: &str, engine: &Engine) -> Result<Value, ReadError> {
        for e in &self.entries {
            match e {
                Entry::Static(c, dir) => {
                    if uri == c.uri {
                        return Err(ReadError::Invalid(format!("`{uri}` is a directory; read one of its files")));
                    }
                    let Some(rel) = uri.strip_prefix(&format!("{}/", c.uri)) else { continue };
                    let path = match resolve_inside(dir, rel) {
                        Ok(p) => p,
                        Err(FileError::Rejected(why)) => return Err(ReadError::Invalid(why)),
                        Err(FileError::NotFound) => return Err(ReadError::Invalid(format!("no resource `{uri}`"))),
                    };
                    let bytes =
                        std::fs::read(&path).map_err(|e| ReadError::Internal(format!("cannot read `{uri}`: {e}")))?;
                    let mime = c.mime.clone().unwrap_or_else(|| plain(media_type(&path.to_string_lossy())));
                    return Ok(
                        json!({"contents": [{"uri": uri, "mimeType": mime, "text": String::from_utf8_lossy(&bytes)}]}),
                    );
                }
                Entry::Dynamic(c, template, handler) => {
                    let args = match template {
                        None if uri == c.uri => Map::new(),
                        None => continue,
                        Some(pieces) => match match_template(pieces, uri) {
                            Some(a) => a,
                            None => continue,
                        },
                    };
                    let outcome = engine
                        .invoke(handler, &Inputs::from_map(args))
                        .await
                        .map_err(|e| ReadError::Internal(format!("resource `{uri}`: {e}")))?;
                    if outcome.status.as_u16() >= 400 {
                        return Err(ReadError::Internal(format!(
                            "resource `{uri}`: upstream answered {}: {}",
                            outcome.status,
                            outcome.body.excerpt(300)
                        )));
                    }
                    let text = match outcome.body.to_json() {
                        Some(v) => v.to_string(),
                        None => outcome.body.excerpt(usize::MAX),
                    };
                    let mime = c.mime.clone().unwrap_or_else(|| "application/json".into());
                    return Ok(json!({"contents": [{"uri": uri, "mimeType": mime, "text": text}]}));
                }
            }
        }
        Err(ReadError::Invalid(format!("unknown resource URI `{uri}`")))
    }
}

fn plain(mime: &str) -> String {
    mime.split(';').next().unwrap_or(mime).trim().to_string()
}

fn described(c: &Common, uri: String, mime: Option<String>) -> Value {
    let mut v = json!({"uri": uri, "name": c.name, "title": c.title});
    if let Some(d) = &c.description {
        v["description"] = json!(d);
    }
    if let Some(m) = mime {
        v["mimeType"] = json!(m);
    }
    v
}

fn parse_template(uri: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = uri;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Piece::Lit(rest[..open].to_string()));
        }
        let Some(close) = rest[open..].find('}') else {
            out.push(Piece::Lit(rest[open..].to_string()));
            return out;
        };
        out.push(Piece::Var(rest[open + 1..open + close].trim().to_string()));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Lit(rest.to_string()));
    }
    out
}

/// Each `{name}` matches one non-empty segment without `/`.
fn match_template(pieces: &[Piece], uri: &str) -> Option<Map<String, Value>> {
    let mut args = Map::new();
    let mut rest = uri;
    for (i, p) in pieces.iter().enumerate() {
        match p {
            Piece::Lit(l) => rest = rest.strip_prefix(l.as_str())?,
            Piece::Var(name) => {
                let end = match pieces.get(i + 1) {
                    Some(Piece::Lit(next)) => rest.find(next.as_str())?,
                    _ => rest.len(),
                };
                let value = &rest[..end];
                if value.is_empty() || value.contains('/') {
                    return None;
                }
                args.insert(name.clone(), Value::String(naftiko_engine::inbound::percent_decode(value)));
                rest = &rest[end..];
            }
        }
    }
    rest.is_empty().then_some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_templates_match_one_segment_per_variable() {
        let t = parse_template("ship://{imo}/crew/{role}");
        let a = match_template(&t, "ship://IMO-1/crew/cook").unwrap();
        assert_eq!(a.get("imo"), Some(&json!("IMO-1")));
        assert_eq!(a.get("role"), Some(&json!("cook")));
        assert!(match_template(&t, "ship://IMO-1/x/crew/cook").is_none());
        assert!(match_template(&t, "ship:///crew/cook").is_none());
    }
}
