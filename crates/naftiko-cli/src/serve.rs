//! `naftiko serve FILE [--base-uri NS=URL]... [--listen NS=ADDR:PORT]... [--dry-run]`.
//!
//! Checks first (errors stop it, with the diagnostics), resolves binds, compiles, binds every
//! adapter's listener (HTTP adapters thread-per-core, see `workers`), logs one line per route,
//! and shuts down gracefully on SIGINT/SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use naftiko_engine::http::{ExecutorConfig, HttpExecutor};
use naftiko_engine::invoke::Engine;
use naftiko_engine::plan::{Capability, Options};
use naftiko_spec::diag::{count, render_human_grouped};
use tokio::sync::watch;

use crate::control::{Report, Running};
use crate::logging::say;
use crate::workers::{ServeFn, Workers};
use std::sync::Arc;

/// Arguments of `naftiko serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The capability file.
    file: PathBuf,
    /// Point a consumed namespace at another base URI (`*=URL` for all), e.g. staging or a mock.
    #[arg(long = "base-uri", value_name = "NAMESPACE=URL")]
    base_uri: Vec<String>,
    /// Listen elsewhere than the document says (`*=ADDR:PORT` for all; port 0 picks a free one).
    #[arg(long = "listen", value_name = "NAMESPACE=ADDR:PORT")]
    listen: Vec<String>,
    /// Send nothing upstream: every call answers with the request it would have sent.
    #[arg(long)]
    dry_run: bool,
    /// Upstream connect timeout, in milliseconds.
    #[arg(long, env = "NAFTIKO_CONNECT_TIMEOUT_MS", default_value_t = 5_000)]
    connect_timeout_ms: u64,
    /// Upstream total timeout, in milliseconds.
    #[arg(long, env = "NAFTIKO_TIMEOUT_MS", default_value_t = 30_000)]
    timeout_ms: u64,
    /// Threads serving each REST and MCP (HTTP) adapter, one single-threaded runtime each; default: one per core.
    #[arg(long, env = "NAFTIKO_WORKERS", value_parser = worker_count)]
    workers: Option<usize>,
    /// Longest JSON-RPC line an MCP adapter on stdio reads, in bytes; a longer one is skipped
    /// and answered with an error.
    #[arg(long, env = "NAFTIKO_MCP_MAX_LINE_BYTES", default_value_t = naftiko_mcp::DEFAULT_MAX_LINE_BYTES, value_parser = byte_count)]
    mcp_max_line_bytes: usize,
    /// Largest upstream response accepted, in bytes.
    #[arg(long, env = "NAFTIKO_MAX_RESPONSE_BYTES", default_value_t = 32 * 1024 * 1024)]
    max_response_bytes: usize,
    #[command(flatten)]
    limits: crate::limits::LimitArgs,
}

