//! Search over the documents the indexer keeps: lexical (BM25), dense (embeddings in a vector
//! index) and hybrid (similarity plus a share of the keyword score). Without an embedding model, search is
//! lexical and says so.

pub mod document;
pub mod edge;
pub mod index;
pub mod lexical;
pub mod qdrant;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::embed::{Embedder, Purpose};
use document::{Document, Filter};
use index::{Point, VectorIndex};
use lexical::Lexical;

/// Candidates each ranker contributes before fusion.
const CANDIDATES: usize = 50;
/// How much the keyword score (scaled to the best keyword hit = 1) adds to the cosine
/// similarity in hybrid ranking. Keywords rescue exact names, codes and rare words; on
/// paraphrases they add noise, so they nudge rather than decide. Reciprocal rank fusion with
/// equal weights was measured too and lost recall to embeddings alone (docs/MCP.md).
const LEXICAL_WEIGHT: f32 = 0.25;

/// How results are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ranking {
    /// Keywords only (BM25).
    Lexical,
    /// Embeddings only.
    Dense,
    /// Similarity plus a share of the keyword score (the default).
    Hybrid,
}

/// A ranked document.
#[derive(Debug, Clone)]
pub struct Found {
    /// The document.
    pub document: Document,
    /// The fused or single-ranker score; comparable within one result list only.
    pub score: f32,
}

/// A search's results and how they were ranked.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Best first.
    pub found: Vec<Found>,
    /// The ranking actually used.
    pub ranking: Ranking,
    /// Why it differs from the one asked for, if it does.
    pub notice: Option<String>,
}

#[derive(Default)]
struct Corpus {
    documents: HashMap<String, Document>,
    lexical: Lexical,
}

/// The searchable documents, their lexical index, and their vectors.
#[derive(Clone)]
pub struct SearchEngine {
    corpus: Arc<RwLock<Corpus>>,
    index: Arc<dyn VectorIndex>,
    embedder: Option<Arc<dyn Embedder>>,
}

impl std::fmt::Debug for SearchEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchEngine")
            .field("index", &self.index.engine())
            .field("model", &self.embedder.as_ref().map(|embedder| embedder.model().to_owned()))
            .finish()
    }
}

impl SearchEngine {
    /// An engine over `index`, embedding with `embedder` when there is one.
    pub fn new(index: Arc<dyn VectorIndex>, embedder: Option<Arc<dyn Embedder>>) -> SearchEngine {
        SearchEngine { corpus: Arc::default(), index, embedder }
    }

    /// The embedding model's name, if one is loaded.
    pub fn model(&self) -> Option<&str> {
        self.embedder.as_deref().map(Embedder::model)
    }

    /// The vector engine's name.
    pub fn engine(&self) -> &'static str {
        self.index.engine()
    }

    /// How many documents are searchable.
    pub fn len(&self) -> usize {
        self.read().documents.len()
    }

    /// Whether no document is searchable yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Corpus> {
        self.corpus.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Corpus> {
        self.corpus.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds or replaces `documents`, embedding only those whose text changed. Returns how many
    /// changed.
    pub async fn upsert(&self, documents: Vec<Document>) -> anyhow::Result<usize> {
        let changed: Vec<Document> = {
            let corpus = self.read();
            documents.into_iter().filter(|document| corpus.documents.get(&document.id) != Some(document)).collect()
        };
        if changed.is_empty() {
            return Ok(0);
        }
        if let Some(embedder) = &self.embedder {
            let texts: Vec<String> = changed.iter().map(Document::searchable_text).collect();
            let vectors = embedder.embed(&texts, Purpose::Document).await?;
            let points = changed
                .iter()
                .zip(vectors)
                .map(|(document, vector)| Point {
                    id: document.id.clone(),
                    vector,
                    kind: document.kind,
                    audience: document.audience(),
                })
                .collect();
            self.index.upsert(points).await?;
        }
        let mut corpus = self.write();
        for document in &changed {
            corpus.lexical.upsert(&document.id, &document.searchable_text());
            corpus.documents.insert(document.id.clone(), document.clone());
        }
        Ok(changed.len())
    }

    /// Removes documents by id.
    pub async fn remove(&self, ids: Vec<String>) -> anyhow::Result<()> {
        if self.embedder.is_some() {
            self.index.delete(ids.clone()).await?;
        }
        let mut corpus = self.write();
        for id in &ids {
            corpus.lexical.remove(id);
            corpus.documents.remove(id);
        }
        Ok(())
    }

    /// The `limit` best documents for `query` under `filter`, ranked by `ranking` (or by
    /// keywords, with a notice, when no model is loaded).
    pub async fn search(
        &self,
        query: &str,
        filter: &Filter,
        limit: usize,
        ranking: Ranking,
    ) -> anyhow::Result<Outcome> {
        let (ranking, notice) = match (&self.embedder, ranking) {
            (None, Ranking::Dense | Ranking::Hybrid) => (
                Ranking::Lexical,
                Some(
                    "the embedding model is not installed (run scripts/models): results are ranked by keywords only"
                        .to_owned(),
                ),
            ),
            (_, ranking) => (ranking, None),
        };
        let lexical = match ranking {
            Ranking::Lexical | Ranking::Hybrid => self.lexical(query, filter),
            Ranking::Dense => Vec::new(),
        };
        let dense = match (ranking, &self.embedder) {
            (Ranking::Dense | Ranking::Hybrid, Some(embedder)) => {
                let vector = embedder.embed(&[query.to_owned()], Purpose::Query).await?.pop().unwrap_or_default();
                self.index
                    .search(&vector, filter, CANDIDATES)
                    .await?
                    .into_iter()
                    .map(|hit| (hit.id, hit.score))
                    .collect()
            }
            _ => Vec::new(),
        };
        let ranked = match ranking {
            Ranking::Lexical => lexical,
            Ranking::Dense => dense,
            Ranking::Hybrid => fuse(&dense, &lexical),
        };
        let corpus = self.read();
        // The corpus is the truth: a vector left from a document since removed is skipped.
        let found = ranked
            .into_iter()
            .filter_map(|(id, score)| Some(Found { document: corpus.documents.get(&id)?.clone(), score }))
            .filter(|found| filter.accepts(found.document.kind, &found.document.audience()))
            .take(limit)
            .collect();
        Ok(Outcome { found, ranking, notice })
    }

    fn lexical(&self, query: &str, filter: &Filter) -> Vec<(String, f32)> {
        let corpus = self.read();
        let accept = |id: &str| {
            corpus.documents.get(id).is_some_and(|document| filter.accepts(document.kind, &document.audience()))
        };
        corpus.lexical.search(query, accept, CANDIDATES)
    }
}

