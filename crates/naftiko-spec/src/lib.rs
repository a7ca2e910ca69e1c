//! The Naftiko capability document: loading, the model, and its checks.
//!
//! This crate owns everything about *reading* a capability: YAML with source positions
//! ([`yaml`]), the normalised model for alpha1–alpha3 ([`model`]), consumes imports ([`load`]),
//! the expression syntax ([`expr`]), and the diagnostics that tell an author what to fix
//! ([`diag`], [`check`]). It knows nothing about HTTP, serving or execution.

#![warn(missing_docs)]

pub mod check;
pub mod corpus;
pub mod diag;
pub mod expr;
pub mod load;
pub mod model;
mod read;
pub mod source;
pub mod yaml;

use std::path::Path;

pub use diag::{Code, Diagnostic, Severity};
pub use load::{FileSystem, Loaded, RealFs};
pub use model::Document;
pub use source::{FileId, SourceMap, Span};

/// A loaded and checked capability: the document (when it could be read), every file read, and
/// every finding, errors first then in file order.
#[derive(Debug, Default)]
pub struct Validation {
    /// The document, when it parsed and declared a supported version (even with errors).
    pub document: Option<Document>,
    /// The files read.
    pub sources: SourceMap,
    /// Findings, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Validation {
    /// True when nothing stops the capability from starting.
    pub fn is_ok(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Raises every warning to an error (`naftiko validate --strict`).
    pub fn make_strict(&mut self) {
        for d in &mut self.diagnostics {
            d.severity = Severity::Error;
        }
    }
}

/// Loads `path` from disk and runs every check.
pub fn validate(path: &Path) -> Validation {
    validate_with(path, &RealFs)
}

/// Loads `path` through `fs` and runs every check.
pub fn validate_with(path: &Path, fs: &dyn FileSystem) -> Validation {
    checked(path, fs, true)
}

/// Loads `path` from disk and runs the checks that decide whether it can run: everything but
/// the JSON Schema pass, whose findings are all warnings (SEMANTICS §1). `naftiko serve` uses
/// it so that start-up neither spends time nor memory on findings that cannot stop it.
pub fn check_runnable(path: &Path) -> Validation {
    checked(path, &RealFs, false)
}

fn checked(path: &Path, fs: &dyn FileSystem, schema: bool) -> Validation {
    let loaded = load::load_with(path, fs);
    let mut diagnostics = loaded.diagnostics;
    if let (Some(doc), Some(root)) = (&loaded.document, &loaded.root) {
        if schema {
            diagnostics.extend(check::schema::check(root, doc.version.value));
        }
        diagnostics.extend(check::semantic::check(doc));
    }
    diagnostics.sort_by_key(|d| (d.span.file.0, d.span.line, d.span.col));
    diagnostics.dedup();
    Validation { document: loaded.document, sources: loaded.sources, diagnostics }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_runnable_skips_only_the_schema_pass() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cap.yaml");
        // `descripton` is a schema finding (unknown key); the missing namespace is a semantic error.
        std::fs::write(
            &file,
            "naftiko: 1.0.0-alpha2\ninfo:\n  label: t\n  descripton: typo\ncapability:\n  exposes:\n    - type: rest\n      port: 8080\n      namespace: api\n      resources:\n        - path: /x\n          operations:\n            - method: GET\n              call: nowhere.op\n",
        )
        .unwrap();
        let full = validate(&file);
        let runnable = check_runnable(&file);
        let codes = |v: &Validation| v.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>();
        assert!(codes(&full).contains(&Code::UnknownKey), "{:?}", codes(&full));
        assert!(!codes(&runnable).contains(&Code::UnknownKey), "{:?}", codes(&runnable));
        assert!(!runnable.is_ok() && !full.is_ok());
        let errors = |v: &Validation| v.diagnostics.iter().filter(|d| d.is_error()).cloned().collect::<Vec<_>>();
        assert_eq!(errors(&full), errors(&runnable));
    }
}
