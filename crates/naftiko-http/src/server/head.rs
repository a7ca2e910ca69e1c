//! A request head: parsed from the connection's buffer into `http` types, with how its body is
//! framed (RFC 9112 §6) — or the status and reason a malformed head is refused with.

use crate::framing::{self, LengthError};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};

/// The most header lines the parser has room for, whatever the policy says.
pub(crate) const MAX_HEADERS: usize = 256;

/// The policy's limits on a head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Header lines (at most [`MAX_HEADERS`]).
    pub max_headers: usize,
    /// Bytes of request line and headers.
    pub max_head_bytes: usize,
}

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    None,
    /// `Content-Length: n` (n > 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct Head {
    pub parts: http::request::Parts,
    pub framing: Framing,
    /// The connection stays open after the response (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 with `Connection: keep-alive`).
    pub keep_alive: bool,
    /// The client waits for `100 Continue` before sending its body.
    pub expects_continue: bool,
}

/// Why a head is refused: the response status and a sentence for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeadError {
    pub status: StatusCode,
    pub detail: String,
}

impl HeadError {
    fn bad(detail: impl Into<String>) -> HeadError {
        HeadError { status: StatusCode::BAD_REQUEST, detail: detail.into() }
    }
}

/// Parses the head at the start of `buf`. `Ok(None)`: not complete yet (read more); `Ok(Some)`:
/// the head, with its bytes removed from `buf`.
pub(crate) fn parse(buf: &mut BytesMut, limits: &Limits) -> Result<Option<Head>, HeadError> {
    let max_headers = limits.max_headers.min(MAX_HEADERS);
    let mut slots = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(len)) if len > limits.max_head_bytes => return Err(too_large_head(limits)),
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= limits.max_head_bytes => return Err(too_large_head(limits)),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(too_many_headers(max_headers)),
        Err(e) => return Err(HeadError::bad(format!("malformed request head: {e}"))),
    };
    if req.headers.len() > max_headers {
        return Err(too_many_headers(max_headers));
    }
    // RFC 9112 §2.2: a bare LF ends no line here (httparse would take it as one).
    if has_bare_lf(&buf[..len]) {
        return Err(HeadError::bad("the request head has a line that does not end with CRLF"));
    }
    let method = Method::from_bytes(req.method.unwrap_or_default().as_bytes())
        .map_err(|_| HeadError::bad("malformed request method"))?;
    let version = if req.version == Some(0) { Version::HTTP_10 } else { Version::HTTP_11 };
    // Offsets into the head, so that the values can share its bytes once it is split off.
    let base = buf.as_ptr() as usize;
    let target = req.path.unwrap_or_default();
    let target_at = (target.as_ptr() as usize - base, target.len());
    let mut fields = Vec::with_capacity(req.headers.len());
    let mut facts = framing::Facts::default();
    let mut expect_continue = false;
    let mut hosts = 0;
    for h in req.headers.iter() {
        hosts += usize::from(h.name.eq_ignore_ascii_case("host"));
        facts.note(h.name.as_bytes(), h.value);
        expect_continue |= h.name.eq_ignore_ascii_case("expect") && h.value.eq_ignore_ascii_case(b"100-continue");
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| HeadError::bad(format!("malformed header name `{}`", h.name.escape_default())))?;
        fields.push((name, h.value.as_ptr() as usize - base, h.value.len()));
    }

    // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (at most one in HTTP/1.0).
    if hosts > 1 || (hosts == 0 && version == Version::HTTP_11) {
        let why =
            if hosts > 1 { "the request has more than one Host header" } else { "the request has no Host header" };
        return Err(HeadError::bad(why));
    }
    let bytes: Bytes = buf.split_to(len).freeze();
    let uri = Uri::from_maybe_shared(bytes.slice(target_at.0..target_at.0 + target_at.1))
        .map_err(|_| HeadError::bad("malformed request target"))?;
    let mut headers = HeaderMap::with_capacity(fields.len());
    for (name, at, len) in fields {
        let value = HeaderValue::from_maybe_shared(bytes.slice(at..at + len))
            .map_err(|_| HeadError::bad(format!("malformed value for header `{name}`")))?;
        headers.append(name, value);
    }
    let framing = body_framing(&facts, version)?;
    let keep_alive = if version == Version::HTTP_11 { !facts.close } else { facts.keep_alive };
    let expects_continue = version == Version::HTTP_11 && framing != Framing::None && expect_continue;
    let mut parts = http::Request::new(()).into_parts().0;
    parts.method = method;
    parts.uri = uri;
    parts.version = version;
    parts.headers = headers;
    Ok(Some(Head { parts, framing, keep_alive, expects_continue }))
}

fn too_large_head(limits: &Limits) -> HeadError {
    HeadError {
        status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        detail: format!("the request head exceeds {} bytes", limits.max_head_bytes),
    }
}

fn too_many_headers(max: usize) -> HeadError {
    HeadError {
        status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        detail: format!("the request has more than {max} header lines"),
    }
}

/// Whether some `\n` in `head` is not preceded by `\r`.
fn has_bare_lf(head: &[u8]) -> bool {
    let mut from = 0;
    while let Some(at) = head[from..].iter().position(|b| *b == b'\n') {
        let at = from + at;
        if at == 0 || head[at - 1] != b'\r' {
            return true;
        }
        from = at + 1;
    }
    false
}

