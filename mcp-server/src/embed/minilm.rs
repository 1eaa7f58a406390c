//! all-MiniLM-L6-v2 (384 dimensions) run in process with candle on the CPU: mean pooling over
//! the tokens, then L2 normalization, as sentence-transformers does. `scripts/models` fetches
//! the weights (pinned and checksummed); without them search falls back to keywords.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use futures_util::future::BoxFuture;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::{Embedder, Purpose, normalize};

/// The model's name.
pub const MODEL: &str = "all-MiniLM-L6-v2";
/// The longest input in tokens; longer texts are truncated (the model was trained on 256).
const MAX_TOKENS: usize = 256;
/// Texts embedded per forward pass.
const BATCH: usize = 16;

/// The files the model folder must hold.
pub const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// The default model folder: where `scripts/models` puts it.
pub fn default_dir() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(cache.join("boutique/models").join(MODEL))
}

struct Model {
    bert: BertModel,
    tokenizer: Tokenizer,
    dimensions: usize,
}

/// The local sentence-embedding model.
#[derive(Clone)]
pub struct MiniLm {
    model: Arc<Model>,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm").field("dimensions", &self.model.dimensions).finish()
    }
}

impl MiniLm {
    /// Whether `dir` holds the model's files.
    pub fn is_installed(dir: &Path) -> bool {
        FILES.iter().all(|file| dir.join(file).is_file())
    }

    /// Loads the model from `dir` (`config.json`, `tokenizer.json`, `model.safetensors`).
    pub fn load(dir: &Path) -> anyhow::Result<MiniLm> {
        let read = |file: &str| {
            std::fs::read(dir.join(file)).with_context(|| {
                format!("could not read {} (run scripts/models to fetch the model)", dir.join(file).display())
            })
        };
        let config: Config =
            serde_json::from_slice(&read("config.json")?).context("config.json is not a BERT config")?;
        let mut tokenizer =
            Tokenizer::from_bytes(read("tokenizer.json")?).map_err(|e| anyhow!("tokenizer.json: {e}"))?;
        tokenizer
            .with_padding(Some(PaddingParams { strategy: PaddingStrategy::BatchLongest, ..PaddingParams::default() }));
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..TruncationParams::default() }))
            .map_err(|e| anyhow!("tokenizer truncation: {e}"))?;
        let weights = VarBuilder::from_buffered_safetensors(read("model.safetensors")?, DType::F32, &Device::Cpu)
            .context("model.safetensors could not be read")?;
        let bert = BertModel::load(weights, &config).context("the weights do not fit the BERT config")?;
        Ok(MiniLm { model: Arc::new(Model { bert, tokenizer, dimensions: config.hidden_size }) })
    }
}

impl Model {
    fn embed_batch(&self, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
        let encodings = self.tokenizer.encode_batch(texts.to_vec(), true).map_err(|e| anyhow!("tokenizing: {e}"))?;
        let rows = encodings.len();
        let width = encodings.first().map_or(0, |encoding| encoding.get_ids().len());
        let flat = |get: fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings.iter().flat_map(|encoding| get(encoding).iter().copied()).collect()
        };
        let device = Device::Cpu;
        let ids = Tensor::from_vec(flat(tokenizers::Encoding::get_ids), (rows, width), &device)?;
        let types = Tensor::from_vec(flat(tokenizers::Encoding::get_type_ids), (rows, width), &device)?;
        let mask = Tensor::from_vec(flat(tokenizers::Encoding::get_attention_mask), (rows, width), &device)?;
        let hidden = self.bert.forward(&ids, &types, Some(&mask))?;
        // Mean over the real tokens only: padding is masked out.
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let pooled = summed.broadcast_div(&counts)?;
        let mut vectors: Vec<Vec<f32>> = pooled.to_vec2()?;
        vectors.iter_mut().for_each(|vector| normalize(vector));
        Ok(vectors)
    }
}

impl Embedder for MiniLm {
    fn model(&self) -> &str {
        MODEL
    }

    fn dimensions(&self) -> usize {
        self.model.dimensions
    }

    fn embed<'a>(&'a self, texts: &'a [String], _purpose: Purpose) -> BoxFuture<'a, anyhow::Result<Vec<Vec<f32>>>> {
        let model = self.model.clone();
        let texts = texts.to_vec();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut vectors = Vec::with_capacity(texts.len());
                for batch in texts.chunks(BATCH) {
                    vectors.extend(model.embed_batch(batch)?);
                }
                Ok(vectors)
            })
            .await
            .context("the embedding task failed")?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the conformance suite on the real model, when `scripts/models` has fetched it.
    #[tokio::test]
    async fn minilm_conforms() {
        let Some(dir) = default_dir().filter(|dir| MiniLm::is_installed(dir)) else {
            eprintln!("skipped: the embedding model is not installed; run scripts/models");
            return;
        };
        let model = tokio::task::spawn_blocking(move || MiniLm::load(&dir)).await.unwrap().unwrap();
        assert_eq!((model.model(), model.dimensions()), (MODEL, 384));
        crate::embed::conformance::run(&model).await;
    }
}
