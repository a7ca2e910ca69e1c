//! The HTTP/1.1 server every adapter is served with: a connection loop written for this
//! runtime's request path (one buffer per connection, the head parsed in place, the response
//! head and a ready body written in one system call), handing `http::Request`s with axum
//! bodies to a handler, under one [`ConnectionPolicy`]. See docs/behaviour.md ("The HTTP
//! server") for what it accepts and docs/operations.md for the limits.

pub(crate) mod chunked;
mod conn;
pub mod handoff;
pub(crate) mod head;
pub mod policy;
mod respond;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;

use axum::body::Body;
use axum::serve::Listener;
use http::{Request, Response};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

pub use policy::{ConnectionGate, ConnectionPolicy};

/// What a client past the adapter's connection cap is told before its connection is closed.
const FULL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 108\r\n\r\n\
{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,\"detail\":\"too many connections; try again\"}";

/// Serves `listener` with `handler` under `policy` until `shutdown` completes; then stops
/// accepting, lets each connection finish the request it is serving, and returns when all have
/// closed. (A listener retries failed accepts itself: see `axum::serve::Listener`.)
pub async fn serve<L, H, F>(
    mut listener: L,
    policy: ConnectionPolicy,
    handler: H,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener,
    H: Fn(Request<Body>) -> F + Clone + Send + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let policy = Arc::new(policy);
    let (closing_tx, closing) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            (io, _peer) = listener.accept() => {
                let Some(admitted) = policy.gate.enter() else {
                    refuse_full(io, &policy.gate);
                    continue;
                };
                tokio::spawn(conn::serve(io, handler.clone(), closing.clone(), policy.clone(), admitted));
            }
        }
    }
    drop(listener);
    let _ = closing_tx.send(true);
    drop(closing);
    closing_tx.closed().await;
    Ok(())
}

/// Tells a connection past the cap so, and closes it: the answer is written, then what the
/// client already sent is read and dropped for a moment before closing, so that the close does
/// not reset the connection and lose the answer. All of it within half a second, and at most
/// [`MAX_CLOSING`] such closes at a time; past that a refused connection is just dropped.
fn refuse_full<IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static>(
    mut io: IO,
    gate: &Arc<ConnectionGate>,
) {
    use std::sync::atomic::Ordering;
    tracing::warn!("connection refused: the adapter has {} connections open", gate.max());
    if gate.closing.fetch_add(1, Ordering::AcqRel) >= MAX_CLOSING {
        gate.closing.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    let gate = gate.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let close = async {
            io.write_all(FULL).await?;
            io.shutdown().await?;
            let mut sink = [0u8; 1024];
            while io.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        };
        let _ = tokio::time::timeout(std::time::Duration::from_millis(500), close).await;
        gate.closing.fetch_sub(1, Ordering::AcqRel);
    });
}

/// Refused connections closed gracefully at once, per adapter.
const MAX_CLOSING: usize = 256;

/// Serves an axum `Router` (the MCP, Skill and Control adapters) on the same core and policy.
pub async fn serve_router<L: Listener>(
    listener: L,
    policy: ConnectionPolicy,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use tower::ServiceExt;
    let handler = move |req: Request<Body>| {
        let router = router.clone();
        async move {
            match router.oneshot(req).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    };
    serve(listener, policy, handler, shutdown).await
}

#[cfg(test)]
mod full_tests {
    #[test]
    fn the_full_answer_declares_its_length() {
        let text = std::str::from_utf8(super::FULL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())), "{text}");
        serde_json::from_str::<serde_json::Value>(body).unwrap();
    }
}
