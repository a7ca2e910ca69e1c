//! MCP errors by the book, end to end (`tests/fixtures/mcp.yaml`, the real binary): bodies that
//! are not JSON-RPC requests, `tools/call` params of the wrong shape and batches get JSON-RPC
//! errors as `application/json` with the status of the protocol's table, over Streamable HTTP
//! and stdio alike; stdio lines are bounded; an upstream redirect is an `isError` result.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::naftiko::Naftiko;
use support::upstream::{Reply, Upstream};

const TOKEN: &str = "mcp-errors-token-12";

fn fixture(name: &str) -> std::path::PathBuf {
    support::workspace_root().join("tests/fixtures").join(name)
}

/// The fixture served against `upstream`; returns the server and its MCP URL.
fn serve(upstream: &str) -> (Naftiko, String) {
    let base = format!("api={upstream}/v1");
    let server = Naftiko::start(&fixture("mcp.yaml"), &["--base-uri", &base], &[("FIXTURE_MCP_TOKEN", TOKEN)]);
    let url = format!("{}/mcp", server.url("fleet-tools"));
    (server, url)
}

/// What an answer was: status, content type, and the body (JSON when it parses).
#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: String,
    body: Value,
}

/// POSTs `body` as it is with the headers a Streamable HTTP client sends (`version`: the
/// `MCP-Protocol-Version` header, none when `None`).
async fn post(url: &str, body: impl Into<reqwest::Body>, version: Option<&str>) -> Answer {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {TOKEN}"));
    if let Some(v) = version {
        req = req.header("mcp-protocol-version", v);
    }
    let resp = req.body(body).send().await.expect("MCP request");
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = resp.text().await.unwrap_or_default();
    let text = text.lines().find_map(|l| l.strip_prefix("data: ")).map(str::to_owned).unwrap_or(text);
    Answer { status, content_type, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
}

/// POSTs `len` bytes of spaces to `url` over a raw connection (`Connection: close`), declared
/// with `Content-Length` or sent chunked, writing while reading the answer (the server may stop
/// reading early); returns the status, the head and the body.
async fn raw_post(url: &str, len: usize, chunked: bool) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://").split('/').next().unwrap().to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let framing = if chunked { "Transfer-Encoding: chunked".to_string() } else { format!("Content-Length: {len}") };
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json, text/event-stream\r\n\
         Content-Type: application/json\r\nAuthorization: Bearer {TOKEN}\r\nMCP-Protocol-Version: 2025-06-18\r\n\
         {framing}\r\nConnection: close\r\n\r\n"
    );
    let writer = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await?;
        let chunk = vec![b' '; 64 * 1024];
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len());
            if chunked {
                write.write_all(format!("{n:x}\r\n").as_bytes()).await?;
            }
            write.write_all(&chunk[..n]).await?;
            if chunked {
                write.write_all(b"\r\n").await?;
            }
            left -= n;
        }
        if chunked {
            write.write_all(b"0\r\n\r\n").await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), read.read_to_end(&mut answer)).await;
    writer.abort();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// Asserts `answer` is the JSON-RPC error `code` for `id`, with the HTTP status `status`.
