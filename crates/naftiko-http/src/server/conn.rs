//! One client connection: read a request head, hand the request to the handler (its body
//! streamed from the connection while the handler runs), write the response, and go on while
//! the connection is kept alive — every wait bounded by the adapter's [`ConnectionPolicy`].
//!
//! A request body that turns out malformed, too large, stalled or cut short ends the exchange
//! at once: the handler is dropped (whatever upstream call it was making is abandoned, its
//! connection closed), the client gets 400, 413 or 408 (nothing, when it is gone), and the
//! connection closes.

use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode};
use http_body::Frame;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::{Instant, Sleep};

use super::chunked::{Chunked, Step};
use super::head::{self, Framing, Head};
use super::policy::{Admitted, ConnectionPolicy};
use super::respond::{self, Exchange};

/// Buffered request-body pieces in flight between the connection and the handler.
const BODY_QUEUE: usize = 8;
/// Room made in the read buffer before each read.
const READ_CHUNK: usize = 16 * 1024;

/// How reading a request body ended.
#[derive(Debug)]
enum BodyEnd {
    /// All of it was read: the connection can carry the next request.
    Complete,
    /// Not valid chunked coding (400).
    Malformed(String),
    /// Beyond the policy's size (413).
    TooLarge,
    /// A piece did not come in time (408).
    TimedOut,
    /// The client closed or failed mid-body: nobody to answer.
    Gone,
}

