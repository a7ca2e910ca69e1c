//! Helpers shared by the end-to-end tests: where the shared conformance data is, and the binary.
#![allow(dead_code)]

use std::path::PathBuf;

/// The workspace root (the directory holding the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|p| p.join("capabilities").is_dir() && p.join("crates").is_dir())
        .map(PathBuf::from)
        .unwrap_or(here)
}

/// `../shared` beside the project (or `$NAFTIKO_SHARED`), when present. Tests that need it call
/// this and return early, printing why, when it is absent.
pub fn shared_dir() -> Option<PathBuf> {
    let candidate = std::env::var_os("NAFTIKO_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("..").join("shared"));
    if candidate.join("corpus").is_dir() {
        Some(candidate)
    } else {
        eprintln!(
            "SKIPPED: shared conformance data not found at {} (set NAFTIKO_SHARED to its location)",
            candidate.display()
        );
        None
    }
}

/// The `naftiko` binary built for this test run.
pub fn naftiko_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_naftiko"))
}

/// A directory for reports written by tests (`target/reports`).
pub fn report_dir() -> PathBuf {
    let dir = workspace_root().join("target").join("reports");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

pub mod mcp;
pub mod naftiko;
pub mod shipyard;
pub mod upstream;

/// Sends `GET path` exactly as written (no normalisation) and returns the status and body.
#[allow(dead_code)]
pub async fn raw_get(base: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}
