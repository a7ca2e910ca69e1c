//! The connection policy's flags: one per setting of [`ConnectionPolicy`], each with a
//! `NAFTIKO_`-prefixed environment form (the flag wins). docs/operations.md has the table.

use std::time::Duration;

use naftiko_http::ConnectionPolicy;

/// Limits and timeouts every adapter's connections are held to (REST, MCP, Skill, Control).
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Time for a request head to arrive (from its first byte, or from the connection's start), ms.
    #[arg(long, env = "NAFTIKO_HEAD_TIMEOUT_MS", default_value_t = 30_000, value_name = "MS")]
    pub head_timeout_ms: u64,
    /// Longest wait for the next piece of a request body, or of a streamed response body, ms.
    #[arg(long, env = "NAFTIKO_BODY_IDLE_TIMEOUT_MS", default_value_t = 30_000, value_name = "MS")]
    pub body_idle_timeout_ms: u64,
    /// Time for a whole request body to arrive, ms.
    #[arg(long, env = "NAFTIKO_BODY_TIMEOUT_MS", default_value_t = 300_000, value_name = "MS")]
    pub body_timeout_ms: u64,
    /// Longest wait for a client to read what is written to it, ms.
    #[arg(long, env = "NAFTIKO_WRITE_TIMEOUT_MS", default_value_t = 30_000, value_name = "MS")]
    pub write_timeout_ms: u64,
    /// How long an idle kept-alive connection stays open between requests, ms.
    #[arg(long, env = "NAFTIKO_KEEP_ALIVE_TIMEOUT_MS", default_value_t = 60_000, value_name = "MS")]
    pub keep_alive_timeout_ms: u64,
    /// Most connections open at once per adapter; beyond it new ones get 503 and are closed.
    #[arg(long, env = "NAFTIKO_MAX_CONNECTIONS", default_value_t = ConnectionPolicy::DEFAULT_MAX_CONNECTIONS, value_parser = at_least_one)]
    pub max_connections: usize,
    /// Most header lines in a request (at most 256).
    #[arg(long, env = "NAFTIKO_MAX_HEADERS", default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_headers: u16,
    /// Largest request head (request line and headers), bytes.
    #[arg(long, env = "NAFTIKO_MAX_HEAD_BYTES", default_value_t = 64 * 1024, value_name = "BYTES")]
    pub max_head_bytes: usize,
    /// Largest request body, bytes.
    #[arg(long, env = "NAFTIKO_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024, value_name = "BYTES")]
    pub max_body_bytes: u64,
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("at least one is needed".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

impl LimitArgs {
    /// The policy these flags describe (its gate is replaced per adapter).
    pub fn policy(&self) -> ConnectionPolicy {
        ConnectionPolicy {
            head_timeout: Duration::from_millis(self.head_timeout_ms.max(1)),
            body_idle_timeout: Duration::from_millis(self.body_idle_timeout_ms.max(1)),
            body_timeout: Duration::from_millis(self.body_timeout_ms.max(1)),
            write_timeout: Duration::from_millis(self.write_timeout_ms.max(1)),
            keep_alive_timeout: Duration::from_millis(self.keep_alive_timeout_ms.max(1)),
            max_headers: usize::from(self.max_headers),
            max_head_bytes: self.max_head_bytes.max(64),
            max_body_bytes: self.max_body_bytes,
            ..ConnectionPolicy::default()
        }
        .with_max_connections(self.max_connections)
    }
}
