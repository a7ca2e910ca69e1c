//! The Kombo capability's MCP adapter end to end: `tools/list` gives the 13 tools in order with
//! input schemas inferred from the consumed operations and annotations from `hints`, and a
//! `tools/call` of each sends the exact upstream request and returns the upstream JSON as
//! `structuredContent`.

mod support;

use serde_json::{Value, json};
use support::mcp::McpHttp;
use support::naftiko::Naftiko;
use support::upstream::{Reply, Upstream};

const KEY: &str = "kombo-mcp-key-4e1b";

async fn serve(upstream: &Upstream) -> (Naftiko, McpHttp) {
    let kombo = support::workspace_root().join("capabilities/kombo-general.yaml");
    let base = format!("kombo-general={}/v1", upstream.url());
    let server = Naftiko::start(&kombo, &["--base-uri", &base], &[("KOMBO_API_KEY", KEY)]);
    let mcp = McpHttp::new(format!("{}/mcp", server.url("kombo-general-mcp")));
    mcp.initialize().await;
    (server, mcp)
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_list_gives_thirteen_tools_with_usable_schemas() {
    let upstream = Upstream::start().await;
    let (_server, mcp) = serve(&upstream).await;
    let tools = mcp.request("tools/list", json!({})).await["result"]["tools"].clone();
    let names: Vec<&str> = tools.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "check-api-key",
            "trigger-sync",
            "delete-integration",
            "get-integration-details",
            "get-custom-fields-current-mappings",
            "put-custom-field-mappings",
            "set-integration-enabled",
            "get-integration-fields",
            "updates-integration-fields-passthrough-setting",
            "create-reconnection-link",
            "create-setup-flow-link",
            "send-passthrough-request",
            "get-tools"
        ]
    );
    let tool = |n: &str| tools.as_array().unwrap().iter().find(|t| t["name"] == n).unwrap().clone();
    let details = tool("get-integration-details");
    assert_eq!(details["inputSchema"]["required"], json!(["integration_id"]));
    assert_eq!(details["inputSchema"]["properties"]["integration_id"]["type"], "string");
    assert_eq!(details["annotations"], json!({"readOnlyHint": true, "destructiveHint": false, "idempotentHint": true}));
    let sync = tool("trigger-sync");
    assert_eq!(sync["inputSchema"]["required"], json!(["X-Integration-Id"]));
    assert_eq!(sync["inputSchema"]["properties"]["X-Integration-Id"]["type"], "string");
    assert_eq!(sync["inputSchema"]["properties"]["body"]["type"], "object");
    let fields = tool("get-integration-fields");
    assert_eq!(fields["inputSchema"]["properties"]["cursor"]["type"], "string");
    assert_eq!(fields["inputSchema"]["properties"]["page_size"]["type"], "string");
    assert_eq!(fields["inputSchema"]["required"], json!(["integration_id"]), "cursor and page_size are optional");
    assert_eq!(tool("delete-integration")["annotations"]["destructiveHint"], true);
    assert_eq!(tool("check-api-key")["inputSchema"], json!({"type": "object", "properties": {}}));
}

struct Case {
    tool: &'static str,
    args: Value,
    method: &'static str,
    path: &'static str,
    query: Option<&'static str>,
    header: Option<&'static str>,
    body: Option<Value>,
}

