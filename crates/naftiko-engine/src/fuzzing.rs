//! Entry points for the fuzz targets in `fuzz/` (`cargo fuzz`); not part of the API.
//!
//! The targets reach most of what they test through the public API (templates, JSONPath, output
//! shapes, the spec crate's loading). What is private to the executor is reached here, and only
//! that: reading an upstream's HTTP/1.1 reply from bytes in memory ([`read_reply`]), and the
//! headers outbound credentials become ([`auth_headers`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderMap, Method};
use tokio::io::{AsyncRead, ReadBuf};

use crate::http::{Auth, Conn, Pool, Transport};

/// How a reply's body is framed, as its head decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (`HEAD`, 204, 304, or `Content-Length: 0`).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the connection closes.
    UntilClose,
}

/// An upstream's reply as the test feeds it: the bytes, the sizes the reads return them in
/// (cycled; `0` or none: as much as a read asks for), and how the connection ends.
#[derive(Debug, Clone, Copy)]
pub struct Feed<'a> {
    /// Everything the upstream sends.
    pub bytes: &'a [u8],
    /// The most each read returns, in turn.
    pub read_sizes: &'a [usize],
    /// The connection ends with an error (a reset) rather than a clean close.
    pub reset_at_end: bool,
}

/// What the executor's reader made of a reply.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// How the body was framed.
    pub framing: Framing,
    /// Bytes of the input the head took (interim `1xx` heads included): the body starts there.
    pub head_len: usize,
    /// The end-to-end fields kept, as read (name, value).
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
    /// The same fields as a header map (as callers take them).
    pub headers: HeaderMap,
    /// The body's declared length.
    pub content_length: Option<u64>,
    /// The body when asked to take it whole and it had all arrived with the head.
    pub whole: Option<Bytes>,
    /// The body as read, piece after piece (after `whole`, if any).
    pub body: Vec<u8>,
    /// Why reading the body stopped before its end.
    pub body_error: Option<String>,
}

/// Reads `feed` as an upstream's reply to a `method` request, head then body to its end, as the
/// plain-HTTP executor does (`take_whole`: first tries to take a body that came with its head
/// whole, as buffered calls do). `Err` is why the head was refused. `None` when the reader
/// waited for input that can never come or read no end: a hang.
pub fn read_reply(feed: Feed<'_>, method: &Method, take_whole: bool) -> Option<Result<Reply, String>> {
    let delivered = Arc::new(AtomicUsize::new(0));
    let memory = Memory {
        bytes: Bytes::copy_from_slice(feed.bytes),
        read_sizes: feed.read_sizes.to_vec(),
        turn: 0,
        reset_at_end: feed.reset_at_end,
        delivered: delivered.clone(),
    };
    // Bodies come in non-empty pieces, so a reply never needs more reads than it has bytes.
    let most_pieces = feed.bytes.len() + 2;
    let read = async move {
        let (response, past_head) = match crate::http::read_reply(memory, method).await {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let head_len = delivered.load(Ordering::Relaxed) - past_head;
        let mut body = response.body;
        let framing = body.framing();
        let content_length = body.content_length();
        let whole = if take_whole { body.take_whole() } else { None };
        let mut out = Vec::new();
        let mut body_error = None;
        let mut pieces = 0;
        loop {
            pieces += 1;
            if pieces > most_pieces {
                return None;
            }
            match body.chunk().await {
                Ok(Some(piece)) => out.extend_from_slice(&piece),
                Ok(None) => break,
                Err(e) => {
                    body_error = Some(e.to_string());
                    break;
                }
            }
        }
        Some(Ok(Reply {
            status: response.status.as_u16(),
            framing,
            head_len,
            fields: response.headers.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect(),
            headers: response.headers.into_map(),
            content_length,
            whole,
            body: out,
            body_error,
        }))
    };
    // Memory is always ready: the read completes in one poll, or it waits forever.
    read.now_or_never().flatten()
}

/// The headers `auth` puts on an upstream request (digest and query keys: none before a
/// challenge or in the URL), or why it cannot be sent.
pub fn auth_headers(auth: &Option<Auth>) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    crate::http::apply_auth(auth, &mut headers)?;
    Ok(headers)
}

/// An upstream connection that replays bytes from memory; never pending.
#[derive(Debug)]
struct Memory {
    bytes: Bytes,
    read_sizes: Vec<usize>,
    turn: usize,
    reset_at_end: bool,
    delivered: Arc<AtomicUsize>,
}

impl AsyncRead for Memory {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let at = this.delivered.load(Ordering::Relaxed);
        if at == this.bytes.len() && this.reset_at_end && buf.remaining() > 0 {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionReset, "connection reset")));
        }
        let size = match this.read_sizes.get(this.turn % this.read_sizes.len().max(1)) {
            Some(&n) if n > 0 => n,
            _ => usize::MAX,
        };
        this.turn += 1;
        let n = size.min(buf.remaining()).min(this.bytes.len() - at);
        buf.put_slice(&this.bytes[at..at + n]);
        this.delivered.store(at + n, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

impl Transport for Memory {
    /// Nothing to keep: the connection is dropped.
    fn check_in(_: &Pool, _: &Arc<str>, _: Conn<Memory>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_reply_read_in_small_pieces_is_decoded() {
        let bytes = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        let feed = Feed { bytes, read_sizes: &[1, 7, 2], reset_at_end: false };
        let reply = read_reply(feed, &Method::GET, true).expect("no hang").expect("a head");
        assert_eq!((reply.status, reply.framing, reply.body.as_slice()), (200, Framing::Chunked, &b"abc"[..]));
        assert_eq!(reply.head_len, bytes.len() - b"3\r\nabc\r\n0\r\n\r\n".len());
        assert_eq!(reply.fields, vec![(b"X-A".to_vec(), b"1".to_vec())]);
        assert!(reply.body_error.is_none());
    }

    #[test]
    fn a_reset_before_the_length_is_read_is_an_early_end() {
        let feed =
            Feed { bytes: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", read_sizes: &[], reset_at_end: true };
        let reply = read_reply(feed, &Method::GET, true).expect("no hang").expect("a head");
        assert_eq!((reply.framing, reply.body.as_slice(), reply.whole), (Framing::Length(5), &b"ab"[..], None));
        assert!(reply.body_error.is_some());
    }
}
