//! The header rules of HTTP/1.1 message framing (RFC 9112 §6), shared by the executor's reader
//! of upstream replies and the REST server's reader of requests: one reading of
//! `Content-Length`, `Transfer-Encoding` and `Connection` for both directions.
//!
//! Both readers note each field as they take a head apart ([`Facts::note`]): the rules cost a
//! comparison per field and no header-map lookups. [`content_length`] reads a finished map (a
//! handler's response) by the same rules.

use http::{HeaderMap, HeaderName, header};

/// Why a `Content-Length` cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthError {
    /// Not a plain decimal number (signs and spaces inside are refused: a lenient reading of
    /// framing is a smuggling risk).
    Invalid,
    /// Several values that differ.
    Conflicting,
}

/// What framing needs to know of a message head, gathered field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The `Content-Length` every copy and list item agreed on (`None`: absent), or why it
    /// cannot be used (the first problem found).
    pub length: Result<Option<u64>, LengthError>,
    /// A `Transfer-Encoding` field is present.
    pub transfer_encoding: bool,
    /// The last transfer coding applied, across all `Transfer-Encoding` lines, is `chunked`.
    pub chunked: bool,
    /// `Connection` lists `close`.
    pub close: bool,
    /// `Connection` lists `keep-alive`.
    pub keep_alive: bool,
    /// `Connection` lists other field names (hop-by-hop as well, RFC 9110 §7.6.1).
    pub names_fields: bool,
}

impl Default for Facts {
    fn default() -> Self {
        Facts {
            length: Ok(None),
            transfer_encoding: false,
            chunked: false,
            close: false,
            keep_alive: false,
            names_fields: false,
        }
    }
}

impl Facts {
    /// Takes note of one field (`name` in any case); returns whether it only concerns this hop
    /// (never forwarded): `Connection`, `Keep-Alive`, `Transfer-Encoding`, `TE`, `Trailer`,
    /// `Upgrade` and the `Proxy-` fields. Fields that `Connection` names are not known yet: see
    /// [`Facts::names_fields`] and [`connection_names`].
    pub fn note(&mut self, name: &[u8], value: &[u8]) -> bool {
        if name.eq_ignore_ascii_case(b"content-length") {
            if let Ok(found) = self.length {
                self.length = length_items(found, value);
            }
            false
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.transfer_encoding = true;
            if let Some(last) = tokens(value).last() {
                self.chunked = last.eq_ignore_ascii_case(b"chunked");
            }
            true
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in tokens(value) {
                if token.eq_ignore_ascii_case(b"close") {
                    self.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    self.keep_alive = true;
                } else {
                    self.names_fields = true;
                }
            }
            true
        } else {
            is_hop_by_hop(name)
        }
    }
}

/// Whether a field only concerns one hop, whatever `Connection` says (`name` in any case).
pub fn is_hop_by_hop(name: &[u8]) -> bool {
    const NAMES: [&[u8]; 9] = [
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    ];
    // Most fields are longer than any of these, or of a length none has.
    matches!(name.len(), 2 | 7 | 10 | 16 | 17 | 18 | 19) && NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The field names a `Connection` value lists besides its `close` and `keep-alive` options.
pub fn connection_names(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    tokens(value).filter(|t| !t.eq_ignore_ascii_case(b"close") && !t.eq_ignore_ascii_case(b"keep-alive"))
}

/// The fields that `Connection` values name (hop-by-hop for that message alone), as header
/// names; tokens that are not valid names name nothing.
pub fn named_by_connection<'v>(connection_values: impl IntoIterator<Item = &'v [u8]>) -> Vec<HeaderName> {
    connection_values
        .into_iter()
        .flat_map(connection_names)
        .filter_map(|token| HeaderName::from_bytes(token).ok())
        .collect()
}

/// The non-empty items of a comma-separated value, without surrounding blanks.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(|t| t.trim_ascii()).filter(|t| !t.is_empty())
}

/// `found` updated with one `Content-Length` value (a list whose items must all agree).
fn length_items(mut found: Option<u64>, value: &[u8]) -> Result<Option<u64>, LengthError> {
    for item in value.split(|&b| b == b',') {
        let n = decimal(item.trim_ascii()).ok_or(LengthError::Invalid)?;
        if found.is_some_and(|f| f != n) {
            return Err(LengthError::Conflicting);
        }
        found = Some(n);
    }
    Ok(found)
}

/// A plain decimal number that fits in 64 bits.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() { n.checked_mul(10)?.checked_add(u64::from(d - b'0')) } else { None }
    })
}

/// The `Content-Length` of a header map, which every copy and list item must agree on; `None`
/// when absent.
pub fn content_length(headers: &HeaderMap) -> Result<Option<u64>, LengthError> {
    headers.get_all(header::CONTENT_LENGTH).iter().try_fold(None, |found, v| length_items(found, v.as_bytes()))
}

