//! The server over a real loopback socket, spoken to byte by byte.

use std::time::Duration;

use axum::body::Body;
use http::{Request, Response};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Answers `METHOD PATH len=N body=…` with the request body it read; `/slow` waits a little
/// first, `/ignore` does not read the body.
async fn echo(req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    if parts.uri.path() == "/slow" {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = if parts.uri.path() == "/ignore" {
        String::new()
    } else {
        match body.collect().await {
            Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
            Err(e) => format!("body error: {e}"),
        }
    };
    Response::new(Body::from(format!("{} {} len={} body={text}", parts.method, parts.uri, text.len())))
}

/// The policy the tests run under: short timeouts, small limits.
fn policy() -> super::ConnectionPolicy {
    super::ConnectionPolicy {
        head_timeout: HEAD_TIMEOUT,
        body_idle_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_secs(2),
        write_timeout: Duration::from_millis(300),
        keep_alive_timeout: Duration::from_millis(600),
        max_body_bytes: 1000,
        ..super::ConnectionPolicy::default()
    }
    .with_max_connections(4)
}

const HEAD_TIMEOUT: Duration = Duration::from_millis(400);

async fn start() -> (std::net::SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>) {
    start_with(policy()).await
}

async fn start_with(
    policy: super::ConnectionPolicy,
) -> (std::net::SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(super::serve(listener, policy, echo, async move {
        let _ = stopped.await;
    }));
    (addr, stop, server)
}

/// Everything the server sends until it closes the connection (or 2 s pass).
async fn read_all(io: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), io.read_to_end(&mut got)).await;
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends `raw` and reads until `responses` bodies have arrived (by counting `HTTP/1.1 ` lines).
async fn exchange(io: &mut TcpStream, raw: &[u8], responses: usize) -> String {
    io.write_all(raw).await.unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while String::from_utf8_lossy(&got).matches("HTTP/1.1 2").count() < responses
        || !String::from_utf8_lossy(&got).ends_with(|c: char| c.is_ascii_alphanumeric() || c == '=')
    {
        let n = tokio::time::timeout(Duration::from_secs(2), io.read(&mut chunk)).await.expect("an answer").unwrap();
        assert!(n > 0, "closed early after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_on_one_connection() {
    let (addr, _stop, _server) = start().await;
    let mut io = TcpStream::connect(addr).await.unwrap();
    let got = exchange(
        &mut io,
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz",
        2,
    )
    .await;
    let a = got.find("GET /a len=0 body=").expect(&got);
    let b = got.find("POST /b?q=1 len=3 body=xyz").expect(&got);
    assert!(a < b, "{got}");
    assert!(got.contains("content-length: 18\r\n"), "{got}");
    assert!(!got.contains("connection: close"), "{got}");
}

#[tokio::test]
async fn a_chunked_body_arriving_in_pieces_reaches_the_handler_whole() {
    let (addr, _stop, _server) = start().await;
    let mut io = TcpStream::connect(addr).await.unwrap();
    io.write_all(b"PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let got = exchange(&mut io, b"3\r\nefg\r\n0\r\n\r\n", 1).await;
    assert!(got.contains("PUT /c len=7 body=abcdefg"), "{got}");
    // The connection is still good for the next request.
    let got = exchange(&mut io, b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n", 1).await;
    assert!(got.contains("GET /next len=0"), "{got}");
}

#[tokio::test]
async fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let (addr, _stop, _server) = start().await;
    let mut io = TcpStream::connect(addr).await.unwrap();
    io.write_all(b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").await.unwrap();
    let mut first = [0u8; 25];
    tokio::time::timeout(Duration::from_secs(2), io.read_exact(&mut first)).await.unwrap().unwrap();
    assert_eq!(&first, b"HTTP/1.1 100 Continue\r\n\r\n");
    let got = exchange(&mut io, b"hello", 1).await;
    assert!(got.contains("POST /e len=5 body=hello"), "{got}");
}

#[tokio::test]
async fn a_malformed_head_gets_a_problem_and_the_connection_closes() {
    let (addr, _stop, _server) = start().await;
    let mut io = TcpStream::connect(addr).await.unwrap();
    io.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx").await.unwrap();
    let got = read_all(&mut io).await;
    assert!(got.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{got}");
    assert!(got.contains("content-type: application/problem+json") && got.contains("connection: close"), "{got}");
    assert!(got.contains("conflicting Content-Length headers"), "{got}");
    // The server goes on serving others.
    let mut io = TcpStream::connect(addr).await.unwrap();
    assert!(exchange(&mut io, b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", 1).await.contains("GET /ok"));
}

#[tokio::test]
async fn http_1_0_and_connection_close_end_the_connection_after_the_response() {
    let (addr, _stop, _server) = start().await;
    for raw in [&b"GET /old HTTP/1.0\r\n\r\n"[..], b"GET /old HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"] {
        let mut io = TcpStream::connect(addr).await.unwrap();
        io.write_all(raw).await.unwrap();
        let got = read_all(&mut io).await;
        assert!(got.contains("connection: close\r\n") && got.ends_with("GET /old len=0 body="), "{got}");
    }
}

#[tokio::test]
async fn a_body_the_handler_ignores_closes_the_connection_instead_of_being_read_as_a_request() {
    let (addr, _stop, _server) = start().await;
    let mut io = TcpStream::connect(addr).await.unwrap();
    // Only part of the declared body is sent: the handler answers without it.
    io.write_all(
        b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await
    .unwrap();
    let got = read_all(&mut io).await;
    assert!(got.contains("POST /ignore len=0") && got.contains("connection: close"), "{got}");
    assert!(!got.contains("smuggled"), "{got}");
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish_then_stops() {
    let (addr, stop, server) = start().await;
    let mut busy = TcpStream::connect(addr).await.unwrap();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    let got = read_all(&mut busy).await;
    assert!(got.starts_with("HTTP/1.1 200 OK") && got.ends_with("GET /slow len=0 body="), "{got}");
    assert!(got.contains("connection: close"), "{got}");
    assert_eq!(read_all(&mut idle).await, "", "an idle connection is closed without a response");
    tokio::time::timeout(Duration::from_secs(2), server).await.expect("the server returns").unwrap().unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "no longer accepting");
}

#[tokio::test]
async fn a_head_that_trickles_in_too_slowly_gets_408_and_an_idle_connection_is_closed() {
    let timeout = HEAD_TIMEOUT;
    let (addr, _stop, _server) = start().await;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    // One byte every tenth of the timeout: the head never completes, and the bytes do not buy time.
    let head = b"GET /slow-loris HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut got = String::new();
    let mut sent = 0;
    for b in head.iter() {
        if slow.write_all(&[*b]).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(timeout / 10).await;
        let mut chunk = [0u8; 1024];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(1), slow.read(&mut chunk)).await {
            got.push_str(&String::from_utf8_lossy(&chunk[..n]));
            break;
        }
    }
    got.push_str(&read_all(&mut slow).await);
    assert!(got.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{got}");
    assert!(sent < head.len() / 2, "refused while the head was still trickling in ({sent} bytes sent)");
    assert_eq!(read_all(&mut idle).await, "", "an idle connection is closed without a response");
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_and_the_handler_is_dropped() {
    let (addr, _stop, _server) = start().await;
    let mut io = TcpStream::connect(addr).await.unwrap();
    io.write_all(b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc").await.unwrap();
    let started = std::time::Instant::now();
    let got = read_all(&mut io).await;
    assert!(got.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{got}");
    assert!(got.contains("connection: close") && !got.contains("len="), "the handler's answer never went: {got}");
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_malformed_or_oversized_body_is_refused_at_once() {
    let (addr, _stop, _server) = start().await;
    let cases: [(&[u8], &str); 4] = [
        (b"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n", "400 Bad Request"),
        (b"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", "400 Bad Request"),
        (b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n", "413 Payload Too Large"),
        (b"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n", "413 Payload Too Large"),
    ];
    for (raw, status) in cases {
        let mut io = TcpStream::connect(addr).await.unwrap();
        io.write_all(raw).await.unwrap();
        if status.starts_with("413") && raw.ends_with(b"3e9\r\n") {
            io.write_all(&[b'x'; 1001]).await.unwrap();
        }
        let started = std::time::Instant::now();
        let got = read_all(&mut io).await;
        assert!(got.starts_with(&format!("HTTP/1.1 {status}\r\n")), "{status}: {got}");
        assert!(started.elapsed() < Duration::from_millis(250), "at once: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn connections_past_the_cap_get_503_and_places_come_back() {
    let (addr, _stop, _server) = start().await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let got = read_all(&mut extra).await;
    assert!(got.starts_with("HTTP/1.1 503 Service Unavailable\r\n") && got.contains("retry-after: 1"), "{got}");
    held.clear();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut io = TcpStream::connect(addr).await.unwrap();
    assert!(exchange(&mut io, b"GET /back HTTP/1.1\r\nHost: x\r\n\r\n", 1).await.contains("GET /back"));
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout() {
    let (addr, _stop, _server) = start().await;
    let mut io = TcpStream::connect(addr).await.unwrap();
    assert!(exchange(&mut io, b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n", 1).await.contains("GET /first"));
    let started = std::time::Instant::now();
    assert_eq!(read_all(&mut io).await, "", "closed without a word");
    assert!(started.elapsed() >= Duration::from_millis(250), "not before half the keep-alive timeout");
}

#[tokio::test]
async fn a_client_that_does_not_read_is_cut_after_the_write_timeout() {
    async fn big(_req: Request<Body>) -> Response<Body> {
        let piece = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
        let stream = futures_util::stream::iter((0..1024).map(move |_| Ok::<_, std::io::Error>(piece.clone())));
        Response::new(Body::from_stream(stream))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(super::serve(listener, policy(), big, std::future::pending()));
    let mut io = TcpStream::connect(addr).await.unwrap();
    io.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    // Never read: the server's writes stop making progress; it gives up and closes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut sink = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), io.read_to_end(&mut sink)).await;
    assert!(read.is_ok(), "the server closed the connection");
    assert!(sink.len() < 64 * 1024 * 1024, "the whole body was not written ({} bytes)", sink.len());
    server.abort();
}

#[tokio::test]
async fn expect_continue_waits_for_the_handler_to_read() {
    let (addr, _stop, _server) = start().await;
    let mut io = TcpStream::connect(addr).await.unwrap();
    io.write_all(b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .await
        .unwrap();
    let got = read_all(&mut io).await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n") && !got.contains("100 Continue"), "{got}");
}
