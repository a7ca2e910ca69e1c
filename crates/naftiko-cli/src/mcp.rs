//! Starting the MCP adapters of a capability: Streamable HTTP listeners, or stdio.

use anyhow::Context;
use naftiko_engine::invoke::Engine;
use naftiko_engine::plan::Capability;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::serve::listen_addr;

/// Running MCP adapters: HTTP server tasks, and the stdio one (the process ends with it).
pub struct Started {
    /// HTTP servers.
    pub tasks: Vec<JoinHandle<std::io::Result<()>>>,
    /// The stdio server, when an adapter uses `transport: stdio`.
    pub stdio: Option<JoinHandle<std::io::Result<()>>>,
}

/// Starts every MCP adapter.
pub async fn start(
    capability: &Capability,
    engine: &Engine,
    listen: &[(String, String)],
    stop: &watch::Receiver<bool>,
    base_dir: &std::path::Path,
) -> anyhow::Result<Started> {
    let mut started = Started { tasks: Vec::new(), stdio: None };
    for adapter in &capability.mcp {
        let server = naftiko_mcp::server(adapter, engine.clone(), base_dir);
        let ns = &adapter.listener.namespace;
        if adapter.stdio {
            eprintln!("naftiko: mcp {ns} on stdio ({} tools)", adapter.tools.len());
            started.stdio =
                Some(tokio::spawn(naftiko_mcp::serve_stdio(server, tokio::io::stdin(), tokio::io::stdout())));
            continue;
        }
        let addr = listen_addr(ns, &adapter.listener.address, adapter.listener.port, listen);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("MCP adapter `{ns}` cannot listen on {addr}"))?;
        eprintln!("naftiko: mcp {ns} listening on http://{}", listener.local_addr()?);
        for t in &adapter.tools {
            eprintln!("naftiko:   tool   {}", t.name);
        }
        let mut rx = stop.clone();
        let auth = adapter.listener.auth.clone();
        started.tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            naftiko_mcp::serve_http(listener, server, auth, shutdown).await
        }));
    }
    Ok(started)
}
