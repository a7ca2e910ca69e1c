//! Values never change a URL's structure: the one place that decides whether a value may land
//! in an upstream URL's path, and whether a URL built from a request stays inside its base.
//!
//! Every value that becomes part of a consumed path — a REST route variable, an MCP argument, a
//! step output, a rendered template, an invocation value inside a `baseUri` — goes through
//! [`push_segment`]: it becomes exactly one path segment (`/ ? # %` and everything outside RFC
//! 3986's unreserved set percent-encoded), and a value that would still climb or cut the path
//! is refused before anything is sent: `.` or `..` (also percent-encoded, `%2e`-mixed, encoded
//! twice, as full-width or other Unicode dots, or as overlong UTF-8), a value with such a
//! segment between `/` or `\` (upstreams that decode `%2F` would walk it), and a NUL.
//!
//! Forward's tails (SEMANTICS §7) go through [`forward_target`]: the tail is checked, appended
//! to the base, and the result must keep the base's scheme, host, port and path prefix.

use std::borrow::Cow;

use crate::http::{Plain, parse_url, plain_rest, plain_url};
use crate::inbound::{has_escape, path_decode};

/// Why a value may not be one path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentRefusal {
    /// `.` or `..` in some spelling, or a piece of the value that is one.
    DotSegment,
    /// A NUL byte (also `%00`).
    Nul,
}

impl SegmentRefusal {
    /// A sentence for the caller (the parameter's name is added by whoever reports it).
    pub fn reason(self) -> &'static str {
        match self {
            SegmentRefusal::DotSegment => "`.` and `..` (in any spelling) would leave the API's path",
            SegmentRefusal::Nul => "a NUL byte is not allowed in a path",
        }
    }
}

/// How many rounds of percent-decoding are looked through (`%252e` is `.` encoded twice).
const DECODE_ROUNDS: usize = 4;

/// Appends `value` to `out` as one percent-encoded path segment, or says why it may not be one
/// (nothing is appended then).
pub fn push_segment(value: &str, out: &mut String) -> Result<(), SegmentRefusal> {
    check_segment(value)?;
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    Ok(())
}

/// Whether `value` may become one path segment (see the module's doc).
pub fn check_segment(value: &str) -> Result<(), SegmentRefusal> {
    // The common case: letters, digits and a few marks, no dot-only piece — nothing to decode.
    let simple = value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~' | b'.'));
    if simple {
        return if is_dots(value.as_bytes()) { Err(SegmentRefusal::DotSegment) } else { Ok(()) };
    }
    let mut current: Cow<'_, [u8]> = Cow::Borrowed(value.as_bytes());
    for _ in 0..=DECODE_ROUNDS {
        if current.contains(&0) {
            return Err(SegmentRefusal::Nul);
        }
        let normal = dots_normalised(&current);
        if normal.split(|b| *b == b'/' || *b == b'\\').any(|piece| is_dots(piece.trim_ascii())) {
            return Err(SegmentRefusal::DotSegment);
        }
        match percent_decoded(&current) {
            Some(next) => current = Cow::Owned(next),
            None => break,
        }
    }
    Ok(())
}

/// `.` or `..`.
fn is_dots(piece: &[u8]) -> bool {
    piece == b"." || piece == b".."
}

