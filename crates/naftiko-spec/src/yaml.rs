//! YAML text → [`Node`] tree with a [`Span`] on every node and key.
//!
//! The tree is built straight from the events of granit-parser (the YAML parser inside
//! serde-saphyr): the same grammar and positions, four times faster than going through serde,
//! which matters for 700 kB capability files. Scalars are typed by the YAML 1.2 core schema
//! (`yes`/`on` stay strings, `0755` stays a string), only the first document of a stream is
//! read, duplicate keys are errors, and budgets (nesting depth, node count with aliases
//! expanded, alias count, input size) make hostile input fail fast with a located error.

use granit_parser::{Event, Parser, ScalarStyle, Span as GSpan, Tag};
use serde_json::Value;

use crate::source::{FileId, Span};

/// Deepest nesting accepted (real capability files stay far below 30 levels).
pub const MAX_DEPTH: usize = 128;
/// Most nodes accepted in one document, aliases expanded (the largest real files have ~60k).
pub const MAX_NODES: usize = 2_000_000;
/// Most alias references accepted in one document.
pub const MAX_ALIASES: usize = 1_000;
/// Largest document accepted, in bytes.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
/// Most text (scalars and keys, in bytes) that aliases may copy into one document: a few aliases
/// of one big scalar would otherwise cost gigabytes within the node budget.
pub const MAX_ALIAS_BYTES: usize = MAX_BYTES;

/// A YAML value with the position it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub span: Span,
    /// The value.
    pub kind: NodeKind,
}

/// The shape of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false` (YAML 1.2 spellings only).
    Bool(bool),
    /// An integer that fits in i64.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string scalar.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key as text (non-string scalar keys are stringified).
    pub name: String,
    /// Where the key starts.
    pub span: Span,
}

impl Node {
    /// A short name of the node's kind, for messages ("a string", "a list", …).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) | NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// The entries when this is a mapping.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value of key `name` when this is a mapping that has it (first occurrence).
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.name == name).map(|(_, v)| v)
    }

    /// The key entry named `name` (for pointing at the key rather than the value).
    pub fn get_key(&self, name: &str) -> Option<&Key> {
        self.as_map()?.iter().find(|(k, _)| k.name == name).map(|(k, _)| k)
    }

    /// The string when this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar (numbers and booleans as written in canonical form).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            NodeKind::Str(s) => Some(s.clone()),
            NodeKind::Int(i) => Some(i.to_string()),
            NodeKind::Float(f) => Some(f.to_string()),
            NodeKind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The node at a JSON pointer (`/capability/exposes/0/port`), for locating schema findings.
    /// Returns the deepest node reached and whether the whole pointer resolved.
    pub fn at_pointer(&self, pointer: &str) -> (&Node, Option<&Key>, bool) {
        let mut node = self;
        let mut key = None;
        for raw in pointer.split('/').skip(1) {
            let seg = raw.replace("~1", "/").replace("~0", "~");
            let next = match &node.kind {
                NodeKind::Map(entries) => entries.iter().find(|(k, _)| k.name == seg).map(|(k, v)| (Some(k), v)),
                NodeKind::Seq(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)).map(|v| (None, v)),
                _ => None,
            };
            match next {
                Some((k, v)) => {
                    key = k;
                    node = v;
                }
                None => return (node, key, false),
            }
        }
        (node, key, true)
    }

    /// The value as JSON (what the JSON Schema validates and what literals become at run time).
    pub fn to_json(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::from(*i),
            NodeKind::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null),
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                let mut map = serde_json::Map::with_capacity(entries.len());
                for (k, v) in entries {
                    map.entry(k.name.clone()).or_insert_with(|| v.to_json());
                }
                Value::Object(map)
            }
        }
    }
}

/// A YAML syntax or budget error, with the position serde-saphyr reported.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// What went wrong, without position prefix.
    pub message: String,
    /// Where (line/col 0 when the parser could not tell).
    pub span: Span,
}

/// Parses the first YAML document of `text` into a spanned tree.
pub fn parse(text: &str, file: FileId) -> Result<Node, YamlError> {
    if text.len() > MAX_BYTES {
        return Err(YamlError {
            message: format!("document is {} bytes; the limit is {} bytes", text.len(), MAX_BYTES),
            span: Span::file_start(file),
        });
    }
    Builder { file, text, nodes: 0, aliases: 0, alias_bytes: 0, anchors: Vec::new() }.run()
}

/// Builds the tree from parser events, one open collection per stack frame.
struct Builder<'t> {
    file: FileId,
    text: &'t str,
    nodes: usize,
    aliases: usize,
    /// Text copied by aliases so far.
    alias_bytes: usize,
    /// Anchored nodes by anchor id, with their node counts and text sizes.
    anchors: Vec<Option<(Node, Size)>>,
}