/// `--workers`: a count of one or more.
fn worker_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("at least one worker is needed".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// `--mcp-max-line-bytes`: a size of one byte or more.
fn byte_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("at least one byte is needed".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn split_pair(s: &str, what: &str) -> Result<(String, String)> {
    s.split_once('=')
        .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
        .ok_or_else(|| anyhow!("{what} must be NAMESPACE=VALUE, got `{s}`"))
}

/// Runs the server until a signal arrives.
pub fn run(args: &Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn serve(args: &Args) -> Result<ExitCode> {
    let started = Instant::now();
    let validation = naftiko_spec::check_runnable(&args.file);
    let (errors, warnings) = count(&validation.diagnostics);
    if errors > 0 {
        let errors_only: Vec<_> = validation.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
        eprint!("{}", render_human_grouped(&errors_only, &validation.sources));
        eprintln!("{}: {errors} error(s); not serving", args.file.display());
        return Ok(ExitCode::from(1));
    }
    if warnings > 0 {
        eprintln!(
            "naftiko: {}: {warnings} warning(s) (`naftiko validate {}` shows them, with the schema's)",
            args.file.display(),
            args.file.display()
        );
    }
    let doc = validation.document.as_ref().ok_or_else(|| anyhow!("the document could not be read"))?;
    let binds = match naftiko_engine::binds::resolve(doc, &args.file, &|k| std::env::var(k).ok()) {
        Ok(b) => b,
        Err(diags) => {
            eprint!("{}", render_human_grouped(&diags, &validation.sources));
            eprintln!("{}: bind variables are missing; not serving", args.file.display());
            return Ok(ExitCode::from(1));
        }
    };
    let mut options = Options { base_dir: args.file.parent().map(|p| p.to_path_buf()), ..Options::default() };
    for b in &args.base_uri {
        options.base_uris.push(split_pair(b, "--base-uri")?);
    }
    let capability = match Capability::compile(doc, &binds, &options) {
        Ok(c) => c,
        Err(diags) => {
            eprint!("{}", render_human_grouped(&diags, &validation.sources));
            return Ok(ExitCode::from(1));
        }
    };
    // From here on, no bind value reaches a log line or an error text (SEMANTICS §2).
    let redactor = capability.redactor();
    crate::logging::redact_with(redactor.clone());
    let listen: Vec<(String, String)> = args.listen.iter().map(|l| split_pair(l, "--listen")).collect::<Result<_>>()?;
    let config = ExecutorConfig {
        connect_timeout: std::time::Duration::from_millis(args.connect_timeout_ms),
        total_timeout: std::time::Duration::from_millis(args.timeout_ms),
        max_response_bytes: args.max_response_bytes,
        redactor,
        release_memory: Some(crate::release_memory),
        ..ExecutorConfig::default()
    };
    let executor = HttpExecutor::new(config.clone());
    let engine = Engine::new(executor, args.dry_run);
    if args.dry_run {
        say!("dry run: nothing is sent upstream; every call answers with the request it would send");
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let workers = Workers {
        count: args.workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
        config: config.clone(),
        dry_run: args.dry_run,
        policy: args.limits.policy(),
    };
    let mut threads = Vec::new();
    let mut running = Vec::new();
    for adapter in &capability.rest {
        let ns = &adapter.listener.namespace;
        let addr = listen_addr(ns, &adapter.listener.address, adapter.listener.port, &listen);
        let (local, listener) = crate::workers::bind("REST", ns, &addr).await?;
        say!("rest {ns} listening on http://{local}");
        let entry = Running::new("rest", ns, format!("http://{local}"), workers.count);
        let failed = entry.failed.clone();
        running.push(entry);
        for route in &adapter.routes {
            for op in &route.operations {
                let when =
                    if op.selector.is_empty() { String::new() } else { format!(" [{}]", op.selector.describe()) };
                say!("  {:<6} {}{when} {}", op.method.as_str(), route.path, op.summary);
            }
            if let Some(f) = &route.forward {
                say!("  *      {} forwards to {} ({})", route.path, f.namespace, f.shown_base());
            }
        }
        let served = adapter.clone();
        let policy = workers.policy.for_adapter();
        let serve: Arc<ServeFn> = Arc::new(move |listener, engine, shutdown, first| {
            let adapter = served.clone();
            let policy = policy.clone();
            Box::pin(async move { naftiko_rest::serve(listener, &adapter, engine, policy, shutdown, first).await })
        });
        threads.extend(
            crate::workers::start(&format!("rest-{ns}"), listener, &workers, &stop_rx, serve, &failed)
                .with_context(|| format!("REST adapter `{ns}` cannot start its workers"))?,
        );
    }
    for adapter in &capability.skill {
        let addr = listen_addr(&adapter.listener.namespace, &adapter.listener.address, adapter.listener.port, &listen);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("Skill adapter `{}` cannot listen on {addr}", adapter.listener.namespace))?;
        let local = listener.local_addr()?;
        say!("skill {} listening on http://{local}", adapter.listener.namespace);
        let entry = Running::new("skill", &adapter.listener.namespace, format!("http://{local}"), 1);
        let failed = entry.failed.clone();
        running.push(entry);
        for s in &adapter.skills {
            say!("  skill  {} ({} tools)", s.name, s.tools.len());
        }
        let adapter = adapter.clone();
        let mut rx = stop_rx.clone();
        let policy = workers.policy.for_adapter();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            let result = naftiko_skill::serve(listener, &adapter, policy, shutdown).await;
            if result.is_err() {
                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            result
        }));
    }
    let base_dir = args.file.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    let mcp = crate::mcp::start(&capability, &engine, &listen, &stop_rx, &base_dir, &workers, args.mcp_max_line_bytes)
        .await?;
    threads.extend(mcp.threads);
    running.extend(mcp.running);
    tasks.extend(start_control(&capability, &listen, &stop_rx, running, started, &workers.policy).await?);
    if tasks.is_empty() && threads.is_empty() && mcp.stdio.is_none() {
        say!("{} exposes nothing this runtime serves", args.file.display());
        return Ok(ExitCode::from(1));
    }
    say!("ready in {} ms", started.elapsed().as_millis());
    match mcp.stdio {
        // A stdio server ends when its client closes the input; the process ends with it.
        Some(stdio) => {
            tokio::select! {
                _ = shutdown_signal() => {}
                r = stdio => {
                    if let Ok(Err(e)) = r {
                        say!("stdio server error: {e}");
                    }
                }
            }
        }
        None => shutdown_signal().await,
    }
    say!("shutting down");
    let _ = stop_tx.send(true);
    let mut failures = 0;
    for t in tasks {
        match t.await {
            Ok(Err(e)) => say!("server error: {e}"),
            Err(e) => say!("server task failed: {e}"),
            Ok(Ok(())) => continue,
        }
        failures += 1;
    }
    let joined = tokio::task::spawn_blocking(move || threads.into_iter().map(|t| t.join()).collect::<Vec<_>>()).await;
    for result in joined.unwrap_or_default() {
        match result {
            Ok(Ok(())) => continue,
            // Said on stderr, named, when it happened.
            Ok(Err(_)) => {}
            Err(_) => say!("a worker thread panicked"),
        }
        failures += 1;
    }
    // A server that failed while serving makes the exit status say so.
    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Starts the control adapters, which report on `running` (the other adapters) and themselves.
async fn start_control(
    capability: &Capability,
    listen: &[(String, String)],
    stop: &watch::Receiver<bool>,
    mut running: Vec<Running>,
    started: Instant,
    policy: &naftiko_http::ConnectionPolicy,
) -> Result<Vec<tokio::task::JoinHandle<std::io::Result<()>>>> {
    let mut bound = Vec::new();
    for adapter in &capability.control {
        let ns = &adapter.listener.namespace;
        let addr = listen_addr(ns, &adapter.listener.address, adapter.listener.port, listen);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("control adapter `{ns}` cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        say!("control {ns} listening on http://{local}");
        let entry = Running::new("control", ns, format!("http://{local}"), 1);
        bound.push((adapter.clone(), listener, entry.failed.clone()));
        running.push(entry);
    }
    let report = Arc::new(Report { adapters: running, started });
    let mut tasks = Vec::new();
    for (adapter, listener, failed) in bound {
        let app = crate::control::app(&adapter, report.clone());
        let mut rx = stop.clone();
        let policy = policy.for_adapter();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            let result = naftiko_http::server::serve_router(listener, policy, app, shutdown).await;
            if result.is_err() {
                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            result
        }));
    }
    Ok(tasks)
}

/// The address an adapter listens on, after `--listen` overrides.
pub fn listen_addr(namespace: &str, address: &str, port: u16, overrides: &[(String, String)]) -> String {
    let o = overrides.iter().find(|(ns, _)| ns == namespace).or_else(|| overrides.iter().find(|(ns, _)| ns == "*"));
    match o {
        Some((_, addr)) => addr.clone(),
        None if address.contains(':') => format!("[{address}]:{port}"),
        None => format!("{address}:{port}"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