fn assert_error(answer: &Answer, status: u16, code: i64, id: &Value, what: &str) {
    assert_eq!(answer.status, status, "{what}: {answer:?}");
    assert_eq!(answer.content_type, "application/json", "{what}: {answer:?}");
    assert_eq!(answer.body["jsonrpc"], "2.0", "{what}: {answer:?}");
    assert_eq!(answer.body["error"]["code"], code, "{what}: {answer:?}");
    assert!(answer.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {answer:?}");
    assert_eq!(answer.body.get("id"), Some(id), "{what}: the id is echoed, or null: {answer:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_that_are_not_requests_get_json_rpc_errors() {
    let upstream = Upstream::start().await;
    let (_server, url) = serve(&upstream.url());
    let null = Value::Null;
    let parse_errors: &[(&str, String)] = &[
        ("an empty body", String::new()),
        ("not JSON", "not json at all".into()),
        ("truncated JSON", r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/li"#.into()),
        ("a number too large for a double", r#"{"jsonrpc":"2.0","id":1e400,"method":"tools/list"}"#.into()),
        ("100 000 nested arrays", "[".repeat(100_000)),
        ("100 000 nested objects", format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000))),
    ];
    for (what, body) in parse_errors {
        let started = Instant::now();
        let a = post(&url, body.clone(), Some("2025-06-18")).await;
        assert_error(&a, 400, -32700, &null, what);
        assert!(started.elapsed() < Duration::from_secs(5), "{what} took {:?}", started.elapsed());
    }
    let invalid: &[(&str, &str, Value)] = &[
        ("an empty array", "[]", null.clone()),
        ("a bare string", r#""tools/list""#, null.clone()),
        ("jsonrpc 1.0", r#"{"jsonrpc":"1.0","id":3,"method":"tools/list"}"#, json!(3)),
        ("no jsonrpc", r#"{"id":"s","method":"tools/list"}"#, json!("s")),
        ("no method", r#"{"jsonrpc":"2.0","id":4}"#, json!(4)),
        ("a numeric method", r#"{"jsonrpc":"2.0","id":4,"method":12}"#, json!(4)),
        ("a null id", r#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#, null.clone()),
        ("a float id", r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}"#, null.clone()),
        ("an integral float id", r#"{"jsonrpc":"2.0","id":2.0,"method":"tools/list"}"#, null.clone()),
        ("a boolean id", r#"{"jsonrpc":"2.0","id":true,"method":"tools/list"}"#, null.clone()),
        ("an object id", r#"{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}"#, null.clone()),
        ("an array id", r#"{"jsonrpc":"2.0","id":[1],"method":"tools/list"}"#, null.clone()),
        ("an id beyond i64", r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"tools/list"}"#, null.clone()),
        ("a huge id", r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"tools/list"}"#, null.clone()),
        ("string params", r#"{"jsonrpc":"2.0","id":5,"method":"tools/list","params":"all"}"#, json!(5)),
        (
            "a call the lane takes but for its id",
            r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"tools/call","params":{"name":"version"}}"#,
            null.clone(),
        ),
    ];
    for (what, body, id) in invalid {
        let a = post(&url, *body, Some("2025-06-18")).await;
        assert_error(&a, 400, -32600, id, what);
    }
    // The same without the version header, and at 2026-07-28: the screening does not depend on it.
    let a = post(&url, r#"{"jsonrpc":"1.0","id":3,"method":"tools/list"}"#, None).await;
    assert_error(&a, 400, -32600, &json!(3), "jsonrpc 1.0, no version header");
    let a = post(&url, "{", Some("2026-07-28")).await;
    assert_error(&a, 400, -32700, &null, "truncated, 2026-07-28");

    // A body beyond the limit is refused before it is read whole: declared, or chunked.
    for chunked in [false, true] {
        let (status, head, body) = raw_post(&url, 5 * 1024 * 1024, chunked).await;
        assert_eq!(status, 413, "chunked: {chunked}: {head}");
        assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
        let body: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!((body["id"].clone(), body["error"]["code"].clone()), (Value::Null, json!(-32600)), "{body}");
    }

    // What rmcp answered well before is unchanged: a valid notification is accepted, an
    // unknown method is rmcp's, header problems keep their statuses, a good request works.
    let a = post(&url, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, Some("2025-06-18")).await;
    assert_eq!(a.status, 202, "{a:?}");
    let a = post(&url, r#"{"jsonrpc":"2.0","id":8,"method":"no/such"}"#, Some("2025-06-18")).await;
    assert_eq!((a.body["id"].clone(), a.body["error"]["code"].clone()), (json!(8), json!(-32601)), "{a:?}");
    let r = reqwest::Client::new()
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "text/plain")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415, "a wrong content type stays rmcp's 415");
    let r = reqwest::Client::new()
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("origin", "https://evil.example")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a foreign origin is refused before the body is looked at");
    let a = post(&url, r#"{"jsonrpc":"2.0","id":9,"method":"tools/list"}"#, Some("2025-06-18")).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body["result"]["tools"].is_array(), "{a:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn call_params_of_the_wrong_shape_are_invalid_params() {
    let upstream = Upstream::start().await;
    let (_server, url) = serve(&upstream.url());
    let cases: &[(&str, Value)] = &[
        ("tools/call without params", json!({"jsonrpc": "2.0", "id": 21, "method": "tools/call"})),
        ("params an array", json!({"jsonrpc": "2.0", "id": 22, "method": "tools/call", "params": ["version"]})),
        ("no name", json!({"jsonrpc": "2.0", "id": 23, "method": "tools/call", "params": {"arguments": {}}})),
        ("a numeric name", json!({"jsonrpc": "2.0", "id": 24, "method": "tools/call", "params": {"name": 5}})),
        (
            "arguments a string",
            json!({"jsonrpc": "2.0", "id": "s-25", "method": "tools/call", "params": {"name": "version", "arguments": "{}"}}),
        ),
        (
            "arguments an array",
            json!({"jsonrpc": "2.0", "id": 26, "method": "tools/call", "params": {"name": "version", "arguments": [1]}}),
        ),
        ("prompts/get without a name", json!({"jsonrpc": "2.0", "id": 27, "method": "prompts/get", "params": {}})),
        (
            "resources/read with a numeric uri",
            json!({"jsonrpc": "2.0", "id": 28, "method": "resources/read", "params": {"uri": 1}}),
        ),
    ];
    for version in [Some("2025-06-18"), None] {
        for (what, body) in cases {
            let a = post(&url, body.to_string(), version).await;
            assert_error(&a, 400, -32602, &body["id"], what);
        }
    }
    let a = post(
        &url,
        json!({"jsonrpc": "2.0", "id": 24, "method": "tools/call", "params": {"name": 5}}).to_string(),
        Some("2025-06-18"),
    )
    .await;
    assert!(a.body["error"]["message"].as_str().unwrap().contains("`name` must be a string"), "{a:?}");
    // An unknown tool is still the -32602 it was; `arguments: null` is still no arguments.
    let a = post(
        &url,
        json!({"jsonrpc": "2.0", "id": 30, "method": "tools/call", "params": {"name": "nope"}}).to_string(),
        Some("2025-06-18"),
    )
    .await;
    assert_eq!((a.body["id"].clone(), a.body["error"]["code"].clone()), (json!(30), json!(-32602)), "{a:?}");
    let a = post(
        &url,
        json!({"jsonrpc": "2.0", "id": 31, "method": "tools/call", "params": {"name": "version", "arguments": null}})
            .to_string(),
        Some("2025-06-18"),
    )
    .await;
    assert_eq!(a.body["result"]["structuredContent"], json!({"result": "1.2.3"}), "{a:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_are_answered_for_2025_03_26_and_refused_after() {
    let upstream = Upstream::start().await;
    let (_server, url) = serve(&upstream.url());
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": "two", "method": "tools/call", "params": {"name": "version", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": 3}},
        {"jsonrpc": "1.0", "id": 4, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "version", "_meta": {"progressToken": 1}}}
    ])
    .to_string();
    for version in ["2025-06-18", "2025-11-25", "2026-07-28", "2024-11-05"] {
        let a = post(&url, batch.clone(), Some(version)).await;
        assert_error(&a, 400, -32600, &Value::Null, version);
        let message = a.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("batches are not supported by protocol version {version}")), "{message}");
    }
    // 2025-03-26, named or (no header) assumed: each message answered, in the batch's order.
    for version in [Some("2025-03-26"), None] {
        let a = post(&url, batch.clone(), version).await;
        assert_eq!((a.status, a.content_type.as_str()), (200, "application/json"), "{a:?}");
        let replies = a.body.as_array().unwrap_or_else(|| panic!("an array: {a:?}"));
        let ids: Vec<&Value> = replies.iter().map(|r| &r["id"]).collect();
        assert_eq!(ids, [&json!(1), &json!("two"), &json!(3), &json!(4), &json!(5)], "{a:?}");
        assert!(replies[0]["result"]["tools"].is_array(), "{a:?}");
        assert_eq!(replies[1]["result"]["structuredContent"], json!({"result": "1.2.3"}), "{a:?}");
        assert_eq!(replies[2]["error"]["code"], -32602, "{a:?}");
        assert_eq!(replies[3]["error"]["code"], -32600, "{a:?}");
        assert_eq!(replies[4]["result"]["structuredContent"], json!({"result": "1.2.3"}), "{a:?}");
    }
    // Only notifications: nothing to answer.
    let a = post(&url, r#"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#, None).await;
    assert_eq!(a.status, 202, "{a:?}");
    // `[]` is one invalid request at every version.
    let a = post(&url, "[]", None).await;
    assert_error(&a, 400, -32600, &Value::Null, "[] at 2025-03-26");
}

/// A `naftiko serve` of the stdio fixture with `env`; its stdin and a reader of its stdout.
fn stdio_server(args: &[&str], env: &[(&str, &str)]) -> (Child, std::process::ChildStdin, BufReader<ChildStdout>) {
    let mut cmd = Command::new(support::naftiko_bin());
    cmd.args(["serve", fixture("mcp-stdio.yaml").to_str().unwrap(), "--base-uri", "api=http://127.0.0.1:9/v1"])
        .args(args);
    cmd.env_remove("NAFTIKO_MCP_MAX_LINE_BYTES");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdin, stdout)
}

/// The next reply line.
fn next_reply(out: &mut BufReader<ChildStdout>) -> Value {
    let mut line = String::new();
    let n = out.read_line(&mut line).expect("read a reply");
    assert!(n > 0, "the server closed stdout");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

fn initialize(version: &str) -> String {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}).to_string()
}

/// Peak resident memory of `pid`, in bytes (Linux).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

#[test]
fn stdio_skips_an_over_long_line_and_answers_the_next() {
    let (mut child, mut stdin, mut out) = stdio_server(&[], &[]);
    writeln!(stdin, "{}", initialize("2025-06-18")).unwrap();
    assert_eq!(next_reply(&mut out)["id"], 0);
    writeln!(stdin, r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#).unwrap();
    // 100 MB on one line (a JSON string, so it would parse), written while the server reads.
    let writer = std::thread::spawn(move || {
        let head = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"version","arguments":{"pad":""#;
        stdin.write_all(head).unwrap();
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..100 {
            stdin.write_all(&chunk).unwrap();
        }
        stdin.write_all(b"\"}}}\n").unwrap();
        writeln!(
            stdin,
            r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"version","arguments":{{}}}}}}"#
        )
        .unwrap();
        stdin
    });
    let refused = next_reply(&mut out);
    assert_eq!(refused["id"], Value::Null, "{refused}");
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("4194304 bytes"), "{refused}");
    let answered = next_reply(&mut out);
    assert_eq!(answered["id"], 2, "{answered}");
    assert_eq!(answered["result"]["structuredContent"], json!({"result": "1.2.3"}), "{answered}");
    if let Some(peak) = peak_rss(child.id()) {
        assert!(peak < 64 * 1024 * 1024, "the long line was held in memory: peak RSS {peak} bytes");
    }
    let mut stdin = writer.join().unwrap();
    // The same screening as over HTTP, and no batches at 2025-06-18.
    let lines = [
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call"}"#,
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"version","arguments":"x"}}"#,
        r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}"#,
        r#"[{"jsonrpc":"2.0","id":5,"method":"tools/list"}]"#,
        "[]",
        "{\"jsonrpc\":",
    ];
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
    }
    let replies: Vec<Value> = (0..lines.len()).map(|_| next_reply(&mut out)).collect();
    let got: Vec<(Value, Value)> = replies.iter().map(|r| (r["id"].clone(), r["error"]["code"].clone())).collect();
    assert_eq!(
        got,
        [
            (json!(3), json!(-32602)),
            (json!(4), json!(-32602)),
            (Value::Null, json!(-32600)),
            (Value::Null, json!(-32600)),
            (Value::Null, json!(-32600)),
            (Value::Null, json!(-32700)),
        ],
        "{replies:#?}"
    );
    assert!(replies[3]["error"]["message"].as_str().unwrap().contains("2025-06-18"), "{replies:#?}");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn stdio_line_limit_comes_from_the_flag_or_the_environment() {
    let long_call = |id: u32, pad: usize| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "version", "arguments": {"pad": "x".repeat(pad)}}})
            .to_string()
    };
    for (args, env) in
        [(&["--mcp-max-line-bytes", "2000"][..], &[][..]), (&[][..], &[("NAFTIKO_MCP_MAX_LINE_BYTES", "2000")][..])]
    {
        let (mut child, mut stdin, mut out) = stdio_server(args, env);
        writeln!(stdin, "{}", initialize("2025-06-18")).unwrap();
        assert_eq!(next_reply(&mut out)["id"], 0);
        writeln!(stdin, "{}", long_call(1, 2500)).unwrap();
        writeln!(stdin, "{}", long_call(2, 1500)).unwrap();
        let refused = next_reply(&mut out);
        assert_eq!((refused["id"].clone(), refused["error"]["code"].clone()), (Value::Null, json!(-32600)), "{args:?}");
        let answered = next_reply(&mut out);
        assert_eq!(answered["id"], 2, "{args:?} {env:?}: {answered}");
        assert!(answered.get("result").is_some(), "{answered}");
        drop(stdin);
        assert!(child.wait().unwrap().success());
    }
}