enum Frame {
    Seq(Span, Vec<Node>, Option<usize>),
    Map(Span, Vec<(Key, Node)>, Option<Key>, Option<usize>),
}

impl Builder<'_> {
    fn span(&self, s: &GSpan) -> Span {
        let offset = s.start.byte_offset().unwrap_or(0);
        let end = s.end.byte_offset().unwrap_or(offset);
        Span {
            file: self.file,
            line: s.start.line() as u32,
            col: s.start.col() as u32 + 1,
            offset,
            len: end.saturating_sub(offset),
        }
    }

    fn error(&self, span: Span, message: impl Into<String>) -> YamlError {
        YamlError { message: message.into(), span }
    }

    fn run(mut self) -> Result<Node, YamlError> {
        let mut parser = Parser::new_from_str(self.text);
        let mut stack: Vec<Frame> = Vec::new();
        let mut in_document = false;
        loop {
            let (event, gspan) = match parser.next_event() {
                Some(Ok(e)) => e,
                Some(Err(e)) => {
                    let m = e.marker();
                    let span = Span {
                        file: self.file,
                        line: m.line() as u32,
                        col: m.col() as u32 + 1,
                        offset: m.byte_offset().unwrap_or(0),
                        len: 0,
                    };
                    let info = e.info();
                    let message = if info.starts_with("recursion limit exceeded") {
                        "nesting deeper than the parser allows (recursion limit exceeded)".to_string()
                    } else {
                        info
                    };
                    return Err(self.error(span, message));
                }
                None => return Ok(Node { span: Span::file_start(self.file), kind: NodeKind::Null }),
            };
            let span = self.span(&gspan);
            let node = match event {
                Event::StreamStart => continue,
                Event::StreamEnd => return Ok(Node { span: Span::file_start(self.file), kind: NodeKind::Null }),
                Event::DocumentStart(..) => {
                    in_document = true;
                    continue;
                }
                Event::DocumentEnd => {
                    // An empty first document.
                    return Ok(Node { span: Span::file_start(self.file), kind: NodeKind::Null });
                }
                Event::SequenceStart(_, anchor, _) => {
                    self.open(&stack, span)?;
                    stack.push(Frame::Seq(span, Vec::new(), (anchor > 0).then_some(anchor)));
                    continue;
                }
                Event::MappingStart(_, anchor, _) => {
                    self.open(&stack, span)?;
                    stack.push(Frame::Map(span, Vec::new(), None, (anchor > 0).then_some(anchor)));
                    continue;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (node, anchor) = match stack.pop() {
                        Some(Frame::Seq(sp, items, anchor)) => (Node { span: sp, kind: NodeKind::Seq(items) }, anchor),
                        Some(Frame::Map(sp, entries, _, anchor)) => {
                            (Node { span: sp, kind: NodeKind::Map(entries) }, anchor)
                        }
                        None => return Err(self.error(span, "unbalanced collection end")),
                    };
                    if let Some(id) = anchor {
                        self.remember(id, &node);
                    }
                    node
                }
                Event::Scalar(text, style, anchor, tag) => {
                    self.count(1, span)?;
                    let node = Node { span, kind: resolve_scalar(&text, style, tag.as_deref()) };
                    if anchor > 0 {
                        self.remember(anchor, &node);
                    }
                    node
                }
                Event::Alias(id) => {
                    self.aliases += 1;
                    if self.aliases > MAX_ALIASES {
                        return Err(self.error(span, format!(
                            "document exceeds a parser limit (more than {MAX_ALIASES} aliases); is this an alias bomb?"
                        )));
                    }
                    let Some(Some((_, size))) = self.anchors.get(id) else {
                        return Err(self.error(span, "alias refers to an unknown anchor"));
                    };
                    let size = *size;
                    self.count(size.nodes, span).map_err(|_| {
                        self.error(span, format!(
                            "document exceeds a parser limit (more than {MAX_NODES} nodes once aliases are expanded); is this an alias bomb?"
                        ))
                    })?;
                    // Budgets first: the copy is made only once it is known to fit.
                    self.alias_bytes += size.bytes;
                    if self.alias_bytes > MAX_ALIAS_BYTES {
                        return Err(self.error(span, format!(
                            "document exceeds a parser limit (aliases copy more than {MAX_ALIAS_BYTES} bytes of text); is this an alias bomb?"
                        )));
                    }
                    let Some(Some((target, _))) = self.anchors.get(id) else {
                        return Err(self.error(span, "alias refers to an unknown anchor"));
                    };
                    let mut node = target.clone();
                    node.span = span;
                    node
                }
                _ => continue,
            };
            // Attach the finished node to its parent, or finish the document.
            match stack.last_mut() {
                None => {
                    let _ = in_document;
                    return Ok(node);
                }
                Some(Frame::Seq(_, items, _)) => items.push(node),
                Some(Frame::Map(_, entries, pending, _)) => match pending.take() {
                    None => {
                        let name = match &node.kind {
                            NodeKind::Str(s) => s.clone(),
                            NodeKind::Int(i) => i.to_string(),
                            NodeKind::Float(f) => f.to_string(),
                            NodeKind::Bool(b) => b.to_string(),
                            NodeKind::Null => "null".to_string(),
                            NodeKind::Seq(_) | NodeKind::Map(_) => "<complex key>".to_string(),
                        };
                        if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == name) {
                            let line = first.span.line;
                            return Err(self.error(node.span, format!("duplicate key `{name}` (first at line {line})")));
                        }
                        *pending = Some(Key { name, span: node.span });
                    }
                    Some(key) => entries.push((key, node)),
                },
            }
        }
    }

    /// Checks depth and node budgets before opening a collection.
    fn open(&mut self, stack: &[Frame], span: Span) -> Result<(), YamlError> {
        if stack.len() >= MAX_DEPTH {
            return Err(self.error(span, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.count(1, span)
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), YamlError> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(self.error(span, format!(
                "document exceeds a parser limit (more than {MAX_NODES} nodes once aliases are expanded); is this an alias bomb?"
            )));
        }
        Ok(())
    }

    fn remember(&mut self, id: usize, node: &Node) {
        if self.anchors.len() <= id {
            self.anchors.resize(id + 1, None);
        }
        self.anchors[id] = Some((node.clone(), size_of_tree(node)));
    }
}

