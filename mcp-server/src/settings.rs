//! The MCP server's configuration (`[mcp]` in `boutique.toml`, `BOUTIQUE_MCP__*` in the
//! environment).

use business_services::platform::FieldError;
use business_services::platform::secret::Secret;
use std::path::PathBuf;

use business_services::contracts::keys::{MCP_DEMO_SECRET, MCP_KEY_ID};
use serde::{Deserialize, Serialize};

use crate::embed::vertex::VertexSettings;

/// Which embedder turns text into vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EmbedderSettings {
    /// all-MiniLM-L6-v2 in process, from `model_dir` (default: where `scripts/models` puts it).
    /// Missing files make search keyword-only, with a warning.
    Local {
        /// The folder with config.json, tokenizer.json and model.safetensors.
        #[serde(default)]
        model_dir: Option<PathBuf>,
    },
    /// Vertex AI text embeddings, with Application Default Credentials.
    Vertex(VertexSettings),
    /// No embeddings: keyword search only.
    None,
}

/// Where vectors are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum IndexSettings {
    /// Qdrant Edge in process, under `<data_dir>/mcp-index`.
    Edge,
    /// A Qdrant server or cluster (gRPC URL, e.g. `http://qdrant:6334`).
    Qdrant {
        /// The gRPC URL.
        url: String,
        /// The API key, if the server wants one.
        #[serde(default)]
        api_key: Option<String>,
        /// The collection (created if missing).
        collection: String,
    },
}

/// The MCP server's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The most rows one answer lists.
    pub max_rows: usize,
    /// The most bytes of rows one answer carries.
    pub max_bytes: usize,
    /// Tool calls a minute per token subject, on average.
    pub calls_per_minute: u32,
    /// Tool calls a subject may make at once before the rate applies.
    pub burst: u32,
    /// `Host` header values accepted at `/mcp` (add your public host name when deployed).
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted at `/mcp`; requests from any other origin are refused.
    pub allowed_origins: Vec<String>,
    /// The embedder.
    pub embedder: EmbedderSettings,
    /// The vector index.
    pub index: IndexSettings,
    /// The key id the fraud engine knows this server by.
    pub fraud_key_id: String,
    /// The secret it signs fraud requests with.
    pub fraud_secret: Secret,
    /// Seconds between full index passes.
    pub resync_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_rows: 20,
            max_bytes: 16 * 1024,
            calls_per_minute: 60,
            burst: 20,
            allowed_hosts: ["localhost", "127.0.0.1", "::1"].map(str::to_owned).to_vec(),
            allowed_origins: Vec::new(),
            embedder: EmbedderSettings::Local { model_dir: None },
            index: IndexSettings::Edge,
            fraud_key_id: MCP_KEY_ID.to_owned(),
            fraud_secret: MCP_DEMO_SECRET.into(),
            resync_secs: 60,
        }
    }
}

impl business_services::platform::system::Settings for Settings {
    /// Checks the settings; names the first bad key (relative to `mcp.`).
    fn validate(&self) -> Result<(), FieldError> {
        let bad = |key: &'static str, message: String| Err(FieldError::new(key, message));
        if !(1..=100).contains(&self.max_rows) {
            return bad("max_rows", "must be 1 to 100".into());
        }
        if !(1024..=1024 * 1024).contains(&self.max_bytes) {
            return bad("max_bytes", "must be 1024 to 1048576".into());
        }
        if self.calls_per_minute == 0 || self.burst == 0 {
            return bad("calls_per_minute", "calls_per_minute and burst must be at least 1".into());
        }
        if self.allowed_hosts.is_empty() {
            return bad("allowed_hosts", "must name at least one host".into());
        }
        if self.resync_secs == 0 {
            return bad("resync_secs", "must be at least 1".into());
        }
        if let EmbedderSettings::Vertex(vertex) = &self.embedder
            && !(1..=3072).contains(&vertex.dimensions)
        {
            return bad("embedder.dimensions", "must be 1 to 3072".into());
        }
        Ok(())
    }
}
