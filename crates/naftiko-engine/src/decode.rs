//! Upstream bodies → JSON for mapping, by `outputRawFormat` (SEMANTICS §4).
//!
//! `json` (default), `xml` (root dropped, children and attributes as fields, repeats as
//! arrays, leaves as strings), `yaml`, `csv`/`tsv`/`psv` (objects keyed by the header row),
//! `html` (tables), `markdown` (front matter, tables, sections), `text` (one string).
//! `binary` is passed through unmapped. Errors say what and where, with a short excerpt.

use serde_json::{Map, Value};

/// A declared `outputRawFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawFormat {
    /// JSON.
    Json,
    /// XML.
    Xml,
    /// YAML.
    Yaml,
    /// Comma-separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// Pipe-separated values.
    Psv,
    /// HTML tables.
    Html,
    /// Markdown.
    Markdown,
    /// Plain text.
    Text,
    /// Bytes passed through unmapped.
    Binary,
}

impl RawFormat {
    /// Parses an `outputRawFormat` value (case-insensitive).
    pub fn parse(s: &str) -> Option<RawFormat> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "json" => RawFormat::Json,
            "xml" => RawFormat::Xml,
            "yaml" | "yml" => RawFormat::Yaml,
            "csv" => RawFormat::Csv,
            "tsv" => RawFormat::Tsv,
            "psv" => RawFormat::Psv,
            "html" => RawFormat::Html,
            "markdown" | "md" => RawFormat::Markdown,
            "text" => RawFormat::Text,
            "binary" => RawFormat::Binary,
            _ => return None,
        })
    }

    /// The format's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RawFormat::Json => "JSON",
            RawFormat::Xml => "XML",
            RawFormat::Yaml => "YAML",
            RawFormat::Csv => "CSV",
            RawFormat::Tsv => "TSV",
            RawFormat::Psv => "PSV",
            RawFormat::Html => "HTML",
            RawFormat::Markdown => "Markdown",
            RawFormat::Text => "text",
            RawFormat::Binary => "binary",
        }
    }
}

/// A body that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(80)]).replace(['\n', '\r'], " ");
    if body.len() > 80 { format!("{text}…") } else { text }
}

/// Decodes a body into JSON.
pub fn decode(format: RawFormat, body: &[u8], output_schema: Option<&str>) -> Result<Value, DecodeError> {
    match format {
        RawFormat::Json => {
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Null);
            }
            serde_json::from_slice(body).map_err(|e| json_error(&e, body))
        }
        RawFormat::Xml => xml(body),
        RawFormat::Yaml => {
            let text = String::from_utf8_lossy(body);
            naftiko_spec::yaml::parse(&text, naftiko_spec::FileId(u32::MAX)).map(|n| n.to_json()).map_err(|e| {
                DecodeError(format!("invalid YAML at line {} column {}: {}", e.span.line, e.span.col, e.message))
            })
        }
        RawFormat::Csv => delimited(body, b','),
        RawFormat::Tsv => delimited(body, b'\t'),
        RawFormat::Psv => delimited(body, b'|'),
        RawFormat::Html => Ok(html::tables(&String::from_utf8_lossy(body), output_schema)),
        RawFormat::Markdown => Ok(markdown(&String::from_utf8_lossy(body), output_schema)),
        RawFormat::Text => Ok(Value::String(String::from_utf8_lossy(body).into_owned())),
        RawFormat::Binary => Err(DecodeError("binary bodies are passed through unmapped".into())),
    }
}

/// Checks that `body` is one well-formed JSON text without building it (the identity output
/// passes the upstream bytes through once they are known to be JSON).
pub fn check_json(body: &[u8]) -> Result<(), DecodeError> {
    let Err(e) = crate::json_syntax::validate(body) else { return Ok(()) };
    // A bad text is described as every other JSON error is (serde's words, line and column);
    // serde's skipping does not look at UTF-8, so that one is described here.
    match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        Err(serde) => Err(json_error(&serde, body)),
        Ok(_) => {
            Err(DecodeError(format!("invalid JSON at byte {}: {} (body starts `{}`)", e.at, e.what, excerpt(body))))
        }
    }
}

fn json_error(e: &serde_json::Error, body: &[u8]) -> DecodeError {
    DecodeError(format!(
        "invalid JSON at line {} column {}: {e} (body starts `{}`)",
        e.line(),
        e.column(),
        excerpt(body)
    ))
}