/// What copying a tree costs: its nodes (keys counted), and its text in bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

fn size_of_tree(n: &Node) -> Size {
    let mut size = Size { nodes: 1, bytes: 0 };
    let mut add = |s: Size| {
        size.nodes += s.nodes;
        size.bytes += s.bytes;
    };
    match &n.kind {
        NodeKind::Str(s) => add(Size { nodes: 0, bytes: s.len() }),
        NodeKind::Seq(items) => items.iter().for_each(|i| add(size_of_tree(i))),
        NodeKind::Map(entries) => entries.iter().for_each(|(k, v)| {
            add(Size { nodes: 1, bytes: k.name.len() });
            add(size_of_tree(v));
        }),
        _ => {}
    }
    size
}

/// Types a scalar by the YAML 1.2 core schema: quoted scalars are strings; plain ones are
/// null, booleans (YAML 1.2 spellings only), integers (decimal without leading zeros, `0x`,
/// `0o`), finite floats, or strings. Core-schema tags (`!!str`, `!!int`, …) are honoured.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> NodeKind {
    if let Some(tag) = tag
        && tag.is_yaml_core_schema()
    {
        let t = text.trim();
        return match tag.suffix() {
            "str" => NodeKind::Str(text.to_string()),
            "null" => NodeKind::Null,
            "bool" => match t {
                "true" | "True" | "TRUE" => NodeKind::Bool(true),
                "false" | "False" | "FALSE" => NodeKind::Bool(false),
                _ => NodeKind::Str(text.to_string()),
            },
            "int" | "float" => plain_number(t).unwrap_or_else(|| NodeKind::Str(text.to_string())),
            _ => NodeKind::Str(text.to_string()),
        };
    }
    if style != ScalarStyle::Plain {
        return NodeKind::Str(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => NodeKind::Null,
        "true" | "True" | "TRUE" => NodeKind::Bool(true),
        "false" | "False" | "FALSE" => NodeKind::Bool(false),
        t => plain_number(t).unwrap_or_else(|| NodeKind::Str(text.to_string())),
    }
}

