//! The control adapter (`type: control`) end to end: health, readiness and status for the
//! adapters the process serves, behind the adapter's own authentication; and the Skill
//! catalogue behind its own (the same 401 answer).

mod support;

use serde_json::{Value, json};
use support::naftiko::Naftiko;

fn fixture(name: &str) -> std::path::PathBuf {
    support::workspace_root().join("tests/fixtures").join(name)
}

async fn get(url: String, token: Option<&str>) -> (u16, String, Value) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = r.text().await.unwrap();
    (status, ct, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn health_readiness_and_status_report_every_adapter() {
    let n = Naftiko::start(&fixture("control.yaml"), &[], &[("FIXTURE_CONTROL_TOKEN", "ctl-secret")]);
    let control = n.url("control").to_string();
    let token = Some("ctl-secret");

    let (status, ct, body) = get(format!("{control}/health/live"), token).await;
    assert_eq!((status, ct.as_str(), &body), (200, "application/json", &json!({"status": "UP"})));

    let (status, _, body) = get(format!("{control}/health/ready"), token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "UP");
    let adapters: Vec<(String, String, String)> = body["adapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["type"].as_str().unwrap().into(),
                a["namespace"].as_str().unwrap().into(),
                a["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [("rest", "api"), ("mcp", "tools"), ("control", "control")]
        .map(|(t, ns)| (t.to_string(), ns.to_string(), "started".to_string()));
    assert_eq!(adapters, expected);
    assert_eq!(body["adapters"][0]["url"], json!(n.url("api")), "{body}");

    let (status, _, body) = get(format!("{control}/status"), token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["label"], "Control fixture");
    assert_eq!(body["specVersion"], "1.0.0-alpha2");
    assert_eq!(body["engineVersion"], env!("CARGO_PKG_VERSION"));
    assert!(body["uptimeSeconds"].is_u64(), "{body}");
    assert_eq!(body["adapters"].as_array().unwrap().len(), 3);

    // Its own credentials: none or wrong → 401 with a challenge; the secret never echoed.
    for wrong in [None, Some("nope")] {
        let r = reqwest::Client::new().get(format!("{control}/health/ready"));
        let r = match wrong {
            Some(t) => r.bearer_auth(t),
            None => r,
        };
        let r = r.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        assert!(r.headers().get("www-authenticate").unwrap().to_str().unwrap().starts_with("Bearer"));
        assert!(!r.text().await.unwrap().contains("ctl-secret"));
    }
    // The business adapters are not behind the control adapter's credentials.
    let (status, _, body) = get(format!("{}/version", n.url("api")), None).await;
    assert_eq!((status, &body), (200, &json!({"version": "1.2.3"})));
    let (code, _) = n.stop();
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn defaults_serve_health_without_status() {
    let n = Naftiko::start(&fixture("control-defaults.yaml"), &[], &[]);
    let control = n.url("control").to_string();
    let (status, _, body) = get(format!("{control}/health/live"), None).await;
    assert_eq!((status, &body), (200, &json!({"status": "UP"})));
    let (status, _, body) = get(format!("{control}/health/ready"), None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("UP")));
    // `management.info` is off unless asked for.
    let (status, ct, _) = get(format!("{control}/status"), None).await;
    assert_eq!((status, ct.as_str()), (404, "application/problem+json"));
    n.stop();
}

#[tokio::test]
async fn the_skill_catalogue_is_behind_its_own_key() {
    let n = Naftiko::start(&fixture("skill-auth.yaml"), &[], &[("FIXTURE_SKILL_KEY", "sk-123")]);
    let skills = format!("{}/skills", n.url("skills"));
    let client = reqwest::Client::new();
    for wrong in [None, Some("nope")] {
        let mut r = client.get(&skills);
        if let Some(k) = wrong {
            r = r.header("x-skill-key", k);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("X-Skill-Key"), "{:?}", r.headers());
        assert!(!r.text().await.unwrap().contains("sk-123"));
    }
    let r = client.get(&skills).header("x-skill-key", "sk-123").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let list: Value = r.json().await.unwrap();
    assert_eq!(list["skills"][0]["name"], "ops", "{list}");
    n.stop();
}