fn delimited(body: &[u8], delimiter: u8) -> Result<Value, DecodeError> {
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(body);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| DecodeError(format!("invalid header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| DecodeError(format!("invalid row {}: {e}", i + 2)))?;
        let mut obj = Map::new();
        for (k, v) in headers.iter().zip(record.iter()) {
            obj.insert(k.clone(), Value::String(v.to_string()));
        }
        rows.push(Value::Object(obj));
    }
    Ok(Value::Array(rows))
}

/// XML as the reference engine reads it (Jackson XmlMapper): the root element is dropped,
/// attributes and child elements become fields, repeated elements become arrays, text is a
/// string (mixed content's text goes under `""`).
fn xml(body: &[u8]) -> Result<Value, DecodeError> {
    use quick_xml::Reader;
    use quick_xml::events::Event;
    let mut reader = Reader::from_reader(body);
    // Stack of (element name, fields, text).
    let mut stack: Vec<(String, Map<String, Value>, String)> = Vec::new();
    let mut root: Option<Value> = None;
    let mut buf = Vec::new();
    let err = |reader: &Reader<&[u8]>, e: &dyn std::fmt::Display| {
        DecodeError(format!("invalid XML at byte {}: {e}", reader.buffer_position()))
    };
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                if stack.len() > 256 {
                    return Err(DecodeError("XML nested deeper than 256 levels".into()));
                }
                let name = e.local_name().as_ref().to_string();
                let mut fields = Map::new();
                for a in e.attributes().flatten() {
                    let k = a.key.local_name().as_ref().to_string();
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.into_owned())
                        .unwrap_or_default();
                    fields.insert(k, Value::String(v));
                }
                stack.push((name, fields, String::new()));
            }
            Ok(Event::Empty(e)) => {
                let name = e.local_name().as_ref().to_string();
                let mut fields = Map::new();
                for a in e.attributes().flatten() {
                    let k = a.key.local_name().as_ref().to_string();
                    fields.insert(
                        k,
                        Value::String(
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .map(|v| v.into_owned())
                                .unwrap_or_default(),
                        ),
                    );
                }
                let value = if fields.is_empty() { Value::String(String::new()) } else { Value::Object(fields) };
                match stack.last_mut() {
                    Some((_, parent, _)) => add_child(parent, name, value),
                    None => root = Some(value),
                }
            }
            Ok(Event::Text(t)) => {
                if let Some((_, _, text)) = stack.last_mut() {
                    text.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0));
                }
            }
            Ok(Event::CData(t)) => {
                if let Some((_, _, text)) = stack.last_mut() {
                    text.push_str(&t);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some((_, _, text)) = stack.last_mut() {
                    let name = r.to_string();
                    let resolved = match name.as_str() {
                        "amp" => "&".to_string(),
                        "lt" => "<".to_string(),
                        "gt" => ">".to_string(),
                        "quot" => "\"".to_string(),
                        "apos" => "'".to_string(),
                        n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16)
                            .ok()
                            .and_then(char::from_u32)
                            .map(String::from)
                            .unwrap_or_default(),
                        n if n.starts_with('#') => {
                            n[1..].parse().ok().and_then(char::from_u32).map(String::from).unwrap_or_default()
                        }
                        _ => String::new(),
                    };
                    text.push_str(&resolved);
                }
            }
            Ok(Event::End(_)) => {
                let Some((name, fields, text)) = stack.pop() else { return Err(err(&reader, &"unbalanced end tag")) };
                let text = text.trim().to_string();
                let value = if fields.is_empty() {
                    Value::String(text)
                } else {
                    let mut fields = fields;
                    if !text.is_empty() {
                        fields.insert(String::new(), Value::String(text));
                    }
                    Value::Object(fields)
                };
                match stack.last_mut() {
                    Some((_, parent, _)) => add_child(parent, name, value),
                    None => root = Some(value),
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(err(&reader, &e)),
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(DecodeError(format!(
            "invalid XML: element `{}` is not closed",
            stack.last().map(|s| s.0.as_str()).unwrap_or("")
        )));
    }
    Ok(match root {
        Some(Value::String(s)) if s.is_empty() => Value::Object(Map::new()),
        Some(v) => v,
        None => Value::Null,
    })
}

