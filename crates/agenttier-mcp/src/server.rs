//! The MCP server: one [`AgentTierServer`] answers every MCP request with the async SDK client.
//! It is cheap to clone (the client and the tool table are shared), so the HTTP transport can
//! hand a copy to every session.

use std::sync::Arc;

use agenttier::Client;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ContentBlock, GetPromptRequestParams, GetPromptResponse, Implementation,
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::reply::invalid_argument;
use crate::{prompts, resources};

/// What the server tells the model when it connects.
const INSTRUCTIONS: &str = "AgentTier runs isolated sandboxes for AI agents. Create one with sandbox_create \
(template_list shows the templates), call sandbox_wait until it is Running, then use sandbox_run_command, \
file_read, file_write and file_list; call sandbox_terminate when you are done. Agent-mode sandboxes take \
agent_configure, agent_invoke and agent_cancel. Workspace files are also resources \
(agenttier://{sandbox_id}/workspace/{path}). Fleet tools (governance, analytics, audit, admin, warm pool, \
cluster) need admin credentials. Errors come back as results with error, message and hint fields: the hint \
says what to do next.";

/// The AgentTier MCP server over one SDK client.
#[derive(Clone)]
pub struct AgentTierServer {
    pub(crate) client: Client,
    tools: Arc<ToolRouter<AgentTierServer>>,
}

impl std::fmt::Debug for AgentTierServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTierServer")
            .field("client", &self.client)
            .field("tools", &self.tools.list_all().len())
            .finish()
    }
}

impl AgentTierServer {
    /// A server whose tools act through `client` (and so with its credentials).
    pub fn new(client: Client) -> Self {
        let tools = Self::sandbox_tools()
            + Self::file_tools()
            + Self::sharing_tools()
            + Self::backup_tools()
            + Self::bulk_tools()
            + Self::fleet_tools()
            + Self::webhook_tools()
            + Self::agent_tools();
        AgentTierServer {
            client,
            tools: Arc::new(tools),
        }
    }

    /// Every tool, with its input schema and annotations.
    pub fn tools(&self) -> Vec<Tool> {
        self.tools.list_all()
    }
}

impl ServerHandler for AgentTierServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(Implementation::new("agenttier", env!("CARGO_PKG_VERSION")))
        .with_instructions(INSTRUCTIONS)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let response = self.tools.call(ToolCallContext::new(self, request, context)).await?;
        // rmcp reports arguments that do not match the schema as a bare text tool error; our
        // own errors always carry structured content. Give the bare ones the same shape.
        match response {
            CallToolResponse::Complete(result)
                if result.is_error == Some(true) && result.structured_content.is_none() =>
            {
                let message = result
                    .content
                    .iter()
                    .filter_map(|c| match c {
                        ContentBlock::Text(t) => Some(t.text.as_str()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                Ok(invalid_argument(message).into())
            }
            other => Ok(other),
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.list_all()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.get(name).cloned()
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(
            resources::list(&self.client).await?,
        ))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![resources::template()]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let contents = resources::read(&self.client, &request.uri).await?;
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(prompts::list()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        Ok(prompts::get(&request.name, request.arguments.as_ref())?.into())
    }
}
