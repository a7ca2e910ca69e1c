//! Hostile clients and upstreams against the real binary, with short limits set by the flags:
//! values that try to climb out of the consumed path, connections that never end, malformed
//! framing, a full adapter. Each case checks the answer, that nothing was sent upstream where
//! nothing should be, and that the server keeps serving.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::naftiko::Naftiko;

/// Short limits, so that the timeouts are seen in a test's time.
const LIMITS: &[&str] = &[
    "--head-timeout-ms",
    "600",
    "--body-idle-timeout-ms",
    "600",
    "--body-timeout-ms",
    "3000",
    "--write-timeout-ms",
    "600",
    "--keep-alive-timeout-ms",
    "900",
    "--max-connections",
    "6",
    "--timeout-ms",
    "5000",
    "--workers",
    "1",
];

/// What the raw upstream saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    /// The body arrived whole (by its framing).
    complete: bool,
}

/// How the raw upstream answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// `200` with `{"ok":true}`.
    Json,
    /// A head announcing 100 bytes, 10 of them, then silence.
    StallBody,
    /// `302` to another place.
    Redirect,
}

/// An upstream spoken to byte by byte: it records what arrives, answers by its mode.
struct RawUpstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    mode: Arc<Mutex<Mode>>,
}

impl RawUpstream {
    fn start() -> RawUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(Mode::Json));
        let (s, m) = (seen.clone(), mode.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().map_while(Result::ok) {
                let (s, m) = (s.clone(), m.clone());
                std::thread::spawn(move || serve_raw(conn, &s, &m));
            }
        });
        RawUpstream { addr, seen, mode }
    }

    fn base(&self) -> String {
        format!("api=http://{}/api/v1", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

fn serve_raw(mut conn: TcpStream, seen: &Mutex<Vec<Seen>>, mode: &Mutex<Mode>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let head_end = loop {
            if let Some(at) = find(&buf, b"\r\n\r\n") {
                break at + 4;
            }
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end);
        let lower = head.to_ascii_lowercase();
        let length =
            lower.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok());
        let chunked = lower.contains("transfer-encoding: chunked");
        let mut complete = true;
        if let Some(n) = length {
            while buf.len() < n {
                match conn.read(&mut chunk) {
                    Ok(0) | Err(_) => {
                        complete = false;
                        break;
                    }
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
            }
        } else if chunked {
            while find(&buf, b"0\r\n\r\n").is_none() {
                match conn.read(&mut chunk) {
                    Ok(0) | Err(_) => {
                        complete = false;
                        break;
                    }
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
            }
        }
        buf.clear();
        seen.lock().unwrap().push(Seen { head, complete });
        if !complete {
            return;
        }
        let reply: &[u8] = match *mode.lock().unwrap() {
            Mode::Json => {
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}"
            }
            Mode::Redirect => {
                b"HTTP/1.1 302 Found\r\nlocation: http://elsewhere.invalid/login\r\ncontent-length: 0\r\n\r\n"
            }
            Mode::StallBody => {
                let _ = conn
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n0123456789");
                std::thread::sleep(Duration::from_secs(20));
                return;
            }
        };
        if conn.write_all(reply).is_err() {
            return;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn fixture() -> PathBuf {
    support::workspace_root().join("tests/fixtures/hardening.yaml")
}

fn start(upstream: &RawUpstream, extra: &[&str]) -> Naftiko {
    let base = upstream.base();
    let mut args: Vec<&str> = vec!["--base-uri", &base];
    args.extend_from_slice(LIMITS);
    args.extend_from_slice(extra);
    Naftiko::start(&fixture(), &args, &[("HARDENING_TOKEN", "s3cr3t-token")])
}

fn addr_of(url: &str) -> String {
    url.trim_start_matches("http://").trim_end_matches('/').to_string()
}

/// Sends `raw` on a new connection and reads until the server closes it or `wait` passes:
/// what came back, and whether the server closed the connection.
fn raw(addr: &str, raw: &[u8], wait: Duration) -> (String, bool) {
    let mut io = TcpStream::connect(addr).unwrap();
    io.write_all(raw).unwrap();
    read_until_close(&mut io, wait)
}

fn read_until_close(io: &mut TcpStream, wait: Duration) -> (String, bool) {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (String::from_utf8_lossy(&got).into_owned(), false);
        }
        io.set_read_timeout(Some(left)).unwrap();
        match io.read(&mut chunk) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return (String::from_utf8_lossy(&got).into_owned(), false);
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), true),
        }
    }
}

