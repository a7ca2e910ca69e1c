//! Interoperability with the official Python MCP SDK (PyPI `mcp`, pinned in `.ci/setup-python`):
//! over Streamable HTTP in `mode="2026-07-28"` and `mode="legacy"`, and over stdio — list the
//! tools, call one, and read an `isError` result.
//!
//! The SDK lives in `<workspace>/.venv` (created by `.ci/setup-python`) or `$NAFTIKO_PYTHON`.

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use support::naftiko::Naftiko;
use support::upstream::{Reply, Upstream};

const TOKEN: &str = "interop-token-5c";

fn python() -> Option<PathBuf> {
    let p = std::env::var_os("NAFTIKO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::workspace_root().join(".venv/bin/python"));
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIPPED: the Python MCP SDK is not installed at {} (run .ci/setup-python)", p.display());
        None
    }
}

fn run_client(python: &PathBuf, args: &[String]) -> Value {
    let script = support::workspace_root().join("tests/interop/mcp_client.py");
    let out = Command::new(python).arg(script).args(args).output().expect("run the Python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "python client failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("client output is not JSON ({e}): {stdout}"))
}

fn check(v: &Value, how: &str) {
    assert_eq!(v["tools"], json!(["get-ship", "list-ships", "delete-nothing", "version"]), "{how}");
    assert_eq!(v["schemas"]["get-ship"]["required"], json!(["imo"]), "{how}");
    assert_eq!(v["call"]["isError"], false, "{how}: {v}");
    assert_eq!(v["call"]["structured"]["imo"], "IMO-9321483", "{how}: {v}");
    assert_eq!(v["error_call"]["isError"], true, "{how}: {v}");
    assert!(v["error_call"]["text"][0].as_str().unwrap().contains("imo"), "{how}: {v}");
}

fn call_args(extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    a.extend(
        ["--call", "get-ship", "--args", r#"{"imo": "IMO-9321483"}"#, "--error-call", "get-ship", "--error-args", "{}"]
            .map(String::from),
    );
    a
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_over_streamable_http_in_both_modes() {
    let Some(python) = python() else { return };
    let upstream = Upstream::start().await;
    upstream.respond(|r| Reply::json(200, json!({"imo": r.path.rsplit('/').next(), "name": "Northern Star"})));
    let base = format!("api={}/v1", upstream.url());
    let server = Naftiko::start(
        &support::workspace_root().join("tests/fixtures/mcp.yaml"),
        &["--base-uri", &base],
        &[("FIXTURE_MCP_TOKEN", TOKEN)],
    );
    let url = format!("{}/mcp", server.url("fleet-tools"));
    for mode in ["2026-07-28", "legacy"] {
        let python = python.clone();
        let args = call_args(&["--url", &url, "--mode", mode, "--token", TOKEN]);
        let v = tokio::task::spawn_blocking(move || run_client(&python, &args)).await.unwrap();
        check(&v, mode);
    }
    assert!(upstream.requests().iter().all(|r| r.path == "/v1/ships/IMO-9321483"));
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_over_stdio() {
    let Some(python) = python() else { return };
    let upstream = Upstream::start().await;
    upstream.respond(|r| Reply::json(200, json!({"imo": r.path.rsplit('/').next()})));
    let fixture = support::workspace_root().join("tests/fixtures/mcp-stdio.yaml");
    for mode in ["legacy", "2026-07-28"] {
        let mut args = call_args(&["--mode", mode]);
        args.extend([
            "--stdio".to_string(),
            support::naftiko_bin().display().to_string(),
            "serve".into(),
            fixture.display().to_string(),
        ]);
        args.extend(["--base-uri".to_string(), format!("api={}/v1", upstream.url())]);
        let python = python.clone();
        let v = tokio::task::spawn_blocking(move || run_client(&python, &args)).await.unwrap();
        check(&v, &format!("stdio {mode}"));
    }
}
