//! Loading: bytes → YAML tree → version check → [`Document`], with consumes imports resolved.
//!
//! Files are read through [`FileSystem`] so that tests (and the corpus runner) can serve
//! documents from memory. Import locations are relative to the importing file; `file:` URIs
//! (`file:///abs`, `file:///./rel`) are accepted too.

use std::io;
use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic};
use crate::model::{Consumes, Document, Sp, Version};
use crate::read::Reader;
use crate::source::{FileId, SourceMap, Span};
use crate::yaml::{self, Node, NodeKind};

/// Where documents are read from.
pub trait FileSystem {
    /// The bytes of the file at `path`.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

impl FileSystem for RealFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// The result of loading one capability file.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The document, when the file parsed and declared a supported version.
    pub document: Option<Document>,
    /// The YAML tree of the main file (for the schema check).
    pub root: Option<Node>,
    /// Every file read (the main file is `FileId(0)`).
    pub sources: SourceMap,
    /// What went wrong or looks wrong so far.
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads a capability file from disk.
pub fn load(path: &Path) -> Loaded {
    load_with(path, &RealFs)
}

/// Loads a capability file through `fs`.
pub fn load_with(path: &Path, fs: &dyn FileSystem) -> Loaded {
    let mut loaded = Loaded::default();
    let Some((file, root)) = read_yaml(path, fs, &mut loaded.sources, &mut loaded.diagnostics, None) else {
        return loaded;
    };
    let Some(version) = check_version(&root, file, &mut loaded.diagnostics) else {
        loaded.root = Some(root);
        return loaded;
    };
    let mut document = Reader { diags: &mut loaded.diagnostics }.document(&root, version);
    resolve_imports(&mut document, path, fs, &mut loaded);
    loaded.document = Some(document);
    loaded.root = Some(root);
    loaded
}

/// Reads and parses one file, reporting I/O, encoding and YAML problems at `site` (the import
/// that asked for it) or at the file itself.
fn read_yaml(
    path: &Path,
    fs: &dyn FileSystem,
    sources: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
    site: Option<Span>,
) -> Option<(FileId, Node)> {
    let bytes = match fs.read(path) {
        Ok(b) => b,
        Err(e) => {
            let file = sources.add(path.to_path_buf(), String::new());
            let span = site.unwrap_or(Span { file, line: 0, col: 0, offset: 0, len: 0 });
            let code = if site.is_some() { Code::UnresolvedImport } else { Code::Io };
            diags.push(
                Diagnostic::new(code, span, format!("cannot read `{}`: {}", path.display(), io_reason(&e)))
                    .help("check the path; import locations are relative to the importing file"),
            );
            return None;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let file = sources.add(path.to_path_buf(), lossy);
            let (line, col) = line_col(&String::from_utf8_lossy(&e.as_bytes()[..valid]));
            diags.push(
                Diagnostic::new(
                    Code::NotADocument,
                    Span { file, line, col, offset: valid, len: 0 },
                    format!("not a UTF-8 text file (invalid byte 0x{:02x} at offset {valid})", e.as_bytes()[valid]),
                )
                .help("a capability is a YAML text file; is this the right file?"),
            );
            return None;
        }
    };
    let text = text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text);
    let has_nul = text.find('\0');
    let file = sources.add(path.to_path_buf(), text);
    let text = &sources.get(file).map(|f| f.text.as_str()).unwrap_or("");
    if let Some(off) = has_nul {
        let (line, col) = line_col(&text[..off]);
        diags.push(
            Diagnostic::new(
                Code::NotADocument,
                Span { file, line, col, offset: off, len: 0 },
                "binary data (a NUL byte) in a YAML file",
            )
            .help("a capability is a YAML text file; is this the right file?"),
        );
        return None;
    }
    let root = match yaml::parse(text, file) {
        Ok(n) => n,
        Err(e) => {
            diags.push(
                Diagnostic::new(Code::YamlSyntax, e.span, e.message).help("fix the YAML syntax at this position"),
            );
            return None;
        }
    };
    match root.kind {
        NodeKind::Map(_) => Some((file, root)),
        NodeKind::Null => {
            diags.push(
                Diagnostic::new(Code::NotADocument, Span::file_start(file), "the document is empty")
                    .help("a capability starts with `naftiko: 1.0.0-alpha2` followed by `info` and `capability`"),
            );
            None
        }
        _ => {
            diags.push(
                Diagnostic::new(
                    Code::NotADocument,
                    root.span,
                    format!("the document is {}, not a mapping", root.kind_name()),
                )
                .help("a capability is a YAML mapping that starts with `naftiko: 1.0.0-alpha2`"),
            );
            None
        }
    }
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn line_col(prefix: &str) -> (u32, u32) {
    let line = prefix.matches('\n').count() as u32 + 1;
    let col = prefix.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) as u32 + 1;
    (line, col)
}

fn supported_list() -> String {
    Version::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
}

fn check_version(root: &Node, file: FileId, diags: &mut Vec<Diagnostic>) -> Option<Sp<Version>> {
    if let Some(k) = root.get_key("ikanos") {
        diags.push(
            Diagnostic::new(
                Code::UnsupportedVersion,
                k.span,
                "`ikanos:` documents (the Ikanos 1.0.0-alpha3 dialect) are not supported yet",
            )
            .help(format!("this runtime reads `naftiko:` documents, versions {}", supported_list())),
        );
        return None;
    }
    let Some(v) = root.get("naftiko") else {
        diags.push(
            Diagnostic::new(
                Code::UnsupportedVersion,
                Span::file_start(file),
                "the document does not declare `naftiko:` (its version)",
            )
            .help("start the file with `naftiko: 1.0.0-alpha2`"),
        );
        return None;
    };
    let text = v.scalar_text();
    match text.as_deref().and_then(Version::parse) {
        Some(ver) => Some(Sp::new(ver, v.span)),
        None => {
            let shown = text.map(|t| format!("`{t}`")).unwrap_or_else(|| v.kind_name().to_string());
            diags.push(
                Diagnostic::new(Code::UnsupportedVersion, v.span, format!("unsupported `naftiko` version {shown}"))
                    .help(format!("supported versions: {}", supported_list())),
            );
            None
        }
    }
}