/// Hybrid score: cosine similarity plus [`LEXICAL_WEIGHT`] times the BM25 score scaled so the
/// best keyword hit scores 1. A document only one ranker found gets nothing from the other.
fn fuse(dense: &[(String, f32)], lexical: &[(String, f32)]) -> Vec<(String, f32)> {
    let mut scores: HashMap<&str, f32> = dense.iter().map(|(id, score)| (id.as_str(), *score)).collect();
    let best = lexical.first().map_or(1.0, |(_, score)| score.max(f32::EPSILON));
    for (id, score) in lexical {
        *scores.entry(id).or_insert(0.0) += LEXICAL_WEIGHT * score / best;
    }
    let mut fused: Vec<(String, f32)> = scores.into_iter().map(|(id, score)| (id.to_owned(), score)).collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;
    use document::{DocKind, PUBLIC, customer_audience};

    fn document(id: &str, kind: DocKind, customer: Option<&str>, text: &str) -> Document {
        Document {
            id: id.into(),
            kind,
            title: id.into(),
            text: text.into(),
            customer_id: customer.map(str::to_owned),
            updated_at: 0,
        }
    }

    #[test]
    fn fusion_adds_scaled_keyword_scores_to_similarity() {
        let dense = vec![("b".to_owned(), 0.60), ("c".to_owned(), 0.58), ("d".to_owned(), 0.30)];
        let lexical = vec![("c".to_owned(), 10.0), ("a".to_owned(), 5.0)];
        let fused = fuse(&dense, &lexical);
        let order: Vec<&str> = fused.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(order, ["c", "b", "d", "a"]);
        assert!((fused[0].1 - (0.58 + LEXICAL_WEIGHT)).abs() < 1e-6);
    }

    #[tokio::test]
    async fn without_a_model_search_is_lexical_and_says_so() {
        let engine = SearchEngine::new(Arc::new(index::ExactIndex::default()), None);
        engine
            .upsert(vec![
                document("help:refunds", DocKind::Help, None, "Refunds reach your card in a few days."),
                document("ticket:t1", DocKind::Ticket, Some("cus-1002"), "Where is my refund?"),
            ])
            .await
            .unwrap();
        let filter = Filter { kinds: vec![], audiences: vec![PUBLIC.into(), customer_audience("cus-1001")] };
        let outcome = engine.search("refund", &filter, 5, Ranking::Hybrid).await.unwrap();
        assert_eq!(outcome.ranking, Ranking::Lexical);
        assert!(outcome.notice.unwrap().contains("scripts/models"));
        let ids: Vec<_> = outcome.found.iter().map(|found| found.document.id.as_str()).collect();
        assert_eq!(ids, ["help:refunds"], "another customer's ticket stays out");
        assert_eq!(
            engine
                .upsert(vec![document("help:refunds", DocKind::Help, None, "Refunds reach your card in a few days.")])
                .await
                .unwrap(),
            0
        );
    }
}