/// Serves one connection until it closes, fails, times out, or the server shuts down between
/// requests. `_admitted` holds the connection's place under the adapter's cap until it ends.
pub(crate) async fn serve<IO, H, F>(
    io: IO,
    handler: H,
    closing: watch::Receiver<bool>,
    policy: Arc<ConnectionPolicy>,
    _admitted: Admitted,
) where
    IO: AsyncRead + AsyncWrite + Unpin,
    H: Fn(Request<Body>) -> F,
    F: Future<Output = Response<Body>>,
{
    let mut io = WriteTimed::new(io, policy.write_timeout);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = Vec::with_capacity(4096);
    // Waiting for a first request counts as waiting for its head; between requests the
    // keep-alive timeout applies. The deadline is moved only when less than half of the wait
    // is left (moving a timer costs): an idle wait lasts between half of its limit and all of it.
    let mut idle_limit = policy.head_timeout;
    let mut deadline = Instant::now() + idle_limit;
    let mut timer = pin!(tokio::time::sleep_until(deadline));
    // One wait for the shutdown signal for the connection's whole life (a wait made afresh for
    // every request costs a registration each time); it returns at once if the signal came first.
    let mut signal = closing.clone();
    let mut shutdown = pin!(signal.changed());
    let limits = head::Limits { max_headers: policy.max_headers, max_head_bytes: policy.max_head_bytes };
    loop {
        // The request head.
        let mut head_started = false;
        let head = loop {
            match head::parse(&mut buf, &limits) {
                Ok(Some(head)) => break head,
                Ok(None) => {}
                Err(e) => {
                    refuse(&mut io, &mut out, e.status, &e.detail, &policy).await;
                    return;
                }
            }
            let now = Instant::now();
            if buf.is_empty() {
                if deadline.saturating_duration_since(now) < idle_limit / 2 {
                    deadline = now + idle_limit;
                    timer.as_mut().reset(deadline);
                }
            } else if !head_started {
                // Part of a head is here: the rest must follow within the head timeout.
                head_started = true;
                let head_deadline = now + policy.head_timeout;
                if head_deadline < deadline {
                    deadline = head_deadline;
                    timer.as_mut().reset(deadline);
                }
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
                        refuse(&mut io, &mut out, StatusCode::REQUEST_TIMEOUT, "the request head did not arrive in time", &policy).await;
                    }
                    return;
                },
                _ = &mut shutdown, if buf.is_empty() => return,
            }
        };
        idle_limit = policy.keep_alive_timeout;
        let Head { parts, framing, keep_alive, expects_continue } = head;
        let exchange = Exchange {
            version: parts.version,
            is_head: parts.method == http::Method::HEAD,
            keep_alive,
            body_idle: policy.body_idle_timeout,
        };
        if let Framing::Length(n) = framing
            && n > policy.max_body_bytes
        {
            let detail = format!("the request body ({n} bytes) is larger than {} bytes", policy.max_body_bytes);
            refuse(&mut io, &mut out, StatusCode::PAYLOAD_TOO_LARGE, &detail, &policy).await;
            return;
        }

        // The body: whole when it is already buffered, else streamed while the handler runs.
        // Made only for a streamed body whose client waits for `100 Continue`.
        let mut wanted = None;
        let (body, mut pump) = match framing {
            Framing::None => (Body::empty(), None),
            Framing::Length(n) if buf.len() as u64 >= n => (Body::from(buf.split_to(n as usize).freeze()), None),
            _ => {
                let (tx, rx) = mpsc::channel(BODY_QUEUE);
                let exact = if let Framing::Length(n) = framing { Some(n) } else { None };
                wanted = expects_continue.then(|| Arc::new(Notify::new()));
                (Body::new(Streamed { rx, exact, wanted: wanted.clone() }), Some(tx))
            }
        };
        let handled = {
            // Pinned where it is made: a handler's future is large (kilobytes: every branch a
            // request can take), and each move of it is a copy. It is dropped at the end of this
            // block, before any refusal is written: an upstream call it was making is abandoned.
            let mut handled = pin!(handler(Request::from_parts(parts, body)));
            match pump.take() {
                None => Ok((handled.await, true)),
                Some(tx) => {
                    let continue_first = wanted.as_deref();
                    let mut pumped = pin!(pump_body(&mut io, &mut buf, framing, tx, &policy, continue_first));
                    let mut body_complete = false;
                    let mut pumping = true;
                    loop {
                        tokio::select! {
                            response = &mut handled => break Ok((response, body_complete)),
                            end = &mut pumped, if pumping => {
                                pumping = false;
                                match end {
                                    BodyEnd::Complete => body_complete = true,
                                    other => break Err(other),
                                }
                            }
                        }
                    }
                }
            }
        };
        let (response, body_complete) = match handled {
            Ok(answered) => answered,
            Err(end) => {
                let (status, detail) = match end {
                    BodyEnd::Malformed(why) => (StatusCode::BAD_REQUEST, format!("malformed request body: {why}")),
                    BodyEnd::TooLarge => (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the request body is larger than {} bytes", policy.max_body_bytes),
                    ),
                    BodyEnd::TimedOut => {
                        (StatusCode::REQUEST_TIMEOUT, "the request body did not arrive in time".into())
                    }
                    BodyEnd::Gone | BodyEnd::Complete => return,
                };
                refuse(&mut io, &mut out, status, &detail, &policy).await;
                return;
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

/// Answers with a problem of the server's own and closes (bounded by the write timeout).
async fn refuse<IO: AsyncWrite + Unpin>(
    io: &mut IO,
    out: &mut Vec<u8>,
    status: StatusCode,
    detail: &str,
    policy: &ConnectionPolicy,
) {
    let exchange = respond::refusal_exchange(policy.body_idle_timeout);
    let _ = respond::write(io, out, respond::refusal(status, detail), exchange).await;
    let _ = io.shutdown().await;
}

/// Reads a request body off the connection into the handler's queue, while the handler runs,
/// each read bounded by the body idle timeout and the whole by the body timeout. Pieces a
/// handler no longer wants (it dropped the body) are read and discarded. With
/// `continue_first`, `100 Continue` is sent once the handler asks for the body, not before.
async fn pump_body<IO: AsyncRead + AsyncWrite + Unpin>(
    io: &mut IO,
    buf: &mut BytesMut,
    framing: Framing,
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    policy: &ConnectionPolicy,
    continue_first: Option<&Notify>,
) -> BodyEnd {
    if let Some(wanted) = continue_first {
        wanted.notified().await;
        if io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err() {
            return BodyEnd::Gone;
        }
    }
    let whole_deadline = Instant::now() + policy.body_timeout;
    let mut left = match framing {
        Framing::Length(n) => n,
        _ => 0,
    };
    let mut received: u64 = 0;
    let mut chunked = Chunked::Size;
    let fail = |tx: &mpsc::Sender<std::io::Result<Bytes>>, kind, why: &str| {
        // The handler learns it too, if it is still reading (it is about to be dropped).
        let _ = tx.try_send(Err(std::io::Error::new(kind, why.to_string())));
    };
    loop {
        let piece = match framing {
            Framing::Length(_) if left == 0 => return BodyEnd::Complete,
            Framing::Length(_) if !buf.is_empty() => {
                let n = (buf.len() as u64).min(left) as usize;
                left -= n as u64;
                Some(buf.split_to(n).freeze())
            }
            Framing::Chunked => match chunked.step(buf) {
                Ok(Step::Data(data)) => {
                    received += data.len() as u64;
                    if received > policy.max_body_bytes {
                        fail(&tx, std::io::ErrorKind::InvalidData, "the request body is too large");
                        return BodyEnd::TooLarge;
                    }
                    Some(data)
                }
                Ok(Step::End) => return BodyEnd::Complete,
                Ok(Step::NeedMore) => None,
                Err(why) => {
                    fail(&tx, std::io::ErrorKind::InvalidData, &why);
                    return BodyEnd::Malformed(why);
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
                let until = (Instant::now() + policy.body_idle_timeout).min(whole_deadline);
                match tokio::time::timeout_at(until, io.read_buf(buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => {
                        fail(&tx, std::io::ErrorKind::UnexpectedEof, "the request body was cut short");
                        return BodyEnd::Gone;
                    }
                    Ok(Ok(_)) => {}
                    Err(_) => {
                        fail(&tx, std::io::ErrorKind::TimedOut, "the request body did not arrive in time");
                        return BodyEnd::TimedOut;
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
    /// Told when the handler first asks for the body (`Expect: 100-continue`).
    wanted: Option<Arc<Notify>>,
}

impl http_body::Body for Streamed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(wanted) = self.wanted.take() {
            wanted.notify_one();
        }
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

/// A connection whose writes must make progress within a time limit: a client that stops
/// reading gets its connection closed instead of holding the server's buffers forever. The
/// timer is armed only when a write would wait, so writes that go through at once cost nothing.
struct WriteTimed<IO> {
    io: IO,
    limit: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl<IO> WriteTimed<IO> {
    fn new(io: IO, limit: Duration) -> Self {
        WriteTimed { io, limit, timer: None, armed: false }
    }

    /// Called when a write waits: `Ready` once the limit has passed with no progress.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Error> {
        if !self.armed {
            let deadline = Instant::now() + self.limit;
            match &mut self.timer {
                Some(t) => t.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
            self.armed = true;
        }
        match self.timer.as_mut().map(|t| t.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client did not read the response in time",
            )),
            _ => Poll::Pending,
        }
    }

    fn progress<T>(&mut self, cx: &mut Context<'_>, polled: Poll<std::io::Result<T>>) -> Poll<std::io::Result<T>> {
        match polled {
            Poll::Ready(r) => {
                self.armed = false;
                Poll::Ready(r)
            }
            Poll::Pending => self.poll_expired(cx).map(Err),
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for WriteTimed<IO> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for WriteTimed<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.io).poll_write(cx, data);
        this.progress(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.progress(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.io).poll_flush(cx);
        this.progress(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.io).poll_shutdown(cx);
        this.progress(cx, polled)
    }
}
