//! HTTP adapters (REST and MCP) served thread-per-core: one single-threaded runtime per worker,
//! each with its own listening socket on the adapter's port (`SO_REUSEPORT`: the kernel spreads
//! connections) and its own upstream connection pool. A request and the upstream calls it makes
//! then run on one thread, with no cross-thread wake-ups — the request path is the hot path.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use naftiko_engine::http::{ExecutorConfig, HttpExecutor};
use naftiko_engine::invoke::Engine;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::watch;

/// How HTTP adapters are served: how many workers, and what each worker's engine is made of.
#[derive(Debug, Clone)]
pub struct Workers {
    /// Workers per adapter.
    pub count: usize,
    /// The upstream client settings (each worker has its own pool).
    pub config: ExecutorConfig,
    /// `--dry-run`.
    pub dry_run: bool,
}

/// Resolves `addr` and binds one socket per worker on it; errors name the adapter.
pub async fn bind(
    kind: &str,
    ns: &str,
    addr: &str,
    count: usize,
) -> anyhow::Result<(SocketAddr, Vec<std::net::TcpListener>)> {
    use anyhow::Context;
    let resolved = tokio::net::lookup_host(addr)
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| anyhow::anyhow!("{kind} adapter `{ns}` cannot listen on {addr}: not an address"))?;
    bind_group(resolved, count).with_context(|| format!("{kind} adapter `{ns}` cannot listen on {addr}"))
}

/// Binds `n` sockets on `addr` sharing one port. A plain socket is bound first (and dropped) so
/// that a port any other process holds — another naftiko included — is refused as usual rather
/// than silently shared; port 0 is resolved to one free port for the whole group.
pub fn bind_group(addr: SocketAddr, n: usize) -> std::io::Result<(SocketAddr, Vec<std::net::TcpListener>)> {
    let probe = std::net::TcpListener::bind(addr)?;
    let local = probe.local_addr()?;
    drop(probe);
    let listeners = (0..n.max(1))
        .map(|_| {
            let socket = Socket::new(Domain::for_address(local), Type::STREAM, Some(Protocol::TCP))?;
            socket.set_reuse_address(true)?;
            #[cfg(unix)]
            socket.set_reuse_port(true)?;
            // Inherited by accepted connections: a response written in two parts (headers, then
            // a streamed body) must not wait for the client's delayed ACK.
            socket.set_tcp_nodelay(true)?;
            socket.bind(&local.into())?;
            socket.listen(1024)?;
            socket.set_nonblocking(true)?;
            Ok(std::net::TcpListener::from(socket))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    Ok((local, listeners))
}

/// What a worker does with its listener: serve until the shutdown future completes. It gets
/// the worker's own engine, and `true` on the first worker (to log load-time warnings once).
pub type ServeFn = dyn Fn(tokio::net::TcpListener, Engine, ShutdownFuture, bool) -> ServeFuture + Send + Sync;
/// Completes when the process shuts down.
pub type ShutdownFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// A worker's server.
pub type ServeFuture = Pin<Box<dyn Future<Output = std::io::Result<()>>>>;

/// Starts one worker thread per listener, each running `serve` until `stop` turns true. A worker
/// that fails says so on stderr at once, named (`rest-NS-0: …`), and counts itself in `failed`
/// (what the control adapter reports).
pub fn start(
    name: &str,
    listeners: Vec<std::net::TcpListener>,
    workers: &Workers,
    stop: &watch::Receiver<bool>,
    serve: Arc<ServeFn>,
    failed: &Arc<AtomicUsize>,
) -> std::io::Result<Vec<JoinHandle<std::io::Result<()>>>> {
    let mut threads = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let Workers { config, dry_run, .. } = workers.clone();
        let mut stop = stop.clone();
        let serve = serve.clone();
        let failed = failed.clone();
        let thread = format!("{name}-{i}");
        threads.push(std::thread::Builder::new().name(thread.clone()).spawn(move || {
            let run = || -> std::io::Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    let executor = HttpExecutor::new(config);
                    let shutdown = Box::pin(async move {
                        let _ = stop.wait_for(|stop| *stop).await;
                    });
                    serve(listener, Engine::new(executor, dry_run), shutdown, i == 0).await
                })
            };
            let result = run();
            if let Err(e) = &result {
                eprintln!("naftiko: {thread}: {e}");
                failed.fetch_add(1, Ordering::Relaxed);
            }
            result
        })?);
    }
    Ok(threads)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_group_shares_one_port_refuses_a_held_one_and_accepts_without_nagle() {
        let (local, listeners) = super::bind_group("127.0.0.1:0".parse().unwrap(), 2).unwrap();
        assert_eq!(listeners.len(), 2);
        assert!(listeners.iter().all(|l| l.local_addr().unwrap() == local));
        // Held by the group: a plain bind — what a second process does first — is refused.
        assert!(super::bind_group(local, 1).is_err());
        let _client = std::net::TcpStream::connect(local).unwrap();
        let accepted = (0..200)
            .find_map(|_| {
                let got = listeners.iter().find_map(|l| l.accept().ok());
                if got.is_none() {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                got
            })
            .expect("the connection is accepted by one of the group");
        assert!(accepted.0.nodelay().unwrap(), "TCP_NODELAY is inherited by accepted connections");
    }
}
