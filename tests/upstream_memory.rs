//! Memory after refused and failed upstream replies (Linux: `/proc/PID/status`).
//!
//! A reply over `--max-response-bytes` is refused with 502 whatever its framing; before the fix a
//! chunked or read-until-close one left the tens of megabytes read before the refusal resident
//! (mimalloc purges freed memory on the thread's next allocations, and an idle worker makes
//! none). Now the executor hands large dropped bodies back (`ExecutorConfig::release_memory`):
//! a second after one refusal, or eight at once, the resident memory is within 5 MB of where it
//! was. The figures are printed (`cargo test --test upstream_memory -- --nocapture`).

mod support;

use std::time::Duration;

use support::naftiko::Naftiko;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How an upstream frames its reply.
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// `Transfer-Encoding: chunked`, 100 MB.
    Chunked,
    /// Read until the connection closes, 100 MB.
    UntilClose,
    /// `Content-Length: 100 MB` (refused from the head, nothing read).
    Length,
    /// `Content-Length` of 24 MiB (under the limit), closed after 16 MiB: a failed reply.
    CutShort,
}

const MB: usize = 1024 * 1024;

/// An upstream on the loopback answering every request with `framing`'s reply of zeros.
async fn upstream(framing: Framing) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let small = head.starts_with(b"GET /v2/users/small");
                let block = vec![b'0'; 64 * 1024];
                let (reply_head, total, chunked) = match framing {
                    _ if small => {
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n42").await;
                        return;
                    }
                    Framing::Chunked => ("transfer-encoding: chunked\r\n".to_string(), 100 * MB, true),
                    Framing::UntilClose => ("connection: close\r\n".to_string(), 100 * MB, false),
                    Framing::Length => (format!("content-length: {}\r\n", 100 * MB), 100 * MB, false),
                    Framing::CutShort => (format!("content-length: {}\r\n", 24 * MB), 16 * MB, false),
                };
                let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{reply_head}\r\n");
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut sent = 0;
                while sent < total {
                    let written = if chunked {
                        let mut piece = format!("{:x}\r\n", block.len()).into_bytes();
                        piece.extend_from_slice(&block);
                        piece.extend_from_slice(b"\r\n");
                        s.write_all(&piece).await
                    } else {
                        s.write_all(&block).await
                    };
                    if written.is_err() {
                        return; // refused: naftiko closed the connection
                    }
                    sent += block.len();
                }
                if chunked {
                    let _ = s.write_all(b"0\r\n\r\n").await;
                }
            });
        }
    });
    url
}

/// `VmRSS` (or another field) of a process, in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

async fn status_of(url: &str) -> u16 {
    reqwest::get(url).await.map(|r| r.status().as_u16()).unwrap_or(0)
}

/// Starts naftiko in front of a `framing` upstream, sends one refused request then eight at
/// once, and checks the resident memory a second after each against the level before.
async fn memory_returns_after(framing: Framing, expected_status: u16) {
    let upstream = upstream(framing).await;
    let base = format!("api={upstream}/v2");
    let fixture = support::workspace_root().join("tests/fixtures/shaping.yaml");
    // The default limit (32 MiB); two workers, each with its own heap.
    let server = Naftiko::start(&fixture, &["--base-uri", &base, "--workers", "2"], &[("FIXTURE_TOKEN", "t")]);
    let rest = server.url("shaping").to_string();
    let pid = server.pid();
    // Warm: a small call on each worker (connections, pools, lazily built state).
    for _ in 0..4 {
        assert_eq!(status_of(&format!("{rest}/scalar/small")).await, 200);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = status_kb(pid, "VmRSS:");
    assert!(before > 0, "no /proc/{pid}/status");

    assert_eq!(status_of(&format!("{rest}/whole/1")).await, expected_status);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_one = status_kb(pid, "VmRSS:");
    let peak_one = status_kb(pid, "VmHWM:");

    let whole = format!("{rest}/whole/1");
    let statuses = futures_util::future::join_all((0..8).map(|_| status_of(&whole))).await;
    assert!(statuses.iter().all(|s| *s == expected_status), "{statuses:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_eight = status_kb(pid, "VmRSS:");
    let peak_eight = status_kb(pid, "VmHWM:");

    eprintln!(
        "{framing:?}: VmRSS before {before} kB; after one {after_one} kB (peak {peak_one} kB); \
         after eight {after_eight} kB (peak {peak_eight} kB)"
    );
    for (what, after) in [("one refusal", after_one), ("eight at once", after_eight)] {
        assert!(
            after <= before + 5 * 1024,
            "{framing:?}: {what} left VmRSS at {after} kB, {} kB over the {before} kB before",
            after - before
        );
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn memory_returns_after_refused_chunked_replies() {
    memory_returns_after(Framing::Chunked, 502).await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn memory_returns_after_refused_until_close_replies() {
    memory_returns_after(Framing::UntilClose, 502).await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn memory_returns_after_refused_content_length_replies() {
    memory_returns_after(Framing::Length, 502).await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn memory_returns_after_replies_cut_short() {
    memory_returns_after(Framing::CutShort, 502).await;
}
