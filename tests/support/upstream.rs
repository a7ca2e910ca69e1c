//! A recording upstream for end-to-end tests: every request is kept (method, path, query,
//! headers, body) and answered by a configurable responder (an echo by default).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use http_body_util::BodyExt;

/// One request the upstream received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HashMap<String, String>,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What to answer.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub delay: Duration,
    pub headers: Vec<(String, String)>,
    /// Stream this many bytes (`0`s, JSON-looking) instead of `body`.
    pub stream_len: Option<usize>,
}

impl Reply {
    pub fn json(status: u16, v: serde_json::Value) -> Reply {
        Reply {
            status,
            content_type: Some("application/json".into()),
            body: Bytes::from(v.to_string()),
            delay: Duration::ZERO,
            headers: vec![],
            stream_len: None,
        }
    }
    pub fn huge(len: usize) -> Reply {
        Reply { stream_len: Some(len), ..Reply::json(200, serde_json::Value::Null) }
    }
    pub fn text(status: u16, ct: &str, body: &str) -> Reply {
        Reply {
            status,
            content_type: Some(ct.into()),
            body: Bytes::from(body.to_string()),
            delay: Duration::ZERO,
            headers: vec![],
            stream_len: None,
        }
    }
}

type Responder = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

#[derive(Clone)]
struct Shared {
    log: Arc<Mutex<Vec<Recorded>>>,
    responder: Arc<Mutex<Responder>>,
}

/// A running upstream on 127.0.0.1 (port 0).
pub struct Upstream {
    pub addr: SocketAddr,
    shared: Shared,
}

impl Upstream {
    /// Starts an upstream answering `200` with a JSON echo of the request.
    pub async fn start() -> Upstream {
        let shared = Shared { log: Arc::default(), responder: Arc::new(Mutex::new(Arc::new(echo))) };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new().fallback(record).with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Upstream { addr, shared }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the responder.
    pub fn respond(&self, f: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) {
        *self.shared.responder.lock().unwrap() = Arc::new(f);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Forgets received requests.
    pub fn clear(&self) {
        self.shared.log.lock().unwrap().clear();
    }

    /// The only request received since the last `clear` (panics otherwise).
    pub fn single(&self) -> Recorded {
        let log = self.requests();
        assert_eq!(log.len(), 1, "expected exactly one upstream request, got {log:#?}");
        log.into_iter().next().unwrap()
    }
}

/// The default reply: 200 with the request as JSON.
pub fn echo(r: &Recorded) -> Reply {
    Reply::json(200, serde_json::json!({"method": r.method, "path": r.path, "query": r.query, "body": r.json()}))
}

async fn record(State(shared): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let rec = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body,
    };
    let responder = shared.responder.lock().unwrap().clone();
    let reply = responder(&rec);
    shared.log.lock().unwrap().push(rec);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut resp = match reply.stream_len {
        Some(len) => {
            let chunk = Bytes::from(vec![b'0'; 64 * 1024]);
            let chunks = len.div_ceil(chunk.len());
            let stream = futures_util::stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
            Response::new(Body::from_stream(stream))
        }
        None => Response::new(Body::from(reply.body)),
    };
    *resp.status_mut() = http::StatusCode::from_u16(reply.status).unwrap_or(http::StatusCode::OK);
    if let Some(ct) = reply.content_type {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, ct.parse().unwrap());
    }
    for (k, v) in reply.headers {
        resp.headers_mut().insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    resp
}
