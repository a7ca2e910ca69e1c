//! The `tools/call` fast lane answers exactly what rmcp answers: the same requests go to one
//! adapter with the lane and to one without it, against the same upstream, and the replies
//! (status, content type, JSON) must be equal — for calls the lane takes and for the requests it
//! leaves to rmcp.

use std::net::SocketAddr;
use std::path::Path;

use axum::Json;
use axum::extract::Path as UrlPath;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use naftiko_engine::http::{ExecutorConfig, HttpExecutor};
use naftiko_engine::invoke::Engine;
use naftiko_engine::plan::{Capability, Options};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const CAPABILITY: &str = r#"naftiko: 1.0.0-alpha2
info:
  label: Fast lane fixture
  description: Tools whose results take every shape.
capability:
  consumes:
    - type: http
      namespace: api
      baseUri: http://upstream.invalid/v1
      resources:
        - name: ship
          path: /ships/{imo}
          operations:
            - name: get-ship
              method: GET
              inputParameters:
                - name: imo
                  in: path
                  type: string
                  required: true
        - name: ships
          path: /ships
          operations:
            - name: list-ships
              method: GET
        - name: text
          path: /text
          operations:
            - name: get-text
              method: GET
        - name: broken
          path: /broken
          operations:
            - name: get-broken
              method: GET
        - name: nothing
          path: /nothing
          operations:
            - name: delete-nothing
              method: DELETE
  exposes:
    - type: mcp
      port: 9090
      namespace: lane
      tools:
        - name: get-ship
          description: One ship, passed through whole.
          call: api.get-ship
          with:
            imo: tools.imo
          outputParameters:
            - type: object
              mapping: $.
        - name: get-ship-raw
          description: One ship, no outputs.
          call: api.get-ship
          with:
            imo: tools.imo
        - name: list-ships
          description: An array, passed through.
          call: api.list-ships
        - name: ship-names
          description: An array, mapped.
          call: api.list-ships
          outputParameters:
            - type: array
              mapping: $[*].name
        - name: get-text
          description: Plain text.
          call: api.get-text
        - name: get-broken
          description: The upstream fails.
          call: api.get-broken
        - name: delete-nothing
          description: The upstream answers 204.
          call: api.delete-nothing
        - name: version
          description: A mock tool.
          outputParameters:
            - name: version
              type: string
              value: "1.2.3"
"#;

async fn upstream() -> SocketAddr {
    let app = axum::Router::new()
        .route(
            "/v1/ships/{imo}",
            get(|UrlPath(imo): UrlPath<String>| async move {
                // Spacing and a unicode escape: the text content must keep the upstream's spelling.
                let body = format!(
                    "{{ \"imo\": \"{imo}\", \"name\": \"Aur\\u00f6ra\", \"tons\": 1200, \"tags\": [\"a\", \"b\"] }}\n"
                );
                ([("content-type", "application/json")], body)
            }),
        )
        .route("/v1/ships", get(|| async { Json(json!([{"name": "A"}, {"name": "B \"quoted\""}])) }))
        .route(
            "/v1/text",
            get(|| async { "plain words\nsecond line\twith a tab, a \u{1} control character and a backslash \\" }),
        )
        .route(
            "/v1/broken",
            get(|| async { (http::StatusCode::INTERNAL_SERVER_ERROR, "database on fire").into_response() }),
        )
        .route("/v1/nothing", delete(|| async { http::StatusCode::NO_CONTENT }));
    serve(app).await
}

