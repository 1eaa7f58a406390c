//! Gemini on Vertex AI: `generateContent` and `streamGenerateContent` (SSE) over REST, function
//! calling, OAuth tokens from gcp_auth (a service-account key file, or Application Default
//! Credentials: gcloud, or the metadata server on Google Cloud), retries on 429 and 5xx.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::transport::{EventReader, RetryPolicy, channel_stream, emit, send};
use crate::{ChatModel, ChatRequest, Chunk, Message, ModelError, Reply, ToolCall, Usage};

/// The OAuth scope Vertex AI needs.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Which Gemini model, where, and with which credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VertexSettings {
    /// Google Cloud project.
    pub project: String,
    /// Region, e.g. `us-central1`, or `global`.
    pub location: String,
    /// Model, e.g. `gemini-2.5-flash`.
    pub model: String,
    /// API root; by default the location's (`https://<location>-aiplatform.googleapis.com`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// A service-account key file; by default Application Default Credentials.
    #[serde(default)]
    pub credentials: Option<PathBuf>,
    /// Seconds one call may take, retries excluded.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    60
}

/// Gemini on Vertex AI.
#[derive(Clone)]
pub struct VertexGemini {
    inner: Arc<Inner>,
}

struct Inner {
    settings: VertexSettings,
    http: reqwest::Client,
    tokens: Arc<dyn gcp_auth::TokenProvider>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for VertexGemini {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VertexGemini").field("settings", &self.inner.settings).finish_non_exhaustive()
    }
}

impl VertexGemini {
    /// A client with the credentials `settings` names.
    pub async fn connect(settings: VertexSettings) -> Result<VertexGemini, ModelError> {
        let tokens: Arc<dyn gcp_auth::TokenProvider> = match &settings.credentials {
            Some(path) => Arc::new(gcp_auth::CustomServiceAccount::from_file(path).map_err(|error| {
                ModelError::Credentials(format!("the service-account key {} is unusable: {error}", path.display()))
            })?),
            None => gcp_auth::provider().await.map_err(|error| {
                ModelError::Credentials(format!(
                    "no Google Cloud credentials found ({error}); set the key file in the provider's `credentials`, \
                     run `gcloud auth application-default login`, or run on Google Cloud"
                ))
            })?,
        };
        Ok(VertexGemini::with_tokens(settings, tokens, RetryPolicy::default()))
    }

    /// A client taking its tokens from `tokens` and retrying under `retry`.
    pub fn with_tokens(
        settings: VertexSettings,
        tokens: Arc<dyn gcp_auth::TokenProvider>,
        retry: RetryPolicy,
    ) -> VertexGemini {
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(settings.timeout_secs)).build().unwrap_or_default();
        VertexGemini { inner: Arc::new(Inner { settings, http, tokens, retry }) }
    }
}

impl Inner {
    fn url(&self, method: &str) -> String {
        let VertexSettings { project, location, model, endpoint, .. } = &self.settings;
        let root = match endpoint {
            Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
            None if location == "global" => "https://aiplatform.googleapis.com".to_owned(),
            None => format!("https://{location}-aiplatform.googleapis.com"),
        };
        format!("{root}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}")
    }

    async fn post(&self, method: &str, body: &Value) -> Result<reqwest::Response, ModelError> {
        let url = self.url(method);
        send("Vertex AI", self.retry, || async {
            // Asked before every try: gcp_auth refreshes a token that is about to expire.
            let token = self
                .tokens
                .token(&[SCOPE])
                .await
                .map_err(|error| ModelError::Credentials(format!("no access token: {error}")))?;
            Ok(self.http.post(&url).bearer_auth(token.as_str()).json(body))
        })
        .await
    }
}

impl ChatModel for VertexGemini {
    fn name(&self) -> String {
        format!("vertex:{}", self.inner.settings.model)
    }

