//! An upstream reply's end-to-end header fields, kept as they were read.
//!
//! Forward hands an upstream's fields to its caller unchanged; taking them into a `HeaderMap`
//! (a name parsed, a value checked and hashed into place, per field) only to write them out again
//! was a tenth of a forwarded request's work. The executor's own HTTP/1.1 reader keeps the head's
//! bytes and where each field lies ([`WireFields`]); the REST server writes them as they are,
//! a buffered call reads the one or two it needs, and whoever needs a map takes one
//! ([`ReplyHeaders::into_map`]).

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, header};

/// Fields as read off a connection: the head's bytes and, per field kept, where its name and
/// value lie. `Content-Length` is not among them: it is framing, kept as [`WireFields::content_length`].
#[derive(Debug, Clone)]
pub struct WireFields {
    head: Bytes,
    spans: Vec<Span>,
    content_length: Option<u64>,
    has_date: bool,
}

/// Where one field's name and value lie in the head.
#[derive(Debug, Clone, Copy)]
struct Span {
    name: (u32, u32),
    value: (u32, u32),
}

impl WireFields {
    /// Fields from header lines (`Name: value` each ending in CRLF, then an empty line), all
    /// kept, a `Content-Length` line taken as the length: fields read elsewhere than the
    /// executor's connections (and tests).
    pub fn from_lines(lines: Bytes) -> Result<WireFields, String> {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let parsed = match httparse::parse_headers(&lines, &mut slots) {
            Ok(httparse::Status::Complete((_, parsed))) => parsed,
            Ok(httparse::Status::Partial) => return Err("the header lines do not end with an empty line".into()),
            Err(e) => return Err(format!("invalid header lines: {e}")),
        };
        let base = lines.as_ptr() as usize;
        let at = |s: &[u8]| s.as_ptr() as usize - base;
        let mut fields = WireFields::with_capacity(parsed.len());
        let mut length = None;
        for h in parsed.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let text = std::str::from_utf8(h.value).ok();
                length = Some(text.and_then(|t| t.parse().ok()).ok_or("invalid Content-Length")?);
            } else {
                fields.push(h.name.as_bytes(), at(h.name.as_bytes()), at(h.value)..at(h.value) + h.value.len());
            }
        }
        Ok(fields.finish(lines.clone(), length))
    }

    /// No fields yet: [`WireFields::push`] adds them, [`WireFields::finish`] gives the head.
    pub fn with_capacity(capacity: usize) -> WireFields {
        WireFields { head: Bytes::new(), spans: Vec::with_capacity(capacity), content_length: None, has_date: false }
    }

    /// Adds a field: `name` lies at `name_at` in the head and its value at `value`. Names must be
    /// tokens and values free of control characters other than tab (as `httparse` checks them).
    pub fn push(&mut self, name: &[u8], name_at: usize, value: std::ops::Range<usize>) {
        self.has_date |= name.eq_ignore_ascii_case(b"date");
        let span = |at: usize, len: usize| (at as u32, len as u32);
        self.spans.push(Span { name: span(name_at, name.len()), value: span(value.start, value.len()) });
    }

    /// Keeps only the fields whose names `keep` accepts (as spelled, from the head `bytes`).
    pub fn retain(&mut self, bytes: &[u8], mut keep: impl FnMut(&[u8]) -> bool) {
        self.spans.retain(|s| keep(&bytes[s.name.0 as usize..(s.name.0 + s.name.1) as usize]));
    }

    /// The fields, over the head they were found in, with the body's declared length (none when
    /// the body is framed otherwise).
    pub fn finish(self, head: Bytes, content_length: Option<u64>) -> WireFields {
        debug_assert!(self.spans.iter().all(|s| (s.value.0 + s.value.1) as usize <= head.len()), "inside the head");
        WireFields { head, content_length, ..self }
    }

    /// The body's declared length, when it has one.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Whether a `Date` field is among them.
    pub fn has_date(&self) -> bool {
        self.has_date
    }

    /// Each field's name (as the upstream spelled it) and value, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let slice = |(at, len): (u32, u32)| &self.head[at as usize..(at + len) as usize];
        self.spans.iter().map(move |s| (slice(s.name), slice(s.value)))
    }

    /// The values of the field `name` (any case), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v)
    }

    /// The fields as a map (values share the head's bytes), `Content-Length` included.
    pub fn into_map(self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.spans.len() + 1);
        for s in &self.spans {
            let (name, value) = (s.name, s.value);
            let name = HeaderName::from_bytes(&self.head[name.0 as usize..(name.0 + name.1) as usize]);
            let value = HeaderValue::from_maybe_shared(self.head.slice(value.0 as usize..(value.0 + value.1) as usize));
            // `push` takes checked names and values; anything else is left out rather than passed on.
            if let (Ok(name), Ok(value)) = (name, value) {
                map.append(name, value);
            }
        }
        if let Some(n) = self.content_length {
            map.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
        }
        map
    }
}

