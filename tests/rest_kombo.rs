//! `naftiko serve capabilities/kombo-general.yaml` end to end: every one of its 13 REST
//! operations sends exactly the right upstream request (method, path with kebab route
//! variables routed into snake placeholders, query, `X-Integration-Id`, bearer token from
//! `KOMBO_API_KEY`, JSON body) and returns the upstream status and body as they are.

mod support;

use serde_json::{Value, json};
use support::naftiko::Naftiko;
use support::upstream::{Reply, Upstream};

const KEY: &str = "kombo-test-key-9f2c";

struct Case {
    method: &'static str,
    path: &'static str,
    header: Option<&'static str>,
    body: Option<Value>,
    upstream_path: &'static str,
    upstream_query: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let body = || Some(json!({"enabled": true, "nested": {"list": [1, 2, "three"]}, "s": "ü \"q\""}));
    vec![
        Case {
            method: "GET",
            path: "/v1/check-api-key",
            header: None,
            body: None,
            upstream_path: "/v1/check-api-key",
            upstream_query: None,
        },
        Case {
            method: "POST",
            path: "/v1/force-sync",
            header: Some("int-7"),
            body: body(),
            upstream_path: "/v1/force-sync",
            upstream_query: None,
        },
        Case {
            method: "DELETE",
            path: "/v1/integrations/int-42",
            header: None,
            body: body(),
            upstream_path: "/v1/integrations/int-42",
            upstream_query: None,
        },
        Case {
            method: "GET",
            path: "/v1/integrations/int%2042",
            header: None,
            body: None,
            upstream_path: "/v1/integrations/int%2042",
            upstream_query: None,
        },
        Case {
            method: "GET",
            path: "/v1/integrations/int-42/custom-fields?cursor=abc%3D&page_size=25",
            header: None,
            body: None,
            upstream_path: "/v1/integrations/int-42/custom-fields",
            upstream_query: Some("cursor=abc%3D&page_size=25"),
        },
        Case {
            method: "PUT",
            path: "/v1/integrations/int-42/custom-fields/cf-9",
            header: None,
            body: body(),
            upstream_path: "/v1/integrations/int-42/custom-fields/cf-9",
            upstream_query: None,
        },
        Case {
            method: "PUT",
            path: "/v1/integrations/int-42/enabled",
            header: None,
            body: body(),
            upstream_path: "/v1/integrations/int-42/enabled",
            upstream_query: None,
        },
        Case {
            method: "GET",
            path: "/v1/integrations/int-42/integration-fields?page_size=2000",
            header: None,
            body: None,
            upstream_path: "/v1/integrations/int-42/integration-fields",
            upstream_query: Some("page_size=2000"),
        },
        Case {
            method: "PATCH",
            path: "/v1/integrations/int-42/integration-fields/if-3",
            header: None,
            body: body(),
            upstream_path: "/v1/integrations/int-42/integration-fields/if-3",
            upstream_query: None,
        },
        Case {
            method: "POST",
            path: "/v1/integrations/int-42/relink",
            header: None,
            body: body(),
            upstream_path: "/v1/integrations/int-42/relink",
            upstream_query: None,
        },
        Case {
            method: "POST",
            path: "/v1/integrations/int-42/setup-link",
            header: None,
            body: body(),
            upstream_path: "/v1/integrations/int-42/setup-link",
            upstream_query: None,
        },
        Case {
            method: "POST",
            path: "/v1/passthrough/personio/v1",
            header: Some("int-8"),
            body: body(),
            upstream_path: "/v1/passthrough/personio/v1",
            upstream_query: None,
        },
        Case {
            method: "GET",
            path: "/v1/tools/ats",
            header: None,
            body: None,
            upstream_path: "/v1/tools/ats",
            upstream_query: None,
        },
    ]
}

