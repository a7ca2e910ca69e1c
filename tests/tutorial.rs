//! The Naftiko tutorial (Shipyard, 11 steps) end to end against its Microcks-style mock:
//! every step starts with zero errors and all its adapters answer, and each step does what the
//! tutorial promises, checked through REST, MCP and Skill calls.

mod support;

use serde_json::{Value, json};
use support::shipyard::{Mock, copy_tutorial, serve, step_file};

fn shipyard() -> Option<std::path::PathBuf> {
    support::shared_dir().map(|s| s.join("conformance/shipyard"))
}

fn header<'a>(req: &'a Value, name: &str) -> Option<&'a str> {
    let headers = req.get("headers")?.as_object()?;
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str().or_else(|| v.get(0).and_then(Value::as_str)))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_step_starts_with_zero_errors_and_all_adapters_answer() {
    let Some(shipyard) = shipyard() else { return };
    let mock = Mock::start(&shipyard);
    let dir = copy_tutorial(&shipyard);
    let client = reqwest::Client::new();
    for n in 1..=11 {
        let file = step_file(dir.path(), n);
        let validation = naftiko_spec::validate(&file);
        assert!(
            validation.is_ok(),
            "step {n} has errors: {:?}",
            validation.diagnostics.iter().filter(|d| d.is_error()).collect::<Vec<_>>()
        );
        let declared: Vec<(String, String)> = validation
            .document
            .as_ref()
            .unwrap()
            .exposes
            .iter()
            .map(|e| (e.kind_str().to_string(), e.namespace.as_ref().map(|n| n.value.clone()).unwrap_or_default()))
            .collect();
        let server = serve(dir.path(), n, &mock);
        for (kind, ns) in &declared {
            let url = server.url(ns).to_string();
            let status = match kind.as_str() {
                "skill" => client.get(format!("{url}/skills")).send().await.unwrap().status().as_u16(),
                "rest" => client.get(format!("{url}/no-such-route")).send().await.unwrap().status().as_u16(),
                "mcp" => client
                    .post(format!("{url}/mcp"))
                    .header("accept", "application/json, text/event-stream")
                    .header("authorization", "Bearer sk-mcp-YYYYYYYYYYYY")
                    .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
                other => panic!("step {n}: unexpected adapter type {other}"),
            };
            let expected = if kind == "rest" { 404 } else { 200 };
            assert_eq!(status, expected, "step {n}: {kind} adapter {ns} answers");
        }
        let (code, rest) = server.stop();
        assert_eq!(code, Some(0), "step {n} stops cleanly: {rest}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn step_7_rest_resolves_a_ship_with_its_crew() {
    let Some(shipyard) = shipyard() else { return };
    let mock = Mock::start(&shipyard);
    let dir = copy_tutorial(&shipyard);
    let server = serve(dir.path(), 7, &mock);
    let api = server.url("shipyard-api").to_string();
    let v: Value = reqwest::get(format!("{api}/ships/IMO-9321483/crew")).await.unwrap().json().await.unwrap();
    assert_eq!(v["imo"], "IMO-9321483", "{v}");
    assert_eq!(v["name"], "Northern Star");
    assert_eq!(v["status"], "active");
    assert_eq!(v["yearBuilt"], 2015);
    assert_eq!(v["length"], 229);
    assert_eq!(
        v["crew"],
        json!([{"fullName": "Erik Lindström", "role": "captain"}, {"fullName": "Aiko Tanaka", "role": "cook"}])
    );
    // The registry calls carry the bearer token and version header from the secrets file.
    let requests = mock.requests().await;
    let ship = requests
        .iter()
        .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/ships/IMO-9321483")))
        .expect("get-ship reached the mock");
    assert_eq!(header(ship, "authorization"), Some("Bearer dummy-token"));
    assert_eq!(header(ship, "registry-version"), Some("1.0.0-alpha2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn step_7_rest_lists_ships_and_legacy_vessels_and_posts_voyages() {
    let Some(shipyard) = shipyard() else { return };
    let mock = Mock::start(&shipyard);
    let dir = copy_tutorial(&shipyard);
    let server = serve(dir.path(), 7, &mock);
    let api = server.url("shipyard-api").to_string();
    let ships: Value = reqwest::get(format!("{api}/ships?status=active")).await.unwrap().json().await.unwrap();
    let first = &ships.as_array().unwrap_or_else(|| panic!("an array of ships: {ships}"))[0];
    assert!(first["imo"].as_str().unwrap().starts_with("IMO-"), "{ships}");
    assert_eq!(first.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["imo", "name", "type", "flag", "status"]);
    mock.clear().await;
    let legacy: Value =
        reqwest::get(format!("{api}/legacy/vessels?status=active")).await.unwrap().json().await.unwrap();
    assert_eq!(
        legacy,
        json!([{"vesselCode": "LEGACY-4012", "name": "Old Faithful", "type": "cargo", "flag": "GB", "status": "active"}])
    );
    let requests = mock.requests().await;
    assert_eq!(header(&requests[0], "x-dock-key"), Some("dummy-dockyard-key"));

    mock.clear().await;
    let voyage = json!({
        "shipImo": "IMO-9321483", "departurePort": "Oslo", "arrivalPort": "Rotterdam",
        "departureDate": "2026-12-01", "arrivalDate": "2026-12-04", "crewIds": ["CREW-001", "CREW-003"], "cargoIds": ["CARGO-1"]
    });
    let r = reqwest::Client::new().post(format!("{api}/voyages")).json(&voyage).send().await.unwrap();
    let status = r.status().as_u16();
    let created: Value = r.json().await.unwrap();
    assert!(status == 200 || status == 201, "{status} {created}");
    assert!(created["voyageId"].is_string(), "{created}");
    assert!(created["route"]["from"].is_string() && created["dates"]["departure"].is_string(), "{created}");
    let requests = mock.requests().await;
    let posted = requests.iter().find(|r| r["method"] == "POST").expect("create-voyage reached the mock");
    let body: Value = match &posted["body"] {
        Value::String(s) => serde_json::from_str(s).expect("JSON body"),
        other => other.clone(),
    };
    assert_eq!(body, voyage, "the voyage body is posted upstream as sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn step_8_serves_its_skills() {
    let Some(shipyard) = shipyard() else { return };
    let mock = Mock::start(&shipyard);
    let dir = copy_tutorial(&shipyard);
    let server = serve(dir.path(), 8, &mock);
    let skills = server.url("shipyard-skills").to_string();
    let list: Value = reqwest::get(format!("{skills}/skills")).await.unwrap().json().await.unwrap();
    assert_eq!(list["count"], 2);
    assert_eq!(list["skills"][0]["name"], "fleet-ops");
    assert_eq!(
        list["skills"][0]["tools"],
        json!(["list-ships", "get-ship", "list-legacy-vessels", "get-ship-with-crew"])
    );
    let fleet: Value = reqwest::get(format!("{skills}/skills/fleet-ops")).await.unwrap().json().await.unwrap();
    assert_eq!(
        fleet["tools"][3],
        json!({
            "name": "get-ship-with-crew",
            "description": "Get ship details with resolved crew names",
            "type": "derived",
            "invocationRef": {"targetNamespace": "shipyard-tools", "action": "get-ship-with-crew", "mode": "mcp"}
        })
    );
    assert_eq!(reqwest::get(format!("{skills}/skills/nope")).await.unwrap().status(), 404);
}