    fn stream(&self, request: ChatRequest) -> BoxStream<'static, Result<Chunk, ModelError>> {
        let inner = self.inner.clone();
        channel_stream(move |sender| async move {
            let response = inner.post("streamGenerateContent?alt=sse", &encode(&request)).await?;
            let mut events = EventReader::new(response);
            let mut decoder = Decoder::default();
            while let Some(event) = events.next().await? {
                let response: GenerateResponse = serde_json::from_str(&event)
                    .map_err(|error| ModelError::Malformed(format!("a streamed event: {error}")))?;
                for chunk in decoder.read(response)? {
                    if !emit(&sender, chunk).await {
                        return Ok(());
                    }
                }
            }
            emit(&sender, Chunk::Done(decoder.usage)).await;
            Ok(())
        })
    }

    fn complete(&self, request: ChatRequest) -> BoxFuture<'static, Result<Reply, ModelError>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let response = inner.post("generateContent", &encode(&request)).await?;
            let response: GenerateResponse =
                response.json().await.map_err(|error| ModelError::Malformed(format!("the answer: {error}")))?;
            let mut decoder = Decoder::default();
            let mut reply = Reply::default();
            for chunk in decoder.read(response)? {
                reply.absorb(chunk);
            }
            reply.usage = decoder.usage;
            Ok(reply)
        })
    }
}

/// The request body of `generateContent`: Gemini's `contents`, with consecutive messages of one
/// role merged (Gemini wants turns to alternate) and tool results as `functionResponse` parts.
fn encode(request: &ChatRequest) -> Value {
    let mut contents: Vec<(&str, Vec<Value>)> = Vec::new();
    for message in &request.messages {
        let (role, parts) = match message {
            Message::User { text } => ("user", vec![json!({ "text": text })]),
            Message::Assistant { text, tool_calls } => {
                let mut parts = Vec::new();
                if !text.is_empty() {
                    parts.push(json!({ "text": text }));
                }
                for call in tool_calls {
                    let mut part = json!({ "functionCall": { "name": call.name, "args": call.arguments } });
                    if let Some(signature) = &call.signature {
                        part["thoughtSignature"] = json!(signature);
                    }
                    parts.push(part);
                }
                ("model", parts)
            }
            Message::Tool { name, result, .. } => {
                ("user", vec![json!({ "functionResponse": { "name": name, "response": result } })])
            }
        };
        match contents.last_mut() {
            Some((last, merged)) if *last == role => merged.extend(parts),
            _ => contents.push((role, parts)),
        }
    }
    let mut body = json!({
        "contents": contents.into_iter().map(|(role, parts)| json!({ "role": role, "parts": parts })).collect::<Vec<_>>(),
        "generationConfig": { "maxOutputTokens": request.max_output_tokens, "temperature": 0.2 },
    });
    if !request.system.is_empty() {
        body["systemInstruction"] = json!({ "parts": [{ "text": request.system }] });
    }
    if !request.tools.is_empty() {
        let declarations: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({ "name": tool.name, "description": tool.description, "parametersJsonSchema": tool.parameters })
            })
            .collect();
        body["tools"] = json!([{ "functionDeclarations": declarations }]);
    }
    body
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u32,
    #[serde(default)]
    candidates_token_count: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
}

/// Reads answers (whole, or one streamed event at a time) into chunks.
#[derive(Debug, Default)]
struct Decoder {
    calls: usize,
    usage: Usage,
}

impl Decoder {
    fn read(&mut self, response: GenerateResponse) -> Result<Vec<Chunk>, ModelError> {
        if let Some(reason) = response.prompt_feedback.and_then(|feedback| feedback.block_reason) {
            return Err(ModelError::Rejected { status: 200, detail: format!("the prompt was blocked: {reason}") });
        }
        if let Some(usage) = response.usage_metadata {
            self.usage = Usage { input_tokens: usage.prompt_token_count, output_tokens: usage.candidates_token_count };
        }
        let Some(candidate) = response.candidates.into_iter().next() else { return Ok(Vec::new()) };
        let parts = candidate.content.map(|content| content.parts).unwrap_or_default();
        if parts.is_empty()
            && let Some(reason) =
                candidate.finish_reason.filter(|reason| !matches!(reason.as_str(), "STOP" | "MAX_TOKENS"))
        {
            return Err(ModelError::Rejected { status: 200, detail: format!("the answer was withheld: {reason}") });
        }
        let mut chunks = Vec::new();
        for part in parts {
            if part.get("thought").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if let Some(text) = part.get("text").and_then(Value::as_str) {
                chunks.push(Chunk::Text(text.to_owned()));
            } else if let Some(call) = part.get("functionCall") {
                self.calls += 1;
                let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
                let id = call
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("call_{}", self.calls), str::to_owned);
                let mut tool_call = ToolCall::new(id, name, call.get("args").cloned().unwrap_or_else(|| json!({})));
                tool_call.signature = part.get("thoughtSignature").and_then(Value::as_str).map(str::to_owned);
                chunks.push(Chunk::ToolCall(tool_call));
            }
        }
        Ok(chunks)
    }
}
