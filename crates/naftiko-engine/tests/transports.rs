//! The executor's two transports — its own HTTP/1.1 connections (plain `http://`, the default)
//! and the shared reqwest client (which serves `https://`) — send the same requests and read the
//! same responses: each exchange here goes through both against the same recording upstream.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use naftiko_engine::CallSite;
use naftiko_engine::http::{
    Auth, ExecutorConfig, HttpExecutor, UpstreamBody, UpstreamError, UpstreamRequest, UpstreamResponse,
};
use naftiko_engine::secret::Secret;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn executor(own_plain_http: bool) -> HttpExecutor {
    HttpExecutor::new(ExecutorConfig {
        own_plain_http,
        total_timeout: Duration::from_secs(2),
        max_response_bytes: 64 * 1024,
        ..ExecutorConfig::default()
    })
}

fn request(m: Method, url: String, body: UpstreamBody) -> UpstreamRequest {
    let mut headers = HeaderMap::new();
    headers.insert("x-integration-id", HeaderValue::from_static("int-42"));
    UpstreamRequest {
        call: CallSite { namespace: "api".into(), operation: "op".into() },
        method: m,
        url,
        shown_url: None,
        query: vec![("page_size".into(), "10".into()), ("cursor".into(), "a b".into())],
        headers,
        body,
        auth: Some(Auth::Bearer(Secret::new("token-1"))),
    }
}

/// What the upstream saw, without what legitimately differs between two connections.
fn seen(r: &Request) -> (String, String, Vec<(String, String)>, Vec<u8>) {
    let mut headers: Vec<(String, String)> =
        r.headers.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("?").to_string())).collect();
    headers.sort();
    (r.method.to_string(), r.url.to_string(), headers, r.body.clone())
}

fn answered(r: Result<UpstreamResponse, UpstreamError>) -> (u16, Option<String>, Bytes) {
    match r {
        Ok(r) => {
            let ct = r.headers.get("content-type").map(|v| String::from_utf8(v.to_vec()).unwrap());
            (r.status.as_u16(), ct, r.body)
        }
        Err(e) => (e.status_hint(), Some(e.to_string()), Bytes::new()),
    }
}

#[tokio::test]
async fn both_transports_send_and_read_alike() {
    let server = MockServer::start().await;
    for m in mocks() {
        m.mount(&server).await;
    }
    let base = server.uri();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let exchanges: Vec<Box<dyn Fn() -> UpstreamRequest>> = vec![
        Box::new(|| request(Method::GET, format!("{base}/v1/items/7"), UpstreamBody::None)),
        Box::new(|| {
            let body = UpstreamBody::Bytes {
                bytes: Bytes::from_static(br#"{"name":"x"}"#),
                content_type: Some(HeaderValue::from_static("application/json")),
            };
            request(Method::POST, format!("{base}/v1/items"), body)
        }),
        Box::new(|| request(Method::POST, format!("{base}/v1/items"), UpstreamBody::None)),
        Box::new(|| {
            let chunks = futures_util::stream::iter(vec![Ok(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"cd"))]);
            let body = UpstreamBody::Stream { body: Box::pin(chunks), length: Some(4), content_type: None };
            request(Method::PUT, format!("{base}/v1/items/7"), body)
        }),
        Box::new(|| request(Method::DELETE, format!("{base}/v1/items/7"), UpstreamBody::None)),
        Box::new(|| request(Method::GET, format!("{base}/v1/missing"), UpstreamBody::None)),
        Box::new(|| request(Method::GET, format!("{base}/v1/huge"), UpstreamBody::None)),
        Box::new(|| request(Method::GET, format!("{base}/v1/slow"), UpstreamBody::None)),
        Box::new(|| request(Method::GET, format!("http://127.0.0.1:{closed}/v1"), UpstreamBody::None)),
    ];
    let own = executor(true);
    let shared = executor(false);
    for make in &exchanges {
        let a = answered(own.send(make()).await);
        let b = answered(shared.send(make()).await);
        assert_eq!(a, b, "the two transports read different responses");
        let recorded = server.received_requests().await.unwrap();
        if let [.., first, second] = recorded.as_slice() {
            assert_eq!(seen(first), seen(second), "the two transports sent different requests");
        }
        server.reset().await;
        // reset() drops the mocks too: mount them again for the next exchange.
        for m in mocks() {
            m.mount(&server).await;
        }
    }
}

fn mocks() -> Vec<Mock> {
    vec![
        Mock::given(method("GET"))
            .and(path("/v1/items/7"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"id":7}"#, "application/json")),
        Mock::given(method("POST"))
            .and(path("/v1/items"))
            .respond_with(ResponseTemplate::new(201).set_body_raw(r#"{"created":true}"#, "application/json")),
        Mock::given(method("PUT")).respond_with(ResponseTemplate::new(200).set_body_string("put")),
        Mock::given(method("DELETE")).respond_with(ResponseTemplate::new(204)),
        Mock::given(method("GET"))
            .and(path("/v1/missing"))
            .respond_with(ResponseTemplate::new(404).set_body_raw(r#"{"error":"no"}"#, "application/json")),
        Mock::given(method("GET"))
            .and(path("/v1/huge"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 100 * 1024])),
        Mock::given(method("GET"))
            .and(path("/v1/slow"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5))),
    ]
}