async fn serve_kombo(upstream: &Upstream) -> Naftiko {
    let kombo = support::workspace_root().join("capabilities/kombo-general.yaml");
    let base = format!("kombo-general={}/v1", upstream.url());
    Naftiko::start(&kombo, &["--base-uri", &base], &[("KOMBO_API_KEY", KEY)])
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kombo_operation_sends_the_exact_upstream_request() {
    let upstream = Upstream::start().await;
    upstream.respond(|r| {
        let status = if r.method == "POST" { 201 } else { 200 };
        Reply::json(status, json!({"status": "success", "data": {"seen": r.path, "items": [1, {"k": null}]}}))
    });
    let server = serve_kombo(&upstream).await;
    let base = server.url("kombo-general-rest").to_string();
    let client = reqwest::Client::new();
    let cases = cases();
    assert_eq!(cases.len(), 13);
    for case in cases {
        upstream.clear();
        let mut req = client.request(case.method.parse().unwrap(), format!("{base}{}", case.path));
        if let Some(h) = case.header {
            req = req.header("X-Integration-Id", h);
        }
        if let Some(b) = &case.body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        let sent = upstream.single();
        let what = format!("{} {}", case.method, case.path);
        assert_eq!(sent.method, case.method, "{what}");
        assert_eq!(sent.path, case.upstream_path, "{what}");
        assert_eq!(sent.query.as_deref(), case.upstream_query, "{what}");
        assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()), "{what}");
        assert_eq!(sent.header("x-integration-id"), case.header, "{what}");
        match &case.body {
            Some(b) => {
                assert_eq!(&sent.json(), b, "{what}: body passed through");
                assert_eq!(sent.header("content-type"), Some("application/json"), "{what}");
            }
            None => assert!(sent.body.is_empty(), "{what}: no body expected, got {:?}", sent.body),
        }
        let expected_status = if case.method == "POST" { 201 } else { 200 };
        assert_eq!(status, expected_status, "{what}: upstream status returned");
        assert_eq!(body["status"], "success", "{what}");
        assert_eq!(body["data"]["seen"], json!(sent.path), "{what}");
        assert_eq!(body["data"]["items"], json!([1, {"k": null}]), "{what}: upstream body returned as it is");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn required_header_missing_is_a_400_naming_it_and_nothing_is_sent() {
    let upstream = Upstream::start().await;
    let server = serve_kombo(&upstream).await;
    let base = server.url("kombo-general-rest").to_string();
    let resp = reqwest::Client::new().post(format!("{base}/v1/force-sync")).json(&json!({})).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let p: Value = resp.json().await.unwrap();
    assert_eq!(p["errors"][0]["name"], "X-Integration-Id");
    assert_eq!(p["errors"][0]["in"], "header");
    assert!(upstream.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_and_methods() {
    let upstream = Upstream::start().await;
    let server = serve_kombo(&upstream).await;
    let base = server.url("kombo-general-rest").to_string();
    let client = reqwest::Client::new();
    let r = client.get(format!("{base}/v1/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = client.post(format!("{base}/v1/tools/ats")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, HEAD");
    let r = client.get(format!("{base}/v1/check-api-key/")).send().await.unwrap();
    assert_eq!(r.status(), 200, "a trailing slash is tolerated");
    assert!(upstream.requests().len() == 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_answers_with_the_request_and_redacts_the_key() {
    let kombo = support::workspace_root().join("capabilities/kombo-general.yaml");
    let server = Naftiko::start(&kombo, &["--dry-run"], &[("KOMBO_API_KEY", KEY)]);
    let base = server.url("kombo-general-rest").to_string();
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/passthrough/personio/v1"))
        .header("X-Integration-Id", "int-1")
        .json(&json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains(KEY), "the key must not appear: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["method"], "POST");
    assert_eq!(v["url"], "https://api.kombo.dev/v1/passthrough/personio/v1");
    assert_eq!(v["headers"]["authorization"], "Bearer ***");
    assert_eq!(v["headers"]["x-integration-id"], "int-1");
    assert_eq!(v["body"], json!({"a": 1}));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_bind_variable_stops_start_up_naming_it() {
    let kombo = support::workspace_root().join("capabilities/kombo-general.yaml");
    let out = std::process::Command::new(support::naftiko_bin())
        .args(["serve", kombo.to_str().unwrap(), "--listen", "*=127.0.0.1:0"])
        .env_remove("KOMBO_API_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[unresolved-bind]: bind variable `KOMBO_API_KEY` is not set: environment variable `KOMBO_API_KEY` is missing"), "{err}");
    assert!(err.contains("kombo-general.yaml:13:"), "{err}");
}
