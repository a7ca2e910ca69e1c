//! HTTP adapters (REST and MCP) served thread-per-core: one single-threaded runtime per worker,
//! each with its own upstream connection pool, fed connections by the adapter's acceptor
//! (`handoff`: the least loaded worker gets the next one). A request and the upstream calls it
//! makes then run on one thread, with no cross-thread wake-ups — the request path is the hot path.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use naftiko_engine::http::{ExecutorConfig, HttpExecutor};
use naftiko_engine::invoke::Engine;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::watch;

use crate::logging::say;
use naftiko_http::server::handoff::{self, Inbox};

/// How HTTP adapters are served: how many workers, and what each worker's engine is made of.
#[derive(Debug, Clone)]
pub struct Workers {
    /// Workers per adapter.
    pub count: usize,
    /// The upstream client settings (each worker has its own pool).
    pub config: ExecutorConfig,
    /// `--dry-run`.
    pub dry_run: bool,
    /// The connection policy (each adapter gets its own connection cap).
    pub policy: naftiko_http::ConnectionPolicy,
}

/// Resolves `addr` and binds the adapter's listening socket on it; errors name the adapter.
pub async fn bind(kind: &str, ns: &str, addr: &str) -> anyhow::Result<(SocketAddr, std::net::TcpListener)> {
    use anyhow::Context;
    let resolved = tokio::net::lookup_host(addr)
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| anyhow::anyhow!("{kind} adapter `{ns}` cannot listen on {addr}: not an address"))?;
    let listener = listen(resolved).with_context(|| format!("{kind} adapter `{ns}` cannot listen on {addr}"))?;
    Ok((listener.local_addr()?, listener))
}

/// A listening socket on `addr` whose accepted connections send without Nagle's delay.
pub fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // A restarted naftiko can bind while the last one's connections linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    // Inherited by accepted connections: a response written in two parts (headers, then a
    // streamed body) must not wait for the client's delayed ACK.
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(std::net::TcpListener::from(socket))
}

/// What a worker does with its listener: serve until the shutdown future completes. It gets
/// the worker's own engine, and `true` on the first worker (to log load-time warnings once).
pub type ServeFn = dyn Fn(Inbox, Engine, ShutdownFuture, bool) -> ServeFuture + Send + Sync;
/// Completes when the process shuts down.
pub type ShutdownFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// A worker's server.
pub type ServeFuture = Pin<Box<dyn Future<Output = std::io::Result<()>>>>;

/// Starts `workers.count` worker threads, each running `serve` until `stop` turns true, and the
/// task (on the calling runtime) that hands them `listener`'s connections. A worker that fails
/// says so on stderr at once, named (`rest-NS-0: …`), and counts itself in `failed` (what the
/// control adapter reports); the others take its connections.
pub fn start(
    name: &str,
    listener: std::net::TcpListener,
    workers: &Workers,
    stop: &watch::Receiver<bool>,
    serve: Arc<ServeFn>,
    failed: &Arc<AtomicUsize>,
) -> std::io::Result<Vec<JoinHandle<std::io::Result<()>>>> {
    let (acceptor, inboxes) = handoff::spread(listener, workers.count, stop.clone())?;
    let mut threads = Vec::new();
    for (i, inbox) in inboxes.into_iter().enumerate() {
        let Workers { config, dry_run, .. } = workers.clone();
        let mut stop = stop.clone();
        let serve = serve.clone();
        let failed = failed.clone();
        let thread = format!("{name}-{i}");
        threads.push(std::thread::Builder::new().name(thread.clone()).spawn(move || {
            let run = || -> std::io::Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async move {
                    let executor = HttpExecutor::new(config);
                    let shutdown = Box::pin(async move {
                        let _ = stop.wait_for(|stop| *stop).await;
                    });
                    serve(inbox, Engine::new(executor, dry_run), shutdown, i == 0).await
                })
            };
            let result = run();
            if let Err(e) = &result {
                say!("{thread}: {e}");
                failed.fetch_add(1, Ordering::Relaxed);
            }
            result
        })?);
    }
    tokio::spawn(acceptor);
    Ok(threads)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_held_port_is_refused_and_connections_are_accepted_without_nagle() {
        let listener = super::listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let local = listener.local_addr().unwrap();
        assert!(super::listen(local).is_err(), "a port already listened on is refused");
        let _client = std::net::TcpStream::connect(local).unwrap();
        let accepted = (0..200)
            .find_map(|_| {
                let got = listener.accept().ok();
                if got.is_none() {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                got
            })
            .expect("the connection is accepted");
        assert!(accepted.0.nodelay().unwrap(), "TCP_NODELAY is inherited by accepted connections");
    }
}
