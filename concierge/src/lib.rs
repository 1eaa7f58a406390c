//! The Concierge: the user-facing customer-service agent in the storefront widget and the CRM
//! dashboard. It holds no credentials and never reads raw back-office data: it delegates to the
//! Investigator with a capability token the runtime mints from the session. Its model sits
//! behind [`llm::ChatModel`]: the offline rules model by default, Gemini on Vertex AI, an
//! OpenAI-compatible server or a local GGUF file when configured.

pub mod agent;
pub mod api;
pub mod offline;
pub mod prompts;
pub mod session;
pub mod store;
pub mod tools;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use business_services::crm::client::CrmClient;
use business_services::platform::db::Db;
use business_services::platform::identity::Credentials;
use investigator::{Investigator, InvestigatorSettings};
use llm::gguf::{GgufSettings, LocalGguf};
use llm::openai::{OpenAiCompatible, OpenAiSettings};
use llm::vertex::{VertexGemini, VertexSettings};
use llm::{ChatModel, RetryPolicy};
use mcp_contract::token::TokenKey;
use serde::{Deserialize, Serialize};

pub use agent::{Concierge, Event, Limits};
pub use store::MIGRATOR;

/// Which model answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderSettings {
    /// The offline rules model: no network, no download.
    #[default]
    Offline,
    /// Gemini on Vertex AI.
    Vertex(VertexSettings),
    /// An OpenAI-compatible server (Ollama, vLLM, llama.cpp).
    Openai(OpenAiSettings),
    /// A quantized GGUF file run in this process.
    Gguf(GgufSettings),
}

impl ProviderSettings {
    /// The kinds, as `kind` names them.
    pub const KINDS: [&str; 4] = ["offline", "vertex", "openai", "gguf"];

    /// The provider of `kind`: offline, or `configured` when it is of that kind (the other
    /// kinds need settings only the configuration holds).
    pub fn select(kind: &str, configured: &ProviderSettings) -> Result<ProviderSettings, String> {
        match kind {
            "offline" => Ok(ProviderSettings::Offline),
            _ if configured.kind() == kind => Ok(configured.clone()),
            _ if Self::KINDS.contains(&kind) => Err(format!(
                "provider `{kind}` needs `concierge.provider` of kind \"{kind}\" in the configuration \
                 (see docs/CONFIGURATION.md)"
            )),
            _ => Err(format!("no provider `{kind}`; known: {}", Self::KINDS.join(", "))),
        }
    }

    /// This provider's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderSettings::Offline => "offline",
            ProviderSettings::Vertex(_) => "vertex",
            ProviderSettings::Openai(_) => "openai",
            ProviderSettings::Gguf(_) => "gguf",
        }
    }

    /// The model these settings name; `None` for offline, which has no general-purpose model.
    pub async fn connect(&self) -> Result<Option<Arc<dyn ChatModel>>, llm::ModelError> {
        Ok(match self {
            ProviderSettings::Offline => None,
            ProviderSettings::Vertex(settings) => Some(Arc::new(VertexGemini::connect(settings.clone()).await?)),
            ProviderSettings::Openai(settings) => {
                Some(Arc::new(OpenAiCompatible::new(settings.clone(), RetryPolicy::default())))
            }
            ProviderSettings::Gguf(settings) => {
                let settings = settings.clone();
                let loaded = tokio::task::spawn_blocking(move || LocalGguf::load(&settings)).await;
                let model = loaded.map_err(|error| llm::ModelError::Unavailable(error.to_string()))??;
                Some(Arc::new(model))
            }
        })
    }
}

/// The Concierge's settings (`concierge.*`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConciergeSettings {
    /// The Concierge's model.
    pub provider: ProviderSettings,
    /// The Investigator's model; by default none (its fixed plans only).
    pub investigator_provider: ProviderSettings,
    /// A folder of prompt files to use instead of the built-in `prompts/`.
    pub prompts_dir: Option<PathBuf>,
    /// Budgets of turns and conversations.
    pub limits: Limits,
    /// Caps of investigations.
    pub investigator: InvestigatorSettings,
}

/// The defaults are sound and every combination is accepted: a model that cannot be reached
/// is reported when the Concierge is built.
impl business_services::platform::system::Settings for ConciergeSettings {}

/// Where the Concierge's peers are.
#[derive(Debug, Clone)]
pub struct Peers {
    /// The MCP endpoint (`…/mcp`): the Investigator's only data source, and its tokens' audience.
    pub mcp: String,
    /// The catalog.
    pub catalog: String,
    /// The carts.
    pub cart: String,
    /// The CRM, where hand-over tickets are opened.
    pub crm: String,
    /// What the Concierge presents to the catalog, the carts and the CRM.
    pub credentials: Credentials,
}

/// Models given in code rather than settings: scripted ones in tests and evals.
#[derive(Clone, Default)]
pub struct ModelOverrides {
    /// The Concierge's model.
    pub concierge: Option<Arc<dyn ChatModel>>,
    /// The Investigator's model.
    pub investigator: Option<Arc<dyn ChatModel>>,
}

/// Builds the Concierge: its prompts, models, Investigator and tools. Session and capability
/// tokens are signed with `key`.
pub async fn build(
    settings: &ConciergeSettings,
    db: &Db,
    peers: &Peers,
    key: TokenKey,
    overrides: ModelOverrides,
) -> Result<Concierge, String> {
    let prompts = prompts::Prompts::configured(settings.prompts_dir.as_deref())?;
    let connect = |which: &'static str, provider: &ProviderSettings| {
        let provider = provider.clone();
        async move { provider.connect().await.map_err(|error| format!("concierge.{which}: {error}")) }
    };
    let model = match overrides.concierge {
        Some(model) => model,
        None => connect("provider", &settings.provider).await?.unwrap_or_else(|| Arc::new(offline::OfflineModel)),
    };
    let investigator_model = match overrides.investigator {
        Some(model) => Some(model),
        None => connect("investigator_provider", &settings.investigator_provider).await?,
    };
    let investigator = Investigator::new(&peers.mcp, investigator_model, &prompts.investigator, settings.investigator);
    let toolbox = tools::Toolbox::new(investigator, key, peers);
    let store = store::ConversationStore::new(db.clone());
    let crm = CrmClient::new(&peers.credentials.at(&peers.crm), Duration::from_secs(5));
    tracing::info!(provider = %model.name(), prompts = %prompts.hash, "The Concierge is ready.");
    Ok(Concierge::new(model, toolbox, store, prompts, settings.limits, crm))
}

/// The Concierge's HTTP service, sessions verified with `sessions`.
pub fn router(concierge: Concierge, sessions: TokenKey) -> Router {
    api::routes(concierge, sessions)
}
