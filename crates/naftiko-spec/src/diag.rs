//! Diagnostics: what is wrong in a document, where, and how to fix it.
//!
//! Every finding has a stable [`Code`], a [`Severity`] (the policy of SEMANTICS §1: only what
//! would make execution wrong or impossible is an error), a position and, usually, a help line.
//! [`render_human`] prints them the way rustc does; [`render_json`] gives one object each.

use serde_json::json;

use crate::source::{SourceMap, Span};

/// Whether a finding stops the capability from starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The capability cannot run (or would run wrongly): it does not start.
    Error,
    /// A deviation from the specification that does not change execution.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $sev:ident; )*) => {
        /// The stable identifier of a kind of finding (documented in `docs/diagnostics.md`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $( $(#[$doc])* $variant, )* }

        impl Code {
            /// The code as printed: `unknown-call`, `unknown-key`, …
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }
            /// The severity this kind of finding has unless `--strict` raises it.
            pub fn default_severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$sev, )* }
            }
            /// Every code, for documentation and reports.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];
        }
    };
}

codes! {
    /// The file could not be read.
    Io = "io", Error;
    /// The YAML could not be parsed (syntax, or a parser limit such as nesting depth or aliases).
    YamlSyntax = "yaml-syntax", Error;
    /// The document is empty or its root is not a mapping.
    NotADocument = "not-a-document", Error;
    /// The `naftiko` version is missing or not one we run (or the document is another dialect).
    UnsupportedVersion = "unsupported-version", Error;
    /// A field the runtime uses has the wrong YAML type.
    InvalidType = "invalid-type", Error;
    /// A field the runtime needs is missing.
    MissingField = "missing-field", Error;
    /// A field has a value the runtime cannot use (unknown method, parameter location, …).
    InvalidValue = "invalid-value", Error;
    /// An `exposes` entry has a `type` we do not know.
    UnknownAdapterType = "unknown-adapter-type", Error;
    /// A `call` names a namespace or operation that does not exist.
    UnknownCall = "unknown-call", Error;
    /// A `ref` names an aggregate function that does not exist.
    UnknownRef = "unknown-ref", Error;
    /// A `forward.targetNamespace` names no consumed namespace.
    UnknownForwardTarget = "unknown-forward-target", Error;
    /// A step, mapping or skill tool names a step or adapter that does not exist.
    UnknownTarget = "unknown-target", Error;
    /// A consumes import could not be resolved (missing file or namespace).
    UnresolvedImport = "unresolved-import", Error;
    /// Two consumes entries, or two adapters, share a namespace.
    DuplicateNamespace = "duplicate-namespace", Error;
    /// Two operations of one consumed namespace share a name.
    DuplicateOperation = "duplicate-operation", Error;
    /// A template names a bind variable that no `binds` entry declares.
    UndeclaredBind = "undeclared-bind", Error;
    /// A declared bind variable has no value at start-up (environment variable or file key missing).
    UnresolvedBind = "unresolved-bind", Error;
    /// A `{{…}}` template is malformed.
    InvalidTemplate = "invalid-template", Error;
    /// A JSONPath expression does not parse.
    InvalidJsonPath = "invalid-jsonpath", Error;
    /// Two adapters listen on the same address and port.
    PortConflict = "port-conflict", Error;
    /// The document uses a feature this runtime does not implement.
    Unsupported = "unsupported", Error;
    /// A key the specification does not define at this place.
    UnknownKey = "unknown-key", Warning;
    /// Any other deviation from the official JSON Schema.
    Schema = "schema", Warning;
    /// A deprecated or legacy spelling that is read as its current form.
    Deprecated = "deprecated", Warning;
    /// A reference, name or route was resolved tolerantly (alias prefix, kebab/snake, merge).
    Tolerated = "tolerated", Warning;
    /// A literal `with` value looks like a reference with an unknown prefix.
    SuspiciousLiteral = "suspicious-literal", Warning;
    /// An operation, tool or route is declared twice; the first declaration wins.
    Duplicate = "duplicate", Warning;
    /// An exposed operation or tool has nothing to execute (no call, steps, ref or mock values).
    NoHandler = "no-handler", Warning;
}