fn add_child(parent: &mut Map<String, Value>, name: String, value: Value) {
    match parent.get_mut(&name) {
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            parent.insert(name, value);
        }
    }
}

/// Markdown: YAML front matter, GFM pipe tables, and sections by heading. `filter` keeps the
/// sections whose heading starts with it.
fn markdown(text: &str, filter: Option<&str>) -> Value {
    let mut lines: Vec<&str> = text.lines().collect();
    let mut front = Value::Object(Map::new());
    if lines.first().map(|l| l.trim()) == Some("---")
        && let Some(end) = lines.iter().skip(1).position(|l| l.trim() == "---")
    {
        let yaml = lines[1..end + 1].join("\n");
        if let Ok(n) = naftiko_spec::yaml::parse(&yaml, naftiko_spec::FileId(u32::MAX)) {
            let v = n.to_json();
            if v.is_object() {
                front = v;
            }
        }
        lines.drain(..end + 2);
    }
    let mut tables = Vec::new();
    let mut sections: Vec<Value> = Vec::new();
    let mut current: Option<(String, usize, Vec<&str>)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            let level = trimmed.chars().take_while(|c| *c == '#').count();
            if level <= 6 && trimmed[level..].starts_with(' ') {
                if let Some((h, l, body)) = current.take() {
                    sections.push(serde_json::json!({"heading": h, "level": l, "content": body.join("\n").trim()}));
                }
                current = Some((trimmed[level..].trim().to_string(), level, Vec::new()));
                i += 1;
                continue;
            }
        }
        if is_table_row(line) && lines.get(i + 1).is_some_and(|l| is_separator(l)) {
            let headers = cells(line);
            let mut rows = Vec::new();
            let mut j = i + 2;
            while j < lines.len() && is_table_row(lines[j]) {
                let mut obj = Map::new();
                for (h, c) in headers.iter().zip(cells(lines[j])) {
                    obj.insert(h.clone(), Value::String(c));
                }
                rows.push(Value::Object(obj));
                j += 1;
            }
            tables.push(Value::Array(rows));
            if let Some((_, _, body)) = current.as_mut() {
                body.extend_from_slice(&lines[i..j]);
            }
            i = j;
            continue;
        }
        if let Some((_, _, body)) = current.as_mut() {
            body.push(line);
        }
        i += 1;
    }
    if let Some((h, l, body)) = current.take() {
        sections.push(serde_json::json!({"heading": h, "level": l, "content": body.join("\n").trim()}));
    }
    if let Some(f) = filter {
        sections.retain(|s| s["heading"].as_str().is_some_and(|h| h.starts_with(f)));
    }
    serde_json::json!({"frontMatter": front, "tables": tables, "sections": sections})
}

fn is_table_row(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|') && t.len() > 1
}

