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
use std::time::Duration;

use axum::body::Body;
use http::{Request, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Serves `listener` with `handler` until `shutdown` completes; then stops accepting, lets each
/// connection finish the request it is serving, and returns when all have closed.
pub async fn serve<H, F>(
    listener: TcpListener,
    handler: H,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    H: Fn(Request<Body>) -> F + Clone + Send + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let (closing_tx, closing) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((io, _peer)) => {
                    tokio::spawn(conn::serve(io, handler.clone(), closing.clone()));
                }
                // Out of descriptors or memory: wait a little rather than spin.
                Err(e) if !is_per_connection(&e) => {
                    tracing::warn!("cannot accept connections: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(_) => {}
            }
        }
    }
    drop(listener);
    let _ = closing_tx.send(true);
    drop(closing);
    closing_tx.closed().await;
    Ok(())
}

/// Errors that concern one connection that went away before it was accepted.
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}
