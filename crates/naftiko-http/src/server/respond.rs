//! Writing a response: the head (status line, the handler's headers, `Date`, framing, and
//! `Connection` when it matters) and the body — by `Content-Length` when its size is known,
//! chunked otherwise (HTTP/1.1), delimited by closing the connection for HTTP/1.0 clients.
//! Frames that are ready at once are written together with the head in one system call.
//! An upstream's fields that forward passes on arrive as read ([`WireFields`], a response
//! extension) and are written as they are, never taken into a header map.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::WireFields;
use axum::body::Body;
use futures_util::FutureExt;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{Response, StatusCode, Version};
use http_body::Body as _;
use http_body_util::BodyExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Data frames up to this size are copied into the output buffer (one write for many small
/// pieces); larger ones are written as they are.
const COALESCE: usize = 16 * 1024;

/// What the request says about the response to write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exchange {
    pub version: Version,
    pub is_head: bool,
    /// The connection may stay open after this response.
    pub keep_alive: bool,
    /// Longest wait for the next piece of a streamed body (an upstream that stalls): past it,
    /// the body is cut and the connection closed.
    pub body_idle: std::time::Duration,
}

/// How the body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body is written (HEAD, 1xx, 204, 304).
    Bodiless,
    Length(u64),
    Chunked,
    /// Until the connection closes (HTTP/1.0, size unknown).
    Close,
}

/// Writes `response`; returns whether the connection can carry another request.
pub(crate) async fn write<W: AsyncWrite + Unpin>(
    io: &mut W,
    out: &mut Vec<u8>,
    response: Response<Body>,
    exchange: Exchange,
) -> std::io::Result<bool> {
    let (parts, mut body) = response.into_parts();
    let status = parts.status;
    let bodiless = exchange.is_head || status.is_informational() || matches!(status.as_u16(), 204 | 304);
    // Fields an upstream sent, as read (forward): written as they are, after the handler's own.
    let wire = parts.extensions.get::<WireFields>();
    let declared = crate::framing::content_length(&parts.headers)
        .ok()
        .flatten()
        .or_else(|| wire.and_then(WireFields::content_length));
    let framing = if bodiless {
        Framing::Bodiless
    } else if let Some(n) = declared.or(body.size_hint().exact()) {
        Framing::Length(n)
    } else if exchange.version == Version::HTTP_11 {
        Framing::Chunked
    } else {
        Framing::Close
    };
    let mut keep_alive = exchange.keep_alive && framing != Framing::Close;

    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        if name == CONNECTION || name == TRANSFER_ENCODING || name.as_str() == "keep-alive" || name == CONTENT_LENGTH {
            continue;
        }
        header(out, name.as_str().as_bytes(), value.as_bytes());
    }
    for (name, value) in wire.iter().flat_map(|w| w.iter()) {
        header(out, name, value);
    }
    if !parts.headers.contains_key(DATE) && !wire.is_some_and(WireFields::has_date) {
        with_date(|date| header(out, b"date", date));
    }
    match framing {
        Framing::Length(n) => header(out, b"content-length", itoa::Buffer::new().format(n).as_bytes()),
        Framing::Chunked => header(out, b"transfer-encoding", b"chunked"),
        Framing::Bodiless => {
            // HEAD answers with the length GET would have had when it is known, else with none.
            if let (true, Some(n)) = (exchange.is_head, declared) {
                header(out, b"content-length", itoa::Buffer::new().format(n).as_bytes());
            }
        }
        Framing::Close => {}
    }
    if !keep_alive {
        header(out, b"connection", b"close");
    } else if exchange.version == Version::HTTP_10 {
        header(out, b"connection", b"keep-alive");
    }
    out.extend_from_slice(b"\r\n");

    if framing == Framing::Bodiless {
        io.write_all(out).await?;
        return Ok(keep_alive);
    }
    let mut written: u64 = 0;
    loop {
        // A frame that is ready now joins what is buffered; otherwise the buffer goes out first
        // (a streamed body must not sit in the buffer while its next piece is awaited).
        let frame = match body.frame().now_or_never() {
            Some(f) => f,
            None => {
                flush(io, out).await?;
                match tokio::time::timeout(exchange.body_idle, body.frame()).await {
                    Ok(frame) => frame,
                    Err(_) => {
                        tracing::warn!(
                            "response body stalled for {} s after the head was sent; connection closed",
                            exchange.body_idle.as_secs_f64()
                        );
                        return Ok(false);
                    }
                }
            }
        };
        let data = match frame {
            None => break,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue, // trailers are not sent
            },
            Some(Err(e)) => {
                tracing::warn!("response body failed after the head was sent: {e}");
                flush(io, out).await?;
                return Ok(false);
            }
        };
        if data.is_empty() {
            continue;
        }
        written += data.len() as u64;
        if let Framing::Length(n) = framing
            && written > n
        {
            tracing::warn!("response body is longer than its Content-Length ({n}); connection closed");
            flush(io, out).await?;
            return Ok(false);
        }
        if framing == Framing::Chunked {
            out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        }
        if data.len() <= COALESCE {
            out.extend_from_slice(&data);
        } else {
            flush(io, out).await?;
            io.write_all(&data).await?;
        }
        if framing == Framing::Chunked {
            out.extend_from_slice(b"\r\n");
        }
    }
    match framing {
        Framing::Chunked => out.extend_from_slice(b"0\r\n\r\n"),
        Framing::Length(n) if written < n => {
            tracing::warn!("response body ended {} bytes short of its Content-Length; connection closed", n - written);
            keep_alive = false;
        }
        _ => {}
    }
    flush(io, out).await?;
    Ok(keep_alive)
}

