//! The Investigator's only way to data: an MCP session with the runtime's capability token, and
//! a budget of tool calls.

use std::sync::atomic::{AtomicU32, Ordering};

use rmcp::RoleClient;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::{StreamableHttpClientTransport, StreamableHttpClientTransportConfig};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::InvestigationError;

/// A capability token minted by the runtime. It is shown to no model and never logged.
#[derive(Clone)]
pub struct CapabilityToken(String);

impl CapabilityToken {
    /// Wraps a minted token.
    pub fn new(token: String) -> CapabilityToken {
        CapabilityToken(token)
    }

    /// The token itself, for the transport.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CapabilityToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CapabilityToken(…)")
    }
}

/// An open MCP session that counts its tool calls against a budget.
pub struct McpSession {
    client: RunningService<RoleClient, ClientConfig>,
    calls: AtomicU32,
    max_calls: u32,
}

impl McpSession {
    /// Connects to the MCP endpoint at `url` with `token`.
    pub async fn connect(url: &str, token: &CapabilityToken, max_calls: u32) -> Result<McpSession, InvestigationError> {
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token.expose().to_owned()),
        );
        let client = ClientConfig::default()
            .serve(transport)
            .await
            .map_err(|error| InvestigationError::Mcp(format!("could not open a session at {url}: {error}")))?;
        Ok(McpSession { client, calls: AtomicU32::new(0), max_calls })
    }

    /// The tools the server offers this token: name, description, argument schema.
    pub async fn tools(&self) -> Result<Vec<llm::ToolSpec>, InvestigationError> {
        let tools = self
            .client
            .list_all_tools()
            .await
            .map_err(|error| InvestigationError::Mcp(format!("could not list the tools: {error}")))?;
        Ok(tools
            .into_iter()
            .map(|tool| llm::ToolSpec {
                name: tool.name.to_string(),
                description: tool.description.as_deref().unwrap_or_default().to_owned(),
                parameters: Value::Object((*tool.input_schema).clone()),
            })
            .collect())
    }

    /// Tool calls made so far.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Calls `tool` with `arguments` (an object). A tool's refusal (not found, not permitted)
    /// is `Ok(Err(text))`; a broken session or an exhausted budget is an error.
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<Result<Value, String>, InvestigationError> {
        if self.calls.fetch_add(1, Ordering::Relaxed) >= self.max_calls {
            return Err(InvestigationError::Budget(format!("more than {} tool calls", self.max_calls)));
        }
        let arguments = match arguments {
            Value::Object(map) => map,
            _ => Default::default(),
        };
        let result = self
            .client
            .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
            .await
            .map_err(|error| InvestigationError::Mcp(format!("the call of {tool} failed: {error}")))?;
        if result.is_error == Some(true) {
            let text = result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>();
            return Ok(Err(text.join("\n")));
        }
        Ok(result.structured_content.ok_or_else(|| format!("{tool} returned no structured content")))
    }

    /// Calls `tool` and reads its answer as `T`; a refusal is `Ok(Err(text))`.
    pub async fn read<T: DeserializeOwned>(
        &self,
        tool: &str,
        arguments: Value,
    ) -> Result<Result<T, String>, InvestigationError> {
        match self.call(tool, arguments).await? {
            Ok(value) => serde_json::from_value(value)
                .map(Ok)
                .map_err(|error| InvestigationError::Mcp(format!("{tool} answered an unexpected shape: {error}"))),
            Err(refusal) => Ok(Err(refusal)),
        }
    }

    /// Ends the session.
    pub async fn close(self) {
        let _ = self.client.cancel().await;
    }
}
