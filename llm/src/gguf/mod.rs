//! A quantized model in a GGUF file, run in this process with candle: Llama-family (Llama 3,
//! SmolLM2) and Qwen2-family weights, the tokenizer from the file's own metadata, greedy
//! decoding. The user supplies the file; nothing is downloaded.
//!
//! Tool calls are constrained, not hoped for: once the answer opens `<tool_call>`, the runtime
//! writes `{"name": "` itself, lets the model pick only among the offered tools' names, writes
//! `, "arguments": ` and then accepts only tokens that keep the arguments a valid JSON object,
//! until it closes. Small models call the wrong tool at times; they never write broken JSON.

mod json_prefix;
mod template;
mod vocabulary;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_qwen2};
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

pub use json_prefix::JsonPrefix;
pub use template::Template;

use self::template::TOOL_OPEN;
use self::vocabulary::Vocabulary;
use crate::transport::channel_stream;
use crate::{ChatModel, ChatRequest, Chunk, ModelError, ToolCall, Usage};

/// Where the model file is, and how much it may read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GgufSettings {
    /// The `.gguf` file.
    pub path: PathBuf,
    /// The most tokens of prompt and answer together.
    #[serde(default = "default_context")]
    pub context_tokens: usize,
}

fn default_context() -> usize {
    4096
}

/// The weights of one of the supported families.
enum Weights {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
}

impl Weights {
    fn forward(&mut self, input: &Tensor, position: usize) -> candle_core::Result<Tensor> {
        match self {
            Weights::Llama(weights) => weights.forward(input, position),
            Weights::Qwen2(weights) => weights.forward(input, position),
        }
    }

    fn forget(&mut self) {
        match self {
            Weights::Llama(weights) => weights.clear_kv_cache(),
            Weights::Qwen2(weights) => weights.clear_kv_cache(),
        }
    }
}

fn failed(error: candle_core::Error) -> ModelError {
    ModelError::Unavailable(format!("the local model failed: {error}"))
}

/// A loaded model: one answer at a time.
struct Engine {
    weights: Weights,
    vocabulary: Vocabulary,
    template: Template,
    /// Tokens that end the answer.
    stops: Vec<u32>,
    context: usize,
    device: Device,
}

/// A local GGUF model.
#[derive(Clone)]
pub struct LocalGguf {
    name: String,
    engine: Arc<Mutex<Engine>>,
}

impl std::fmt::Debug for LocalGguf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalGguf").field("name", &self.name).finish_non_exhaustive()
    }
}

impl LocalGguf {
    /// Loads the file `settings` names. This reads the whole file: call it off the async
    /// runtime (`spawn_blocking`).
    pub fn load(settings: &GgufSettings) -> Result<LocalGguf, ModelError> {
        let path = &settings.path;
        let unreadable = |error: &dyn std::fmt::Display| {
            ModelError::Unavailable(format!("could not load the GGUF model {}: {error}", path.display()))
        };
        let mut file = std::fs::File::open(path).map_err(|error| unreadable(&error))?;
        let content = gguf_file::Content::read(&mut file).map_err(|error| unreadable(&error))?;
        let vocabulary = Vocabulary::from_gguf(&content)?;
        let template = Template::detect(|token| vocabulary.id(token).is_some()).ok_or_else(|| {
            ModelError::Malformed("the GGUF file's vocabulary has neither ChatML nor Llama 3 chat tokens".into())
        })?;
        let mut stops: Vec<u32> = template.turn_ends().iter().filter_map(|token| vocabulary.id(token)).collect();
        if let Some(eos) = content.metadata.get("tokenizer.ggml.eos_token_id").and_then(|id| id.to_u32().ok()) {
            stops.push(eos);
        }
        let architecture = content
            .metadata
            .get("general.architecture")
            .and_then(|value| value.to_string().ok())
            .cloned()
            .unwrap_or_default();
        let device = Device::Cpu;
        let weights = match architecture.as_str() {
            "llama" => Weights::Llama(
                quantized_llama::ModelWeights::from_gguf(content, &mut file, &device)
                    .map_err(|error| unreadable(&error))?,
            ),
            "qwen2" => Weights::Qwen2(
                quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &device)
                    .map_err(|error| unreadable(&error))?,
            ),
            other => {
                return Err(ModelError::Malformed(format!(
                    "GGUF architecture `{other}` is not supported: use a Llama- or Qwen2-family model"
                )));
            }
        };
        let stem = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
        tracing::info!(model = %stem, %architecture, "The local GGUF model is loaded.");
        let engine = Engine { weights, vocabulary, template, stops, context: settings.context_tokens, device };
        Ok(LocalGguf { name: format!("gguf:{stem}"), engine: Arc::new(Mutex::new(engine)) })
    }

    /// Answers `request` with a tool call, whatever the model would rather say: the constrained
    /// decoder alone, as evals and smoke tests use it.
    pub fn force_tool_call(&self, request: &ChatRequest) -> Result<ToolCall, ModelError> {
        let mut engine = self.engine.lock().unwrap_or_else(PoisonError::into_inner);
        let mut turn = engine.start(request)?;
        let opening = engine.vocabulary.encode(TOOL_OPEN)?;
        turn.logits = engine.feed(&opening, &mut turn)?;
        engine.tool_call(request, &mut turn)
    }
}