/// A short response of the server's own (a refused request): problem+json (RFC 9457).
pub(crate) fn refusal(status: StatusCode, detail: &str) -> Response<Body> {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/problem+json"));
    response
}

/// The exchange for a refusal: the connection closes after it.
pub(crate) fn refusal_exchange(body_idle: std::time::Duration) -> Exchange {
    Exchange { version: Version::HTTP_11, is_head: false, keep_alive: false, body_idle }
}

async fn flush<W: AsyncWrite + Unpin>(io: &mut W, out: &mut Vec<u8>) -> std::io::Result<()> {
    if !out.is_empty() {
        io.write_all(out).await?;
        out.clear();
    }
    Ok(())
}

fn header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

thread_local! {
    /// The `Date` value, formatted once per second per thread.
    static DATE_TEXT: RefCell<(u64, String)> = const { RefCell::new((0, String::new())) };
}

fn with_date(f: impl FnOnce(&[u8])) {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    DATE_TEXT.with_borrow_mut(|(at, text)| {
        if *at != secs || text.is_empty() {
            *at = secs;
            *text = httpdate::fmt_http_date(now);
        }
        f(text.as_bytes());
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderValue;

    async fn render(response: Response<Body>, exchange: Exchange) -> (String, bool) {
        let mut wire = Vec::new();
        let mut out = Vec::new();
        let keep = write(&mut wire, &mut out, response, exchange).await.unwrap();
        let text = String::from_utf8(wire).unwrap();
        // The Date line varies; it is checked once, then removed.
        let date = text.lines().find(|l| l.starts_with("date: ")).expect("a Date header").to_string();
        assert!(date.ends_with(" GMT"), "{date}");
        (text.replace(&format!("{date}\r\n"), ""), keep)
    }

    const KEEP: Exchange = Exchange {
        version: Version::HTTP_11,
        is_head: false,
        keep_alive: true,
        body_idle: std::time::Duration::from_secs(5),
    };

    #[tokio::test]
    async fn a_known_body_gets_its_length_and_goes_with_the_head() {
        let mut r = Response::new(Body::from("{\"a\":1}"));
        r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
        r.headers_mut().insert("transfer-encoding", HeaderValue::from_static("gzip"));
        let (text, keep) = render(r, KEEP).await;
        assert_eq!(text, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}");
        assert!(keep);
    }

    #[tokio::test]
    async fn a_stream_of_unknown_size_is_chunked_for_1_1_and_closes_for_1_0() {
        let stream = || {
            let pieces = vec![Ok::<_, std::io::Error>(Bytes::from("ab")), Ok(Bytes::from("cde"))];
            Response::new(Body::from_stream(futures_util::stream::iter(pieces)))
        };
        let (text, keep) = render(stream(), KEEP).await;
        assert_eq!(text, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n");
        assert!(keep);
        let old = Exchange { version: Version::HTTP_10, ..KEEP };
        let (text, keep) = render(stream(), old).await;
        assert_eq!(text, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nabcde");
        assert!(!keep);
    }

    #[tokio::test]
    async fn a_declared_length_is_kept_and_a_short_body_closes_the_connection() {
        let mut r = Response::new(Body::from_stream(futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
            Bytes::from("abc"),
        )])));
        r.headers_mut().insert("content-length", HeaderValue::from_static("5"));
        let (text, keep) = render(r, KEEP).await;
        assert_eq!(text, "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nabc");
        assert!(!keep, "the client cannot tell where the next response starts");
    }

    #[tokio::test]
    async fn an_upstreams_fields_are_written_as_read() {
        let wire = |lines: &'static [u8]| WireFields::from_lines(Bytes::from_static(lines)).unwrap();
        let stream =
            || Body::from_stream(futures_util::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from("abc"))]));
        let mut r = Response::new(stream());
        r.headers_mut().insert("x-own", HeaderValue::from_static("1"));
        r.extensions_mut().insert(wire(b"Server: up\r\nX-Multi: a\r\nContent-Length: 3\r\nx-multi: b\r\n\r\n"));
        let (text, keep) = render(r, KEEP).await;
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nx-own: 1\r\nServer: up\r\nX-Multi: a\r\nx-multi: b\r\ncontent-length: 3\r\n\r\nabc",
            "spelled as the upstream did, its length as the framing"
        );
        assert!(keep);
        // The upstream's Date is the only one; a HEAD answer keeps the length.
        let mut r = Response::new(Body::empty());
        r.extensions_mut().insert(wire(b"Date: Tue, 01 Dec 2026 10:00:00 GMT\r\nContent-Length: 42\r\n\r\n"));
        let mut wire_out = Vec::new();
        write(&mut wire_out, &mut Vec::new(), r, Exchange { is_head: true, ..KEEP }).await.unwrap();
        assert_eq!(
            String::from_utf8(wire_out).unwrap(),
            "HTTP/1.1 200 OK\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\ncontent-length: 42\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn head_204_and_304_have_no_body() {
        let mut r = Response::new(Body::empty());
        r.headers_mut().insert("content-length", HeaderValue::from_static("42"));
        let (text, _) = render(r, Exchange { is_head: true, ..KEEP }).await;
        assert_eq!(text, "HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n");
        // A HEAD whose GET length is unknown says nothing about it (not `content-length: 0`).
        let (text, _) = render(Response::new(Body::empty()), Exchange { is_head: true, ..KEEP }).await;
        assert_eq!(text, "HTTP/1.1 200 OK\r\n\r\n");
        let mut r = Response::new(Body::from("ignored"));
        *r.status_mut() = StatusCode::NO_CONTENT;
        let (text, _) = render(r, KEEP).await;
        assert_eq!(text, "HTTP/1.1 204 No Content\r\n\r\n");
    }

    #[tokio::test]
    async fn keep_alive_is_said_to_1_0_clients_and_close_when_ending() {
        let (text, _) = render(Response::new(Body::from("x")), Exchange { version: Version::HTTP_10, ..KEEP }).await;
        assert!(text.contains("connection: keep-alive\r\n"), "{text}");
        let (text, keep) = render(Response::new(Body::from("x")), Exchange { keep_alive: false, ..KEEP }).await;
        assert!(text.contains("connection: close\r\n") && !keep, "{text}");
    }
}