#[test]
fn stdio_batches_are_answered_at_2025_03_26() {
    let (mut child, mut stdin, mut out) = stdio_server(&[], &[]);
    writeln!(stdin, "{}", initialize("2025-03-26")).unwrap();
    assert_eq!(next_reply(&mut out)["result"]["protocolVersion"], "2025-03-26");
    let batch = json!([
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": "a", "method": "tools/call", "params": {"name": "version", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call"},
        {"jsonrpc": "2.0", "id": 8, "method": "tools/list"}
    ]);
    writeln!(stdin, "{batch}").unwrap();
    let reply = next_reply(&mut out);
    let replies = reply.as_array().unwrap_or_else(|| panic!("an array: {reply}"));
    let ids: Vec<&Value> = replies.iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, [&json!("a"), &json!(7), &json!(8)], "{reply}");
    assert_eq!(replies[0]["result"]["structuredContent"], json!({"result": "1.2.3"}), "{reply}");
    assert_eq!(replies[1]["error"]["code"], -32602, "{reply}");
    assert!(replies[2]["result"]["tools"].is_array(), "{reply}");
    // A request on its own afterwards is answered on its own line.
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":9,"method":"tools/list"}}"#).unwrap();
    assert_eq!(next_reply(&mut out)["id"], 9);
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_redirect_is_an_is_error_naming_status_and_location() {
    let upstream = Upstream::start().await;
    upstream.respond(|r| match r.path.as_str() {
        "/v1/ships/IMO-302" => Reply {
            headers: vec![("location".into(), "https://registry.example/ships/IMO-302".into())],
            ..Reply::text(302, "text/html", "<a href=\"https://registry.example/ships/IMO-302\">moved</a>")
        },
        "/v1/ships/IMO-304" => Reply { content_type: None, ..Reply::text(304, "text/plain", "") },
        _ => Reply::json(200, json!({"imo": "IMO-1"})),
    });
    let (server, url) = serve(&upstream.url());
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    assert_eq!(post(&url, init.to_string(), Some("2025-06-18")).await.status, 200);
    // The lane answers a plain call; rmcp one with `_meta`: both the same way.
    for params in [
        json!({"name": "get-ship", "arguments": {"imo": "IMO-302"}}),
        json!({"name": "get-ship", "arguments": {"imo": "IMO-302"}, "_meta": {"progressToken": 1}}),
    ] {
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
        let a = post(&url, call.to_string(), Some("2025-06-18")).await;
        assert_eq!(a.status, 200, "{a:?}");
        let result = &a.body["result"];
        assert_eq!(result["isError"], true, "{a:?}");
        let text = result["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("302") && text.contains("Location: https://registry.example/ships/IMO-302"), "{text}");
        assert!(text.contains("api.get-ship"), "{text}");
    }
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get-ship", "arguments": {"imo": "IMO-304"}}});
    let a = post(&url, call.to_string(), Some("2025-06-18")).await;
    let text = a.body["result"]["content"][0]["text"].as_str().unwrap_or_default();
    assert_eq!(a.body["result"]["isError"], true, "{a:?}");
    assert!(text.contains("304") && text.contains("no Location header"), "{text}");
    // REST passes the 3xx on as it came.
    let rest = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r =
        rest.get(format!("{}/ships/IMO-302", server.url("fleet-api"))).header("x-api-key", TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 302);
}