async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The fixture's MCP adapter served with or without the lane.
async fn adapter(dir: &Path, upstream: SocketAddr, fast_lane: bool) -> SocketAddr {
    let file = dir.join("lane.yaml");
    std::fs::write(&file, CAPABILITY).unwrap();
    let validation = naftiko_spec::check_runnable(&file);
    let doc = validation.document.expect("the fixture parses");
    let binds = naftiko_engine::binds::resolve(&doc, &file, &|_| None).expect("no binds");
    let options = Options { base_uris: vec![("api".into(), format!("http://{upstream}/v1"))], base_dir: None };
    let capability = Capability::compile(&doc, &binds, &options).expect("the fixture compiles");
    let engine = Engine::new(HttpExecutor::new(ExecutorConfig::default()), false);
    let server = naftiko_mcp::server(&capability.mcp[0], engine, dir);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = listener.local_addr().unwrap();
    let app = naftiko_mcp::app_with_lane(server, local, None, CancellationToken::new(), fast_lane);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    local
}

/// Status, content type and body (JSON when it parses).
async fn post(addr: SocketAddr, body: &str, headers: &[(&str, &str)]) -> (u16, String, Value) {
    let mut req = reqwest::Client::new().post(format!("http://{addr}/mcp")).body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = resp.text().await.unwrap();
    let text = text.lines().find_map(|l| l.strip_prefix("data: ")).map(str::to_owned).unwrap_or(text);
    (status, ct, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn call(id: Value, tool: &str, args: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}}).to_string()
}

fn meta_2026() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

fn call_2026(id: Value, tool: &str, args: Value, meta: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args, "_meta": meta}})
        .to_string()
}

fn headers_2026<'a>(method: &'a str, name: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![JSON_AND_SSE, JSON_BODY, ("mcp-protocol-version", "2026-07-28"), ("mcp-method", method), ("mcp-name", name)]
}

const JSON_AND_SSE: (&str, &str) = ("accept", "application/json, text/event-stream");
const JSON_BODY: (&str, &str) = ("content-type", "application/json");