/// The value with every spelling of a full stop that some server reads as `.` made one: the
/// Unicode dots (full-width, small, one-dot leader, halfwidth ideographic) and the overlong
/// UTF-8 forms of `.` (`C0 AE`, `E0 80 AE`).
fn dots_normalised(bytes: &[u8]) -> Cow<'_, [u8]> {
    const SPELLINGS: [&[u8]; 6] = [
        "\u{FF0E}".as_bytes(), // full-width full stop
        "\u{FE52}".as_bytes(), // small full stop
        "\u{2024}".as_bytes(), // one dot leader
        "\u{FF61}".as_bytes(), // halfwidth ideographic full stop
        &[0xE0, 0x80, 0xAE],   // overlong `.`, three bytes
        &[0xC0, 0xAE],         // overlong `.`, two bytes
    ];
    if bytes.is_ascii() {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    'outer: while i < bytes.len() {
        for s in SPELLINGS {
            if bytes[i..].starts_with(s) {
                out.push(b'.');
                i += s.len();
                continue 'outer;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// One round of `%XX` decoding, or `None` when there is no escape to decode.
fn percent_decoded(bytes: &[u8]) -> Option<Vec<u8>> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut decoded = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push(h << 4 | l);
            decoded = true;
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    decoded.then_some(out)
}

/// The target URL for a forwarded request: `raw_tail` (the part of the caller's path the route's
/// last variable captured, as sent) appended to `base` with the caller's `query`; or why the
/// tail is refused. `base_plain` is `base` taken apart ([`plain_url`]) when it is in plain form.
pub fn forward_target(
    base: &str,
    base_plain: Option<&Plain<'_>>,
    raw_tail: &str,
    query: Option<&str>,
) -> Result<String, String> {
    if has_escape(raw_tail, &[b"2f", b"5c"]) {
        return Err("encoded slashes are not allowed".into());
    }
    if raw_tail.bytes().any(|b| b.is_ascii_control()) {
        // URL parsers drop tabs and line breaks: `.\t%2e` would become `..` once parsed.
        return Err("control characters are not allowed in a path".into());
    }
    if raw_tail.contains(['?', '#']) {
        return Err("a path may not hold `?` or `#` (the query goes after the path)".into());
    }
    if has_escape(raw_tail, &[b"00"]) || raw_tail.contains('\0') {
        return Err("a NUL byte is not allowed in a path".into());
    }
    let decoded = path_decode(raw_tail);
    tail_refusal(&decoded).map_or(Ok(()), |why| Err(why.to_string()))?;
    // Each segment as a value would be: Unicode and overlong dots, double encoding.
    if decoded.split('/').any(|segment| check_segment(segment).is_err()) {
        return Err("`.` and `..` segments are not allowed".into());
    }
    let mut url = String::with_capacity(base.len() + raw_tail.len() + query.map_or(0, |q| q.len() + 2));
    url.push_str(base.trim_end_matches('/'));
    if !raw_tail.is_empty() {
        url.push('/');
        url.push_str(raw_tail);
    }
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(q);
    }
    // Containment: same scheme, host and port, and the base path as a prefix. A base in normal
    // form (without a query) extended by a tail and query in normal form holds both as built:
    // the base's authority and path come first, unchanged, and nothing appended is resolved.
    // Other URLs in normal form are compared as written; the rest through the full parser.
    let base_end = base.trim_end_matches('/').len();
    if base_plain.is_some_and(|b| !b.path_and_query.contains('?')) && plain_rest(&url[base_end..]) {
        return Ok(url);
    }
    if !stays_inside(&url, base, base_plain)? {
        return Err("the path leaves the target API".into());
    }
    Ok(url)
}

/// Whether `url` has `base`'s scheme, host and port and lies at or below its path (after the
/// URL parser has resolved what it resolves). An error when either does not parse.
pub fn stays_inside(url: &str, base: &str, base_plain: Option<&Plain<'_>>) -> Result<bool, String> {
    let (same_origin, inside) = match (plain_url(url), base_plain) {
        (Some(target), Some(base)) => {
            let (t, b) = (&target.origin, &base.origin);
            let same = std::sync::Arc::ptr_eq(t, b) || (t.https == b.https && t.host == b.host && t.port == b.port);
            let path = |p: &'_ str| -> usize { p.bytes().position(|c| c == b'?').unwrap_or(p.len()) };
            let (tp, bp) = (&target.path_and_query, &base.path_and_query);
            (same, contained(&tp[..path(tp)], &bp[..path(bp)]))
        }
        _ => {
            let target = parse_url(url).map_err(|e| format!("invalid target URL: {e}"))?;
            let base_url = parse_url(base).map_err(|e| format!("invalid base URI: {e}"))?;
            let same = target.scheme() == base_url.scheme()
                && target.host_str() == base_url.host_str()
                && target.port_or_known_default() == base_url.port_or_known_default();
            (same, contained(target.path(), base_url.path()))
        }
    };
    Ok(same_origin && inside)
}

/// Why a decoded tail may not be appended to the base URI, if it may not: read in one pass, the
/// reasons given in a fixed order whatever their places in the tail.
fn tail_refusal(decoded: &str) -> Option<&'static str> {
    let bytes = decoded.as_bytes();
    let (mut backslash, mut empty_segment, mut dot_segment, mut at, mut scheme) = (false, false, false, false, false);
    let mut start = 0;
    // A `/` after the last byte closes the last segment, which alone may be empty (`a/`).
    for (i, &b) in bytes.iter().chain(std::iter::once(&b'/')).enumerate() {
        match b {
            b'/' => {
                let segment = &bytes[start..i];
                empty_segment |= segment.is_empty() && i < bytes.len();
                dot_segment |= is_dots(segment);
                start = i + 1;
            }
            b'\\' => backslash = true,
            b'@' => at = true,
            b':' if start == 0 => scheme = true,
            _ => {}
        }
    }
    [
        (backslash, "backslashes are not allowed"),
        (empty_segment, "empty path segments (`//`) are not allowed"),
        (dot_segment, "`.` and `..` segments are not allowed"),
        (at, "`@` is not allowed"),
        (scheme, "absolute URLs are not allowed"),
    ]
    .into_iter()
    .find_map(|(refused, why)| refused.then_some(why))
}

