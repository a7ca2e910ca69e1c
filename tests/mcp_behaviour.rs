//! MCP behaviour end to end (`tests/fixtures/mcp.yaml`): inbound authentication on the MCP and
//! REST adapters, errors an agent can act on, Origin checks, stdio robustness, resources and
//! prompts.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::mcp::McpHttp;
use support::naftiko::Naftiko;
use support::upstream::{Reply, Upstream};

const TOKEN: &str = "mcp-fixture-token-71";

fn fixture(name: &str) -> std::path::PathBuf {
    support::workspace_root().join("tests/fixtures").join(name)
}

async fn serve(upstream_url: &str, extra: &[&str]) -> (Naftiko, McpHttp) {
    let base = format!("api={upstream_url}/v1");
    let mut args = vec!["--base-uri", base.as_str()];
    args.extend_from_slice(extra);
    let server = Naftiko::start(&fixture("mcp.yaml"), &args, &[("FIXTURE_MCP_TOKEN", TOKEN)]);
    let mcp = McpHttp::new(format!("{}/mcp", server.url("fleet-tools"))).with_token(TOKEN);
    mcp.initialize().await;
    (server, mcp)
}

fn ships(r: &support::upstream::Recorded) -> Reply {
    match r.path.as_str() {
        "/v1/ships" => Reply::json(200, json!({"ships": [{"imo": "IMO-1", "x": 1}, {"imo": "IMO-2"}]})),
        "/v1/ships/IMO-500" => Reply::json(500, json!({"error": "registry down"})),
        "/v1/ships/IMO-SLOW" => Reply { delay: Duration::from_secs(5), ..Reply::json(200, json!({})) },
        "/v1/nothing" => Reply {
            status: 204,
            content_type: None,
            body: Default::default(),
            delay: Duration::ZERO,
            headers: vec![],
            stream_len: None,
        },
        p => Reply::json(200, json!({"imo": p.rsplit('/').next(), "query": r.query})),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_required_on_mcp_and_rest() {
    let upstream = Upstream::start().await;
    upstream.respond(ships);
    let (server, _) = serve(&upstream.url(), &[]).await;
    let mcp_url = format!("{}/mcp", server.url("fleet-tools"));
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let (status, _) = McpHttp::new(&mcp_url).post(init.clone(), &[]).await;
    assert_eq!(status, 401, "no token");
    let r =
        reqwest::Client::new().post(&mcp_url).header("authorization", "Bearer wrong").json(&init).send().await.unwrap();
    assert_eq!(r.status(), 401, "wrong token");
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"naftiko\"");
    assert!(!r.text().await.unwrap().contains(TOKEN));
    let (status, v) = McpHttp::new(&mcp_url).with_token(TOKEN).post(init, &[]).await;
    assert_eq!(status, 200, "{v}");

    let rest = server.url("fleet-api").to_string();
    let client = reqwest::Client::new();
    let r = client.get(format!("{rest}/ships/IMO-1")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("ApiKey"));
    assert_eq!(
        client.get(format!("{rest}/ships/IMO-1")).header("x-api-key", "nope").send().await.unwrap().status(),
        401
    );
    let r = client.get(format!("{rest}/ships/IMO-1")).header("x-api-key", TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["imo"], "IMO-1");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_is_error_results_and_204_is_a_success() {
    let upstream = Upstream::start().await;
    upstream.respond(ships);
    let (_server, mcp) = serve(&upstream.url(), &["--timeout-ms", "500"]).await;

    let tools = mcp.request("tools/list", json!({})).await["result"]["tools"].clone();
    let get_ship = &tools[0];
    assert_eq!(get_ship["title"], "Get ship");
    assert_eq!(get_ship["annotations"], json!({"title": "Get ship", "readOnlyHint": true, "openWorldHint": true}));
    assert_eq!(get_ship["inputSchema"]["properties"]["verbose"]["type"], "boolean");
    assert_eq!(tools[1]["outputSchema"], Value::Null, "an array result declares no object schema");

    let r = mcp.call("get-ship", json!({"imo": "IMO-9", "verbose": true})).await;
    assert_eq!(r["structuredContent"], json!({"imo": "IMO-9", "query": "verbose=true"}));
    let r = mcp.call("list-ships", json!({})).await;
    assert_eq!(
        r["structuredContent"],
        json!({"result": [{"imo": "IMO-1"}, {"imo": "IMO-2"}]}),
        "arrays are wrapped for pre-2026 clients"
    );

    let r = mcp.call("get-ship", json!({"imo": "IMO-9", "verbose": "yes"})).await;
    assert_eq!(r["isError"], true);
    assert!(r["content"][0]["text"].as_str().unwrap().contains("argument `verbose`"), "{r}");

    let r = mcp.call("get-ship", json!({"imo": "IMO-500"})).await;
    assert_eq!(r["isError"], true);
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("500") && text.contains("registry down"), "{text}");

    let r = mcp.call("get-ship", json!({"imo": "IMO-SLOW"})).await;
    assert_eq!(r["isError"], true);
    assert!(r["content"][0]["text"].as_str().unwrap().contains("timed out"), "{r}");

    let r = mcp.call("delete-nothing", json!({})).await;
    assert_eq!(r["isError"], false, "a 204 is a success: {r}");

    let r = mcp.call("version", json!({})).await;
    assert_eq!(r["structuredContent"], json!({"result": "1.2.3"}));

    let v = mcp.request("tools/call", json!({"name": "nope", "arguments": {}})).await;
    assert_eq!(v["error"]["code"], -32602);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_upstream_is_an_is_error_result() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (_server, mcp) = serve(&url, &[]).await;
    let r = mcp.call("get-ship", json!({"imo": "IMO-1"})).await;
    assert_eq!(r["isError"], true);
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("unavailable") && text.contains("api.get-ship"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_origin_is_refused() {
    let upstream = Upstream::start().await;
    let (server, mcp) = serve(&upstream.url(), &[]).await;
    let body = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"});
    let (status, _) = mcp.post(body.clone(), &[("origin", "https://evil.example")]).await;
    assert_eq!(status, 403);
    let own = server.url("fleet-tools").replace("127.0.0.1", "localhost");
    let (status, v) = mcp.post(body, &[("origin", own.as_str())]).await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn resources_list_read_and_stay_inside_their_directory() {
    let upstream = Upstream::start().await;
    upstream.respond(ships);
    let (_server, mcp) = serve(&upstream.url(), &[]).await;
    let list = mcp.request("resources/list", json!({})).await["result"]["resources"].clone();
    let uris: Vec<&str> = list.as_array().unwrap().iter().map(|r| r["uri"].as_str().unwrap()).collect();
    assert_eq!(uris, vec!["docs://fleet/guides/fleet.md", "docs://fleet/stats.json", "docs://fleet/summary-prompt.md"]);
    assert_eq!(list[0]["mimeType"], "text/markdown");
    let templates = mcp.request("resources/templates/list", json!({})).await["result"]["resourceTemplates"].clone();
    assert_eq!(templates[0]["uriTemplate"], "ship://{imo}");
    let read = mcp.request("resources/read", json!({"uri": "docs://fleet/guides/fleet.md"})).await;
    assert_eq!(read["result"]["contents"][0]["text"], "# Fleet guide\n");
    let read = mcp.request("resources/read", json!({"uri": "ship://IMO-42"})).await;
    let text: Value = serde_json::from_str(read["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text["imo"], "IMO-42");
    for bad in [
        "docs://fleet/../mcp.yaml",
        "docs://fleet/%2e%2e/mcp.yaml",
        "docs://fleet//etc/passwd",
        "docs://fleet/guides%2f..%2f..%2fmcp.yaml",
        "docs://fleet",
        "docs://other/x",
    ] {
        let v = mcp.request("resources/read", json!({"uri": bad})).await;
        assert_eq!(v["error"]["code"], -32602, "{bad}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prompts_list_in_order_and_enforce_required_arguments() {
    let upstream = Upstream::start().await;
    let (_server, mcp) = serve(&upstream.url(), &[]).await;
    let list = mcp.request("prompts/list", json!({})).await["result"]["prompts"].clone();
    assert_eq!(list[0]["name"], "inspect-ship");
    assert_eq!(list[1]["name"], "summary");
    assert_eq!(
        list[0]["arguments"],
        json!([{"name": "imo", "required": true, "description": "IMO number"}, {"name": "focus", "required": false, "description": "What to look at"}])
    );
    let got = mcp
        .request("prompts/get", json!({"name": "inspect-ship", "arguments": {"imo": "IMO-1", "focus": "hull"}}))
        .await;
    assert_eq!(
        got["result"]["messages"][0],
        json!({"role": "user", "content": {"type": "text", "text": "Inspect ship IMO-1 with focus on hull."}})
    );
    let missing = mcp.request("prompts/get", json!({"name": "inspect-ship", "arguments": {}})).await;
    assert_eq!(missing["error"]["code"], -32602);
    assert!(missing["error"]["message"].as_str().unwrap().contains("imo"));
    let file = mcp.request("prompts/get", json!({"name": "summary"})).await;
    assert_eq!(file["result"]["messages"][0]["content"]["text"], "Summarise the fleet, please.\n");
}

#[test]
fn stdio_answers_garbage_with_errors_and_goes_on() {
    let mut child = Command::new(support::naftiko_bin())
        .args(["serve", fixture("mcp-stdio.yaml").to_str().unwrap(), "--base-uri", "api=http://127.0.0.1:9/v1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let lines = [
        "not json at all".to_string(),
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}).to_string(),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        "{\"jsonrpc\": ".to_string(),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "version", "arguments": {}}}).to_string(),
    ];
    for l in &lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    let out = BufReader::new(child.stdout.take().unwrap());
    let replies: Vec<Value> = out
        .lines()
        .map_while(Result::ok)
        .map(|l| serde_json::from_str(&l).expect("stdout carries only JSON-RPC"))
        .collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "the server ends when its input ends");
    let parse_errors = replies.iter().filter(|r| r["error"]["code"] == -32700).count();
    assert_eq!(parse_errors, 2, "{replies:#?}");
    assert!(replies.iter().any(|r| r["id"] == 1 && r["result"]["serverInfo"]["name"] == "fleet-tools"));
    assert!(
        replies.iter().any(|r| r["id"] == 2 && r["result"]["structuredContent"] == json!({"result": "1.2.3"})),
        "{replies:#?}"
    );
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("naftiko: mcp fleet-tools on stdio"), "logs go to stderr: {err}");
}
