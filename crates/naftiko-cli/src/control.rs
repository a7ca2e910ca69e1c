//! The control adapter (`type: control`): management endpoints for operators and orchestrators,
//! on their own port (127.0.0.1 unless the document says otherwise), behind the adapter's
//! inbound authentication when it declares one.
//!
//! - `management.health` (default true): `GET /health/live` answers `{"status":"UP"}` while the
//!   process serves; `GET /health/ready` lists every adapter with its state and answers 200 `UP`
//!   when all are serving, 503 `DEGRADED` when a worker of one has failed.
//! - `management.info` (default false): `GET /status` — label, spec version, engine version,
//!   uptime and the adapters.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use naftiko_engine::plan::ControlAdapter;
use serde_json::{Value, json};

/// One adapter the process serves, as the control adapter reports it.
#[derive(Debug)]
pub struct Running {
    /// `rest`, `mcp`, `skill` or `control`.
    pub kind: &'static str,
    /// Its namespace.
    pub namespace: String,
    /// Where it listens (`stdio` for MCP on stdio).
    pub url: String,
    /// How many workers serve it.
    pub workers: usize,
    /// How many of them have stopped with an error.
    pub failed: Arc<AtomicUsize>,
}

impl Running {
    /// An adapter served by `workers` threads (or tasks), none failed yet.
    pub fn new(kind: &'static str, namespace: &str, url: String, workers: usize) -> Running {
        Running { kind, namespace: namespace.to_string(), url, workers, failed: Arc::new(AtomicUsize::new(0)) }
    }

    fn state(&self) -> &'static str {
        match self.failed.load(Ordering::Relaxed) {
            0 => "started",
            n if n >= self.workers => "stopped",
            _ => "degraded",
        }
    }

    fn describe(&self) -> Value {
        json!({"type": self.kind, "namespace": self.namespace, "url": self.url, "state": self.state()})
    }
}

/// What every control adapter of the process reports on.
pub struct Report {
    /// The adapters, in start order.
    pub adapters: Vec<Running>,
    /// When the process started.
    pub started: Instant,
}

struct Control {
    adapter: ControlAdapter,
    report: Arc<Report>,
}

/// The application of one control adapter.
pub fn app(adapter: &ControlAdapter, report: Arc<Report>) -> axum::Router {
    let state = Arc::new(Control { adapter: adapter.clone(), report });
    let mut router = axum::Router::new();
    if adapter.health {
        router = router.route("/health/live", get(live)).route("/health/ready", get(ready));
    }
    if adapter.info {
        router = router.route("/status", get(status));
    }
    let router = router.fallback(not_found);
    let router = match &adapter.listener.auth {
        Some(_) => router.layer(middleware::from_fn_with_state(state.clone(), authenticate)),
        None => router,
    };
    router.with_state(state)
}

async fn live() -> Response {
    json_response(StatusCode::OK, json!({"status": "UP"}))
}

async fn ready(State(c): State<Arc<Control>>) -> Response {
    let all_up = c.report.adapters.iter().all(|a| a.state() == "started");
    let adapters: Vec<Value> = c.report.adapters.iter().map(Running::describe).collect();
    let (status, word) = if all_up { (StatusCode::OK, "UP") } else { (StatusCode::SERVICE_UNAVAILABLE, "DEGRADED") };
    json_response(status, json!({"status": word, "adapters": adapters}))
}

async fn status(State(c): State<Arc<Control>>) -> Response {
    let adapters: Vec<Value> = c.report.adapters.iter().map(Running::describe).collect();
    json_response(
        StatusCode::OK,
        json!({
            "label": c.adapter.label,
            "specVersion": c.adapter.spec_version,
            "engine": "naftiko",
            "engineVersion": env!("CARGO_PKG_VERSION"),
            "uptimeSeconds": c.report.started.elapsed().as_secs(),
            "adapters": adapters,
        }),
    )
}

async fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "no such management endpoint")
}

async fn authenticate(State(c): State<Arc<Control>>, req: Request, next: Next) -> Response {
    if let Some(auth) = &c.adapter.listener.auth
        && let Err(r) = auth.check(req.headers(), req.uri().query())
    {
        return r.problem_response().map(Body::from);
    }
    next.run(req).await
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({"type": "about:blank", "title": status.canonical_reason().unwrap_or(""), "status": status.as_u16(), "detail": detail});
    let mut r = json_response(status, body);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use naftiko_engine::plan::Listener;

    #[tokio::test]
    async fn a_failed_worker_makes_readiness_degraded_and_all_failed_stopped() {
        let adapters = vec![Running::new("rest", "api", "http://127.0.0.1:1".into(), 2)];
        let failed = adapters[0].failed.clone();
        let report = Arc::new(Report { adapters, started: Instant::now() });
        let listener = Listener {
            namespace: "control".into(),
            address: "127.0.0.1".into(),
            port: 0,
            auth: None,
            description: None,
        };
        let adapter =
            ControlAdapter { listener, health: true, info: false, label: None, spec_version: "1.0.0-alpha2".into() };
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/health/ready", tcp.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(tcp, app(&adapter, report)).await });
        let ready = || async {
            let r = reqwest::get(&url).await.unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body["status"].as_str().unwrap().to_string(), body["adapters"][0]["state"].clone())
        };
        assert_eq!(ready().await, (200, "UP".into(), json!("started")));
        failed.fetch_add(1, Ordering::Relaxed);
        assert_eq!(ready().await, (503, "DEGRADED".into(), json!("degraded")));
        failed.fetch_add(1, Ordering::Relaxed);
        assert_eq!(ready().await, (503, "DEGRADED".into(), json!("stopped")));
    }
}