/// Whether `path` is `base` or below it.
fn contained(path: &str, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    base.is_empty() || path.strip_prefix(base).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(v: &str) -> Result<String, SegmentRefusal> {
        let mut s = String::new();
        push_segment(v, &mut s).map(|()| s)
    }

    #[test]
    fn values_become_one_encoded_segment() {
        assert_eq!(segment("a b/c?d#e%f").unwrap(), "a%20b%2Fc%3Fd%23e%25f");
        assert_eq!(segment("café").unwrap(), "caf%C3%A9");
        assert_eq!(segment("v1.0").unwrap(), "v1.0");
        assert_eq!(segment("...").unwrap(), "...");
        assert_eq!(segment("a..b").unwrap(), "a..b");
        assert_eq!(segment("%2e%2e%2e").unwrap(), "%252e%252e%252e");
    }

    #[test]
    fn dot_segments_in_every_spelling_are_refused() {
        for v in [
            ".",
            "..",
            "%2e",
            "%2E%2e",
            ".%2e",
            "%2e.",
            "%252e%252e",
            "%25252e%25252e",
            "\u{FF0E}\u{FF0E}",
            ".\u{FF0E}",
            "\u{2024}\u{2024}",
            "%c0%ae%c0%ae",
            "%e0%80%ae.",
            "a/../b",
            "../x",
            "x/..",
            "a\\..\\b",
            "a%2f..%2fb",
            " .. ",
            "./",
        ] {
            assert_eq!(segment(v), Err(SegmentRefusal::DotSegment), "{v:?}");
        }
        for v in ["\0", "a\0b", "%00", "a%2500"] {
            assert_eq!(segment(v), Err(SegmentRefusal::Nul), "{v:?}");
        }
    }

    const BASE: &str = "https://api.example.com/v1";

    fn target(base: &str, raw_tail: &str, query: Option<&str>) -> Result<String, String> {
        let plain = plain_url(base);
        let via_plain = forward_target(base, plain.as_ref(), raw_tail, query);
        // Taken apart once or parsed each time, the base gives the same answer.
        assert_eq!(via_plain, forward_target(base, None, raw_tail, query), "{base} {raw_tail}");
        via_plain
    }

    #[test]
    fn tails_and_queries_are_appended() {
        assert_eq!(target(BASE, "pages/abc", Some("x=1&y=2")).unwrap(), "https://api.example.com/v1/pages/abc?x=1&y=2");
        assert_eq!(target("https://api.example.com/v1/", "a%20b", None).unwrap(), "https://api.example.com/v1/a%20b");
        assert_eq!(target(BASE, "", None).unwrap(), BASE);
        assert_eq!(target(BASE, "a/b/", None).unwrap(), "https://api.example.com/v1/a/b/");
        assert_eq!(target(BASE, "a/b:c/d.e/..f", None).unwrap(), "https://api.example.com/v1/a/b:c/d.e/..f");
        // Bytes the parser would encode, and dots in the query (never resolved).
        assert_eq!(target(BASE, "a|b", Some("p=../x")).unwrap(), "https://api.example.com/v1/a|b?p=../x");
        assert_eq!(target(BASE, "caf%C3%A9", None).unwrap(), "https://api.example.com/v1/caf%C3%A9");
        // A base with a query takes the checked way (the tail lands in its query, inside it).
        assert_eq!(
            target("https://api.example.com/v1?key=1", "x", None).unwrap(),
            "https://api.example.com/v1?key=1/x"
        );
        assert_eq!(target("http://127.0.0.1:9000", "x", Some("")).unwrap(), "http://127.0.0.1:9000/x");
    }

    #[test]
    fn escaping_tails_are_refused() {
        for tail in [
            "../admin",
            "a/../../b",
            "%2e%2e/admin",
            "%2E%2e/x",
            "a%2fb",
            "a%2F..%2Fb",
            "/evil.com/x",
            "a//b",
            "user@evil.com/x",
            "http:%2F%2Fevil.com",
            "https:",
            "..",
            "a\\..\\b",
            "a%5cb",
            "/",
            "a//",
            "a/./b",
            "x:y/z",
            "%252e%252e/x",
            "%EF%BC%8E%EF%BC%8E/x",
            "a%00b",
        ] {
            assert!(target(BASE, tail, None).is_err(), "{tail} should be refused");
        }
    }

    mod generated {
        use proptest::prelude::*;

        use super::super::{forward_target, push_segment};
        use crate::http::parse_url;

        /// Pieces hostile values are made of: dots in every spelling, separators, escapes.
        fn piece() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                ".",
                "..",
                "%2e",
                "%2E",
                "%252e",
                "%25252E",
                "/",
                "\\",
                "%2f",
                "%2F",
                "%5c",
                "%255c",
                "\u{FF0E}",
                "\u{FE52}",
                "\u{2024}",
                "%EF%BC%8E",
                "%c0%ae",
                "%e0%80%ae",
                "a",
                "Z9",
                "é",
                "?",
                "#",
                "&",
                "%",
                "%00",
                " ",
                "\t",
                ";",
                "@",
                ":",
                "~",
                "-",
            ])
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

            /// A value either is refused or lands as exactly one segment under the base path,
            /// whatever the URL parser then resolves.
            #[test]
            fn a_value_is_one_segment_under_the_base_or_refused(parts in prop::collection::vec(piece(), 1..8)) {
                let value: String = parts.concat();
                let mut path = String::from("/api/v1/things/");
                if push_segment(&value, &mut path).is_ok() {
                    let url = parse_url(&format!("http://upstream.test{path}/tail")).expect("a URL");
                    let segments: Vec<&str> = url.path_segments().expect("a path").collect();
                    prop_assert_eq!(segments.len(), 5, "{} -> {}", value, url);
                    prop_assert!(url.path().starts_with("/api/v1/things/"), "{} -> {}", value, url);
                    prop_assert_eq!(url.host_str(), Some("upstream.test"));
                    prop_assert!(!matches!(segments[3], "." | ".." | ""), "{} -> {}", value, url);
                }
            }

            /// A forwarded tail either is refused or stays under the base once parsed.
            #[test]
            fn a_forward_tail_stays_under_the_base_or_is_refused(parts in prop::collection::vec(piece(), 1..10)) {
                let tail: String = parts.concat();
                if let Ok(url) = forward_target("http://upstream.test/api/v1", None, &tail, None) {
                    let parsed = parse_url(&url).expect("a URL");
                    prop_assert_eq!(parsed.host_str(), Some("upstream.test"), "{} -> {}", tail, url);
                    prop_assert!(parsed.path().starts_with("/api/v1"), "{} -> {}", tail, url);
                    for segment in parsed.path_segments().expect("a path") {
                        let mut decoded = segment.to_string();
                        for _ in 0..4 {
                            decoded = crate::inbound::path_decode(&decoded).into_owned();
                        }
                        prop_assert!(!matches!(decoded.as_str(), "." | ".."), "{} -> {}", tail, url);
                    }
                }
            }
        }
    }
}
