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

use support::mcp::McpHttp;

const MCP_TOKEN: &str = "sk-mcp-YYYYYYYYYYYY";

async fn tools(server: &support::naftiko::Naftiko) -> McpHttp {
    let mcp = McpHttp::new(format!("{}/mcp", server.url("shipyard-tools"))).with_token(MCP_TOKEN);
    mcp.initialize().await;
    mcp
}

fn structured(result: &Value) -> Value {
    assert_eq!(result["isError"], false, "{result}");
    match &result["structuredContent"] {
        Value::Object(o) if o.len() == 1 && o.contains_key("result") => o["result"].clone(),
        v => v.clone(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn step_1_mock_answers_without_an_upstream() {
    let Some(shipyard) = shipyard() else { return };
    let mock = Mock::start(&shipyard);
    let dir = copy_tutorial(&shipyard);
    let server = serve(dir.path(), 1, &mock);
    let mcp = tools(&server).await;
    let ship = structured(&mcp.call("get-ship", json!({"imo_number": "IMO-1234567"})).await);
    assert_eq!(
        ship,
        json!({"imo": "IMO-1234567", "name": "Northern Star", "type": "cargo", "flag": "NO", "status": "active"})
    );
    assert!(mock.requests().await.is_empty(), "a mock sends nothing upstream");
}

#[tokio::test(flavor = "multi_thread")]
async fn steps_2_to_4_wire_authenticate_and_shape() {
    let Some(shipyard) = shipyard() else { return };
    let mock = Mock::start(&shipyard);
    let dir = copy_tutorial(&shipyard);
    for n in 2..=4 {
        mock.clear().await;
        let server = serve(dir.path(), n, &mock);
        let mcp = tools(&server).await;
        let ships = structured(&mcp.call("list-ships", json!({"status": "active"})).await);
        let first = &ships.as_array().unwrap_or_else(|| panic!("step {n}: {ships}"))[0];
        assert!(first["imo"].as_str().is_some_and(|s| s.starts_with("IMO-")), "step {n}: {ships}");
        let ship = structured(&mcp.call("get-ship", json!({"imo": "IMO-9321483"})).await);
        assert_eq!(ship["name"], "Northern Star", "step {n}: {ship}");
        let requests = mock.requests().await;
        let sent = requests
            .iter()
            .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/ships/IMO-9321483")))
            .expect("get-ship reached the mock");
        if n >= 3 {
            assert_eq!(
                header(sent, "authorization"),
                Some("Bearer dummy-token"),
                "step {n}: the bearer token comes from the secrets file"
            );
        }
        if n == 4 {
            assert_eq!(
                ship["specs"],
                json!({"yearBuilt": 2015, "tonnage": 42000, "length": 229}),
                "step 4 shapes nested specs"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn step_5_reads_the_legacy_xml_api_and_step_6_posts_a_voyage() {
    let Some(shipyard) = shipyard() else { return };
    let mock = Mock::start(&shipyard);
    let dir = copy_tutorial(&shipyard);
    let server = serve(dir.path(), 5, &mock);
    let mcp = tools(&server).await;
    let vessels = structured(&mcp.call("list-legacy-vessels", json!({"status": "active"})).await);
    assert_eq!(vessels[0]["vesselCode"], "LEGACY-4012", "{vessels}");
    let requests = mock.requests().await;
    assert_eq!(header(requests.last().unwrap(), "x-dock-key"), Some("dummy-dockyard-key"));
    drop(server);

    mock.clear().await;
    let server = serve(dir.path(), 6, &mock);
    let mcp = tools(&server).await;
    let args = json!({"shipImo": "IMO-9321483", "departurePort": "Oslo", "arrivalPort": "Rotterdam", "departureDate": "2026-12-01", "arrivalDate": "2026-12-04", "crewIds": ["CREW-001"], "cargoIds": ["CARGO-7"]});
    let voyage = structured(&mcp.call("create-voyage", args.clone()).await);
    assert!(voyage["voyageId"].is_string(), "{voyage}");
    let requests = mock.requests().await;
    let posted = requests.iter().find(|r| r["method"] == "POST").expect("the voyage was posted");
    let body: Value = match &posted["body"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        v => v.clone(),
    };
    assert_eq!(body, args, "step 6 posts the voyage body");
}

#[tokio::test(flavor = "multi_thread")]
async fn steps_7_to_10_resolve_a_ship_with_its_crew() {
    let Some(shipyard) = shipyard() else { return };
    let mock = Mock::start(&shipyard);
    let dir = copy_tutorial(&shipyard);
    let expected_crew =
        json!([{"fullName": "Erik Lindström", "role": "captain"}, {"fullName": "Aiko Tanaka", "role": "cook"}]);
    for n in 7..=10 {
        let server = serve(dir.path(), n, &mock);
        let mcp = tools(&server).await;
        let listed = mcp.request("tools/list", json!({})).await["result"]["tools"].clone();
        let tool = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "get-ship-with-crew")
            .unwrap_or_else(|| panic!("step {n}: {listed}"));
        assert_eq!(tool["inputSchema"]["required"], json!(["imo"]), "step {n}");
        let ship = structured(&mcp.call("get-ship-with-crew", json!({"imo": "IMO-9321483"})).await);
        assert_eq!(ship["imo"], "IMO-9321483", "step {n}: {ship}");
        assert_eq!(ship["name"], "Northern Star", "step {n}");
        assert_eq!(ship["status"], "active", "step {n}");
        assert_eq!(ship["crew"], expected_crew, "step {n}");
        if n >= 9 {
            // Step 9's aggregate: hints derived from `semantics: {safe: true, idempotent: true}`.
            assert_eq!(tool["annotations"]["readOnlyHint"], true, "step {n}: {tool}");
            assert_eq!(tool["annotations"]["idempotentHint"], true, "step {n}");
        }
        if n == 10 {
            // The same function served by REST.
            let api = server.url("shipyard-api").to_string();
            let via_rest: Value =
                reqwest::get(format!("{api}/ships/IMO-9321483/crew")).await.unwrap().json().await.unwrap();
            assert_eq!(via_rest, ship, "step 10: REST and MCP serve one function");
            // The MCP server is protected by the bearer token from the secrets file.
            let (status, _) = McpHttp::new(format!("{}/mcp", server.url("shipyard-tools")))
                .post(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}), &[])
                .await;
            assert_eq!(status, 401);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn step_11_assembles_a_voyage_manifest() {
    let Some(shipyard) = shipyard() else { return };
    let mock = Mock::start(&shipyard);
    let dir = copy_tutorial(&shipyard);
    let server = serve(dir.path(), 11, &mock);
    let mcp = tools(&server).await;
    let examples: Value = reqwest::get(format!("{}/__examples", mock.url)).await.unwrap().json().await.unwrap();
    let voyage_id = examples
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["operationId"] == "get-voyage" && e["status"] == 200)
        .find_map(|e| e["criteria"].as_str().and_then(|c| c.split('=').nth(1)).map(str::to_owned))
        .expect("the mock serves a voyage");
    let manifest = structured(&mcp.call("get-voyage-manifest", json!({"voyageId": voyage_id})).await);
    assert_eq!(manifest["voyageId"], json!(voyage_id), "{manifest}");
    assert!(manifest["route"]["from"].is_string() && manifest["route"]["to"].is_string(), "{manifest}");
    assert!(manifest["ship"]["name"].is_string(), "the ship is resolved by lookup: {manifest}");
    assert!(manifest["crew"].as_array().is_some_and(|c| !c.is_empty() && c[0]["fullName"].is_string()), "{manifest}");
    assert!(manifest["cargo"].as_array().is_some_and(|c| !c.is_empty()), "{manifest}");
    let skills = server.url("shipyard-skills").to_string();
    let voyage_ops: Value = reqwest::get(format!("{skills}/skills/voyage-ops")).await.unwrap().json().await.unwrap();
    assert_eq!(voyage_ops["tools"][1]["invocationRef"]["action"], "get-voyage-manifest");
}