impl ChatModel for LocalGguf {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn stream(&self, request: ChatRequest) -> BoxStream<'static, Result<Chunk, ModelError>> {
        let engine = self.engine.clone();
        channel_stream(move |sender| async move {
            let answered = tokio::task::spawn_blocking(move || {
                let mut engine = engine.lock().unwrap_or_else(PoisonError::into_inner);
                engine.answer(&request, &mut |chunk| sender.blocking_send(Ok(chunk)).is_ok())
            });
            answered.await.map_err(|error| ModelError::Unavailable(format!("the local model stopped: {error}")))?
        })
    }
}

/// Where an answer stands: the next token's logits, the position, tokens read and written.
struct Turn {
    logits: Vec<f32>,
    position: usize,
    input_tokens: usize,
    written: usize,
}

impl Engine {
    /// Reads the prompt of `request`.
    fn start(&mut self, request: &ChatRequest) -> Result<Turn, ModelError> {
        let prompt = self.vocabulary.encode(&self.template.render(request))?;
        let needed = prompt.len() + request.max_output_tokens as usize;
        if needed > self.context {
            return Err(ModelError::Rejected {
                status: 413,
                detail: format!(
                    "the prompt is {} tokens and may be answered in {}: more than the {} of context.context_tokens",
                    prompt.len(),
                    request.max_output_tokens,
                    self.context
                ),
            });
        }
        self.weights.forget();
        let mut turn = Turn { logits: Vec::new(), position: 0, input_tokens: prompt.len(), written: 0 };
        turn.logits = self.feed(&prompt, &mut turn)?;
        Ok(turn)
    }

    /// Runs `ids` through the model after what `turn` has read; the next token's logits.
    fn feed(&mut self, ids: &[u32], turn: &mut Turn) -> Result<Vec<f32>, ModelError> {
        let input = Tensor::new(ids, &self.device).and_then(|tensor| tensor.unsqueeze(0)).map_err(failed)?;
        let logits = self.weights.forward(&input, turn.position).map_err(failed)?;
        turn.position += ids.len();
        logits.squeeze(0).and_then(|l| l.to_dtype(DType::F32)).and_then(|l| l.to_vec1()).map_err(failed)
    }

    /// Writes `id` as the model's: counts it and reads it.
    fn write(&mut self, id: u32, turn: &mut Turn) -> Result<(), ModelError> {
        turn.written += 1;
        turn.logits = self.feed(&[id], turn)?;
        Ok(())
    }