#[tokio::test(flavor = "multi_thread")]
async fn every_tool_sends_the_exact_upstream_request_and_returns_its_json() {
    let upstream = Upstream::start().await;
    upstream.respond(|r| Reply::json(200, json!({"status": "success", "data": {"path": r.path, "items": [1, null]}})));
    let (_server, mcp) = serve(&upstream).await;
    let body = json!({"enabled": true, "list": [1, "two"], "s": "é \"q\""});
    let cases = vec![
        Case {
            tool: "check-api-key",
            args: json!({}),
            method: "GET",
            path: "/v1/check-api-key",
            query: None,
            header: None,
            body: None,
        },
        Case {
            tool: "trigger-sync",
            args: json!({"X-Integration-Id": "int-7", "body": body}),
            method: "POST",
            path: "/v1/force-sync",
            query: None,
            header: Some("int-7"),
            body: Some(body.clone()),
        },
        Case {
            tool: "delete-integration",
            args: json!({"integration_id": "int-1"}),
            method: "DELETE",
            path: "/v1/integrations/int-1",
            query: None,
            header: None,
            body: None,
        },
        Case {
            tool: "get-integration-details",
            args: json!({"integration_id": "int 1/x"}),
            method: "GET",
            path: "/v1/integrations/int%201%2Fx",
            query: None,
            header: None,
            body: None,
        },
        Case {
            tool: "get-custom-fields-current-mappings",
            args: json!({"integration_id": "int-1", "cursor": "c&1", "page_size": "50"}),
            method: "GET",
            path: "/v1/integrations/int-1/custom-fields",
            query: Some("cursor=c%261&page_size=50"),
            header: None,
            body: None,
        },
        Case {
            tool: "put-custom-field-mappings",
            args: json!({"integration_id": "int-1", "custom_field_id": "cf-2", "body": body}),
            method: "PUT",
            path: "/v1/integrations/int-1/custom-fields/cf-2",
            query: None,
            header: None,
            body: Some(body.clone()),
        },
        Case {
            tool: "set-integration-enabled",
            args: json!({"integration_id": "int-1", "body": {"value": false}}),
            method: "PUT",
            path: "/v1/integrations/int-1/enabled",
            query: None,
            header: None,
            body: Some(json!({"value": false})),
        },
        Case {
            tool: "get-integration-fields",
            args: json!({"integration_id": "int-1", "page_size": "10"}),
            method: "GET",
            path: "/v1/integrations/int-1/integration-fields",
            query: Some("page_size=10"),
            header: None,
            body: None,
        },
        Case {
            tool: "updates-integration-fields-passthrough-setting",
            args: json!({"integration_id": "int-1", "integration_field_id": "if-3", "body": body}),
            method: "PATCH",
            path: "/v1/integrations/int-1/integration-fields/if-3",
            query: None,
            header: None,
            body: Some(body.clone()),
        },
        Case {
            tool: "create-reconnection-link",
            args: json!({"integration_id": "int-1", "body": body}),
            method: "POST",
            path: "/v1/integrations/int-1/relink",
            query: None,
            header: None,
            body: Some(body.clone()),
        },
        Case {
            tool: "create-setup-flow-link",
            args: json!({"integration_id": "int-1", "body": body}),
            method: "POST",
            path: "/v1/integrations/int-1/setup-link",
            query: None,
            header: None,
            body: Some(body.clone()),
        },
        Case {
            tool: "send-passthrough-request",
            args: json!({"X-Integration-Id": "int-8", "tool": "personio", "api": "v1", "body": body}),
            method: "POST",
            path: "/v1/passthrough/personio/v1",
            query: None,
            header: Some("int-8"),
            body: Some(body.clone()),
        },
        Case {
            tool: "get-tools",
            args: json!({"category": "hris"}),
            method: "GET",
            path: "/v1/tools/hris",
            query: None,
            header: None,
            body: None,
        },
    ];
    assert_eq!(cases.len(), 13);
    for case in cases {
        upstream.clear();
        let result = mcp.call(case.tool, case.args.clone()).await;
        let what = case.tool;
        assert_eq!(result["isError"], false, "{what}: {result}");
        let sent = upstream.single();
        assert_eq!(sent.method, case.method, "{what}");
        assert_eq!(sent.path, case.path, "{what}");
        assert_eq!(sent.query.as_deref(), case.query, "{what}");
        assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()), "{what}");
        assert_eq!(sent.header("x-integration-id"), case.header, "{what}");
        match &case.body {
            Some(b) => assert_eq!(&sent.json(), b, "{what}: JSON body"),
            None => assert!(sent.body.is_empty(), "{what}: no body"),
        }
        let expected = json!({"status": "success", "data": {"path": sent.path, "items": [1, null]}});
        assert_eq!(result["structuredContent"], expected, "{what}: upstream JSON as structuredContent");
        let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, expected, "{what}: the same JSON as text");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_errors_are_results_an_agent_can_act_on() {
    let upstream = Upstream::start().await;
    upstream.respond(|r| match r.path.as_str() {
        "/v1/integrations/missing" => Reply::json(404, json!({"error": "integration not found"})),
        "/v1/integrations/broken" => Reply::json(500, json!({"error": "boom"})),
        _ => Reply::json(200, json!({})),
    });
    let (_server, mcp) = serve(&upstream).await;
    let r = mcp.call("get-integration-details", json!({})).await;
    assert_eq!(r["isError"], true);
    assert!(r["content"][0]["text"].as_str().unwrap().contains("missing required argument `integration_id`"), "{r}");
    let r = mcp.call("get-integration-details", json!({"integration_id": 5})).await;
    assert_eq!(r["isError"], true, "a number where a string is declared: {r}");
    assert!(r["content"][0]["text"].as_str().unwrap().contains("integration_id"), "{r}");
    let r = mcp.call("get-integration-details", json!({"integration_id": "missing"})).await;
    assert_eq!(r["isError"], true);
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("404")
            && text.contains("integration not found")
            && text.contains("kombo-general.getintegrationsintegrationid"),
        "{text}"
    );
    let r = mcp.call("get-integration-details", json!({"integration_id": "broken"})).await;
    assert_eq!(r["isError"], true);
    assert!(r["content"][0]["text"].as_str().unwrap().contains("500"), "{r}");
    let v = mcp.request("tools/call", json!({"name": "no-such-tool", "arguments": {}})).await;
    assert_eq!(v["error"]["code"], -32602, "{v}");
    assert!(!upstream.requests().iter().any(|r| r.path.contains("no-such")));
}
