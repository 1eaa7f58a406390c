//! Sentence embeddings behind one trait: a local all-MiniLM-L6-v2 run in process (the embedded
//! default) and Vertex AI text embeddings.

pub mod minilm;
pub mod vertex;

use futures_util::future::BoxFuture;

/// What a text is embedded for: some models embed queries and documents differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A document stored in the index.
    Document,
    /// A search query.
    Query,
}

/// Turns texts into L2-normalized vectors of a fixed width.
pub trait Embedder: Send + Sync {
    /// The model's name, for status and search results.
    fn model(&self) -> &str;

    /// The vectors' width.
    fn dimensions(&self) -> usize;

    /// One vector per text, in order.
    fn embed<'a>(&'a self, texts: &'a [String], purpose: Purpose) -> BoxFuture<'a, anyhow::Result<Vec<Vec<f32>>>>;
}

/// Scales `vector` to unit length (a zero vector stays zero).
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
}
