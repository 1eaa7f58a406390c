//! Any OpenAI-compatible chat-completions server (Ollama, vLLM, llama.cpp's server, or OpenAI
//! itself): streamed answers with tool calls, retries on 429 and 5xx. An answer the server's
//! content filter stops (`finish_reason: content_filter`) or the model refuses (`refusal`) ends
//! the stream with [`ModelError::Rejected`] (status 200), as a withheld Gemini answer does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::transport::{EventReader, RetryPolicy, channel_stream, emit, send};
use crate::{ChatModel, ChatRequest, Chunk, Message, ModelError, ToolCall, Usage};

/// Where the server is and which model it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiSettings {
    /// API root with its version, e.g. `http://127.0.0.1:11434/v1` for Ollama.
    pub base_url: String,
    /// Model name as the server knows it, e.g. `qwen2.5:7b-instruct`.
    pub model: String,
    /// Bearer key, for servers that want one.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Seconds one call may take, retries excluded.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    120
}

/// A model on an OpenAI-compatible server.
#[derive(Clone)]
pub struct OpenAiCompatible {
    inner: Arc<Inner>,
}

struct Inner {
    settings: OpenAiSettings,
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl std::fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiCompatible")
            .field("base_url", &self.inner.settings.base_url)
            .field("model", &self.inner.settings.model)
            .finish_non_exhaustive()
    }
}

impl OpenAiCompatible {
    /// A client of the server `settings` names, retrying under `retry`.
    pub fn new(settings: OpenAiSettings, retry: RetryPolicy) -> OpenAiCompatible {
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(settings.timeout_secs)).build().unwrap_or_default();
        OpenAiCompatible { inner: Arc::new(Inner { settings, http, retry }) }
    }
}

impl ChatModel for OpenAiCompatible {
    fn name(&self) -> String {
        format!("openai:{}", self.inner.settings.model)
    }

    fn stream(&self, request: ChatRequest) -> BoxStream<'static, Result<Chunk, ModelError>> {
        let inner = self.inner.clone();
        channel_stream(move |sender| async move {
            let url = format!("{}/chat/completions", inner.settings.base_url.trim_end_matches('/'));
            let body = encode(&inner.settings.model, &request);
            let response = send("the OpenAI-compatible server", inner.retry, || async {
                let mut builder = inner.http.post(&url).json(&body);
                if let Some(key) = &inner.settings.api_key {
                    builder = builder.bearer_auth(key);
                }
                Ok(builder)
            })
            .await?;
            let mut events = EventReader::new(response);
            let mut calls = PartialCalls::default();
            let mut usage = Usage::default();
            let mut refusal = String::new();
            while let Some(event) = events.next().await? {
                if event.trim() == "[DONE]" {
                    break;
                }
                let chunk: StreamChunk = serde_json::from_str(&event)
                    .map_err(|error| ModelError::Malformed(format!("a streamed chunk: {error}")))?;
                if let Some(counted) = chunk.usage {
                    usage = Usage { input_tokens: counted.prompt_tokens, output_tokens: counted.completion_tokens };
                }
                for choice in chunk.choices {
                    if choice.finish_reason.as_deref() == Some("content_filter") {
                        return Err(withheld("the answer was withheld: content_filter".into()));
                    }
                    refusal.push_str(choice.delta.refusal.as_deref().unwrap_or_default());
                    if let Some(text) = choice.delta.content.filter(|text| !text.is_empty())
                        && !emit(&sender, Chunk::Text(text)).await
                    {
                        return Ok(());
                    }
                    for delta in choice.delta.tool_calls {
                        calls.absorb(delta);
                    }
                }
            }
            if !refusal.is_empty() {
                return Err(withheld(format!("the model refused: {refusal}")));
            }
            for call in calls.finish()? {
                emit(&sender, Chunk::ToolCall(call)).await;
            }
            emit(&sender, Chunk::Done(usage)).await;
            Ok(())
        })
    }
}

/// An answer the server withheld or the model refused: retrying will not help.
fn withheld(detail: String) -> ModelError {
    ModelError::Rejected { status: 200, detail }
}

/// The chat-completions request body.
fn encode(model: &str, request: &ChatRequest) -> Value {
    let mut messages = vec![json!({ "role": "system", "content": request.system })];
    for message in &request.messages {
        messages.push(match message {
            Message::User { text } => json!({ "role": "user", "content": text }),
            Message::Assistant { text, tool_calls } if tool_calls.is_empty() => {
                json!({ "role": "assistant", "content": text })
            }
            Message::Assistant { text, tool_calls } => json!({
                "role": "assistant",
                "content": text,
                "tool_calls": tool_calls.iter().map(|call| json!({
                    "id": call.id,
                    "type": "function",
                    "function": { "name": call.name, "arguments": call.arguments.to_string() },
                })).collect::<Vec<_>>(),
            }),
            Message::Tool { call_id, result, .. } => {
                json!({ "role": "tool", "tool_call_id": call_id, "content": result.to_string() })
            }
        });
    }
    let mut body = json!({
        "model": model,
        "messages": messages,
        "max_tokens": request.max_output_tokens,
        "temperature": 0.2,
        "stream": true,
        "stream_options": { "include_usage": true },
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({ "type": "function", "function": {
                    "name": tool.name, "description": tool.description, "parameters": tool.parameters,
                }})
            })
            .collect();
    }
    body
}

#[derive(Debug, Deserialize)]
struct StreamChunk {
    #[serde(default)]
    choices: Vec<StreamChoice>,
    #[serde(default)]
    usage: Option<CountedUsage>,
}

#[derive(Debug, Deserialize)]
struct StreamChoice {
    #[serde(default)]
    delta: Delta,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<CallDelta>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CallDelta {
    #[serde(default)]
    index: usize,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Debug, Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CountedUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

/// Tool calls arrive in pieces (the name first, the arguments' JSON text in slices), keyed
/// by index; they are whole only at the end of the stream.
#[derive(Debug, Default)]
struct PartialCalls {
    calls: BTreeMap<usize, (Option<String>, String, String)>,
}

impl PartialCalls {
    fn absorb(&mut self, delta: CallDelta) {
        let (id, name, arguments) = self.calls.entry(delta.index).or_default();
        if delta.id.is_some() {
            *id = delta.id;
        }
        if let Some(function) = delta.function {
            name.push_str(function.name.as_deref().unwrap_or_default());
            arguments.push_str(function.arguments.as_deref().unwrap_or_default());
        }
    }

    fn finish(self) -> Result<Vec<ToolCall>, ModelError> {
        self.calls
            .into_iter()
            .map(|(index, (id, name, arguments))| {
                let arguments = if arguments.trim().is_empty() { "{}" } else { arguments.as_str() };
                let arguments: Value = serde_json::from_str(arguments)
                    .map_err(|error| ModelError::Malformed(format!("the arguments of tool call {name}: {error}")))?;
                Ok(ToolCall::new(id.unwrap_or_else(|| format!("call_{index}")), name, arguments))
            })
            .collect()
    }
}
