//! Connections spread evenly over an adapter's workers. One acceptor task takes every new
//! connection off the adapter's listening socket and hands it to the worker serving the fewest
//! connections at that moment, as haproxy does. Each worker sees its share as an [`Inbox`], a
//! listener like any other.
//!
//! (Per-worker sockets with `SO_REUSEPORT` let the kernel hash connections onto workers: 50
//! connections came out 32/18, and the busier worker's requests made a tail of slow replies.)

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

/// A connection on its way to a worker, with the peer's address.
type Handed = (std::net::TcpStream, SocketAddr);

/// One worker's share of an adapter's connections: what its server accepts from.
pub struct Inbox {
    rx: mpsc::UnboundedReceiver<Handed>,
    load: Arc<AtomicUsize>,
    local: SocketAddr,
}

/// The acceptor's side of one worker.
struct Outlet {
    tx: mpsc::UnboundedSender<Handed>,
    /// Connections handed to the worker and not yet closed.
    load: Arc<AtomicUsize>,
}

/// A connection served by a worker; closing it (dropping it) takes it off the worker's load.
pub struct Counted {
    io: TcpStream,
    load: Arc<AtomicUsize>,
}

/// Splits `listener` into `n` inboxes, and returns the acceptor that feeds them until `stop`
/// turns true (then the listening socket closes) or every inbox is gone.
pub fn spread(
    listener: std::net::TcpListener,
    n: usize,
    stop: watch::Receiver<bool>,
) -> std::io::Result<(impl Future<Output = ()> + Send + 'static, Vec<Inbox>)> {
    let local = listener.local_addr()?;
    let (outlets, inboxes): (Vec<_>, Vec<_>) = (0..n.max(1))
        .map(|_| {
            let (tx, rx) = mpsc::unbounded_channel();
            let load = Arc::new(AtomicUsize::new(0));
            (Outlet { tx, load: load.clone() }, Inbox { rx, load, local })
        })
        .unzip();
    Ok((accept_loop(listener, outlets, stop), inboxes))
}

async fn accept_loop(listener: std::net::TcpListener, mut outlets: Vec<Outlet>, mut stop: watch::Receiver<bool>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("cannot accept connections: {e}");
            return;
        }
    };
    let mut next = 0;
    while !outlets.is_empty() {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        let (io, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) if is_per_connection(&e) => continue,
            // Out of descriptors or memory: wait a little rather than spin.
            Err(e) => {
                tracing::warn!("cannot accept connections: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(mut io) = io.into_std() else { continue };
        // The least loaded worker; ties go round, starting after the last one chosen.
        let least_loaded = |outlets: &[Outlet], next: usize| {
            let n = outlets.len();
            (0..n).map(|k| (next + k) % n).min_by_key(|&i| outlets[i].load.load(Ordering::Relaxed))
        };
        while let Some(at) = least_loaded(&outlets, next) {
            let outlet = &outlets[at];
            outlet.load.fetch_add(1, Ordering::Relaxed);
            match outlet.tx.send((io, peer)) {
                Ok(()) => {
                    next = at + 1;
                    break;
                }
                // That worker has stopped: the others take its share.
                Err(mpsc::error::SendError((back, _))) => {
                    outlet.load.fetch_sub(1, Ordering::Relaxed);
                    outlets.swap_remove(at);
                    io = back;
                }
            }
        }
    }
}

/// Errors that concern one connection that went away before it was accepted.
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

impl axum::serve::Listener for Inbox {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        loop {
            // The acceptor stopped: nothing more will come (the server's shutdown ends it).
            let Some((io, peer)) = self.rx.recv().await else { std::future::pending().await };
            match TcpStream::from_std(io) {
                Ok(io) => return (Counted { io, load: self.load.clone() }, peer),
                Err(e) => {
                    self.load.fetch_sub(1, Ordering::Relaxed);
                    tracing::warn!("cannot serve a connection from {peer}: {e}");
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.load.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::serve::Listener;
    use tokio::sync::watch;

    use super::{Counted, Inbox, spread};

    async fn start(n: usize) -> (std::net::SocketAddr, Vec<Inbox>, watch::Sender<bool>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let local = listener.local_addr().unwrap();
        let (stop_tx, stop) = watch::channel(false);
        let (acceptor, inboxes) = spread(listener, n, stop).unwrap();
        tokio::spawn(acceptor);
        (local, inboxes, stop_tx)
    }

    /// Connects, and waits until `inbox` has the connection.
    async fn connect_to(addr: std::net::SocketAddr, inbox: &mut Inbox) -> (tokio::net::TcpStream, Counted) {
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (served, _) = tokio::time::timeout(Duration::from_secs(5), inbox.accept()).await.expect("handed over");
        (client, served)
    }

    /// Whether `inbox` receives a connection within a short wait.
    async fn receives(inbox: &mut Inbox) -> bool {
        tokio::time::timeout(Duration::from_millis(200), inbox.accept()).await.is_ok()
    }

    #[tokio::test]
    async fn each_connection_goes_to_the_worker_serving_fewest() {
        let (addr, mut inboxes, _stop) = start(2).await;
        // Two connections: one each (ties go round).
        let _a = connect_to(addr, &mut inboxes[0]).await;
        let b = connect_to(addr, &mut inboxes[1]).await;
        // The second worker's connection closes: the next one goes to it again, though it is
        // the first worker's turn.
        drop(b);
        let _c = connect_to(addr, &mut inboxes[1]).await;
        assert!(!receives(&mut inboxes[0]).await, "nothing else was handed to the first worker");
        // Both serve one again: the next goes to either, the one after to the other.
        let _d = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _e = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (first, second) = inboxes.split_at_mut(1);
        assert!(receives(&mut first[0]).await && receives(&mut second[0]).await, "one each");
    }

    #[tokio::test]
    async fn a_stopped_worker_s_share_goes_to_the_others_and_stop_closes_the_port() {
        let (addr, mut inboxes, stop) = start(2).await;
        drop(inboxes.remove(0));
        for _ in 0..3 {
            let (mut client, mut served) = connect_to(addr, &mut inboxes[0]).await;
            // The handed-over connection is the client's.
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            client.write_all(b"ping").await.unwrap();
            let mut got = [0u8; 4];
            served.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"ping");
        }
        stop.send(true).unwrap();
        let refused = async {
            loop {
                if tokio::net::TcpStream::connect(addr).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), refused).await.expect("the listening socket closes on stop");
    }
}
