//! Starting the MCP adapters of a capability (wired to the engine in `naftiko-mcp`).

use naftiko_engine::invoke::Engine;
use naftiko_engine::plan::Capability;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Starts every MCP adapter; returns their server tasks.
pub async fn start(
    capability: &Capability,
    _engine: &Engine,
    _listen: &[(String, String)],
    _stop: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<std::io::Result<()>>>> {
    for adapter in &capability.mcp {
        eprintln!("naftiko: mcp {} is not served yet by this build", adapter.listener.namespace);
    }
    Ok(Vec::new())
}