/// The size a chunk-size line gives (RFC 9112 §7.1; the line without its CRLF): one to sixteen
/// hex digits, then nothing or extensions after `;` (whitespace allowed only before the `;`).
/// Signs, `0x`, and spaces around a bare size are refused: a size two parsers could read two
/// ways is how bodies get smuggled.
pub fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return None;
    }
    let rest = &line[digits..];
    let after_space =
        rest.iter().position(|b| !matches!(b, b' ' | b'\t')).map_or(&rest[rest.len()..], |at| &rest[at..]);
    if !rest.is_empty() && after_space.first() != Some(&b';') || rest.iter().any(|&b| b == b'\r' || b == b'\n') {
        return None;
    }
    let text = std::str::from_utf8(&line[..digits]).ok()?;
    u64::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn facts(pairs: &[(&str, &str)]) -> Facts {
        let mut f = Facts::default();
        for (k, v) in pairs {
            f.note(k.as_bytes(), v.as_bytes());
        }
        f
    }

    #[test]
    fn lengths_must_be_plain_and_agree() {
        assert_eq!(content_length(&headers(&[])), Ok(None));
        assert_eq!(content_length(&headers(&[("content-length", "5, 5"), ("content-length", "5")])), Ok(Some(5)));
        assert_eq!(content_length(&headers(&[("content-length", " 1484 ")])), Ok(Some(1484)));
        for bad in ["-1", "+5", "", "5 5", "0x5", "5,", "99999999999999999999"] {
            assert_eq!(content_length(&headers(&[("content-length", bad)])), Err(LengthError::Invalid), "{bad}");
        }
        let two = headers(&[("content-length", "5"), ("content-length", "6")]);
        assert_eq!(content_length(&two), Err(LengthError::Conflicting));
    }

    #[test]
    fn facts_read_lengths_as_the_map_reader_does() {
        assert_eq!(facts(&[]).length, Ok(None));
        assert_eq!(facts(&[("Content-Length", "5, 5"), ("content-length", "5")]).length, Ok(Some(5)));
        assert_eq!(facts(&[("CONTENT-LENGTH", "5"), ("content-length", "6")]).length, Err(LengthError::Conflicting));
        // The first problem stays.
        assert_eq!(facts(&[("content-length", "x"), ("content-length", "5, 6")]).length, Err(LengthError::Invalid));
    }

    #[test]
    fn the_last_coding_and_connection_tokens_are_read_across_lines() {
        let f = facts(&[("transfer-encoding", "gzip"), ("Transfer-Encoding", "Chunked, "), ("connection", "a, Close")]);
        assert!(f.transfer_encoding && f.chunked && f.close && f.names_fields && !f.keep_alive);
        let f = facts(&[("transfer-encoding", "chunked"), ("transfer-encoding", "gzip"), ("connection", "keep-alive")]);
        assert!(f.transfer_encoding && !f.chunked && !f.close && !f.names_fields && f.keep_alive);
        assert_eq!(
            connection_names(b" close, X-Secret ,keep-alive,,Upgrade").collect::<Vec<_>>(),
            [&b"X-Secret"[..], b"Upgrade"]
        );
    }

    #[test]
    fn hop_by_hop_fields_are_told_apart_in_any_case() {
        let mut f = Facts::default();
        for name in ["Connection", "keep-alive", "Proxy-Authenticate", "proxy-authorization", "Proxy-Connection"] {
            assert!(f.note(name.as_bytes(), b""), "{name}");
        }
        for name in ["TE", "trailer", "Transfer-Encoding", "UPGRADE"] {
            assert!(f.note(name.as_bytes(), b""), "{name}");
        }
        for name in ["content-length", "Content-Type", "date", "tee", "trailers", "x-upgrade", "etag"] {
            assert!(!f.note(name.as_bytes(), b"1"), "{name}");
        }
    }
}

#[cfg(test)]
mod chunk_size_tests {
    use super::chunk_size;

    #[test]
    fn chunk_sizes_are_hex_digits_then_extensions_only() {
        assert_eq!(chunk_size(b"1a"), Some(26));
        assert_eq!(chunk_size(b"0"), Some(0));
        assert_eq!(chunk_size(b"5;name=value"), Some(5));
        assert_eq!(chunk_size(b"5 ;x"), Some(5));
        assert_eq!(chunk_size(b"ffffffffffffffff"), Some(u64::MAX));
        for bad in [&b""[..], b" 5", b"5 ", b"-1", b"+5", b"0x5", b"5x", b"11111111111111111", b"5\t", b";x"] {
            assert_eq!(chunk_size(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