/// One finding about a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error or warning (after `--strict`).
    pub severity: Severity,
    /// The stable kind of the finding.
    pub code: Code,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where it is.
    pub span: Span,
    /// How to fix it, when we can say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A finding with the code's default severity.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: code.default_severity(), code, message: message.into(), span, help: None }
    }

    /// Adds a help line.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds a help line when there is one.
    pub fn maybe_help(mut self, help: Option<String>) -> Diagnostic {
        self.help = help;
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Counts errors and warnings.
pub fn count(diags: &[Diagnostic]) -> (usize, usize) {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    (errors, diags.len() - errors)
}

/// Renders one diagnostic in the style of rustc: header, `-->` location, the source line with a
/// caret under the offending spot, then `help:`.
pub fn render_human(d: &Diagnostic, sources: &SourceMap) -> String {
    let path = sources.path(d.span.file).display();
    let mut out = format!("{}[{}]: {}\n", d.severity.as_str(), d.code.as_str(), d.message);
    let line_text = sources.get(d.span.file).and_then(|f| f.line(d.span.line));
    let gutter = d.span.line.to_string().len().max(1);
    let pad = " ".repeat(gutter);
    if d.span.line == 0 {
        out.push_str(&format!("{pad}--> {path}\n"));
    } else {
        out.push_str(&format!("{pad}--> {path}:{}:{}\n", d.span.line, d.span.col));
    }
    if let Some(text) = line_text {
        let text = text.replace('\t', " ");
        let mut col = (d.span.col.max(1) - 1) as usize;
        // Crop very long lines to a window around the column.
        let chars: Vec<char> = text.chars().collect();
        let text = if chars.len() > 120 {
            let start = col.saturating_sub(50).min(chars.len().saturating_sub(100));
            let end = (start + 100).min(chars.len());
            let mut s: String = chars[start..end].iter().collect();
            if start > 0 {
                s.insert(0, '…');
                col = col - start + 1;
            }
            if end < chars.len() {
                s.push('…');
            }
            s
        } else {
            text
        };
        let rest: usize = text.chars().count().saturating_sub(col).max(1);
        let width = if d.span.len > 0 {
            let span_chars = sources
                .get(d.span.file)
                .and_then(|f| f.text.get(d.span.offset..d.span.offset + d.span.len))
                .map(|s| s.lines().next().unwrap_or("").chars().count())
                .unwrap_or(1);
            span_chars.clamp(1, rest)
        } else {
            1
        };
        out.push_str(&format!("{pad} |\n"));
        out.push_str(&format!("{} | {}\n", d.span.line, text));
        out.push_str(&format!("{pad} | {}{}\n", " ".repeat(col), "^".repeat(width)));
    }
    if let Some(help) = &d.help {
        out.push_str(&format!("{pad} = help: {help}\n"));
    }
    out
}

/// Renders a file's diagnostics for people: repeated findings (same code, message and help) are
/// printed once, followed by a note listing where else they occur.
pub fn render_human_grouped(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    let mut done = vec![false; diags.len()];
    for (i, d) in diags.iter().enumerate() {
        if done[i] {
            continue;
        }
        let same: Vec<usize> = (i + 1..diags.len())
            .filter(|&j| {
                !done[j]
                    && diags[j].code == d.code
                    && diags[j].message == d.message
                    && diags[j].help == d.help
                    && diags[j].severity == d.severity
            })
            .collect();
        let mut text = render_human(d, sources);
        if !same.is_empty() {
            let mut lines: Vec<String> = same.iter().take(12).map(|&j| diags[j].span.line.to_string()).collect();
            if same.len() > 12 {
                lines.push(format!("… ({} more)", same.len() - 12));
            }
            let gutter = " ".repeat(d.span.line.to_string().len().max(1));
            text.push_str(&format!("{gutter} = note: {} more like this, at lines {}\n", same.len(), lines.join(", ")));
            for j in same {
                done[j] = true;
            }
        }
        out.push_str(&text);
        out.push('\n');
    }
    out
}

/// Renders one diagnostic as a JSON object (one line of `--format json`).
pub fn render_json(d: &Diagnostic, sources: &SourceMap) -> serde_json::Value {
    json!({
        "file": sources.path(d.span.file).display().to_string(),
        "line": d.span.line,
        "column": d.span.col,
        "severity": d.severity.as_str(),
        "code": d.code.as_str(),
        "message": d.message,
        "help": d.help,
    })
}

/// Edit distance counting a swap of two neighbours as one edit, for "did you mean" suggestions.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// Longest name (in bytes) a suggestion is looked for: the edit distance takes time and memory
/// quadratic in the length, and names in real files are far shorter.
const MAX_SUGGESTED_BYTES: usize = 128;

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if word.len() > MAX_SUGGESTED_BYTES {
        return None;
    }
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '_'], "");
    let w = norm(word);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let limit = (word.chars().count() / 3).clamp(1, 3);
        let nc = norm(c);
        if nc.len().abs_diff(w.len()) > limit {
            continue;
        }
        let d = if nc == w { 0 } else { levenshtein(&w, &nc) };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    #[test]
    fn suggestions_find_close_keys_only() {
        let keys = ["inputParameters", "outputParameters", "call", "with"];
        assert_eq!(did_you_mean("inputParameter", keys), Some("inputParameters"));
        assert_eq!(did_you_mean("input_parameters", keys), Some("inputParameters"));
        assert_eq!(did_you_mean("cal", keys), Some("call"));
        assert_eq!(did_you_mean("zzzzzz", keys), None);
    }

    #[test]
    fn no_suggestion_is_searched_for_a_very_long_name() {
        // Found with the load_document fuzz target (`call: things.<20 000 letters>b` beside an
        // operation of 20 000 letters): the edit distance table took 3 GB.
        let name = "a".repeat(20_000);
        let long = format!("{name}b");
        assert_eq!(did_you_mean(&long, [name.as_str()]), None);
        let typo = format!("{}x", "a".repeat(100));
        let near = "a".repeat(101);
        assert_eq!(did_you_mean(&typo, [near.as_str()]), Some(near.as_str()), "long real names still get one");
    }

    #[test]
    fn human_rendering_has_caret_under_the_span() {
        let mut sm = SourceMap::default();
        let f = sm.add("cap.yaml".into(), "a: 1\ncall: foo.bar\n".into());
        let d = Diagnostic::new(
            Code::UnknownCall,
            Span { file: f, line: 2, col: 7, offset: 11, len: 7 },
            "no such operation",
        )
        .help("did you mean `foo.baz`?");
        let s = render_human(&d, &sm);
        assert!(s.starts_with("error[unknown-call]: no such operation\n"), "{s}");
        assert!(s.contains(" --> cap.yaml:2:7\n"), "{s}");
        assert!(s.contains("2 | call: foo.bar\n"), "{s}");
        assert!(s.contains("  |       ^^^^^^^\n"), "{s}");
        assert!(s.contains("= help: did you mean `foo.baz`?"), "{s}");
        let _ = FileId(0);
    }
}

#[cfg(test)]
mod doc_tests {
    use super::Code;

    #[test]
    fn every_code_is_documented() {
        let doc = include_str!("../../../docs/diagnostics.md");
        for code in Code::ALL {
            assert!(doc.contains(&format!("| `{}` |", code.as_str())), "docs/diagnostics.md lacks `{}`", code.as_str());
        }
    }
}