#[tokio::test]
async fn the_lane_answers_what_rmcp_answers() {
    let dir = tempfile::tempdir().unwrap();
    let up = upstream().await;
    let with_lane = adapter(dir.path(), up, true).await;
    let without = adapter(dir.path(), up, false).await;
    let v2025 = ("mcp-protocol-version", "2025-06-18");
    // Every shape of result, a failure, and arguments missing or of the wrong type.
    let tools: &[(&str, Value)] = &[
        ("get-ship", json!({"imo": "9321483"})),
        ("get-ship-raw", json!({"imo": "9321483"})),
        ("list-ships", json!({})),
        ("ship-names", json!({})),
        ("get-text", json!({})),
        ("get-broken", json!({})),
        ("delete-nothing", json!({})),
        ("version", json!({})),
        ("get-ship", json!({})),
        ("get-ship", json!({"imo": 42})),
    ];
    let mut cases: Vec<(String, Vec<(&str, &str)>)> = Vec::new();
    // Calls the lane takes, at every pre-2026 version and without the header.
    for version in [Some("2024-11-05"), Some("2025-03-26"), Some("2025-06-18"), Some("2025-11-25"), None] {
        let mut headers = vec![JSON_AND_SSE, JSON_BODY];
        if let Some(v) = version {
            headers.push(("mcp-protocol-version", v));
        }
        for (tool, args) in tools {
            cases.push((call(json!(7), tool, args.clone()), headers.clone()));
        }
    }
    // The same calls from a 2026-07-28 client: per-request `_meta` and the standard headers.
    for (tool, args) in tools {
        cases.push((call_2026(json!(9), tool, args.clone(), meta_2026()), headers_2026("tools/call", tool)));
    }
    // 2026-07-28 requests the lane leaves to rmcp: headers or `_meta` that do not agree.
    let mut other_version = meta_2026();
    other_version["io.modelcontextprotocol/protocolVersion"] = json!("2025-06-18");
    let mut no_capabilities = meta_2026();
    no_capabilities.as_object_mut().unwrap().remove("io.modelcontextprotocol/clientCapabilities");
    let mut progress = meta_2026();
    progress["progressToken"] = json!(3);
    for meta in [other_version, no_capabilities, progress, json!({})] {
        cases.push((call_2026(json!(9), "version", json!({}), meta), headers_2026("tools/call", "version")));
    }
    cases.push((call_2026(json!(9), "version", json!({}), meta_2026()), headers_2026("tools/call", "get-ship")));
    cases.push((call_2026(json!(9), "version", json!({}), meta_2026()), headers_2026("tools/list", "version")));
    cases.push((
        call_2026(json!(9), "version", json!({}), meta_2026()),
        vec![JSON_AND_SSE, JSON_BODY, ("mcp-protocol-version", "2026-07-28")],
    ));
    cases.push((call(json!(9), "version", json!({})), headers_2026("tools/call", "version")));
    let plain = vec![JSON_AND_SSE, JSON_BODY, v2025];
    cases.push((call(json!("req-1"), "get-ship", json!({"imo": "1"})), plain.clone()));
    cases.push((
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"version"}}"#.to_string(),
        plain.clone(),
    ));
    // Requests the lane leaves to rmcp.
    cases.push((call(json!(1), "no-such-tool", json!({})), plain.clone()));
    cases.push((r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#.to_string(), plain.clone()));
    cases.push((
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"version","_meta":{"progressToken":5}}}"#
            .to_string(),
        plain.clone(),
    ));
    cases.push(("{not json".to_string(), plain.clone()));
    // What the screening answers, the same with the lane or without.
    for body in [
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["version"]}"#,
        r#"["2.0",1,"tools/call",{"name":"version"}]"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"version","arguments":"{}"}}"#,
        r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"tools/call","params":{"name":"version"}}"#,
        r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"version"}}]"#,
        "",
    ] {
        cases.push((body.to_string(), plain.clone()));
    }
    cases.push((
        r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"version"}},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]"#
            .to_string(),
        vec![JSON_AND_SSE, JSON_BODY],
    ));
    cases.push((call(json!(1), "version", json!({})), vec![JSON_BODY, v2025]));
    cases.push((call(json!(1), "version", json!({})), vec![JSON_AND_SSE, ("content-type", "text/plain"), v2025]));
    cases.push((
        call(json!(1), "version", json!({})),
        vec![JSON_AND_SSE, JSON_BODY, ("mcp-protocol-version", "1999-01-01")],
    ));
    cases.push((
        call(json!(1), "version", json!({})),
        vec![JSON_AND_SSE, JSON_BODY, v2025, ("origin", "http://evil.example")],
    ));
    cases.push((
        call(json!(1), "version", json!({})),
        vec![JSON_AND_SSE, JSON_BODY, v2025, ("mcp-method", "tools/list")],
    ));
    let mut lane_replies = 0;
    for (body, headers) in &cases {
        let a = post(with_lane, body, headers).await;
        let b = post(without, body, headers).await;
        assert_eq!(a, b, "different answers to {body} with {headers:?}");
        if a.0 == 200 && a.2.get("result").is_some_and(|r| r.get("content").is_some()) {
            lane_replies += 1;
        }
    }
    // The comparison is only worth something if the calls really succeeded and failed as meant.
    assert!(lane_replies >= 59, "{lane_replies} tool results");
    let (_, _, ship) = post(with_lane, &call(json!(1), "get-ship", json!({"imo": "9"})), &plain).await;
    assert_eq!(
        ship["result"]["structuredContent"],
        json!({"imo": "9", "name": "Auröra", "tons": 1200, "tags": ["a", "b"]})
    );
    assert_eq!(
        ship["result"]["content"][0]["text"],
        json!(r#"{ "imo": "9", "name": "Aur\u00f6ra", "tons": 1200, "tags": ["a", "b"] }"#)
    );
    let (_, _, broken) = post(with_lane, &call(json!(1), "get-broken", json!({})), &plain).await;
    assert_eq!(broken["result"]["isError"], json!(true));
    assert!(broken["result"]["content"][0]["text"].as_str().unwrap().contains("500"), "{broken}");
}
