//! A bind value in `baseUri` (`http://host/bot{{TOKEN}}`, Telegram-style) is sent on the wire
//! and shown as `***` everywhere naftiko shows the URL: the start-up line, debug log lines, 502
//! problem details, MCP `isError` texts, dry-run answers (operations and forward). And no value
//! — a secret or a document's — ever splits a log line. SEMANTICS §2, docs/behaviour.md.

mod support;

use serde_json::{Value, json};
use support::mcp::McpHttp;
use support::naftiko::Naftiko;
use support::upstream::{Reply, Upstream};

/// The token: long and recognisable, so that any trace of it is found.
const TOKEN: &str = "123456:AAF-telegram-token-Zq9";

fn fixture() -> std::path::PathBuf {
    support::workspace_root().join("tests/fixtures/secret-base.yaml")
}

fn env(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![("FIXTURE_BOT_TOKEN", TOKEN)];
    env.extend_from_slice(extra);
    env
}

/// The base the fixture declares (nothing listens on port 9), as shown.
const SHOWN_BASE: &str = "http://127.0.0.1:9/bot***";

async fn get(url: String) -> (u16, Value) {
    let r = reqwest::get(url).await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn assert_no_token(what: &str, text: &str) {
    assert!(!text.contains(TOKEN), "{what} shows the token:\n{text}");
    // Nor its percent-encoded form (`:` → `%3A`).
    assert!(!text.contains("123456%3AAAF"), "{what} shows the encoded token:\n{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_start_up_line_shows_the_base_with_the_token_as_stars() {
    let server = Naftiko::start(&fixture(), &[], &env(&[]));
    assert!(server.startup.contains(&format!("/raw/{{path}} forwards to tg ({SHOWN_BASE})")), "{}", server.startup);
    assert_no_token("the start-up output", &server.startup);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_sent_upstream_and_shown_nowhere() {
    let upstream = Upstream::start().await;
    upstream.respond(|r| match r.path.as_str() {
        // An upstream that echoes the URL it was called at into its 5xx answer.
        p if p.ends_with("/chats/boom") => Reply::json(500, json!({"error": format!("failed at {p}")})),
        p => Reply::json(200, json!({"ok": true, "path": p})),
    });
    let base = format!("tg={}/bot{{{{TOKEN}}}}", upstream.url());
    let server = Naftiko::start(&fixture(), &["--base-uri", &base], &env(&[("NAFTIKO_LOG", "debug")]));
    let rest = server.url("bot").to_string();

    // On the wire: the real URL.
    let (status, v) = get(format!("{rest}/me")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(upstream.requests().last().map(|r| r.path.clone()), Some(format!("/bot{TOKEN}/getMe")));
    let (status, v) = get(format!("{rest}/raw/getUpdates?offset=1")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(upstream.requests().last().map(|r| r.path.clone()), Some(format!("/bot{TOKEN}/getUpdates")));

    // An upstream 5xx that echoes the token: the 502's excerpt has it scrubbed.
    let (status, v) = get(format!("{rest}/chats/boom")).await;
    assert_eq!(status, 502, "{v}");
    let detail = v["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("/bot***/chats/boom"), "{v}");
    assert_no_token("a 502 about an upstream 5xx", &v.to_string());

    // The debug lines name the calls by their shown URL.
    let (_, log) = server.stop();
    let url = upstream.url();
    assert!(log.contains(&format!("{url}/bot***/getMe")), "{log}");
    assert!(log.contains(&format!("{url}/bot***/getUpdates")), "a forwarded call's line:\n{log}");
    assert_no_token("the debug log", &log);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_calls_show_the_token_as_stars_in_problems_mcp_texts_and_logs() {
    let server = Naftiko::start(&fixture(), &[], &env(&[("NAFTIKO_LOG", "debug")]));
    let rest = server.url("bot").to_string();

    // An operation's call: 502 with the shown URL.
    let (status, v) = get(format!("{rest}/me")).await;
    assert_eq!(status, 502, "{v}");
    let detail = v["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&format!("GET {SHOWN_BASE}/getMe")), "{v}");
    assert_no_token("a 502 problem", &v.to_string());

    // A path value from the caller is shown; the base's token is not.
    let (status, v) = get(format!("{rest}/chats/42")).await;
    assert_eq!(status, 502, "{v}");
    assert!(v["detail"].as_str().unwrap_or_default().contains(&format!("{SHOWN_BASE}/chats/42")), "{v}");

    // A forwarded call: the same.
    let (status, v) = get(format!("{rest}/raw/getUpdates?offset=7")).await;
    assert_eq!(status, 502, "{v}");
    assert!(v["detail"].as_str().unwrap_or_default().contains(&format!("{SHOWN_BASE}/getUpdates")), "{v}");
    assert_no_token("a forward's 502 problem", &v.to_string());

    // An MCP tool: an `isError` text an agent can read, with the shown URL.
    let mcp = McpHttp::new(format!("{}/mcp", server.url("bot-tools")));
    mcp.initialize().await;
    let result = mcp.call("get-me", json!({})).await;
    assert_eq!(result["isError"], true, "{result}");
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains(&format!("{SHOWN_BASE}/getMe")), "{result}");
    assert_no_token("an MCP isError text", &result.to_string());

    let (_, log) = server.stop();
    assert!(log.contains("upstream call failed"), "{log}");
    assert!(log.contains(&format!("{SHOWN_BASE}/getMe")), "{log}");
    assert_no_token("the debug log", &log);
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_runs_show_the_token_as_stars() {
    let server = Naftiko::start(&fixture(), &["--dry-run"], &env(&[]));
    let rest = server.url("bot").to_string();
    let (status, v) = get(format!("{rest}/chats/42")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["url"], format!("{SHOWN_BASE}/chats/42"), "{v}");
    let (status, v) = get(format!("{rest}/raw/getUpdates?offset=7")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["url"], format!("{SHOWN_BASE}/getUpdates?offset=7"), "a forward's dry run: {v}");
    let mcp = McpHttp::new(format!("{}/mcp", server.url("bot-tools")));
    mcp.initialize().await;
    let result = mcp.call("get-me", json!({})).await;
    assert!(result.to_string().contains(&format!("{SHOWN_BASE}/getMe")), "{result}");
    assert_no_token("an MCP dry run", &result.to_string());
}

/// A capability whose document and bind value hold line breaks and escape sequences: every log
/// line stays one line, in text and in JSON.
#[tokio::test(flavor = "multi_thread")]
async fn line_breaks_in_values_never_split_a_log_line() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("crlf.yaml");
    // The operation's name (shown in the start-up lines and the debug lines) forges a line.
    let src = std::fs::read_to_string(fixture())
        .expect("fixture")
        .replace("name: get-me\n", "name: \"get-me\\r\\nnaftiko: FORGED\\u001b[2K\"\n")
        .replace("call: tg.get-me\n", "call: \"tg.get-me\\r\\nnaftiko: FORGED\\u001b[2K\"\n");
    std::fs::write(&file, src).expect("write capability");
    let base = format!("tg={}/bot{{{{TOKEN}}}}", upstream.url());
    for format in ["text", "json"] {
        let server = Naftiko::start(
            &file,
            &["--base-uri", &base],
            &[
                ("FIXTURE_BOT_TOKEN", "tok\r\nnaftiko: FORGED-TOKEN"),
                ("NAFTIKO_LOG", "debug"),
                ("NAFTIKO_LOG_FORMAT", format),
            ],
        );
        let (status, v) = get(format!("{}/me", server.url("bot"))).await;
        assert_eq!(status, 200, "{v}");
        let startup = server.startup.clone();
        let (_, log) = server.stop();
        let all = format!("{startup}{log}");
        assert!(all.contains("FORGED"), "the name is shown ({format}):\n{all}");
        assert!(!all.contains("FORGED-TOKEN"), "the token is scrubbed ({format}):\n{all}");
        for line in all.lines() {
            assert!(!line.starts_with("naftiko: FORGED"), "a forged line ({format}):\n{all}");
            assert!(!line.contains('\r') && !line.contains('\x1b'), "a control character ({format}): {line:?}");
            if format == "json" && line.starts_with('{') {
                serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            }
        }
        let debug = all.lines().find(|l| l.contains("upstream call")).unwrap_or_default();
        assert!(debug.contains(r"get-me\r\nnaftiko: FORGED"), "escaped in the line ({format}): {debug}");
    }
}
