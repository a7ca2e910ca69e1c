//! A request head: parsed from the connection's buffer into `http` types, with how its body is
//! framed (RFC 9112 §6) — or the status and reason a malformed head is refused with.

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};
use naftiko_engine::http::framing::{self, LengthError};

/// The most header lines a request may carry.
pub(crate) const MAX_HEADERS: usize = 100;
/// The largest request head (request line and headers) accepted.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

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
pub(crate) fn parse(buf: &mut BytesMut) -> Result<Option<Head>, HeadError> {
    let mut slots = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => {
            return Err(HeadError {
                status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                detail: format!("the request head exceeds {MAX_HEAD} bytes"),
            });
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HeadError {
                status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                detail: format!("the request has more than {MAX_HEADERS} header lines"),
            });
        }
        Err(e) => return Err(HeadError::bad(format!("malformed request head: {e}"))),
    };
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
    for h in req.headers.iter() {
        facts.note(h.name.as_bytes(), h.value);
        expect_continue |= h.name.eq_ignore_ascii_case("expect") && h.value.eq_ignore_ascii_case(b"100-continue");
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| HeadError::bad(format!("malformed header name `{}`", h.name.escape_default())))?;
        fields.push((name, h.value.as_ptr() as usize - base, h.value.len()));
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

    fn head(raw: &str) -> Result<Option<Head>, HeadError> {
        parse(&mut BytesMut::from(raw))
    }

    #[test]
    fn a_complete_head_is_split_off_and_the_rest_stays() {
        let mut buf = BytesMut::from("GET /a/b?c=d HTTP/1.1\r\nHost: x\r\nX-Two: 1\r\nx-two: 2\r\n\r\nNEXT");
        let h = parse(&mut buf).unwrap().unwrap();
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
        let huge = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(head(&huge).unwrap_err().status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: 1\r\n")).collect();
        let e = head(&format!("GET / HTTP/1.1\r\n{many}\r\n")).unwrap_err();
        assert_eq!(e.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }

    #[test]
    fn bodies_are_framed_by_length_or_chunks_and_ambiguity_is_refused() {
        let f = |raw: &str| head(raw).map(|h| h.unwrap().framing);
        assert_eq!(f("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"), Ok(Framing::Length(12)));
        assert_eq!(f("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), Ok(Framing::None));
        assert_eq!(f("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n"), Ok(Framing::Length(5)));
        assert_eq!(f("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), Ok(Framing::Chunked));
        for bad in [
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            assert_eq!(f(bad).unwrap_err().status, StatusCode::BAD_REQUEST, "{bad}");
        }
        let e = f("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n").unwrap_err();
        assert_eq!(e.status, StatusCode::NOT_IMPLEMENTED);
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_header() {
        let k = |raw: &str| head(raw).unwrap().unwrap().keep_alive;
        assert!(k("GET / HTTP/1.1\r\n\r\n"));
        assert!(!k("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n"));
        assert!(!k("GET / HTTP/1.0\r\n\r\n"));
        assert!(k("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    }

    #[test]
    fn expect_continue_counts_only_with_a_body() {
        let e = |raw: &str| head(raw).unwrap().unwrap().expects_continue;
        assert!(e("PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
        assert!(!e("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"));
    }

    #[test]
    fn malformed_heads_are_refused_with_400() {
        for bad in ["GET /\x01 HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "GET / HTTP/9.1\r\n\r\n"] {
            assert_eq!(head(bad).unwrap_err().status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }
}
