//! REST behaviour end to end, with the real binary and a local upstream: output shaping
//! (SEMANTICS §5), failures (the server keeps serving after each), and forward (§7).

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::naftiko::Naftiko;
use support::upstream::{Reply, Upstream};

fn fixture(name: &str) -> std::path::PathBuf {
    support::workspace_root().join("tests/fixtures").join(name)
}

async fn shaping(upstream: &Upstream, extra: &[&str]) -> Naftiko {
    let base = format!("api={}/v2", upstream.url());
    let mut args = vec!["--base-uri", base.as_str()];
    args.extend_from_slice(extra);
    Naftiko::start(&fixture("shaping.yaml"), &args, &[("FIXTURE_TOKEN", "tok-shape")])
}

fn user_body() -> Value {
    json!({"data": {"id": 17, "name": "Ada", "age": "36", "adult": true, "address": {"city": "London"}}, "meta": {"v": 1}})
}

async fn get(url: String) -> (u16, String, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = r.text().await.unwrap();
    (status, ct, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test(flavor = "multi_thread")]
async fn output_shaping_rules() {
    let upstream = Upstream::start().await;
    upstream.respond(|r| match r.path.as_str() {
        "/v2/search" => Reply::json(
            200,
            json!({"results": [{"full_name": "A B", "tags": ["x"], "noise": 1}, {"full_name": "C D", "tags": []}]}),
        ),
        "/v2/report.csv" => Reply::text(200, "text/csv; charset=utf-8", "a,b\n1,2\n"),
        "/v2/things" => Reply::json(201, json!({"created": r.json()})),
        _ => Reply::json(200, user_body()),
    });
    let server = shaping(&upstream, &[]).await;
    let base = server.url("shaping").to_string();

    // A scalar: the JSONPath value, converted to the declared type when lossless ("36" → 36).
    assert_eq!(get(format!("{base}/scalar/17")).await, (200, "application/json".into(), json!(36)));
    assert_eq!(upstream.requests().last().unwrap().path, "/v2/users/17");
    assert_eq!(upstream.requests().last().unwrap().header("authorization"), Some("Bearer tok-shape"));
    // An object: properties relative to its own mapping.
    assert_eq!(get(format!("{base}/object/17")).await.2, json!({"id": "17", "age": 36, "city": "London"}));
    // `type: object, mapping: $.` with no properties: the whole body.
    assert_eq!(get(format!("{base}/whole/17")).await.2, user_body());
    // Arrays: items applied to each element, relative to it.
    let (_, _, v) = get(format!("{base}/array?q=ships&tags=a&tags=b")).await;
    assert_eq!(v, json!([{"name": "A B", "tags": ["x"]}, {"name": "C D", "tags": []}]));
    let sent = upstream.requests().last().unwrap().clone();
    assert_eq!(sent.query.as_deref(), Some("q=ships&tags=a&tags=b"), "arrays repeat the query key");
    // Several outputs: an object keyed by name, with value templates over the inputs.
    assert_eq!(
        get(format!("{base}/several/17")).await.2,
        json!({"name": "Ada", "greeting": "Hello 17", "adult": true})
    );
    // No outputs: upstream bytes and content type unchanged.
    assert_eq!(
        get(format!("{base}/raw")).await,
        (200, "text/csv; charset=utf-8".into(), Value::String("a,b\n1,2\n".into()))
    );
    // A JSON body template: whole-value templates keep their type, others are text.
    let r = reqwest::Client::new()
        .post(format!("{base}/things"))
        .json(&json!({"name": "Ada \"A\"", "count": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "the upstream status is kept");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"created": {"name": "Ada \"A\"", "count": 3, "label": "thing Ada \"A\""}})
    );
    // Mock values need no upstream.
    upstream.clear();
    assert_eq!(get(format!("{base}/mock/m1")).await.2, json!({"id": "m1", "version": 2}));
    assert!(upstream.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_reported_and_the_server_keeps_serving() {
    let upstream = Upstream::start().await;
    upstream.respond(|r| match r.path.as_str() {
        "/v2/users/404" => Reply::json(404, json!({"error": "no such user"})),
        "/v2/users/500" => Reply::json(500, json!({"error": "boom"})),
        "/v2/users/slow" => Reply { delay: Duration::from_secs(5), ..Reply::json(200, json!({})) },
        "/v2/users/huge" => Reply::huge(100 * 1024 * 1024),
        "/v2/users/malformed" => Reply::text(200, "application/json", "{\"data\": [1, 2"),
        _ => Reply::json(200, user_body()),
    });
    let server = shaping(&upstream, &["--timeout-ms", "500", "--max-response-bytes", "1048576"]).await;
    let base = server.url("shaping").to_string();

    let (s, ct, v) = get(format!("{base}/whole/404")).await;
    assert_eq!((s, v), (404, json!({"error": "no such user"})), "an upstream 404 comes back with its body");
    assert_eq!(ct, "application/json");

    let (s, ct, v) = get(format!("{base}/whole/500")).await;
    assert_eq!((s, ct.as_str()), (502, "application/problem+json"));
    assert_eq!(v["upstreamStatus"], 500);
    assert!(v["detail"].as_str().unwrap().contains("api.get-user"), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("boom"), "{v}");

    let t = Instant::now();
    let (s, _, v) = get(format!("{base}/whole/slow")).await;
    assert_eq!(s, 504, "{v}");
    assert!(t.elapsed() < Duration::from_secs(4), "answered at the timeout, not after the upstream");

    let (s, _, v) = get(format!("{base}/whole/huge")).await;
    assert_eq!(s, 502, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("1048576"), "{v}");

    let (s, _, v) = get(format!("{base}/whole/malformed")).await;
    assert_eq!(s, 502, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(detail.contains("api.get-user") && detail.contains("JSON"), "{detail}");

    let r = reqwest::Client::new()
        .post(format!("{base}/things"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["in"], "body");

    let (s, _, v) = get(format!("{base}/array")).await;
    assert_eq!(s, 400, "missing required query parameter");
    assert_eq!(v["errors"][0]["name"], "q");
    assert_eq!(v["errors"][0]["in"], "query");

    // Still serving.
    assert_eq!(get(format!("{base}/scalar/1")).await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_upstream_is_a_502_and_memory_stays_bounded() {
    let upstream = Upstream::start().await;
    upstream.respond(|_| Reply::huge(100 * 1024 * 1024));
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let base_closed = format!("api={closed_url}/v2");
    let server = Naftiko::start(&fixture("shaping.yaml"), &["--base-uri", &base_closed], &[("FIXTURE_TOKEN", "t")]);
    let (s, _, v) = get(format!("{}/whole/1", server.url("shaping"))).await;
    assert_eq!(s, 502, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("api.get-user"), "{v}");
    drop(server);

    let server = shaping(&upstream, &["--max-response-bytes", "4194304"]).await;
    let base = server.url("shaping").to_string();
    for _ in 0..3 {
        assert_eq!(get(format!("{base}/whole/1")).await.0, 502);
    }
    let pid = server_pid(&server);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(peak_kb > 0 && peak_kb < 64 * 1024, "peak RSS {peak_kb} kB after three 100 MB upstream bodies");
}

fn server_pid(server: &Naftiko) -> u32 {
    server.pid()
}

async fn forwarding(upstream: &Upstream) -> Naftiko {
    let base = format!("notion={}/v1", upstream.url());
    Naftiko::start(&fixture("forward.yaml"), &["--base-uri", &base], &[("FORWARD_TOKEN", "secret-fwd")])
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_passes_requests_through() {
    let upstream = Upstream::start().await;
    upstream.respond(|r| Reply {
        headers: vec![
            ("x-upstream".into(), "yes".into()),
            ("connection".into(), "keep-alive, x-hop".into()),
            ("x-hop".into(), "for the proxy".into()),
        ],
        ..Reply::json(
            if r.method == "POST" { 201 } else { 200 },
            json!({"path": r.path, "query": r.query, "body": r.json()}),
        )
    });
    let server = forwarding(&upstream).await;
    let base = server.url("proxy").to_string();
    let r = reqwest::Client::new()
        .post(format!("{base}/notion/databases/db-1/query?filter=a%20b&page=2"))
        .header("X-Request-Id", "req-7")
        .header("X-Secret-Internal", "do-not-send")
        .header("Authorization", "Bearer caller-token")
        .header("X-Debug", "for this hop")
        .header("TE", "trailers")
        .header("Connection", "keep-alive, X-Debug")
        .json(&json!({"sorts": [1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["x-upstream"], "yes");
    assert_eq!(r.headers().get("x-hop"), None, "fields the upstream's Connection names stay with the proxy");
    assert_eq!(r.json::<Value>().await.unwrap()["body"], json!({"sorts": [1]}));
    let sent = upstream.single();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/databases/db-1/query");
    assert_eq!(sent.query.as_deref(), Some("filter=a%20b&page=2"));
    assert_eq!(sent.header("x-request-id"), Some("req-7"), "trusted headers go through");
    assert_eq!(sent.header("x-secret-internal"), None, "untrusted headers do not");
    assert_eq!(sent.header("x-debug"), None, "trusted, but named by the client's Connection: this hop only");
    assert_eq!(sent.header("te"), None, "hop-by-hop fields are never forwarded, trusted or not");
    let upstream_authority = upstream.url().trim_start_matches("http://").to_string();
    assert_eq!(sent.header("host"), Some(upstream_authority.as_str()), "Host names the upstream, trusted or not");
    assert_eq!(sent.header("content-length"), Some("13"), "the body's own length, once");
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer secret-fwd"),
        "the target's credentials replace the caller's"
    );
    assert_eq!(sent.header("notion-version"), Some("2022-06-28"));
    assert_eq!(sent.json(), json!({"sorts": [1]}));

    // An operation declared on another route is served by its call, not forwarded.
    upstream.clear();
    let r = reqwest::get(format!("{base}/pages/p1")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(upstream.single().path, "/v1/pages/p1");
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_rejects_escapes_and_sends_nothing() {
    let upstream = Upstream::start().await;
    let server = forwarding(&upstream).await;
    let base = server.url("proxy").to_string();
    let client = reqwest::Client::new();
    for tail in [
        "a/../../admin",
        "%2e%2e/admin",
        "a%2fb",
        "a%2F..%2Fsecret",
        "user@evil.com/x",
        "http:%2F%2Fevil.com",
        "a//b",
        "https:",
    ] {
        // Build the raw request line ourselves: clients normalise `..` away.
        let (status, _) = support::raw_get(&base, &format!("/notion/{tail}")).await;
        assert_eq!(status, 400, "`{tail}` must be rejected");
    }
    let r = client.get(format!("{base}/notion/ok")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let sent = upstream.requests();
    assert_eq!(sent.len(), 1, "only the safe request reached the upstream: {sent:#?}");
    assert_eq!(sent[0].path, "/v1/ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_port_in_use_is_refused_even_by_another_naftiko() {
    let upstream = Upstream::start().await;
    upstream.respond(|_| Reply::json(200, user_body()));
    let first = shaping(&upstream, &[]).await;
    let taken = first.url("shaping").trim_start_matches("http://").to_string();
    let base = format!("api={}/v2", upstream.url());
    let out = std::process::Command::new(support::naftiko_bin())
        .arg("serve")
        .arg(fixture("shaping.yaml"))
        .args(["--base-uri", &base, "--listen", &format!("shaping={taken}")])
        .env("FIXTURE_TOKEN", "t")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot listen on {taken}")), "{stderr}");
    // The first one still serves every request (none went to the refused process).
    for _ in 0..20 {
        assert_eq!(get(format!("{}/whole/1", first.url("shaping"))).await.0, 200);
    }
}

/// Paths with a `#…` fragment (docs/behaviour.md): consumed calls send what the fragment names,
/// exposed routes pick their operation by it, and a request that names none is told what to send.
#[tokio::test(flavor = "multi_thread")]
async fn fragments_tell_operations_on_one_path_apart() {
    let upstream = Upstream::start().await;
    upstream
        .respond(|r| Reply::json(200, json!({"target": r.header("x-amz-target"), "path": r.path, "query": r.query})));
    let base = format!("aws={}", upstream.url());
    let server = Naftiko::start(&fixture("fragments.yaml"), &["--base-uri", &base], &[]);
    let api = server.url("api").to_string();
    let client = reqwest::Client::new();
    for target in ["Glue.GetTable", "Glue.ListTables"] {
        upstream.clear();
        let r = client.post(format!("{api}/")).header("X-Amz-Target", target).json(&json!({})).send().await.unwrap();
        assert_eq!(r.status(), 200, "{target}");
        assert_eq!(r.json::<Value>().await.unwrap()["target"], target);
        let sent = upstream.single();
        assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", "/"));
        assert_eq!(sent.header("x-amz-target"), Some(target));
    }

    // Without the header: 400 naming what to send, nothing sent, and the server goes on.
    upstream.clear();
    let r = client.post(format!("{api}/")).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("X-Amz-Target=Glue.GetTable") && detail.contains("X-Amz-Target=Glue.ListTables"),
        "{detail}"
    );
    assert!(upstream.requests().is_empty());

    // A query parameter picks the operation; the consumed fragment's values go to the query.
    let r = reqwest::get(format!("{api}/regions?Action=DescribeRegions")).await.unwrap();
    assert_eq!(r.status(), 200);
    let sent = upstream.single();
    assert_eq!(sent.path, "/query");
    let query = sent.query.unwrap_or_default();
    assert!(query.contains("Action=DescribeRegions") && query.contains("Version=2016-11-15"), "{query}");

    // The MCP tool does not ask the agent for the header the fragment supplies.
    let mcp = support::mcp::McpHttp::new(format!("{}/mcp", server.url("tools")));
    let list = mcp.request("tools/list", json!({})).await;
    let schema = &list["result"]["tools"][0]["inputSchema"];
    assert!(schema["properties"].get("X-Amz-Target").is_none(), "{schema}");
    upstream.clear();
    let result = mcp.call("get-table", json!({})).await;
    assert_eq!(result["structuredContent"]["target"], "Glue.GetTable", "{result}");
}
