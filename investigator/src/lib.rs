//! The Back-Office Investigator: an agent isolated from the user that takes a typed
//! [`InvestigationRequest`] (a topic from a closed set and the ids involved, never the user's
//! words), reads data only through the MCP server with a capability token the runtime minted,
//! and answers with a typed, validated [`InvestigationReport`].
//!
//! Its typed facts come from a fixed plan per topic ([`gather`]). With a model configured, the
//! model first explores with the MCP tools (bounded) and writes a summary, which the report
//! keeps as marked, bounded data: a model that reads untrusted text can neither act on it nor
//! change the facts.

pub mod gather;
pub mod mcp;
pub mod report;
pub mod request;
pub mod rules;

use std::sync::Arc;
use std::time::Duration;

use llm::{ChatModel, ChatRequest, Message};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::Date;

pub use mcp::{CapabilityToken, McpSession};
pub use report::{DataText, InvestigationReport};
pub use request::{InvestigationRequest, RequestError, Topic};

/// Why an investigation gave no report.
#[derive(Debug, thiserror::Error)]
pub enum InvestigationError {
    /// The request was refused before anything was read.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The MCP server could not be used.
    #[error("the MCP server: {0}")]
    Mcp(String),
    /// A cap was reached.
    #[error("the investigation went over budget: {0}")]
    Budget(String),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] llm::ModelError),
    /// The report broke its schema.
    #[error(transparent)]
    Invalid(#[from] report::InvalidReport),
}

/// The Investigator's caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvestigatorSettings {
    /// The most MCP tool calls per investigation.
    pub max_tool_calls: u32,
    /// The most model turns per investigation.
    pub max_model_turns: u32,
    /// Seconds an investigation may take.
    pub deadline_secs: u64,
}

impl Default for InvestigatorSettings {
    fn default() -> Self {
        InvestigatorSettings { max_tool_calls: 10, max_model_turns: 4, deadline_secs: 30 }
    }
}

/// The Investigator.
#[derive(Clone)]
pub struct Investigator {
    mcp_url: String,
    model: Option<Arc<dyn ChatModel>>,
    prompt: String,
    settings: InvestigatorSettings,
}

impl std::fmt::Debug for Investigator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Investigator")
            .field("mcp_url", &self.mcp_url)
            .field("model", &self.model.as_ref().map(|model| model.name()))
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Investigator {
    /// An Investigator reading through the MCP endpoint at `mcp_url`; with a `model`, it also
    /// explores under `prompt`.
    pub fn new(
        mcp_url: &str,
        model: Option<Arc<dyn ChatModel>>,
        prompt: &str,
        settings: InvestigatorSettings,
    ) -> Investigator {
        Investigator { mcp_url: mcp_url.to_owned(), model, prompt: prompt.to_owned(), settings }
    }

    /// Answers `request` with the data `token` may read; `staff` is the token's role class,
    /// `today` the day return windows are judged on.
    pub async fn investigate(
        &self,
        request: &InvestigationRequest,
        token: &CapabilityToken,
        staff: bool,
        today: Date,
    ) -> Result<InvestigationReport, InvestigationError> {
        request.validate(staff)?;
        let deadline = Duration::from_secs(self.settings.deadline_secs);
        tokio::time::timeout(deadline, self.run(request, token, today))
            .await
            .map_err(|_| InvestigationError::Budget(format!("over its {} s deadline", self.settings.deadline_secs)))?
    }

    async fn run(
        &self,
        request: &InvestigationRequest,
        token: &CapabilityToken,
        today: Date,
    ) -> Result<InvestigationReport, InvestigationError> {
        let session = McpSession::connect(&self.mcp_url, token, self.settings.max_tool_calls).await?;
        let mut report = InvestigationReport { topic: Some(request.topic), ..InvestigationReport::default() };
        let outcome = async {
            if let Some(model) = &self.model {
                self.explore(model.as_ref(), &session, request, &mut report).await?;
            }
            gather::gather(&session, request, &mut report, today).await
        }
        .await;
        report.tool_calls = session.calls();
        session.close().await;
        outcome?;
        report.validate()?;
        tracing::info!(topic = ?request.topic, tool_calls = report.tool_calls, gaps = report.gaps.len(), "Investigated.");
        Ok(report)
    }

    /// Lets the model look around with the MCP tools, leaving room for the plan's calls, and
    /// keeps its last words as a marked summary.
    async fn explore(
        &self,
        model: &dyn ChatModel,
        session: &McpSession,
        request: &InvestigationRequest,
        report: &mut InvestigationReport,
    ) -> Result<(), InvestigationError> {
        let allowance = self.settings.max_tool_calls.saturating_sub(gather::PLAN_CALLS);
        let tools = session.tools().await?;
        let mut messages = vec![Message::user(json!({ "investigation_request": request }).to_string())];
        for _ in 0..self.settings.max_model_turns {
            let chat = ChatRequest {
                system: self.prompt.clone(),
                messages: messages.clone(),
                tools: tools.clone(),
                max_output_tokens: 512,
            };
            let reply = model.complete(chat).await?;
            if reply.tool_calls.is_empty() {
                if !reply.text.trim().is_empty() {
                    report.add_text(DataText::new("investigator summary", reply.text.trim()));
                }
                return Ok(());
            }
            messages.push(reply.clone().into_message());
            for call in reply.tool_calls {
                let result = if session.calls() >= allowance {
                    json!({ "error": "tool-call budget reached: write your summary now" })
                } else {
                    match session.call(&call.name, call.arguments.clone()).await? {
                        Ok(value) => value,
                        Err(refusal) => json!({ "error": refusal }),
                    }
                };
                messages.push(Message::Tool { call_id: call.id, name: call.name, result });
            }
        }
        Ok(())
    }
}