/// The end-to-end fields of an upstream reply (hop-by-hop ones, and those `Connection` names,
/// are the executor's: never here), from either transport.
#[derive(Debug, Clone)]
pub enum ReplyHeaders {
    /// Read off the executor's own HTTP/1.1 connection.
    Wire(WireFields),
    /// Given by the shared HTTPS client.
    Map(HeaderMap),
}

impl ReplyHeaders {
    /// The fields as a map.
    pub fn into_map(self) -> HeaderMap {
        match self {
            ReplyHeaders::Wire(fields) => fields.into_map(),
            ReplyHeaders::Map(map) => map,
        }
    }

    /// The first value of the field `name` (lower case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        match self {
            ReplyHeaders::Wire(fields) => {
                fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v)
            }
            ReplyHeaders::Map(map) => map.get(name).map(HeaderValue::as_bytes),
        }
    }

    /// The values of the field `name` (lower case), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> Vec<&'a [u8]> {
        match self {
            ReplyHeaders::Wire(fields) => fields.values(name).collect(),
            ReplyHeaders::Map(map) => map.get_all(name).iter().map(HeaderValue::as_bytes).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &[u8] = b"Server: up\r\nX-Multi: a\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\nx-multi: b\r\n\r\n";

    fn fields(lines: &'static [u8]) -> WireFields {
        WireFields::from_lines(Bytes::from_static(lines)).unwrap()
    }

    #[test]
    fn fields_keep_their_order_spelling_and_repeats() {
        let f = fields(LINES);
        let got: Vec<(&[u8], &[u8])> = f.iter().collect();
        assert_eq!(
            got,
            [
                (&b"Server"[..], &b"up"[..]),
                (b"X-Multi", b"a"),
                (b"Date", b"Tue, 01 Dec 2026 10:00:00 GMT"),
                (b"x-multi", b"b")
            ]
        );
        assert!(f.has_date());
        assert_eq!(f.values("x-multi").collect::<Vec<_>>(), [b"a", b"b"]);
        assert!(!fields(b"Server: up\r\n\r\n").has_date());
        assert!(WireFields::from_lines(Bytes::from_static(b"Server: up\r\n")).is_err(), "no end");
        assert!(WireFields::from_lines(Bytes::from_static(b"Bad Name: x\r\n\r\n")).is_err());
    }

    #[test]
    fn the_map_has_every_field_and_the_length() {
        let f = fields(b"Server: up\r\nX-Multi: a\r\nContent-Length: 42\r\nx-multi: b\r\n\r\n");
        assert_eq!(f.content_length(), Some(42));
        let wire = ReplyHeaders::Wire(f);
        assert_eq!(wire.values("x-multi"), [b"a", b"b"]);
        let map = wire.into_map();
        assert_eq!(map.get_all("x-multi").iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(map["server"], "up");
        assert_eq!(map["content-length"], "42");
        assert_eq!(map.len(), 4, "server, x-multi twice, content-length");
        let from_map = ReplyHeaders::Map(map);
        assert_eq!(from_map.values("x-multi"), [b"a", b"b"]);
        assert_eq!(from_map.get("x-multi"), Some(&b"a"[..]));
        assert_eq!(from_map.get("date"), None);
        let wire = ReplyHeaders::Wire(fields(LINES));
        assert_eq!(wire.get("x-multi"), Some(&b"a"[..]), "the first, in any case");
        assert_eq!(wire.get("content-type"), None);
    }
}