fn status_of(response: &str) -> u16 {
    response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// A plain GET that must succeed: the server is still serving.
fn still_serving(addr: &str, upstream: &RawUpstream) {
    upstream.set(Mode::Json);
    let (got, _) = raw(addr, b"GET /x/fine HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", Duration::from_secs(5));
    assert_eq!(status_of(&got), 200, "{got}");
}

async fn mcp_call(url: &str, args: Value) -> Value {
    let body =
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get-thing", "arguments": args}});
    let r = reqwest::Client::new()
        .post(format!("{url}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}

#[tokio::test]
async fn path_values_never_leave_the_consumed_path() {
    let upstream = RawUpstream::start();
    let server = start(&upstream, &[]);
    let rest = addr_of(server.url("rest"));
    let cases: &[(&str, &str)] = &[
        ("GET", "/x/%2e%2e"),
        ("GET", "/x/.."),
        ("GET", "/x/%2E."),
        ("GET", "/x/%252e%252e"),
        ("GET", "/x/%EF%BC%8E%EF%BC%8E"),
        ("GET", "/x/%C0%AE%C0%AE"),
        ("GET", "/x/a%2F..%2F..%2Fadmin"),
        ("GET", "/x/%00"),
        ("DELETE", "/r/%2e%2e/%2e%2e"),
        ("DELETE", "/r/ok/.."),
    ];
    for (method, path) in cases {
        let request = format!("{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let (got, _) = raw(&rest, request.as_bytes(), Duration::from_secs(5));
        assert_eq!(status_of(&got), 400, "{method} {path}: {got}");
        assert!(got.contains("refused") && got.contains("path parameter"), "{method} {path}: names why: {got}");
    }
    assert!(upstream.seen().is_empty(), "nothing was sent: {:?}", upstream.seen());

    // MCP arguments go through the same rule.
    let mcp = server.url("tools").to_string();
    for hostile in ["..", ".", "%2e%2e", "a/../../b", "\u{FF0E}\u{FF0E}"] {
        let reply = mcp_call(&mcp, json!({"x": hostile})).await;
        assert_eq!(reply["result"]["isError"], json!(true), "{hostile}: {reply}");
        let text = reply["result"]["content"][0]["text"].as_str().unwrap_or_default();
        assert!(text.contains('x') && text.contains("refused"), "{hostile}: names the parameter: {text}");
    }
    assert!(upstream.seen().is_empty(), "nothing was sent: {:?}", upstream.seen());

    // Ordinary values still go, each one encoded segment under the base path, with the credential.
    let (got, _) =
        raw(&rest, b"GET /x/a%20b%3Fc HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", Duration::from_secs(5));
    assert_eq!(status_of(&got), 200, "{got}");
    let reply = mcp_call(&mcp, json!({"x": "v1.2/3"})).await;
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    let seen = upstream.seen();
    assert!(seen[0].head.starts_with("GET /api/v1/things/a%20b%3Fc HTTP/1.1\r\n"), "{}", seen[0].head);
    assert!(seen[1].head.starts_with("GET /api/v1/things/v1.2%2F3 HTTP/1.1\r\n"), "{}", seen[1].head);
    assert!(seen[0].head.contains("Bearer s3cr3t-token") || seen[0].head.contains("bearer s3cr3t-token"));
}

#[tokio::test]
async fn connections_without_an_end_are_closed_on_every_adapter() {
    let upstream = RawUpstream::start();
    let server = start(&upstream, &[]);
    for ns in ["rest", "tools"] {
        let addr = addr_of(server.url(ns));
        // An idle connection: closed without an answer.
        let mut idle = TcpStream::connect(&addr).unwrap();
        let (got, closed) = read_until_close(&mut idle, Duration::from_secs(5));
        assert!(closed && got.is_empty(), "{ns}: idle connection closed silently: {got:?}");

        // A head sent a byte at a time, too slowly: 408, closed.
        let mut slow = TcpStream::connect(&addr).unwrap();
        let started = Instant::now();
        let mut answer = String::new();
        for b in format!("GET /x/slow HTTP/1.1\r\nHost: {addr}\r\n").as_bytes() {
            if slow.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(150));
            if started.elapsed() > Duration::from_secs(5) {
                break;
            }
        }
        let (rest, closed) = read_until_close(&mut slow, Duration::from_secs(5));
        answer.push_str(&rest);
        assert!(closed, "{ns}: a trickled head is cut");
        assert!(answer.is_empty() || status_of(&answer) == 408, "{ns}: {answer}");
        assert!(started.elapsed() < Duration::from_secs(8), "{ns}: cut near the head timeout");

        // A body that stalls: 408, closed.
        let path = if ns == "rest" { "/x/stall" } else { "/mcp" };
        let head = format!(
            "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"a\":"
        );
        let request = if ns == "rest" { head } else { head.replacen("PUT", "POST", 1) };
        let (got, closed) = raw(&addr, request.as_bytes(), Duration::from_secs(5));
        assert!(closed, "{ns}: a stalled body is cut: {got}");
        assert_eq!(status_of(&got), 408, "{ns}: {got}");
    }
    assert!(upstream.seen().iter().all(|s| !s.head.contains("stall")), "no stalled request completed upstream");
    still_serving(&addr_of(server.url("rest")), &upstream);
}

#[tokio::test]
async fn a_full_adapter_answers_503_and_recovers() {
    let upstream = RawUpstream::start();
    let server = start(&upstream, &[]);
    let addr = addr_of(server.url("rest"));
    let held: Vec<TcpStream> = (0..6)
        .map(|_| {
            let mut c = TcpStream::connect(&addr).unwrap();
            c.write_all(b"GET /x/held HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (got, closed) = raw(&addr, b"GET /x/one-more HTTP/1.1\r\nHost: t\r\n\r\n", Duration::from_secs(3));
    assert!(closed && status_of(&got) == 503 && got.contains("retry-after"), "{got}");
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    still_serving(&addr, &upstream);
}

#[tokio::test]
async fn malformed_framing_is_refused_at_once_and_nothing_half_sent_stays_open() {
    let upstream = RawUpstream::start();
    let server = start(&upstream, &[]);
    let addr = addr_of(server.url("rest"));
    let wait = Duration::from_secs(3);
    let cases: &[(&[u8], u16)] = &[
        (b"GET /x/a HTTP/1.1\r\n\r\n", 400),
        (b"GET /x/a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (b"GET /x/a HTTP/1.1\nHost: t\n\n", 400),
        (b"PUT /x/a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n", 400),
        (b"PUT /x/a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 400),
        (b"PUT /x/a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n", 400),
        (b"PUT /x/a HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n", 413),
    ];
    for (request, status) in cases {
        let started = Instant::now();
        let (got, closed) = raw(&addr, request, wait);
        assert_eq!(status_of(&got), *status, "{:?}: {got}", String::from_utf8_lossy(request));
        assert!(closed && started.elapsed() < Duration::from_secs(2), "answered at once, then closed");
    }

    // A forward route: the malformed body is answered 400 at once; the upstream's half-sent request is abandoned.
    upstream.clear();
    let started = Instant::now();
    let (got, closed) = raw(
        &addr,
        b"POST /fwd/things HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
        wait,
    );
    assert_eq!(status_of(&got), 400, "{got}");
    assert!(closed && started.elapsed() < Duration::from_secs(2), "at once");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        upstream.seen().iter().all(|s| !s.complete),
        "the upstream never got a whole request: {:?}",
        upstream.seen()
    );
    still_serving(&addr, &upstream);
}

#[tokio::test]
async fn expect_continue_is_answered_only_when_the_body_is_read() {
    let upstream = RawUpstream::start();
    let server = start(&upstream, &[]);
    let addr = addr_of(server.url("rest"));
    // No route: the body is never read, so no 100 Continue, just the 404.
    let (got, _) = raw(
        &addr,
        b"PUT /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        Duration::from_secs(2),
    );
    assert!(got.starts_with("HTTP/1.1 404"), "{got}");
    assert!(!got.contains("100 Continue"), "{got}");
    // A route that reads it: 100 Continue first.
    let mut io = TcpStream::connect(&addr).unwrap();
    io.write_all(b"PUT /x/a HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 25];
    io.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    io.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 100 Continue\r\n\r\n");
    io.write_all(b"{}").unwrap();
    let (got, _) = read_until_close(&mut io, Duration::from_secs(2));
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
}

#[tokio::test]
async fn a_stalled_upstream_body_is_cut_after_the_idle_timeout() {
    let upstream = RawUpstream::start();
    let server = start(&upstream, &[]);
    let addr = addr_of(server.url("rest"));
    upstream.set(Mode::StallBody);
    let started = Instant::now();
    let (got, closed) = raw(&addr, b"GET /fwd/things/slow HTTP/1.1\r\nHost: t\r\n\r\n", Duration::from_secs(8));
    assert!(got.starts_with("HTTP/1.1 200") && got.ends_with("0123456789"), "the head and what came: {got}");
    assert!(closed, "the caller's connection is closed");
    assert!(started.elapsed() < Duration::from_secs(5), "near the idle timeout: {:?}", started.elapsed());
    still_serving(&addr, &upstream);
}

#[tokio::test]
async fn an_upstream_redirect_through_mcp_is_an_error_naming_it() {
    let upstream = RawUpstream::start();
    let server = start(&upstream, &[]);
    upstream.set(Mode::Redirect);
    let reply = mcp_call(server.url("tools"), json!({"x": "moved"})).await;
    assert_eq!(reply["result"]["isError"], json!(true), "{reply}");
    let text = reply["result"]["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("302") && text.contains("http://elsewhere.invalid/login"), "{text}");
}
