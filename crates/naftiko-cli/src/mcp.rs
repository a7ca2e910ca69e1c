//! Starting the MCP adapters of a capability: Streamable HTTP listeners, or stdio.

use anyhow::Context;
use naftiko_engine::invoke::Engine;
use naftiko_engine::plan::Capability;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::workers::{ServeFn, Workers};
use std::sync::Arc;

use crate::control::Running;
use crate::logging::say;
use crate::serve::listen_addr;

/// Running MCP adapters: HTTP server threads, and the stdio one (the process ends with it).
pub struct Started {
    /// HTTP servers, thread-per-core.
    pub threads: Vec<std::thread::JoinHandle<std::io::Result<()>>>,
    /// The stdio server, when an adapter uses `transport: stdio`.
    pub stdio: Option<JoinHandle<std::io::Result<()>>>,
    /// The adapters, for the control adapter.
    pub running: Vec<Running>,
}

/// Starts every MCP adapter (`max_line_bytes`: the longest line read on stdio).
pub async fn start(
    capability: &Capability,
    engine: &Engine,
    listen: &[(String, String)],
    stop: &watch::Receiver<bool>,
    base_dir: &std::path::Path,
    workers: &Workers,
    max_line_bytes: usize,
) -> anyhow::Result<Started> {
    let mut started = Started { threads: Vec::new(), stdio: None, running: Vec::new() };
    for adapter in &capability.mcp {
        let ns = &adapter.listener.namespace;
        if adapter.stdio {
            let server = naftiko_mcp::server(adapter, engine.clone(), base_dir);
            say!("mcp {ns} on stdio ({} tools)", adapter.tools.len());
            started.running.push(Running::new("mcp", ns, "stdio".into(), 1));
            started.stdio = Some(tokio::spawn(naftiko_mcp::serve_stdio(
                server,
                tokio::io::stdin(),
                tokio::io::stdout(),
                max_line_bytes,
            )));
            continue;
        }
        let addr = listen_addr(ns, &adapter.listener.address, adapter.listener.port, listen);
        let (local, listener) = crate::workers::bind("MCP", ns, &addr).await?;
        say!("mcp {ns} listening on http://{local}");
        let running = Running::new("mcp", ns, format!("http://{local}/mcp"), workers.count);
        let failed = running.failed.clone();
        started.running.push(running);
        for t in &adapter.tools {
            say!("  tool   {}", t.name);
        }
        let (served, base_dir) = (adapter.clone(), base_dir.to_path_buf());
        let policy = workers.policy.for_adapter();
        let serve: Arc<ServeFn> = Arc::new(move |listener, engine, shutdown, _first| {
            let server = naftiko_mcp::server(&served, engine, &base_dir);
            let auth = served.listener.auth.clone();
            Box::pin(naftiko_mcp::serve_http(listener, server, auth, policy.clone(), shutdown))
        });
        started.threads.extend(
            crate::workers::start(&format!("mcp-{ns}"), listener, workers, stop, serve, &failed)
                .with_context(|| format!("MCP adapter `{ns}` cannot start its workers"))?,
        );
    }
    Ok(started)
}
