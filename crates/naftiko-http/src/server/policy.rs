//! The connection policy: how long a client may take and how much it may send, the same for
//! every adapter (REST, MCP, Skill, Control). Defaults are what a public deployment can keep;
//! docs/operations.md has the table, with each setting's flag and environment variable.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Limits and timeouts of one adapter's connections.
#[derive(Debug, Clone)]
pub struct ConnectionPolicy {
    /// From a request's first byte to the end of its head (and from accepting a connection to
    /// its first request's head): past it, 408 and the connection closes.
    pub head_timeout: Duration,
    /// Longest wait for the next piece of a request body: past it, 408 and close.
    pub body_idle_timeout: Duration,
    /// Longest time to receive a whole request body: past it, 408 and close.
    pub body_timeout: Duration,
    /// Longest wait for a response write to make progress (a client that stops reading):
    /// past it, the connection closes.
    pub write_timeout: Duration,
    /// How long a kept-alive connection may sit idle between requests before it is closed.
    pub keep_alive_timeout: Duration,
    /// The most header lines a request may carry (431 beyond).
    pub max_headers: usize,
    /// The largest request head, request line and headers (431 beyond).
    pub max_head_bytes: usize,
    /// The largest request body (413 beyond: at once for a declared length, when it is reached
    /// for a chunked body).
    pub max_body_bytes: u64,
    /// The adapter's cap on open connections, shared by all its workers.
    pub gate: Arc<ConnectionGate>,
}

impl ConnectionPolicy {
    /// The default connection cap of an adapter.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

    /// A policy with its own gate of `max_connections` (the other settings as given).
    pub fn with_max_connections(mut self, max_connections: usize) -> ConnectionPolicy {
        self.gate = Arc::new(ConnectionGate::new(max_connections));
        self
    }

    /// The same settings with a gate of their own: each adapter counts its own connections.
    pub fn for_adapter(&self) -> ConnectionPolicy {
        let max = self.gate.max;
        self.clone().with_max_connections(max)
    }
}

impl Default for ConnectionPolicy {
    fn default() -> Self {
        ConnectionPolicy {
            head_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(300),
            write_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(60),
            max_headers: 100,
            max_head_bytes: 64 * 1024,
            max_body_bytes: 16 * 1024 * 1024,
            gate: Arc::new(ConnectionGate::new(Self::DEFAULT_MAX_CONNECTIONS)),
        }
    }
}

/// Counts an adapter's open connections against its cap. A connection past the cap is answered
/// 503 with `Retry-After` and closed at once, so the count (and the memory it stands for) never
/// grows beyond the cap.
#[derive(Debug)]
pub struct ConnectionGate {
    open: AtomicUsize,
    max: usize,
    /// Refused connections being closed gracefully now (bounded: past it they are dropped).
    pub(crate) closing: AtomicUsize,
}

impl ConnectionGate {
    /// A gate letting `max` connections in at once (at least one).
    pub fn new(max: usize) -> ConnectionGate {
        ConnectionGate { open: AtomicUsize::new(0), max: max.max(1), closing: AtomicUsize::new(0) }
    }

    /// A place for one more connection, or `None` when the adapter is full.
    pub fn enter(self: &Arc<Self>) -> Option<Admitted> {
        let mut open = self.open.load(Ordering::Relaxed);
        loop {
            if open >= self.max {
                return None;
            }
            match self.open.compare_exchange_weak(open, open + 1, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Some(Admitted(self.clone())),
                Err(now) => open = now,
            }
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// One connection's place in its adapter's gate, given back when dropped.
#[derive(Debug)]
pub struct Admitted(Arc<ConnectionGate>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_admits_up_to_its_cap_and_frees_places_on_drop() {
        let gate = Arc::new(ConnectionGate::new(2));
        let a = gate.enter().expect("first");
        let _b = gate.enter().expect("second");
        assert!(gate.enter().is_none(), "full");
        drop(a);
        assert_eq!(gate.open(), 1);
        assert!(gate.enter().is_some());
    }
}
