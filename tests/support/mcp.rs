//! A minimal MCP client over Streamable HTTP for the end-to-end tests (the official Python SDK
//! is exercised separately in the interop test).
#![allow(dead_code)]

use serde_json::{Value, json};

/// Talks JSON-RPC to one MCP endpoint.
pub struct McpHttp {
    pub url: String,
    pub token: Option<String>,
    client: reqwest::Client,
    next_id: std::sync::atomic::AtomicU64,
}

impl McpHttp {
    /// An endpoint (`http://127.0.0.1:PORT/mcp`).
    pub fn new(url: impl Into<String>) -> McpHttp {
        McpHttp { url: url.into(), token: None, client: reqwest::Client::new(), next_id: 1.into() }
    }

    pub fn with_token(mut self, token: &str) -> McpHttp {
        self.token = Some(token.to_string());
        self
    }

    /// Sends one JSON-RPC message; returns the HTTP status and the JSON body (SSE unwrapped).
    pub async fn post(&self, body: Value, extra: &[(&str, &str)]) -> (u16, Value) {
        let mut req = self
            .client
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2025-06-18");
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.body(body.to_string()).send().await.expect("MCP request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let json_text = text.lines().find_map(|l| l.strip_prefix("data: ")).map(str::to_owned).unwrap_or(text);
        (status, serde_json::from_str(&json_text).unwrap_or(Value::String(json_text)))
    }

    /// The legacy handshake (`initialize` then `notifications/initialized`).
    pub async fn initialize(&self) -> Value {
        let (status, v) = self
            .post(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "naftiko-tests", "version": "1"}}}), &[])
            .await;
        assert_eq!(status, 200, "initialize: {v}");
        let _ = self.post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}), &[]).await;
        v["result"].clone()
    }

    /// A request; returns the whole JSON-RPC reply.
    pub async fn request(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (status, v) = self.post(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}), &[]).await;
        assert_eq!(status, 200, "{method}: {v}");
        v
    }

    /// `tools/call`; returns the result object (or panics on a JSON-RPC error).
    pub async fn call(&self, tool: &str, args: Value) -> Value {
        let v = self.request("tools/call", json!({"name": tool, "arguments": args})).await;
        assert!(v.get("error").is_none(), "tools/call {tool}: {v}");
        v["result"].clone()
    }
}
