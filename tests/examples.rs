//! The runnable examples under `examples/` do what their READMEs say: each validates without a
//! single finding, and each serves — mock mode with no upstream, orchestration and forward over
//! a local upstream that serves the example's own `site/` files.

mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use support::mcp::McpHttp;
use support::naftiko::Naftiko;
use support::upstream::{Reply, Upstream};

fn example(name: &str) -> PathBuf {
    support::workspace_root().join("examples").join(name)
}

/// An upstream answering with the files of `examples/NAME/site` (404 for anything else).
async fn site(name: &str) -> Upstream {
    let root = example(name).join("site");
    let upstream = Upstream::start().await;
    upstream.respond(move |r| {
        let rel = r.path.trim_start_matches('/');
        match std::fs::read(root.join(rel)) {
            Ok(bytes) if !rel.contains("..") => Reply { body: bytes.into(), ..Reply::json(200, Value::Null) },
            _ => Reply::json(404, json!({"error": "not found"})),
        }
    });
    upstream
}

#[test]
fn every_example_validates_without_findings() {
    let dirs = std::fs::read_dir(support::workspace_root().join("examples")).unwrap();
    let mut checked = 0;
    for dir in dirs.map(|d| d.unwrap().path()).filter(|p| p.is_dir()) {
        let file = dir.join("capability.yaml");
        assert!(file.is_file(), "{} has no capability.yaml", dir.display());
        let out = std::process::Command::new(support::naftiko_bin()).arg("validate").arg(&file).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && stdout.trim_end().ends_with(": ok"), "{}:\n{stdout}", file.display());
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} examples");
}

#[tokio::test(flavor = "multi_thread")]
async fn mock_answers_over_rest_and_mcp_without_an_upstream() {
    let server = Naftiko::start(&example("mock").join("capability.yaml"), &[], &[]);
    let expected = json!({"imo": "IMO-42", "name": "Northern Star", "yearBuilt": 2009, "active": true});
    let rest: Value =
        reqwest::get(format!("{}/ships/IMO-42", server.url("ships-rest"))).await.unwrap().json().await.unwrap();
    assert_eq!(rest, expected);
    let mcp = McpHttp::new(format!("{}/mcp", server.url("ships-mcp")));
    let result = mcp.call("get-ship", json!({"imo": "IMO-42"})).await;
    assert_eq!(result["structuredContent"], expected, "{result}");
}

#[tokio::test(flavor = "multi_thread")]
async fn orchestration_composes_the_ship_and_its_crew() {
    let upstream = site("orchestration").await;
    let base = format!("registry={}", upstream.url());
    let server = Naftiko::start(&example("orchestration").join("capability.yaml"), &["--base-uri", &base], &[]);
    let url = format!("{}/ships/IMO-9321483/with-crew", server.url("fleet-rest"));
    let got: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    assert_eq!(
        got,
        json!({"imo": "IMO-9321483", "name": "Northern Star", "crew": [
            {"fullName": "Ingrid Solberg", "role": "captain"},
            {"fullName": "Aiko Tanaka", "role": "first officer"}
        ]})
    );
    let mut paths: Vec<String> = upstream.requests().into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(paths, ["/crew.json", "/ships/IMO-9321483.json"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_adds_the_token_and_refuses_escapes() {
    let upstream = site("forward").await;
    let base = format!("files={}", upstream.url());
    let server =
        Naftiko::start(&example("forward").join("capability.yaml"), &["--base-uri", &base], &[("FILES_TOKEN", "demo")]);
    let proxy = server.url("files-proxy");
    let resp = reqwest::get(format!("{proxy}/files/hello.json")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let expected: Value =
        serde_json::from_slice(&std::fs::read(example("forward").join("site/hello.json")).unwrap()).unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap(), expected);
    assert_eq!(upstream.single().header("authorization"), Some("Bearer demo"));
    upstream.clear();
    // Sent as written: HTTP clients normalise `..` away before it could reach the server.
    let (status, _) = support::raw_get(proxy, "/files/%2e%2e/secret").await;
    assert_eq!(status, 400);
    assert!(upstream.requests().is_empty());
}
