//! The tokenizer a GGUF file carries in its metadata (`tokenizer.ggml.*`): byte-level BPE, as
//! Llama 3, Qwen2 and SmolLM2 use, built without a `tokenizer.json`.

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::ModelError;

/// GGUF's token type of control tokens (`<|im_start|>` and the like).
const CONTROL: i32 = 3;

/// A tokenizer and the text of every token alone.
pub struct Vocabulary {
    /// Encodes and decodes.
    pub tokenizer: Tokenizer,
    /// Each token's text, decoded alone (a split UTF-8 character shows as U+FFFD).
    pub pieces: Vec<String>,
}

fn malformed(what: impl std::fmt::Display) -> ModelError {
    ModelError::Malformed(format!("the GGUF file's tokenizer: {what}"))
}

fn metadata<'a>(content: &'a Content, key: &str) -> Result<&'a Value, ModelError> {
    content.metadata.get(key).ok_or_else(|| malformed(format!("no `{key}` in its metadata")))
}

fn strings(value: &Value) -> Result<Vec<String>, ModelError> {
    let values = value.to_vec().map_err(malformed)?;
    values.iter().map(|value| value.to_string().cloned().map_err(malformed)).collect()
}

impl Vocabulary {
    /// The tokenizer `content` describes.
    pub fn from_gguf(content: &Content) -> Result<Vocabulary, ModelError> {
        let kind = metadata(content, "tokenizer.ggml.model")?.to_string().map_err(malformed)?;
        if kind != "gpt2" {
            return Err(malformed(format!(
                "`{kind}` tokenizers are not supported, only byte-level BPE (`gpt2`): use a Llama 3, Qwen2 or SmolLM2 GGUF"
            )));
        }
        let tokens = strings(metadata(content, "tokenizer.ggml.tokens")?)?;
        let merges = strings(metadata(content, "tokenizer.ggml.merges")?)?
            .iter()
            .map(|merge| merge.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| malformed("a merge is not two tokens"))?;
        let types: Vec<i32> = match content.metadata.get("tokenizer.ggml.token_type") {
            Some(types) => types.to_vec().map_err(malformed)?.iter().map(|t| t.to_i32().unwrap_or(1)).collect(),
            None => Vec::new(),
        };
        let vocab: Vocab = tokens.iter().enumerate().map(|(id, token)| (token.clone(), id as u32)).collect();
        let model = BPE::builder().vocab_and_merges(vocab, merges).build().map_err(malformed)?;
        let mut tokenizer = Tokenizer::new(model);
        let byte_level = ByteLevel::new(false, false, true);
        tokenizer.with_pre_tokenizer(Some(byte_level)).with_decoder(Some(byte_level));
        let control: Vec<AddedToken> = tokens
            .iter()
            .zip(&types)
            .filter(|(_, kind)| **kind == CONTROL)
            .map(|(token, _)| AddedToken::from(token.clone(), true))
            .collect();
        tokenizer.add_special_tokens(control).map_err(malformed)?;
        let pieces = (0..tokens.len() as u32).map(|id| tokenizer.decode(&[id], false).unwrap_or_default()).collect();
        Ok(Vocabulary { tokenizer, pieces })
    }

    /// The id of `token`, if the vocabulary has it.
    pub fn id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// The ids of `text`, special tokens included as written.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        Ok(self.tokenizer.encode(text, false).map_err(malformed)?.get_ids().to_vec())
    }

    /// The text of `ids`.
    pub fn decode(&self, ids: &[u32]) -> String {
        self.tokenizer.decode(ids, false).unwrap_or_default()
    }
}
