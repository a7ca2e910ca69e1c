//! The HTTP/1.1 server that REST adapters are served with: a connection loop written for this
//! runtime's request path (one buffer per connection, the head parsed in place, the response
//! head and a ready body written in one system call), handing `http::Request`s with axum
//! bodies to a handler. See docs/behaviour.md ("The HTTP server") for what it accepts.

mod chunked;
mod conn;
mod head;
mod respond;
#[cfg(test)]
mod tests;

use std::future::Future;

use axum::body::Body;
use axum::serve::Listener;
use http::{Request, Response};
use tokio::sync::watch;

/// Serves `listener` with `handler` until `shutdown` completes; then stops accepting, lets each
/// connection finish the request it is serving, and returns when all have closed. (A listener
/// retries failed accepts itself: see `axum::serve::Listener`.)
pub async fn serve<L, H, F>(
    mut listener: L,
    handler: H,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener,
    H: Fn(Request<Body>) -> F + Clone + Send + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let (closing_tx, closing) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            (io, _peer) = listener.accept() => {
                tokio::spawn(conn::serve(io, handler.clone(), closing.clone()));
            }
        }
    }
    drop(listener);
    let _ = closing_tx.send(true);
    drop(closing);
    closing_tx.closed().await;
    Ok(())
}
