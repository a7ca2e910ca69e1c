//! The syntax of Naftiko expressions: `{{…}}` templates, `{x}` path placeholders and JSONPath
//! as real files write it (SEMANTICS §3).
//!
//! Parsing lives here because it is part of the document format: the checks report malformed
//! expressions at load, and the engine compiles the same parse once for the request path.

use serde_json_path::JsonPath;

/// A parsed template: literal text and variable references, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    /// The parts.
    pub parts: Vec<Part>,
}

/// A piece of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text copied as is.
    Lit(String),
    /// `{{name}}` (or `{name}` in a path): the name, trimmed.
    Var(String),
}

/// A malformed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset in the template text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl Template {
    /// True when the template has no variables.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(_)))
    }

    /// The variable names, in order.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// The single variable when the whole template is exactly one `{{x}}`.
    pub fn sole_var(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Var(v)] => Some(v),
            _ => None,
        }
    }
}

/// True when `s` contains a `{{` that could open a template.
pub fn has_template(s: &str) -> bool {
    s.contains("{{")
}

/// Parses `{{name}}` templates. `{{{x}}}` and `{{&x}}` read as `{{x}}` (nothing is escaped
/// anyway); `{{! comment }}` is dropped; sections (`{{#x}}`) are not supported.
pub fn parse_template(s: &str) -> Result<Template, TemplateError> {
    parse(s, false)
}

/// Parses a path: `{x}` and `{{x}}` are both placeholders.
pub fn parse_path_template(s: &str) -> Result<Template, TemplateError> {
    parse(s, true)
}

fn parse(s: &str, single_braces: bool) -> Result<Template, TemplateError> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' && bytes.get(i + 1) == Some(&b'{') {
            let triple = bytes.get(i + 2) == Some(&b'{');
            let open = if triple { 3 } else { 2 };
            let close_pat = if triple { "}}}" } else { "}}" };
            let Some(rel) = s[i + open..].find(close_pat) else {
                return Err(TemplateError {
                    offset: i,
                    message: format!("`{{{{` at offset {i} is never closed with `}}}}`"),
                });
            };
            let inner = s[i + open..i + open + rel].trim();
            i += open + rel + close_pat.len();
            let name = match inner.chars().next() {
                Some('!') => continue,
                Some('#') | Some('^') | Some('/') => {
                    return Err(TemplateError {
                        offset: i,
                        message: format!("template sections such as `{{{{{inner}}}}}` are not supported yet"),
                    });
                }
                Some('&') => inner[1..].trim(),
                Some('>') => {
                    return Err(TemplateError {
                        offset: i,
                        message: format!("template partials such as `{{{{{inner}}}}}` are not supported"),
                    });
                }
                _ => inner,
            };
            check_name(name).map_err(|message| TemplateError { offset: i, message })?;
            flush(&mut lit, &mut parts);
            parts.push(Part::Var(name.to_string()));
        } else if single_braces && bytes[i] == b'{' {
            let Some(rel) = s[i + 1..].find('}') else {
                return Err(TemplateError {
                    offset: i,
                    message: format!("`{{` at offset {i} is never closed with `}}`"),
                });
            };
            let name = s[i + 1..i + 1 + rel].trim();
            check_name(name).map_err(|message| TemplateError { offset: i, message })?;
            flush(&mut lit, &mut parts);
            parts.push(Part::Var(name.to_string()));
            i += rel + 2;
        } else {
            let ch = s[i..].chars().next().unwrap_or('\0');
            lit.push(ch);
            i += ch.len_utf8().max(1);
        }
    }
    flush(&mut lit, &mut parts);
    Ok(Template { parts })
}

fn flush(lit: &mut String, parts: &mut Vec<Part>) {
    if !lit.is_empty() {
        parts.push(Part::Lit(std::mem::take(lit)));
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty template variable `{{}}`".into());
    }
    if name.starts_with('$') {
        return Ok(());
    }
    match name.chars().find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']'))) {
        Some(bad) => {
            Err(format!("template variable `{name}` contains `{bad}`; names are letters, digits, `_`, `-` and `.`"))
        }
        None => Ok(()),
    }
}

/// Rewrites JSONPath as real files write it into RFC 9535: `$.` and `$` mean the whole value,
/// a trailing `.` is dropped, member names with `-`, spaces or a leading digit are bracketed,
/// and a path without `$` is taken as relative to `$`.
pub fn normalize_jsonpath(path: &str) -> String {
    let p = path.trim();
    let body = if let Some(rest) = p.strip_prefix('$') {
        rest
    } else if let Some(rest) = p.strip_prefix('@') {
        rest
    } else if p.is_empty() {
        ""
    } else {
        return normalize_jsonpath(&format!("$.{p}"));
    };
    let body = body.trim_end_matches('.');
    let mut out = String::from("$");
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let descendant = chars.get(i + 1) == Some(&'.');
                i += if descendant { 2 } else { 1 };
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if descendant {
                    out.push_str("..");
                } else if name.is_empty() {
                    continue;
                }
                if name.is_empty() {
                    continue;
                }
                if name == "*" || is_shorthand(&name) {
                    if !descendant {
                        out.push('.');
                    }
                    out.push_str(&name);
                } else {
                    out.push_str(&format!("['{}']", name.replace('\\', "\\\\").replace('\'', "\\'")));
                }
            }
            '[' => {
                // Copy a bracket segment verbatim, respecting quotes.
                let mut depth = 0;
                let mut quote: Option<char> = None;
                while i < chars.len() {
                    let c = chars[i];
                    out.push(c);
                    i += 1;
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), '\\') => {
                            if let Some(&n) = chars.get(i) {
                                out.push(n);
                                i += 1;
                            }
                        }
                        (None, '\'' | '"') => quote = Some(c),
                        (None, '[') => depth += 1,
                        (None, ']') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                // A name right after `$` without a dot (`$name`): treat as `$.name`.
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if is_shorthand(&name) {
                    out.push('.');
                    out.push_str(&name);
                } else {
                    out.push_str(&format!("['{}']", name.replace('\'', "\\'")));
                }
            }
        }
    }
    out
}

