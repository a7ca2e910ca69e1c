//! The rmcp server handler: protocol requests in, engine invocations, protocol results out.

use std::sync::Arc;

use naftiko_engine::invoke::Engine;
use rmcp::ErrorData as McpError;
use rmcp::RoleServer;
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, ServerConfig,
};
use rmcp::service::RequestContext;
use serde_json::Value;

use crate::prompts::Prompts;
use crate::resources::{ReadError, Resources};
use crate::tools::Tools;

/// Everything one MCP adapter serves, shared by all connections.
pub(crate) struct Inner {
    pub info: ServerConfig,
    pub tools: Tools,
    pub resources: Resources,
    pub prompts: Prompts,
    pub engine: Engine,
}

/// The MCP server of one adapter (cheap to clone: one per connection or request).
#[derive(Clone)]
pub struct McpServer {
    pub(crate) inner: Arc<Inner>,
}

fn from_json<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, McpError> {
    serde_json::from_value(v).map_err(|e| McpError::internal_error(format!("cannot build the result: {e}"), None))
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        self.inner.info.clone()
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.inner.tools.entries.iter().map(|e| e.listed.clone()).collect()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(tool) = self.inner.tools.get(&request.name) else {
            let known: Vec<&str> = self.inner.tools.entries.iter().map(|e| e.plan.name.as_str()).collect();
            return Err(McpError::invalid_params(
                format!("unknown tool `{}`; this server has: {}", request.name, known.join(", ")),
                None,
            ));
        };
        // Clients on protocols older than 2026-07-28 get non-object results wrapped.
        let wrap = context.protocol_version().is_none_or(|v| v.as_str() < ProtocolVersion::V_2026_07_28.as_str());
        let args = request.arguments.unwrap_or_default();
        Ok(tool.call(&self.inner.engine, args, wrap).await.into_result().into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let items = self.inner.resources.list().into_iter().map(from_json).collect::<Result<Vec<_>, _>>()?;
        Ok(ListResourcesResult::with_all_items(items))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let items = self.inner.resources.templates().into_iter().map(from_json).collect::<Result<Vec<_>, _>>()?;
        Ok(ListResourceTemplatesResult::with_all_items(items))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        match self.inner.resources.read(&request.uri, &self.inner.engine).await {
            Ok(v) => Ok(ReadResourceResponse::Complete(from_json(v)?)),
            Err(ReadError::Invalid(m)) => Err(McpError::invalid_params(m, None)),
            Err(ReadError::Internal(m)) => Err(McpError::internal_error(m, None)),
        }
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let items = self.inner.prompts.list().into_iter().map(from_json).collect::<Result<Vec<_>, _>>()?;
        Ok(ListPromptsResult::with_all_items(items))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let args = request.arguments.unwrap_or_default();
        match self.inner.prompts.get(&request.name, &args) {
            Ok(v) => Ok(GetPromptResponse::Complete(from_json(v)?)),
            Err(m) => Err(McpError::invalid_params(m, None)),
        }
    }
}