/// Turns an import `location` into a path: relative to the importing file's directory, or a
/// `file:` URI (`file:///abs`, `file:///./rel`, `file://./rel`).
pub fn resolve_location(location: &str, base_file: &Path) -> PathBuf {
    let dir = base_file.parent().unwrap_or(Path::new(""));
    let rest = location.strip_prefix("file://").unwrap_or(location);
    let rest = if rest.starts_with("/./") || rest.starts_with("/../") { &rest[1..] } else { rest };
    let p = Path::new(rest);
    if p.is_absolute() { p.to_path_buf() } else { normalize(&dir.join(p)) }
}

/// Removes `.` and resolvable `..` components without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn resolve_imports(document: &mut Document, path: &Path, fs: &dyn FileSystem, loaded: &mut Loaded) {
    for import in document.imports.clone() {
        if import.location.value.contains("://") && !import.location.value.starts_with("file://") {
            loaded.diagnostics.push(
                Diagnostic::new(
                    Code::Unsupported,
                    import.location.span,
                    format!("unsupported import location `{}`: only files can be imported", import.location.value),
                )
                .help("use a path relative to this file, e.g. `./shared/consumes.yaml`"),
            );
            continue;
        }
        let target = resolve_location(&import.location.value, path);
        let node = match loaded.sources.find(&target) {
            Some(_) => reparse(&target, &loaded.sources),
            None => read_yaml(&target, fs, &mut loaded.sources, &mut loaded.diagnostics, Some(import.location.span))
                .map(|(_, n)| n),
        };
        let Some(node) = node else { continue };
        match find_consumes(&node, &import.import.value) {
            Some(found) => {
                if let Some(mut c) = (Reader { diags: &mut loaded.diagnostics }).consumes_node(found) {
                    if let Some(alias) = &import.alias
                        && !alias.value.is_empty()
                    {
                        c.namespace = alias.clone();
                    } else {
                        c.namespace.span = import.import.span;
                    }
                    c.imported_by = Some(import.clone());
                    document.consumes.push(c);
                }
            }
            None => {
                let available = namespaces_in(&node);
                let hint = crate::diag::did_you_mean(&import.import.value, available.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        if available.is_empty() {
                            format!("`{}` declares no consumes namespaces", target.display())
                        } else {
                            format!("`{}` declares: {}", target.display(), available.join(", "))
                        }
                    });
                loaded.diagnostics.push(
                    Diagnostic::new(
                        Code::UnresolvedImport,
                        import.import.span,
                        format!("`{}` has no consumes namespace `{}`", target.display(), import.import.value),
                    )
                    .help(hint),
                );
            }
        }
    }
}

fn reparse(path: &Path, sources: &SourceMap) -> Option<Node> {
    let id = sources.find(path)?;
    yaml::parse(&sources.get(id)?.text, id).ok()
}

/// Consumes entries of a shared file: root `consumes`, and `capability.consumes` too.
fn consumes_entries(node: &Node) -> impl Iterator<Item = &Node> {
    let root = node.get("consumes");
    let cap = node.get("capability").and_then(|c| c.get("consumes"));
    [root, cap]
        .into_iter()
        .flatten()
        .filter_map(|n| match &n.kind {
            NodeKind::Seq(items) => Some(items.iter()),
            _ => None,
        })
        .flatten()
}

fn find_consumes<'n>(node: &'n Node, namespace: &str) -> Option<&'n Node> {
    consumes_entries(node)
        .find(|c| c.get("namespace").and_then(Node::as_str) == Some(namespace) && c.get("location").is_none())
}

fn namespaces_in(node: &Node) -> Vec<String> {
    consumes_entries(node).filter_map(|c| c.get("namespace").and_then(Node::as_str)).map(str::to_owned).collect()
}

impl Loaded {
    /// The consumed namespaces that came from imports, with their origin.
    pub fn imported(&self) -> impl Iterator<Item = &Consumes> {
        self.document.iter().flat_map(|d| d.consumes.iter().filter(|c| c.imported_by.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_relative_to_the_importing_file() {
        let base = Path::new("/caps/main.yaml");
        assert_eq!(resolve_location("./shared/a.yaml", base), PathBuf::from("/caps/shared/a.yaml"));
        assert_eq!(resolve_location("../a.yaml", base), PathBuf::from("/a.yaml"));
        assert_eq!(resolve_location("file:///./shared/a.yaml", base), PathBuf::from("/caps/shared/a.yaml"));
        assert_eq!(resolve_location("file://./shared/a.yaml", base), PathBuf::from("/caps/shared/a.yaml"));
        assert_eq!(resolve_location("file:///etc/a.yaml", base), PathBuf::from("/etc/a.yaml"));
        assert_eq!(resolve_location("shared/a.yaml", Path::new("main.yaml")), PathBuf::from("shared/a.yaml"));
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col(""), (1, 1));
        assert_eq!(line_col("ab\ncé"), (2, 3));
    }
}
