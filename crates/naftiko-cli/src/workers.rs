//! REST adapters served thread-per-core: one single-threaded runtime per worker, each with its
//! own listening socket on the adapter's port (`SO_REUSEPORT`: the kernel spreads connections)
//! and its own upstream connection pool. A request and the upstream calls it makes then run on
//! one thread, with no cross-thread wake-ups — the request path is the product's hot path.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use naftiko_engine::http::{ExecutorConfig, HttpExecutor};
use naftiko_engine::invoke::Engine;
use naftiko_engine::plan::RestAdapter;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::watch;

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
            socket.bind(&local.into())?;
            socket.listen(1024)?;
            socket.set_nonblocking(true)?;
            Ok(std::net::TcpListener::from(socket))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    Ok((local, listeners))
}

/// Starts one worker thread per listener, each serving `adapter` until `stop` turns true.
pub fn start(
    adapter: &RestAdapter,
    listeners: Vec<std::net::TcpListener>,
    config: &ExecutorConfig,
    dry_run: bool,
    stop: &watch::Receiver<bool>,
) -> std::io::Result<Vec<JoinHandle<std::io::Result<()>>>> {
    let mut threads = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let adapter = adapter.clone();
        let config = config.clone();
        let mut stop = stop.clone();
        let name = format!("rest-{}-{i}", adapter.listener.namespace);
        threads.push(std::thread::Builder::new().name(name).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                let executor = HttpExecutor::new(config).map_err(std::io::Error::other)?;
                let shutdown = async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                };
                // The adapter's load-time warnings are logged once, by the first worker.
                naftiko_rest::serve(listener, &adapter, Engine::new(executor, dry_run), shutdown, i == 0).await
            })
        })?);
    }
    Ok(threads)
}