fn is_separator(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

fn cells(line: &str) -> Vec<String> {
    let t = line.trim().trim_start_matches('|').trim_end_matches('|');
    t.split('|').map(|c| c.trim().to_string()).collect()
}

/// HTML tables without a full HTML parser: enough for the tables upstreams publish.
mod html {
    use serde_json::{Map, Value};

    /// `{"tables": [[{header: cell, …}, …], …]}`; `selector` (`#id`, `.class`, `tag`) scopes
    /// which tables are read.
    pub fn tables(html: &str, selector: Option<&str>) -> Value {
        let lower = html.to_ascii_lowercase();
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(start) = lower[pos..].find("<table").map(|p| p + pos) {
            let Some(tag_end) = lower[start..].find('>').map(|p| p + start) else { break };
            let end = lower[tag_end..].find("</table").map(|p| p + tag_end).unwrap_or(lower.len());
            let open_tag = &html[start..=tag_end];
            if selector.is_none_or(|s| matches(open_tag, s) || scoped_by(html, start, s)) {
                out.push(table(&html[tag_end + 1..end], &lower[tag_end + 1..end]));
            }
            pos = end.max(tag_end + 1);
        }
        serde_json::json!({"tables": out})
    }

    fn attr(tag: &str, name: &str) -> Option<String> {
        let lower = tag.to_ascii_lowercase();
        let idx = lower.find(&format!("{name}="))?;
        let rest = &tag[idx + name.len() + 1..];
        let quote = rest.chars().next()?;
        if quote == '"' || quote == '\'' {
            rest[1..].find(quote).map(|e| rest[1..1 + e].to_string())
        } else {
            Some(rest.split(|c: char| c.is_whitespace() || c == '>').next().unwrap_or("").to_string())
        }
    }

    fn matches(tag: &str, selector: &str) -> bool {
        let s = selector.trim();
        if let Some(id) = s.strip_prefix('#') {
            attr(tag, "id").as_deref() == Some(id)
        } else if let Some(class) = s.strip_prefix('.') {
            attr(tag, "class").is_some_and(|c| c.split_whitespace().any(|x| x == class))
        } else {
            s.eq_ignore_ascii_case("table")
        }
    }

    /// True when an element matching `selector` opens before `at` and is still open there.
    fn scoped_by(html: &str, at: usize, selector: &str) -> bool {
        let mut pos = 0;
        while let Some(lt) = html[pos..at].find('<').map(|p| p + pos) {
            let Some(gt) = html[lt..at].find('>').map(|p| p + lt) else { break };
            let tag = &html[lt..=gt];
            if !tag.starts_with("</") && matches_element(tag, selector) {
                let name: String =
                    tag[1..].chars().take_while(|c| c.is_alphanumeric()).collect::<String>().to_ascii_lowercase();
                let close = format!("</{name}");
                if !html[gt..at].to_ascii_lowercase().contains(&close) {
                    return true;
                }
            }
            pos = gt + 1;
        }
        false
    }

    fn matches_element(tag: &str, selector: &str) -> bool {
        let s = selector.trim();
        if s.starts_with('#') || s.starts_with('.') {
            return matches(tag, s);
        }
        let name: String = tag[1..].chars().take_while(|c| c.is_alphanumeric()).collect();
        name.eq_ignore_ascii_case(s)
    }

    fn table(inner: &str, lower: &str) -> Value {
        let mut rows: Vec<(Vec<String>, bool)> = Vec::new();
        let mut pos = 0;
        while let Some(tr) = lower[pos..].find("<tr").map(|p| p + pos) {
            let end = lower[tr + 3..].find("</tr").map(|p| p + tr + 3).unwrap_or(lower.len());
            let next_tr = lower[tr + 3..].find("<tr").map(|p| p + tr + 3).unwrap_or(lower.len());
            let end = end.min(next_tr);
            let (cells, header) = row(&inner[tr..end], &lower[tr..end]);
            rows.push((cells, header));
            pos = end;
        }
        let Some(header_idx) = rows.iter().position(|(_, h)| *h) else {
            return Value::Array(Vec::new());
        };
        let headers = rows[header_idx].0.clone();
        let body: Vec<Value> = rows
            .iter()
            .skip(header_idx + 1)
            .filter(|(c, h)| !h && !c.is_empty())
            .map(|(cells, _)| {
                let mut obj = Map::new();
                for (h, c) in headers.iter().zip(cells) {
                    obj.insert(h.clone(), Value::String(c.clone()));
                }
                Value::Object(obj)
            })
            .collect();
        Value::Array(body)
    }

    fn row(html: &str, lower: &str) -> (Vec<String>, bool) {
        let mut cells = Vec::new();
        let mut header = false;
        let mut pos = 0;
        loop {
            let th = lower[pos..].find("<th").map(|p| p + pos).filter(|&p| lower[p + 3..].starts_with(['>', ' ']));
            let td = lower[pos..].find("<td").map(|p| p + pos);
            let (start, is_th) = match (th, td) {
                (Some(a), Some(b)) if a < b => (a, true),
                (Some(a), None) => (a, true),
                (_, Some(b)) => (b, false),
                (None, None) => break,
            };
            header |= is_th;
            let Some(open_end) = lower[start..].find('>').map(|p| p + start + 1) else { break };
            let close = if is_th { "</th" } else { "</td" };
            let end = lower[open_end..].find(close).map(|p| p + open_end).unwrap_or(lower.len());
            cells.push(text(&html[open_end..end]));
            pos = end;
        }
        (cells, header)
    }

    /// Strips tags, decodes the common entities, collapses whitespace.
    fn text(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        let out = out
            .replace("&nbsp;", " ")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_and_errors() {
        assert_eq!(decode(RawFormat::Json, b"", None).unwrap(), Value::Null);
        assert_eq!(decode(RawFormat::Json, br#"{"a":1}"#, None).unwrap(), json!({"a": 1}));
        let e = decode(RawFormat::Json, b"{\"a\": [1, 2", None).unwrap_err();
        assert!(e.0.starts_with("invalid JSON at line 1 column"), "{e}");
    }

    #[test]
    fn checked_json_is_described_like_parsed_json() {
        assert!(check_json(b" {\"a\": [1, 2.5, \"x\"]} ").is_ok());
        let e = check_json(b"{\n  \"a\": [1, 2\n").unwrap_err();
        let parsed = decode(RawFormat::Json, b"{\n  \"a\": [1, 2\n", None).unwrap_err();
        assert_eq!(e.0, parsed.0, "the same words for the same bad text");
        assert!(e.0.starts_with("invalid JSON at line 3 column 0"), "{e}");
        let e = check_json(b"{\"a\": \"caf\xe9\"}").unwrap_err();
        assert!(e.0.starts_with("invalid JSON at byte 10: not UTF-8 (body starts"), "{e}");
    }

    #[test]
    fn xml_like_jackson() {
        let x = br#"<?xml version="1.0"?><vessels count="2"><vessel code="V1"><name>Sea &amp; Sky</name><status>active</status></vessel><vessel code="V2"><name>Ocean</name><status/></vessel></vessels>"#;
        assert_eq!(
            decode(RawFormat::Xml, x, None).unwrap(),
            json!({"count": "2", "vessel": [{"code": "V1", "name": "Sea & Sky", "status": "active"}, {"code": "V2", "name": "Ocean", "status": ""}]})
        );
        assert!(decode(RawFormat::Xml, b"<a><b></a>", None).is_err());
    }

    #[test]
    fn delimited_formats() {
        assert_eq!(
            decode(RawFormat::Csv, b"id,name\n1,\"A, B\"\n2,C\n", None).unwrap(),
            json!([{"id": "1", "name": "A, B"}, {"id": "2", "name": "C"}])
        );
        assert_eq!(decode(RawFormat::Tsv, b"a\tb\n1\t2\n", None).unwrap(), json!([{"a": "1", "b": "2"}]));
        assert_eq!(decode(RawFormat::Psv, b"a|b\n1|2\n", None).unwrap(), json!([{"a": "1", "b": "2"}]));
    }

    #[test]
    fn yaml_text_and_binary() {
        assert_eq!(decode(RawFormat::Yaml, b"a: [1, x]\n", None).unwrap(), json!({"a": [1, "x"]}));
        assert_eq!(decode(RawFormat::Text, b"hello", None).unwrap(), json!("hello"));
        assert!(decode(RawFormat::Binary, b"\x00", None).is_err());
    }

    #[test]
    fn html_tables() {
        let h = r#"<html><body><table id="t1"><tr><th>Name</th><th>Age</th></tr><tr><td><b>Ada</b></td><td>36</td></tr><tr><td>Bo &amp; Co</td><td>7</td></tr></table>
        <div class="x"><table><thead><tr><th>K</th></tr></thead><tbody><tr><td>v</td></tr></tbody></table></div></body></html>"#;
        let all = decode(RawFormat::Html, h.as_bytes(), None).unwrap();
        assert_eq!(
            all,
            json!({"tables": [[{"Name": "Ada", "Age": "36"}, {"Name": "Bo & Co", "Age": "7"}], [{"K": "v"}]]})
        );
        assert_eq!(decode(RawFormat::Html, h.as_bytes(), Some("#t1")).unwrap()["tables"].as_array().unwrap().len(), 1);
        assert_eq!(decode(RawFormat::Html, h.as_bytes(), Some(".x")).unwrap(), json!({"tables": [[{"K": "v"}]]}));
    }

    #[test]
    fn markdown_front_matter_tables_sections() {
        let md =
            "---\ntitle: Fleet\n---\n# Ships\nIntro\n\n| IMO | Name |\n|-----|------|\n| 1 | A |\n\n## Crew\nNone\n";
        let v = decode(RawFormat::Markdown, md.as_bytes(), None).unwrap();
        assert_eq!(v["frontMatter"], json!({"title": "Fleet"}));
        assert_eq!(v["tables"], json!([[{"IMO": "1", "Name": "A"}]]));
        assert_eq!(v["sections"][1], json!({"heading": "Crew", "level": 2, "content": "None"}));
        let f = decode(RawFormat::Markdown, md.as_bytes(), Some("Cr")).unwrap();
        assert_eq!(f["sections"].as_array().unwrap().len(), 1);
    }
}