/// RFC 9112 §6.3 for requests. A request with both `Transfer-Encoding` and `Content-Length`, or
/// with differing lengths, is refused rather than guessed at (request smuggling).
fn body_framing(facts: &framing::Facts, version: Version) -> Result<Framing, HeadError> {
    if facts.transfer_encoding {
        if version == Version::HTTP_10 {
            return Err(HeadError::bad("Transfer-Encoding is not allowed in an HTTP/1.0 request"));
        }
        if facts.length != Ok(None) {
            return Err(HeadError::bad("a request may not carry both Transfer-Encoding and Content-Length"));
        }
        if !facts.chunked {
            return Err(HeadError {
                status: StatusCode::NOT_IMPLEMENTED,
                detail: "the request's Transfer-Encoding must end with `chunked`".into(),
            });
        }
        return Ok(Framing::Chunked);
    }
    let length = facts.length.map_err(|e| match e {
        LengthError::Invalid => HeadError::bad("invalid Content-Length header"),
        LengthError::Conflicting => HeadError::bad("conflicting Content-Length headers"),
    })?;
    Ok(match length {
        Some(n) if n > 0 => Framing::Length(n),
        _ => Framing::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_headers: 100, max_head_bytes: 64 * 1024 };

    fn head(raw: &str) -> Result<Option<Head>, HeadError> {
        parse(&mut BytesMut::from(raw), &LIMITS)
    }

    #[test]
    fn a_complete_head_is_split_off_and_the_rest_stays() {
        let mut buf = BytesMut::from("GET /a/b?c=d HTTP/1.1\r\nHost: x\r\nX-Two: 1\r\nx-two: 2\r\n\r\nNEXT");
        let h = parse(&mut buf, &LIMITS).unwrap().unwrap();
        assert_eq!(&buf[..], b"NEXT");
        assert_eq!(h.parts.method, Method::GET);
        assert_eq!(h.parts.uri.path(), "/a/b");
        assert_eq!(h.parts.uri.query(), Some("c=d"));
        assert_eq!(h.parts.headers.get_all("x-two").iter().count(), 2);
        assert_eq!((h.framing, h.keep_alive, h.expects_continue), (Framing::None, true, false));
    }

    #[test]
    fn a_partial_head_asks_for_more_until_it_is_too_large() {
        assert!(head("GET / HTTP/1.1\r\nHost: x\r\n").unwrap().is_none());
        let huge = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n", "a".repeat(LIMITS.max_head_bytes));
        assert_eq!(head(&huge).unwrap_err().status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let many: String = (0..=LIMITS.max_headers).map(|i| format!("X-{i}: 1\r\n")).collect();
        let e = head(&format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n")).unwrap_err();
        assert_eq!(e.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }

    #[test]
    fn bodies_are_framed_by_length_or_chunks_and_ambiguity_is_refused() {
        let f = |raw: &str| head(raw).map(|h| h.unwrap().framing);
        assert_eq!(f("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n"), Ok(Framing::Length(12)));
        assert_eq!(f("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), Ok(Framing::None));
        assert_eq!(f("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n"), Ok(Framing::Length(5)));
        assert_eq!(f("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), Ok(Framing::Chunked));
        for bad in [
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            assert_eq!(f(bad).unwrap_err().status, StatusCode::BAD_REQUEST, "{bad}");
        }
        let e = f("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n").unwrap_err();
        assert_eq!(e.status, StatusCode::NOT_IMPLEMENTED);
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_header() {
        let k = |raw: &str| head(raw).unwrap().unwrap().keep_alive;
        assert!(k("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(!k("GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n"));
        assert!(!k("GET / HTTP/1.0\r\n\r\n"));
        assert!(k("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    }

    #[test]
    fn expect_continue_counts_only_with_a_body() {
        let e = |raw: &str| head(raw).unwrap().unwrap().expects_continue;
        assert!(e("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
        assert!(!e("GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n"));
    }

    #[test]
    fn malformed_heads_are_refused_with_400() {
        for bad in
            ["GET /\x01 HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\n", "GET / HTTP/9.1\r\n\r\n"]
        {
            assert_eq!(head(bad).unwrap_err().status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }
}

#[cfg(test)]
mod strictness {
    use super::*;

    fn head(raw: &str) -> Result<Option<Head>, HeadError> {
        parse(&mut BytesMut::from(raw), &Limits { max_headers: 100, max_head_bytes: 64 * 1024 })
    }

    #[test]
    fn exactly_one_host_is_required_in_http_1_1() {
        assert_eq!(head("GET / HTTP/1.1\r\n\r\n").unwrap_err().detail, "the request has no Host header");
        let two = head("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n").unwrap_err();
        assert_eq!(
            (two.status, two.detail.as_str()),
            (StatusCode::BAD_REQUEST, "the request has more than one Host header")
        );
        assert!(head("GET / HTTP/1.0\r\n\r\n").unwrap().is_some(), "HTTP/1.0 may leave it out");
        assert!(head("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n").is_err());
    }

    #[test]
    fn lines_end_with_crlf_only() {
        for bad in
            ["GET / HTTP/1.1\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\n"]
        {
            assert_eq!(head(bad).unwrap_err().status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }

    #[test]
    fn a_head_over_the_policy_is_431_even_when_complete() {
        let limits = Limits { max_headers: 2, max_head_bytes: 40 };
        let e = parse(&mut BytesMut::from("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n"), &limits).unwrap_err();
        assert_eq!(e.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let limits = Limits { max_headers: 10, max_head_bytes: 20 };
        let e = parse(&mut BytesMut::from("GET / HTTP/1.1\r\nHost: xxxxxxxxxx\r\n\r\n"), &limits).unwrap_err();
        assert_eq!(e.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
}