fn is_shorthand(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || !c.is_ascii() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii())
}

/// Normalises and parses a JSONPath; the error says what the parser rejected.
pub fn compile_jsonpath(path: &str) -> Result<JsonPath, String> {
    let norm = normalize_jsonpath(path);
    if ends_inside_string(&norm) {
        return Err(format!("invalid JSONPath `{path}`: a quoted name or string is not closed"));
    }
    JsonPath::parse(&norm).map_err(|e| {
        if norm == path.trim() {
            format!("invalid JSONPath `{path}`: {e}")
        } else {
            format!("invalid JSONPath `{path}` (read as `{norm}`): {e}")
        }
    })
}

/// Whether a query ends inside a quoted name or string (RFC 9535 has no other use for quotes).
/// Such a query is invalid, and serde_json_path 0.7 panics on some of them — an escape cut short
/// by the end, `$["\u` — instead of saying so: they never reach it.
fn ends_inside_string(query: &str) -> bool {
    let mut quote = None;
    let mut chars = query.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            _ => {}
        }
    }
    quote.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(s: &str) -> Vec<String> {
        parse_template(s).unwrap().vars().map(str::to_owned).collect()
    }

    #[test]
    fn templates_split_into_literals_and_names() {
        let t = parse_template("Bearer {{ env.KOMBO_API_KEY }}").unwrap();
        assert_eq!(t.parts, vec![Part::Lit("Bearer ".into()), Part::Var("env.KOMBO_API_KEY".into())]);
        assert_eq!(vars("{{X-Integration-Id}}/{{get-ship.imo}}"), vec!["X-Integration-Id", "get-ship.imo"]);
        assert_eq!(parse_template("{{x}}").unwrap().sole_var(), Some("x"));
        assert!(parse_template("plain").unwrap().is_literal());
        assert_eq!(vars("{{{raw}}} {{& amp}} {{! note }}"), vec!["raw", "amp"]);
        assert_eq!(vars("{{$.step.items[0]}}"), vec!["$.step.items[0]"]);
    }

    #[test]
    fn malformed_templates_are_rejected() {
        assert!(parse_template("a {{b").unwrap_err().message.contains("never closed"));
        assert!(parse_template("{{}}").is_err());
        assert!(parse_template("{{a b}}").unwrap_err().message.contains("contains ` `"));
        assert!(parse_template("{{#list}}x{{/list}}").unwrap_err().message.contains("not supported"));
        assert!(parse_template("a } b }} c").is_ok());
    }

    #[test]
    fn paths_accept_single_and_double_braces() {
        let t = parse_path_template("/ships/{imo}/crew/{{crew_id}}").unwrap();
        assert_eq!(t.vars().collect::<Vec<_>>(), vec!["imo", "crew_id"]);
        assert!(parse_path_template("/a/{b").is_err());
    }

    #[test]
    fn jsonpath_is_normalised_like_real_files_expect() {
        assert_eq!(normalize_jsonpath("$."), "$");
        assert_eq!(normalize_jsonpath("$"), "$");
        assert_eq!(normalize_jsonpath("$.a.b."), "$.a.b");
        assert_eq!(
            normalize_jsonpath("$.get-ship.dimensions.length_overall"),
            "$['get-ship'].dimensions.length_overall"
        );
        assert_eq!(normalize_jsonpath("$.properties.Due Date.x"), "$.properties['Due Date'].x");
        assert_eq!(normalize_jsonpath("$.items[0].id"), "$.items[0].id");
        assert_eq!(normalize_jsonpath("$.items[*].name"), "$.items[*].name");
        assert_eq!(normalize_jsonpath("$..id"), "$..id");
        assert_eq!(normalize_jsonpath("$['a.b'].c"), "$['a.b'].c");
        assert_eq!(normalize_jsonpath("data.id"), "$.data.id");
        assert_eq!(normalize_jsonpath("$.0"), "$['0']");
        assert_eq!(normalize_jsonpath("$.a[?@.b == 'x'].c"), "$.a[?@.b == 'x'].c");
    }

    #[test]
    fn jsonpath_compiles_after_normalising() {
        assert!(compile_jsonpath("$.get-ship.imo").is_ok());
        assert!(compile_jsonpath("$.").is_ok());
        let e = compile_jsonpath("$.a[").unwrap_err();
        assert!(e.contains("invalid JSONPath"), "{e}");
    }

    #[test]
    fn a_string_cut_short_in_an_escape_is_an_error_not_a_panic() {
        // Found by fuzzing (template_render, `{{$["\u}}`): serde_json_path panicked ("we do not
        // use streaming parsers") on a query ending in a `\u` escape — in a document, at load.
        for path in
            [r#"$["\u"#, r#"$['\u"#, r#"$["\uD"#, r#"$["\uD83D\u"#, r#"$["\uD83D\ud"#, r#"$[?@.a == "\u"#, r#"$["a\"#]
        {
            let e = compile_jsonpath(path).unwrap_err();
            assert!(e.contains("not closed"), "{path}: {e}");
        }
        assert!(compile_jsonpath(r#"$["\u00e9"]"#).is_ok(), "a complete escape still parses");
        assert!(compile_jsonpath(r#"$[?@.a == 'it\'s']"#).is_ok());
    }
}