fn plain_number(t: &str) -> Option<NodeKind> {
    let first = t.chars().next()?;
    if !(first.is_ascii_digit() || matches!(first, '-' | '+' | '.')) {
        return None;
    }
    if let Some(hex) = t.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(NodeKind::Int);
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(NodeKind::Int);
    }
    let digits = t.trim_start_matches(['-', '+']);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if digits.len() > 1 && digits.starts_with('0') {
            return None; // `0755`, `007`: kept as text.
        }
        return Some(t.parse::<i64>().map(NodeKind::Int).unwrap_or_else(|_| NodeKind::Float(t.parse().unwrap_or(0.0))));
    }
    // Floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let bytes = digits.as_bytes();
    let mut i = 0;
    let int_digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if matches!(bytes.get(i), Some(b'e') | Some(b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'-') | Some(b'+')) {
            i += 1;
        }
        let exp = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exp == 0 {
            return None;
        }
        i += exp;
    }
    if i != bytes.len() {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite()).map(NodeKind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Node, YamlError> {
        parse(s, FileId(0))
    }

    #[test]
    fn spans_point_at_values_and_keys() {
        let n = p("a: 1\nb:\n  - x: yes\n    y: 0755\n").unwrap();
        let b = n.get("b").unwrap();
        let item = match &b.kind {
            NodeKind::Seq(items) => &items[0],
            _ => panic!("not a seq"),
        };
        let x = item.get("x").unwrap();
        assert_eq!(x.kind, NodeKind::Str("yes".into()), "YAML 1.1 booleans stay strings");
        assert_eq!((x.span.line, x.span.col), (3, 8));
        assert_eq!(item.get("y").unwrap().kind, NodeKind::Str("0755".into()));
        let key = item.get_key("y").unwrap();
        assert_eq!((key.span.line, key.span.col), (4, 5));
    }

    #[test]
    fn only_the_first_document_is_read() {
        let n = p("---\na: 1\n---\nb: [\n").unwrap();
        assert!(n.get("a").is_some());
        assert!(n.get("b").is_none());
    }

    #[test]
    fn syntax_errors_are_located() {
        let e = p("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(e.span.line >= 2, "{e:?}");
        assert!(!e.message.contains("line 2 column"), "prefix stripped: {}", e.message);
    }

    #[test]
    fn pointer_lookup_finds_nested_nodes() {
        let n = p("capability:\n  exposes:\n    - type: rest\n      port: x\n").unwrap();
        let (node, key, full) = n.at_pointer("/capability/exposes/0/port");
        assert!(full);
        assert_eq!(node.span.line, 4);
        assert_eq!(key.unwrap().name, "port");
        let (node, _, full) = n.at_pointer("/capability/exposes/0/nope");
        assert!(!full);
        assert_eq!(node.span.line, 3);
    }

    #[test]
    fn scalars_follow_the_yaml_1_2_core_schema() {
        let n = p(
            "a: yes\nb: on\nc: 0755\nd: 0x1F\ne: 1e3\nf: '12'\ng: .inf\nh: 2026-05-19\ni: !!str 5\nj: -7\nk: 1.0.0\n",
        )
        .unwrap();
        let k = |k: &str| n.get(k).unwrap().kind.clone();
        assert_eq!(k("a"), NodeKind::Str("yes".into()));
        assert_eq!(k("b"), NodeKind::Str("on".into()));
        assert_eq!(k("c"), NodeKind::Str("0755".into()));
        assert_eq!(k("d"), NodeKind::Int(31));
        assert_eq!(k("e"), NodeKind::Float(1000.0));
        assert_eq!(k("f"), NodeKind::Str("12".into()));
        assert_eq!(k("g"), NodeKind::Str(".inf".into()));
        assert_eq!(k("h"), NodeKind::Str("2026-05-19".into()));
        assert_eq!(k("i"), NodeKind::Str("5".into()));
        assert_eq!(k("j"), NodeKind::Int(-7));
        assert_eq!(k("k"), NodeKind::Str("1.0.0".into()));
    }

    #[test]
    fn duplicate_keys_and_aliases() {
        let e = p("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.message, "duplicate key `a` (first at line 1)");
        assert_eq!(e.span.line, 3);
        let n = p("x: &anchor {k: v}\ny: *anchor\n").unwrap();
        assert_eq!(n.get("y").unwrap().get("k").unwrap().kind, NodeKind::Str("v".into()));
        assert_eq!(n.get("y").unwrap().span.line, 2);
    }

    #[test]
    fn aliases_of_a_big_scalar_are_refused_before_they_copy_it() {
        // Found with the load_document fuzz target (a 1 MB scalar, aliased 1000 times): within
        // the node budget, the copies took gigabytes before any limit was met.
        let big = "a".repeat(1 << 20);
        let text = format!("x: &s {big}\ny: [{}]\n", vec!["*s"; 1000].join(", "));
        let e = p(&text).unwrap_err();
        assert!(e.message.contains("aliases copy more than"), "{}", e.message);
        assert_eq!(e.span.line, 2);
        // Aliases of small values are as they were.
        let text = format!("x: &s {}\ny: [{}]\n", "a".repeat(1000), vec!["*s"; 1000].join(", "));
        assert!(p(&text).is_ok());
    }

    #[test]
    fn json_conversion_keeps_types() {
        let n = p("a: 1\nb: 1.5\nc: true\nd: ~\ne: [x]\n").unwrap();
        assert_eq!(n.to_json(), serde_json::json!({"a": 1, "b": 1.5, "c": true, "d": null, "e": ["x"]}));
    }
}