    /// The answer to `request`, as chunks given to `emit` (which says `false` once nobody
    /// listens).
    fn answer(&mut self, request: &ChatRequest, emit: &mut dyn FnMut(Chunk) -> bool) -> Result<(), ModelError> {
        let budget = request.max_output_tokens as usize;
        let mut turn = self.start(request)?;
        let mut ids = Vec::new();
        let mut shown = 0;
        while turn.written < budget {
            let Some(next) = best(&turn.logits, |_| true) else { break };
            if self.stops.contains(&next) {
                break;
            }
            ids.push(next);
            self.write(next, &mut turn)?;
            let text = self.vocabulary.decode(&ids);
            let opening = text.trim_start();
            if !request.tools.is_empty() && opening.starts_with(TOOL_OPEN) {
                let call = self.tool_call(request, &mut turn)?;
                emit(Chunk::ToolCall(call));
                break;
            }
            // Held back while it may still become a tool call, or ends inside a character.
            let undecided = !request.tools.is_empty() && TOOL_OPEN.starts_with(opening);
            if !undecided && !text.ends_with('\u{FFFD}') && text.len() > shown {
                if !emit(Chunk::Text(text[shown..].to_owned())) {
                    return Ok(());
                }
                shown = text.len();
            }
        }
        let usage = Usage { input_tokens: count(turn.input_tokens), output_tokens: count(turn.written) };
        emit(Chunk::Done(usage));
        Ok(())
    }

    /// The tool call after `<tool_call>`: the name chosen among the tools, then the arguments as
    /// a JSON object, token by token.
    fn tool_call(&mut self, request: &ChatRequest, turn: &mut Turn) -> Result<ToolCall, ModelError> {
        let budget = request.max_output_tokens as usize;
        let head = self.vocabulary.encode("{\"name\": \"")?;
        turn.logits = self.feed(&head, turn)?;
        let names: Vec<String> = request.tools.iter().map(|tool| format!("{}\"", tool.name)).collect();
        let mut name = String::new();
        while !names.contains(&name) {
            let next = best(&turn.logits, |id| {
                let piece = &self.vocabulary.pieces[id as usize];
                let longer = format!("{name}{piece}");
                !piece.is_empty() && names.iter().any(|candidate| candidate.starts_with(&longer))
            })
            .ok_or_else(|| ModelError::Malformed("no token continues a tool's name".into()))?;
            name.push_str(&self.vocabulary.pieces[next as usize]);
            self.write(next, turn)?;
        }
        name.pop();
        let glue = self.vocabulary.encode(", \"arguments\": ")?;
        turn.logits = self.feed(&glue, turn)?;
        let mut json = JsonPrefix::default();
        let mut arguments = Vec::new();
        while !json.is_done() {
            if turn.written >= budget {
                return Err(ModelError::Malformed(format!(
                    "the local model did not finish the arguments of `{name}` in {budget} tokens"
                )));
            }
            let next = best(&turn.logits, |id| {
                let piece = &self.vocabulary.pieces[id as usize];
                !piece.is_empty() && json.clone().feed_str(piece).is_some()
            })
            .ok_or_else(|| ModelError::Malformed("no token continues the arguments as JSON".into()))?;
            json.feed_str(&self.vocabulary.pieces[next as usize]);
            arguments.push(next);
            self.write(next, turn)?;
        }
        // The last token may run past the object's close (`}}`): keep what the object took.
        let text = self.vocabulary.decode(&arguments);
        let end = JsonPrefix::default().feed_str(&text).unwrap_or(text.len());
        let arguments = serde_json::from_str(&text[..end])
            .map_err(|error| ModelError::Malformed(format!("the arguments of `{name}` are not JSON: {error}")))?;
        Ok(ToolCall::new(format!("gguf_{}", turn.position), name, arguments))
    }
}

/// The allowed token with the highest logit.
fn best(logits: &[f32], allowed: impl Fn(u32) -> bool) -> Option<u32> {
    let top = logits.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(id, _)| id as u32)?;
    if allowed(top) {
        return Some(top);
    }
    let mut ranked: Vec<u32> = (0..logits.len() as u32).collect();
    ranked.sort_by(|a, b| logits[*b as usize].total_cmp(&logits[*a as usize]));
    ranked.into_iter().find(|id| allowed(*id))
}

fn count(tokens: usize) -> u32 {
    u32::try_from(tokens).unwrap_or(u32::MAX)
}
