//! The read-only MCP server: back-office tools over CRM, order, payment, fraud and catalog read
//! APIs, scoped to the capability token presented on every call, with hybrid search over notes,
//! tickets, order timelines, products and help articles.
//!
//! It has no write path: it reaches business data only through the systems' read APIs
//! ([`backoffice`]) under a service identity the systems refuse writes from, and its own vector
//! index is written only by the [`indexer`], never by a tool.
//!
//! Its contract with clients lives in the `mcp-contract` crate: the capability tokens (Ed25519
//! JWTs) and roles, the views tools return, masked by role, and the help articles and policies
//! served as resources.
//!
//! - [`auth`]: checking tokens per request; [`tools`]: the MCP handler (tools, resources,
//!   prompts); [`limits`]: answer caps; [`audit`]: one line per call.
//! - [`search`]: lexical, dense and hybrid ranking over a [`search::index::VectorIndex`]
//!   (Qdrant Edge in process, or a Qdrant server); [`embed`]: all-MiniLM-L6-v2 in process, or
//!   Vertex AI.
//! - [`http`]: Streamable HTTP at `/mcp`; [`serve_stdio`]: the same over stdin/stdout.

pub mod audit;
pub mod auth;
pub mod backoffice;
pub mod embed;
pub mod http;
pub mod indexer;
pub mod limits;
pub mod prompts;
pub mod search;
pub mod settings;
pub mod tools;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use business_services::platform::clock::SystemClock;
use business_services::platform::rate_limit::RateLimiter;
use business_services::platform::signing::HmacSigner;
use mcp_contract::token::TokenKey;
use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

use crate::auth::Verifier;
use crate::backoffice::{BackOffice, SystemUrls};
use crate::embed::Embedder;
use crate::embed::minilm::MiniLm;
use crate::embed::vertex::VertexEmbedder;
use crate::indexer::Indexer;
use crate::limits::Caps;
use crate::search::SearchEngine;
use crate::search::edge::EdgeIndex;
use crate::search::index::{ExactIndex, VectorIndex};
use crate::search::qdrant::QdrantIndex;
use crate::settings::{EmbedderSettings, IndexSettings, Settings};
use crate::tools::{BackOfficeServer, Shared};

/// A configured server: what HTTP and stdio sessions share, and its indexer.
#[derive(Debug, Clone)]
pub struct McpServer {
    shared: Arc<Shared>,
    verifier: Verifier,
    indexer: Indexer,
    exposure: http::Exposure,
}

impl McpServer {
    /// Builds the server: loads the embedder and opens the vector index named by `settings`
    /// (the embedded index lives under `data_dir`), and wires clients of the systems at `urls`.
    /// `resource` is the public URL of `/mcp`, the audience of its tokens.
    pub async fn build(
        settings: &Settings,
        urls: &SystemUrls,
        data_dir: &Path,
        resource: &str,
        key: TokenKey,
    ) -> anyhow::Result<McpServer> {
        let embedder = embedder(&settings.embedder).await?;
        let index: Arc<dyn VectorIndex> = match (&embedder, &settings.index) {
            (None, _) => Arc::new(ExactIndex::default()),
            (Some(embedder), IndexSettings::Edge) => {
                let dir = data_dir.join("mcp-index");
                let dimensions = embedder.dimensions();
                Arc::new(tokio::task::spawn_blocking(move || EdgeIndex::open(&dir, dimensions)).await??)
            }
            (Some(embedder), IndexSettings::Qdrant { url, api_key, collection }) => {
                Arc::new(QdrantIndex::connect(url, api_key.clone(), collection, embedder.dimensions()).await?)
            }
        };
        let search = SearchEngine::new(index, embedder);
        let signer = HmacSigner::new(&settings.fraud_key_id, settings.fraud_secret.expose(), Arc::new(SystemClock));
        let backoffice = BackOffice::new(urls, Arc::new(signer));
        let shared = Arc::new(Shared {
            backoffice: backoffice.clone(),
            search: search.clone(),
            caps: Caps { max_rows: settings.max_rows, max_bytes: settings.max_bytes },
            limiter: RateLimiter::new(settings.calls_per_minute, settings.burst),
        });
        let metadata_url = format!("{}/.well-known/oauth-protected-resource/mcp", resource.trim_end_matches("/mcp"));
        Ok(McpServer {
            shared,
            verifier: Verifier { key, resource: resource.to_owned(), metadata_url },
            indexer: Indexer::new(backoffice, search),
            exposure: http::Exposure {
                allowed_hosts: settings.allowed_hosts.clone(),
                allowed_origins: settings.allowed_origins.clone(),
            },
        })
    }

    /// The HTTP routes; sessions end when `shutdown` is cancelled.
    pub fn router(&self, shutdown: CancellationToken) -> Router {
        http::router(self.shared.clone(), self.verifier.clone(), self.indexer.clone(), &self.exposure, shutdown)
    }

    /// The index's writer (run it with [`Indexer::run`]).
    pub fn indexer(&self) -> &Indexer {
        &self.indexer
    }

    /// Serves one MCP session over stdin/stdout for the holder of `token`, until the client
    /// closes it.
    pub async fn serve_stdio(&self, token: &str) -> anyhow::Result<()> {
        let caller = self.verifier.caller(token).context("the capability token was refused")?;
        let server = BackOfficeServer::for_stdio(self.shared.clone(), caller);
        let session = server.serve(rmcp::transport::stdio()).await.context("the stdio session did not start")?;
        session.waiting().await.context("the stdio session failed")?;
        Ok(())
    }
}

async fn embedder(settings: &EmbedderSettings) -> anyhow::Result<Option<Arc<dyn Embedder>>> {
    match settings {
        EmbedderSettings::None => Ok(None),
        EmbedderSettings::Local { model_dir } => {
            let Some(dir) = model_dir.clone().or_else(embed::minilm::default_dir) else {
                tracing::warn!("No model folder (HOME is not set): search is keyword-only.");
                return Ok(None);
            };
            if !MiniLm::is_installed(&dir) {
                tracing::warn!(dir = %dir.display(), "The embedding model is not installed (run scripts/models): search is keyword-only.");
                return Ok(None);
            }
            let model = tokio::task::spawn_blocking(move || MiniLm::load(&dir)).await??;
            Ok(Some(Arc::new(model)))
        }
        EmbedderSettings::Vertex(vertex) => {
            Ok(Some(Arc::new(VertexEmbedder::with_default_credentials(vertex.clone()).await?)))
        }
    }
}
