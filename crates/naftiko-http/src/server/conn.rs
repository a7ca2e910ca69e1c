//! One client connection: read a request head, hand the request to the handler (its body
//! streamed from the connection while the handler runs), write the response, and go on while
//! the connection is kept alive.

use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::{Request, Response};
use http_body::Frame;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::chunked::{Chunked, Step};
use super::head::{self, Framing, Head};
use super::respond::{self, Exchange};

/// How long a connection may take to send a request head (idle time before it included). The
/// deadline is set when a head is awaited with nothing buffered, and moved only when less than
/// half of it is left (moving a timer costs): each head gets between half of this and all of it.
/// Bytes trickling in do not move it.
pub(crate) const HEAD_TIMEOUT: Duration = if cfg!(test) { Duration::from_millis(400) } else { Duration::from_secs(30) };
/// Buffered request-body pieces in flight between the connection and the handler.
const BODY_QUEUE: usize = 8;
/// Room made in the read buffer before each read.
const READ_CHUNK: usize = 16 * 1024;

/// Serves one connection until it closes, fails, or the server shuts down between requests.
pub(crate) async fn serve<IO, H, F>(mut io: IO, handler: H, closing: watch::Receiver<bool>)
where
    IO: AsyncRead + AsyncWrite + Unpin,
    H: Fn(Request<Body>) -> F,
    F: Future<Output = Response<Body>>,
{
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = Vec::with_capacity(4096);
    let mut deadline = Instant::now() + HEAD_TIMEOUT;
    let mut timer = pin!(tokio::time::sleep_until(deadline));
    // One wait for the shutdown signal for the connection's whole life (a wait made afresh for
    // every request costs a registration each time); it returns at once if the signal came first.
    let mut signal = closing.clone();
    let mut shutdown = pin!(signal.changed());
    loop {
        // The request head.
        let head = loop {
            match head::parse(&mut buf) {
                Ok(Some(head)) => break head,
                Ok(None) => {}
                Err(e) => {
                    let response = respond::refusal(e.status, &e.detail);
                    let _ = respond::write(&mut io, &mut out, response, respond::refusal_exchange()).await;
                    return;
                }
            }
            let now = Instant::now();
            if buf.is_empty() && deadline.saturating_duration_since(now) < HEAD_TIMEOUT / 2 {
                deadline = now + HEAD_TIMEOUT;
                timer.as_mut().reset(deadline);
            }
            buf.reserve(READ_CHUNK);
            tokio::select! {
                biased;
                read = io.read_buf(&mut buf) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                },
                _ = &mut timer => {
                    if !buf.is_empty() {
                        let response = respond::refusal(
                            http::StatusCode::REQUEST_TIMEOUT,
                            "the request head did not arrive in time",
                        );
                        let _ = respond::write(&mut io, &mut out, response, respond::refusal_exchange()).await;
                    }
                    return;
                },
                _ = &mut shutdown, if buf.is_empty() => return,
            }
        };
        let Head { parts, framing, keep_alive, expects_continue } = head;
        let exchange = Exchange { version: parts.version, is_head: parts.method == http::Method::HEAD, keep_alive };

        // The body: whole when it is already buffered, else streamed while the handler runs.
        let (body, mut pump) = match framing {
            Framing::None => (Body::empty(), None),
            Framing::Length(n) if buf.len() as u64 >= n => (Body::from(buf.split_to(n as usize).freeze()), None),
            _ => {
                let (tx, rx) = mpsc::channel(BODY_QUEUE);
                let body =
                    Body::new(Streamed { rx, exact: if let Framing::Length(n) = framing { Some(n) } else { None } });
                (body, Some(tx))
            }
        };
        if expects_continue && pump.is_some() && io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err() {
            return;
        }
        let (response, body_complete) = {
            // Pinned where it is made: a handler's future is large (kilobytes: every branch a
            // request can take), and each move of it is a copy.
            let mut handled = pin!(handler(Request::from_parts(parts, body)));
            match pump.take() {
                None => (handled.await, true),
                Some(tx) => {
                    let mut pumped = pin!(pump_body(&mut io, &mut buf, framing, tx));
                    let mut body_complete = None;
                    loop {
                        tokio::select! {
                            response = &mut handled => break (response, body_complete == Some(true)),
                            complete = &mut pumped, if body_complete.is_none() => body_complete = Some(complete),
                        }
                    }
                }
            }
        };
        // A body the handler did not wait for leaves the connection unusable.
        // A server shutting down closes each connection after its current response.
        let closing_now = *closing.borrow();
        let exchange = Exchange { keep_alive: exchange.keep_alive && body_complete && !closing_now, ..exchange };
        match respond::write(&mut io, &mut out, response, exchange).await {
            Ok(true) => {}
            _ => {
                let _ = io.shutdown().await;
                return;
            }
        }
    }
}

/// Reads a request body off the connection into the handler's queue, while the handler runs.
/// Returns whether the whole body was read (the connection can then carry the next request).
/// Pieces a handler no longer wants (it dropped the body) are read and discarded.
async fn pump_body(
    io: &mut (impl AsyncRead + Unpin),
    buf: &mut BytesMut,
    framing: Framing,
    tx: mpsc::Sender<std::io::Result<Bytes>>,
) -> bool {
    let mut left = match framing {
        Framing::Length(n) => n,
        _ => 0,
    };
    let mut chunked = Chunked::Size;
    loop {
        let piece = match framing {
            Framing::Length(_) if left == 0 => return true,
            Framing::Length(_) if !buf.is_empty() => {
                let n = (buf.len() as u64).min(left) as usize;
                left -= n as u64;
                Some(buf.split_to(n).freeze())
            }
            Framing::Chunked => match chunked.step(buf) {
                Ok(Step::Data(data)) => Some(data),
                Ok(Step::End) => return true,
                Ok(Step::NeedMore) => None,
                Err(why) => {
                    let _ = tx.send(Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why))).await;
                    return false;
                }
            },
            _ => None,
        };
        match piece {
            // The handler may have dropped the body: the send fails and the piece is discarded.
            Some(data) => {
                let _ = tx.send(Ok(data)).await;
            }
            None => {
                buf.reserve(READ_CHUNK);
                match io.read_buf(buf).await {
                    Ok(0) => {
                        let e =
                            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the request body was cut short");
                        let _ = tx.send(Err(e)).await;
                        return false;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return false;
                    }
                }
            }
        }
    }
}

/// A request body arriving from the connection.
struct Streamed {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    /// What is left of a body of declared length.
    exact: Option<u64>,
}

impl http_body::Body for Streamed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let piece = std::task::ready!(self.rx.poll_recv(cx));
        if let (Some(Ok(data)), Some(left)) = (&piece, &mut self.exact) {
            *left = left.saturating_sub(data.len() as u64);
        }
        Poll::Ready(piece.map(|r| r.map(Frame::data)))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self.exact {
            Some(n) => http_body::SizeHint::with_exact(n),
            None => http_body::SizeHint::default(),
        }
    }
}
