//! The one interface every agent model sits behind, and its providers.
//!
//! An agent hands a [`ChatRequest`] (a system prompt, the conversation, the tools it may call)
//! to a [`ChatModel`] and reads back a stream of [`Chunk`]s: text as it is written, whole tool
//! calls, then the token usage. Providers:
//! - [`vertex::VertexGemini`]: Gemini on Vertex AI (production), with gcp_auth credentials;
//! - [`openai::OpenAiCompatible`]: any OpenAI-compatible server (Ollama, vLLM, llama.cpp);
//! - [`gguf::LocalGguf`]: a quantized Llama- or Qwen2-family GGUF file, in process;
//! - [`scripted::ScriptedModel`]: a model whose replies a test writes, and which records what
//!   it was asked.
//!
//! The Concierge's offline model (no network, no download) implements the same trait in its own
//! crate, because it knows the Concierge's tools.

pub mod gguf;
pub mod message;
pub mod openai;
pub mod scripted;
pub mod transport;
pub mod vertex;

pub use message::{ChatRequest, Chunk, Message, Reply, ToolCall, ToolSpec, Usage, estimate_tokens};
pub use transport::RetryPolicy;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream};

/// Why a model gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The provider could not be reached or kept failing (after retries).
    #[error("the model provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (a 4xx other than 429), or answered but withheld the
    /// answer (status 200: a safety block, a content filter, the model's refusal): retrying will
    /// not help.
    #[error("the model provider refused the request ({status}): {detail}")]
    Rejected {
        /// The HTTP status (200 for a withheld answer).
        status: u16,
        /// What the provider said, shortened.
        detail: String,
    },
    /// No credentials, or the credentials were refused.
    #[error("the model provider's credentials failed: {0}")]
    Credentials(String),
    /// The provider answered something this client cannot read.
    #[error("the model provider's answer could not be read: {0}")]
    Malformed(String),
}

/// A chat model with tool calling, streaming its answer.
pub trait ChatModel: Send + Sync {
    /// Which provider and model, e.g. `vertex:gemini-2.5-flash`; recorded with conversations.
    fn name(&self) -> String;

    /// Answers `request` as a stream: text deltas and tool calls as they come, then one
    /// [`Chunk::Done`] with the usage. An error ends the stream.
    fn stream(&self, request: ChatRequest) -> BoxStream<'static, Result<Chunk, ModelError>>;

    /// Answers `request` whole; by default the stream, gathered. Providers with a unary call
    /// use it.
    fn complete(&self, request: ChatRequest) -> BoxFuture<'static, Result<Reply, ModelError>> {
        let mut stream = self.stream(request);
        Box::pin(async move {
            let mut reply = Reply::default();
            while let Some(chunk) = stream.next().await {
                reply.absorb(chunk?);
            }
            Ok(reply)
        })
    }
}

/// A whole answer, worked out in process, streamed as a provider streams one: its text word by
/// word, then its tool calls, then its usage (`input_tokens` as given, output estimated).
pub fn stream_reply(reply: Reply, input_tokens: u32) -> BoxStream<'static, Result<Chunk, ModelError>> {
    let usage = Usage { input_tokens, output_tokens: estimate_tokens(&reply.text) };
    let mut chunks: Vec<Chunk> = reply.text.split_inclusive(' ').map(|word| Chunk::Text(word.to_owned())).collect();
    chunks.extend(reply.tool_calls.into_iter().map(Chunk::ToolCall));
    chunks.push(Chunk::Done(usage));
    Box::pin(stream::iter(chunks.into_iter().map(Ok)))
}
