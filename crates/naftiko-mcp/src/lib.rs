//! The MCP adapter (SEMANTICS §8): an rmcp server generated from each `type: mcp` adapter,
//! served over Streamable HTTP (`/mcp` and `/`) or stdio.
//!
//! Tools are listed in declaration order with input schemas agents can use (declared or
//! inferred from the consumed operations), arguments are validated against a schema compiled
//! once per tool, calls go through the same engine as REST, and failures come back as
//! `isError` results a model can act on. Over HTTP the server keeps no session state: the
//! current protocol (2026-07-28) is stateless and legacy clients are answered without
//! `Mcp-Session-Id`, so any replica can answer any request. `Origin` and `Host` are validated.

#![warn(missing_docs)]

mod fast_lane;
mod handler;
mod jsonrpc;
mod prompts;
mod resources;
mod stdio;
mod tools;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::any;
use fast_lane::FastLane;
use naftiko_engine::inbound::InboundAuth;
use naftiko_engine::invoke::Engine;
use naftiko_engine::plan::McpAdapter;
use rmcp::ServiceExt;
use rmcp::model::ServerConfig;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tokio_util::sync::CancellationToken;

pub use handler::McpServer;

/// Builds the server of one adapter; `base_dir` anchors `file:///./…` locations.
pub fn server(adapter: &McpAdapter, engine: Engine, base_dir: &Path) -> McpServer {
    let tools = tools::Tools::new(&adapter.tools);
    let resources = resources::Resources::new(&adapter.resources, base_dir);
    let prompts = prompts::Prompts::new(&adapter.prompts, base_dir);
    let mut capabilities = serde_json::Map::new();
    if !tools.entries.is_empty() {
        capabilities.insert("tools".into(), json!({}));
    }
    if !resources.is_empty() {
        capabilities.insert("resources".into(), json!({}));
    }
    if !prompts.is_empty() {
        capabilities.insert("prompts".into(), json!({}));
    }
    let mut info = json!({
        "protocolVersion": "2026-07-28",
        "capabilities": capabilities,
        "serverInfo": {"name": adapter.listener.namespace, "version": env!("CARGO_PKG_VERSION")},
    });
    if let Some(d) = &adapter.listener.description {
        info["instructions"] = json!(d);
    }
    // The document's values always form a valid `initialize` result; fall back to a minimal one.
    let info: ServerConfig = serde_json::from_value(info).unwrap_or_else(|_| ServerConfig::default());
    McpServer { inner: Arc::new(handler::Inner { info, tools, resources, prompts, engine }) }
}

/// The Streamable HTTP application for one adapter listening on `local`: `/mcp` and `/`,
/// stateless, `Host` and `Origin` checked, inbound authentication in front when declared.
pub fn http_app(
    server: McpServer,
    local: SocketAddr,
    auth: Option<InboundAuth>,
    cancel: CancellationToken,
) -> axum::Router {
    app_with_lane(server, local, auth, cancel, true)
}

/// [`http_app`], with the `tools/call` fast lane on or off (off: every request that passes the
/// screening is answered by rmcp; how tests check that the lane answers exactly as rmcp does).
pub fn app_with_lane(
    server: McpServer,
    local: SocketAddr,
    auth: Option<InboundAuth>,
    cancel: CancellationToken,
    fast_lane: bool,
) -> axum::Router {
    let port = local.port();
    let mut hosts = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string(), "[::1]".to_string()];
    let ip = local.ip().to_string();
    if !local.ip().is_unspecified() && !hosts.contains(&ip) {
        hosts.push(ip.clone());
    }
    let mut allowed_hosts = Vec::new();
    for h in &hosts {
        allowed_hosts.push(h.clone());
        allowed_hosts.push(format!("{h}:{port}"));
    }
    if local.ip().is_unspecified() {
        // Listening on every interface: any Host may reach us; browsers are still held to Origin.
        allowed_hosts.clear();
    }
    let allowed_origins: Vec<String> =
        hosts.iter().flat_map(|h| [format!("http://{h}:{port}"), format!("https://{h}:{port}")]).collect();
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_cancellation_token(cancel)
        .with_allowed_origins(allowed_origins.clone())
        .enforce_origin_validation();
    config = if allowed_hosts.is_empty() {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(allowed_hosts.clone())
    };
    let lane_server = server.clone();
    let service =
        StreamableHttpService::new(move || Ok(server.clone()), Arc::new(NeverSessionManager::default()), config);
    let lane = Arc::new(FastLane {
        server: lane_server,
        allowed_hosts: (!allowed_hosts.is_empty()).then(|| allowed_hosts.clone()),
        allowed_origins,
        enabled: fast_lane,
        fallback: service,
    });
    let handler = move |req: Request| lane.clone().serve(req);
    let router = axum::Router::new().route("/mcp", any(handler.clone())).route("/", any(handler));
    match auth {
        Some(auth) => {
            let auth = Arc::new(auth);
            router.layer(middleware::from_fn(move |req: Request, next: Next| {
                let auth = auth.clone();
                async move { authenticate(&auth, req, next).await }
            }))
        }
        None => router,
    }
}

