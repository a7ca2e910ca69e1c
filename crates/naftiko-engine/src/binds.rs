//! Resolving `binds` at start-up (SEMANTICS §2): environment variables, or keys of a YAML/JSON
//! file next to the capability. Every value becomes a [`Secret`]; a variable that cannot be
//! resolved is a start-up error naming the variable, its source and where it is declared.

use std::collections::HashMap;
use std::path::Path;

use naftiko_spec::diag::{Code, Diagnostic};
use naftiko_spec::load::resolve_location;
use naftiko_spec::model::Document;
use naftiko_spec::source::FileId;
use serde_json::Value;

use crate::secret::Secret;

/// Bind variables by `VAR` and by `namespace.VAR`.
pub type BindValues = HashMap<String, Secret>;

/// Resolves every bind of `doc`. `capability_file` anchors relative file locations; `env`
/// reads environment variables (injected so tests need not touch the process environment).
pub fn resolve(
    doc: &Document,
    capability_file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BindValues, Vec<Diagnostic>> {
    let mut values = BindValues::new();
    let mut errors = Vec::new();
    for bind in &doc.binds {
        let file_values = match &bind.location {
            None => None,
            Some(loc) if loc.value.starts_with("file:") => {
                let path = resolve_location(&loc.value, capability_file);
                match read_bind_file(&path) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        errors.push(
                            Diagnostic::new(
                                Code::UnresolvedBind,
                                loc.span,
                                format!("cannot read bind file `{}`: {e}", path.display()),
                            )
                            .help("bind file locations are relative to the capability file: `file:///./secrets.yaml`"),
                        );
                        continue;
                    }
                }
            }
            Some(_) => continue, // reported by the checks as unsupported
        };
        for (var, source) in &bind.keys {
            let value = match &file_values {
                None => env(&source.value),
                Some(root) => lookup_dotted(root, &source.value),
            };
            match value {
                Some(v) => {
                    let secret = Secret::new(v);
                    values.insert(format!("{}.{}", bind.namespace.value, var.value), secret.clone());
                    values.insert(var.value.clone(), secret);
                }
                None => {
                    let (what, help) = match &bind.location {
                        None => (
                            format!("environment variable `{}`", source.value),
                            format!("export {}=… before starting, or use a bind file", source.value),
                        ),
                        Some(loc) => (
                            format!("key `{}` of `{}`", source.value, loc.value),
                            format!("add `{}: …` to that file", source.value),
                        ),
                    };
                    errors.push(
                        Diagnostic::new(
                            Code::UnresolvedBind,
                            var.span,
                            format!("bind variable `{}` is not set: {what} is missing", var.value),
                        )
                        .help(help),
                    );
                }
            }
        }
    }
    let _ = FileId(0);
    if errors.is_empty() { Ok(values) } else { Err(errors) }
}

fn read_bind_file(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => e.to_string(),
    })?;
    let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if is_yaml {
        naftiko_spec::yaml::parse(&text, FileId(u32::MAX))
            .map(|n| n.to_json())
            .map_err(|e| format!("line {}: {}", e.span.line, e.message))
    } else {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }
}

/// A top-level key, or a dotted path (`db.password`) when no top-level key has that name.
fn lookup_dotted(root: &Value, key: &str) -> Option<String> {
    let v = root.get(key).or_else(|| key.split('.').try_fold(root, |v, seg| v.get(seg)))?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn doc(src: &str, dir: &Path) -> (Document, PathBuf) {
        let path = dir.join("cap.yaml");
        std::fs::write(&path, src).unwrap();
        let v = naftiko_spec::validate(&path);
        (v.document.expect("document"), path)
    }

    const HEAD: &str = "naftiko: 1.0.0-alpha2\ninfo: {label: x, description: y}\n";

    #[test]
    fn environment_binds_resolve_by_name_and_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let (d, p) = doc(
            &format!(
                "{HEAD}binds:\n  - namespace: env\n    keys:\n      API_KEY: MY_API_KEY\ncapability:\n  consumes: []\n"
            ),
            dir.path(),
        );
        let v = resolve(&d, &p, &|k| (k == "MY_API_KEY").then(|| "s3cret".to_string())).unwrap();
        assert_eq!(v["API_KEY"].expose(), "s3cret");
        assert_eq!(v["env.API_KEY"].expose(), "s3cret");
    }

    #[test]
    fn a_missing_environment_variable_names_the_variable_and_source() {
        let dir = tempfile::tempdir().unwrap();
        let (d, p) = doc(
            &format!(
                "{HEAD}binds:\n  - namespace: env\n    keys:\n      API_KEY: MY_API_KEY\ncapability:\n  consumes: []\n"
            ),
            dir.path(),
        );
        let e = resolve(&d, &p, &|_| None).unwrap_err();
        assert_eq!(e[0].code, Code::UnresolvedBind);
        assert_eq!(e[0].message, "bind variable `API_KEY` is not set: environment variable `MY_API_KEY` is missing");
        assert_eq!(e[0].span.line, 6);
    }

    #[test]
    fn file_binds_are_relative_to_the_capability() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("shared")).unwrap();
        std::fs::write(dir.path().join("shared/secrets.yaml"), "token: abc\nnested:\n  key: 42\n").unwrap();
        let src = format!(
            "{HEAD}binds:\n  - namespace: s\n    location: file:///./shared/secrets.yaml\n    keys:\n      TOKEN: token\n      NESTED: nested.key\n      GONE: missing\ncapability:\n  consumes: []\n"
        );
        let (d, p) = doc(&src, dir.path());
        let e = resolve(&d, &p, &|_| None).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(
            e[0].message.contains("key `missing` of `file:///./shared/secrets.yaml` is missing"),
            "{}",
            e[0].message
        );
        let src = src.replace("      GONE: missing\n", "");
        let (d, p) = doc(&src, dir.path());
        let v = resolve(&d, &p, &|_| None).unwrap();
        assert_eq!(v["TOKEN"].expose(), "abc");
        assert_eq!(v["s.NESTED"].expose(), "42");
    }
}
