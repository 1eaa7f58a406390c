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

/// The behaviour every [`Embedder`] must show, run against each model by the test suites.
#[cfg(any(test, feature = "testing"))]
pub mod conformance {
    use super::*;
    use crate::search::index::cosine;

    /// Texts more than either model embeds at once (16 locally, 32 a Vertex request), all
    /// different: every adjective meets every noun once.
    pub fn texts() -> Vec<String> {
        let adjectives = ["red", "woollen", "cheap", "waterproof", "vintage", "tiny", "heavy", "organic"];
        let nouns = ["scarf for winter", "coffee mug", "parcel delayed in transit", "refund request", "garden chair"];
        (0..40).map(|i| format!("{} {}", adjectives[i % 8], nouns[i % 5])).collect()
    }

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
    }

    /// Runs the suite on `embedder`.
    pub async fn run(embedder: &dyn Embedder) {
        let model = embedder.model().to_owned();
        assert!(!model.is_empty(), "the model has a name");
        let width = embedder.dimensions();
        for purpose in [Purpose::Document, Purpose::Query] {
            let none = embedder.embed(&[], purpose).await.expect("embed nothing");
            assert!(none.is_empty(), "{model}: no texts, no vectors ({purpose:?})");
        }

        let texts = texts();
        let vectors = embedder.embed(&texts, Purpose::Document).await.expect("embed documents");
        assert_eq!(vectors.len(), texts.len(), "{model}: one vector per text");
        for (text, vector) in texts.iter().zip(&vectors) {
            assert_eq!(vector.len(), width, "{model}: `{text}` is {width} wide");
            let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "{model}: `{text}` has length {norm}, not 1");
        }

        // In order: each text alone, wherever it sat in the batches, matches its own vector.
        for index in [0, 1, 15, 16, 31, 32, 39] {
            let alone = embedder.embed(&texts[index..=index], Purpose::Document).await.expect("embed one");
            assert_eq!(alone.len(), 1, "{model}: one text, one vector");
            let scores: Vec<f32> = vectors.iter().map(|vector| cosine(vector, &alone[0])).collect();
            let nearest = (0..scores.len()).max_by(|a, b| scores[*a].total_cmp(&scores[*b])).unwrap_or_default();
            assert_eq!(nearest, index, "{model}: `{}` came back as `{}`", texts[index], texts[nearest]);
            assert!(scores[index] > 0.999, "{model}: `{}` alone scores {}", texts[index], scores[index]);
        }

        let again = embedder.embed(&texts, Purpose::Document).await.expect("embed documents again");
        assert!(vectors.iter().zip(&again).all(|(a, b)| close(a, b)), "{model}: the same texts, other vectors");

        let queries = embedder.embed(&texts[..3], Purpose::Query).await.expect("embed queries");
        assert_eq!(queries.len(), 3, "{model}: one query vector per text");
        for vector in &queries {
            let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!(vector.len() == width && (norm - 1.0).abs() < 1e-4, "{model}: a query vector of {norm}");
        }
        let again = embedder.embed(&texts[..3], Purpose::Query).await.expect("embed queries again");
        assert!(queries.iter().zip(&again).all(|(a, b)| close(a, b)), "{model}: the same query, another vector");
    }
}