async fn authenticate(auth: &InboundAuth, req: Request, next: Next) -> Response {
    match auth.check(req.headers(), req.uri().query()) {
        Ok(()) => next.run(req).await,
        Err(r) => {
            let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32001, "message": format!("unauthorized: {}", r.message)}});
            let mut resp = Response::new(axum::body::Body::from(body.to_string()));
            *resp.status_mut() = http::StatusCode::UNAUTHORIZED;
            resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
            if let Ok(v) = http::HeaderValue::from_str(&r.challenge) {
                resp.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
            }
            resp
        }
    }
}

/// Serves one adapter over Streamable HTTP under `policy` until `shutdown` completes.
pub async fn serve_http(
    listener: impl axum::serve::Listener<Addr = std::net::SocketAddr>,
    server: McpServer,
    auth: Option<InboundAuth>,
    policy: naftiko_http::ConnectionPolicy,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let cancel = CancellationToken::new();
    let app = http_app(server, local, auth, cancel.clone());
    let shutdown = async move {
        shutdown.await;
        cancel.cancel();
    };
    naftiko_http::server::serve_router(listener, policy, app, shutdown).await
}

/// The longest stdio line read by default (`naftiko serve --mcp-max-line-bytes`): 4 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// Serves one adapter over newline-delimited JSON-RPC on `reader`/`writer` (stdin/stdout in
/// production) until the input ends. Each line is screened as a Streamable HTTP body is: not
/// JSON → `-32700`, not a request → `-32600`, params of the wrong shape → `-32602`, a batch
/// answered as one array (protocol 2025-03-26) or refused; the server goes on with the next
/// line. A line longer than `max_line_bytes` is skipped to its end without being kept (memory
/// stays bounded) and answered with `-32600` (`id: null`). Every reply is written as one whole
/// line. Logs never go to `writer`.
pub async fn serve_stdio<R, W>(server: McpServer, reader: R, writer: W, max_line_bytes: usize) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (to_rmcp, rmcp_in) = tokio::io::duplex(64 * 1024);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(64 * 1024);
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::channel::<String>(64);
    let batches = Arc::new(std::sync::Mutex::new(stdio::Batches::default()));
    // One writer: whole lines, from rmcp and from the screening's replies, never interleaved.
    let writer_task = tokio::spawn(async move {
        let mut writer = writer;
        while let Some(line) = lines_rx.recv().await {
            writer.write_all(line.as_bytes()).await?;
            writer.write_all(b"\n").await?;
            writer.flush().await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let forward_tx = lines_tx.clone();
    let forward_batches = batches.clone();
    let forward_task = tokio::spawn(async move {
        let mut lines = BufReader::new(from_rmcp).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            // An answer to a batch element waits for the rest of its batch.
            let out = match forward_batches.lock() {
                Ok(mut b) => b.answer(line),
                Err(_) => Some(line),
            };
            if let Some(out) = out
                && forward_tx.send(out).await.is_err()
            {
                break;
            }
        }
    });
    let input_task = tokio::spawn(async move {
        let mut to_rmcp = to_rmcp;
        let mut reader = BufReader::with_capacity(64 * 1024, reader);
        let mut line = Vec::new();
        // The version the client asked for in `initialize` (decides batches).
        let mut negotiated: Option<String> = None;
        loop {
            let action = match stdio::read_line(&mut reader, &mut line, max_line_bytes).await {
                Ok(stdio::LineRead::End) | Err(_) => break,
                Ok(stdio::LineRead::TooLong) => stdio::Action::Reply(
                    jsonrpc::Rejection::new(
                        serde_json::Value::Null,
                        jsonrpc::INVALID_REQUEST,
                        format!("Invalid request: the line exceeds {max_line_bytes} bytes (it was skipped)"),
                    )
                    .to_line(),
                ),
                Ok(stdio::LineRead::Line) if line.trim_ascii().is_empty() => continue,
                Ok(stdio::LineRead::Line) => stdio::screen_line(&line, &mut negotiated, &batches),
            };
            let (messages, reply) = match action {
                // The line as it came (moved out: the next line starts a new buffer).
                stdio::Action::Pass => (vec![std::mem::take(&mut line)], None),
                stdio::Action::Send { messages, reply } => (messages, reply),
                stdio::Action::Reply(reply) => (Vec::new(), Some(reply)),
            };
            let mut open = true;
            for m in messages {
                if to_rmcp.write_all(&m).await.is_err() || to_rmcp.write_all(b"\n").await.is_err() {
                    open = false;
                    break;
                }
            }
            if let Some(reply) = reply
                && lines_tx.send(reply).await.is_err()
            {
                open = false;
            }
            if !open {
                break;
            }
        }
        // Input ended: closing our end lets rmcp finish.
        let _ = to_rmcp.shutdown().await;
    });
    let running = server.serve((rmcp_in, rmcp_out)).await.map_err(|e| std::io::Error::other(e.to_string()))?;
    let result = running.waiting().await.map_err(|e| std::io::Error::other(e.to_string()));
    let _ = input_task.await;
    let _ = forward_task.await;
    let _ = writer_task.await;
    result.map(|_| ())
}
