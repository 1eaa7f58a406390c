//! The vector index behind one trait: Qdrant Edge in process (the embedded default), a Qdrant
//! server or cluster through qdrant-client, and an exact scan used as the reference in tests and
//! benchmarks. [`conformance`] is the one suite every implementation passes.

use std::collections::HashMap;
use std::sync::RwLock;

use futures_util::future::BoxFuture;

use super::document::{DocKind, Filter};

/// One document's vector and the fields filters look at.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The document id (`kind:id`).
    pub id: String,
    /// Its embedding, L2-normalized.
    pub vector: Vec<f32>,
    /// Its kind.
    pub kind: DocKind,
    /// Who may read it.
    pub audience: String,
}

/// A nearest-neighbour hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The document id.
    pub id: String,
    /// Cosine similarity, higher is closer.
    pub score: f32,
}

/// A store of document vectors searched by cosine similarity under a [`Filter`].
pub trait VectorIndex: Send + Sync {
    /// The engine's name, for logs and status.
    fn engine(&self) -> &'static str;

    /// Adds or replaces points (by document id).
    fn upsert(&self, points: Vec<Point>) -> BoxFuture<'_, anyhow::Result<()>>;

    /// Removes the points of these document ids; absent ids are ignored.
    fn delete(&self, ids: Vec<String>) -> BoxFuture<'_, anyhow::Result<()>>;

    /// The `limit` points closest to `vector` that pass `filter`, closest first.
    fn search<'a>(
        &'a self,
        vector: &'a [f32],
        filter: &'a Filter,
        limit: usize,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Hit>>>;

    /// How many points it holds.
    fn count(&self) -> BoxFuture<'_, anyhow::Result<u64>>;
}

/// Cosine similarity of two L2-normalized vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Exact search by scanning every point: the reference the approximate engines are compared
/// with, in the conformance suite and the benchmark.
#[derive(Debug, Default)]
pub struct ExactIndex {
    points: RwLock<HashMap<String, Point>>,
}

impl ExactIndex {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Point>> {
        self.points.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Point>> {
        self.points.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The exact search, synchronously.
    pub fn nearest(&self, vector: &[f32], filter: &Filter, limit: usize) -> Vec<Hit> {
        let mut hits: Vec<Hit> = self
            .read()
            .values()
            .filter(|point| filter.accepts(point.kind, &point.audience))
            .map(|point| Hit { id: point.id.clone(), score: cosine(vector, &point.vector) })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        hits.truncate(limit);
        hits
    }
}

impl VectorIndex for ExactIndex {
    fn engine(&self) -> &'static str {
        "exact scan"
    }

    fn upsert(&self, points: Vec<Point>) -> BoxFuture<'_, anyhow::Result<()>> {
        let mut stored = self.write();
        for point in points {
            stored.insert(point.id.clone(), point);
        }
        Box::pin(async { Ok(()) })
    }

    fn delete(&self, ids: Vec<String>) -> BoxFuture<'_, anyhow::Result<()>> {
        let mut stored = self.write();
        for id in ids {
            stored.remove(&id);
        }
        Box::pin(async { Ok(()) })
    }

    fn search<'a>(
        &'a self,
        vector: &'a [f32],
        filter: &'a Filter,
        limit: usize,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Hit>>> {
        let hits = self.nearest(vector, filter, limit);
        Box::pin(async { Ok(hits) })
    }

    fn count(&self) -> BoxFuture<'_, anyhow::Result<u64>> {
        let count = self.read().len() as u64;
        Box::pin(async move { Ok(count) })
    }
}

/// The behaviour every [`VectorIndex`] must show, run against each engine by the test suites.
#[cfg(any(test, feature = "testing"))]
pub mod conformance {
    use super::*;
    use crate::search::document::{PUBLIC, customer_audience};

    const DIMENSIONS: usize = 8;

    /// A normalized vector pointing mostly along `axis`, tilted by `tilt`.
    pub fn unit(axis: usize, tilt: f32) -> Vec<f32> {
        let mut vector = [0.01; DIMENSIONS];
        vector[axis % DIMENSIONS] = 1.0;
        vector[(axis + 1) % DIMENSIONS] += tilt;
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        vector.iter().map(|x| x / norm).collect()
    }

    fn point(id: &str, kind: DocKind, audience: &str, vector: Vec<f32>) -> Point {
        Point { id: id.into(), vector, kind, audience: audience.into() }
    }

    /// Runs the suite on `index`, which must be empty and built for 8-dimensional vectors.
    pub async fn run(index: &dyn VectorIndex) {
        let alice = customer_audience("cus-1001");
        let bob = customer_audience("cus-1002");
        index
            .upsert(vec![
                point("product:a", DocKind::Product, PUBLIC, unit(0, 0.0)),
                point("product:b", DocKind::Product, PUBLIC, unit(0, 0.3)),
                point("help:c", DocKind::Help, PUBLIC, unit(0, 0.6)),
                point("ticket:alice", DocKind::Ticket, &alice, unit(0, 0.1)),
                point("ticket:bob", DocKind::Ticket, &bob, unit(0, 0.05)),
                point("note:bob", DocKind::Note, &bob, unit(3, 0.0)),
            ])
            .await
            .expect("upsert");
        assert_eq!(index.count().await.expect("count"), 6, "{}: count after upsert", index.engine());

        let public = Filter { kinds: vec![], audiences: vec![PUBLIC.into()] };
        let ids = |hits: Vec<Hit>| hits.into_iter().map(|hit| hit.id).collect::<Vec<_>>();
        let hits = index.search(&unit(0, 0.0), &public, 10).await.expect("search");
        assert!(
            (hits[0].score - 1.0).abs() < 1e-3,
            "{}: identical vector scores 1, got {}",
            index.engine(),
            hits[0].score
        );
        assert_eq!(ids(hits), ["product:a", "product:b", "help:c"], "{}: public, by closeness", index.engine());

        let alice_view = Filter { kinds: vec![], audiences: vec![PUBLIC.into(), alice.clone()] };
        let hits = ids(index.search(&unit(0, 0.0), &alice_view, 10).await.expect("search"));
        assert_eq!(hits, ["product:a", "ticket:alice", "product:b", "help:c"], "{}: scope", index.engine());
        assert!(!hits.iter().any(|id| id.ends_with("bob")), "{}: another customer's documents leak", index.engine());

        let tickets = Filter { kinds: vec![DocKind::Ticket, DocKind::Help], audiences: alice_view.audiences.clone() };
        let hits = ids(index.search(&unit(0, 0.0), &tickets, 1).await.expect("search"));
        assert_eq!(hits, ["ticket:alice"], "{}: kinds and limit", index.engine());

        index.upsert(vec![point("product:a", DocKind::Product, PUBLIC, unit(5, 0.0))]).await.expect("replace");
        index.delete(vec!["product:b".into(), "product:missing".into()]).await.expect("delete");
        assert_eq!(index.count().await.expect("count"), 5, "{}: count after replace and delete", index.engine());
        let hits = ids(index.search(&unit(0, 0.0), &public, 10).await.expect("search"));
        assert_eq!(hits.first().map(String::as_str), Some("help:c"), "{}: replaced vector moved", index.engine());
        assert!(!hits.contains(&"product:b".to_owned()), "{}: deleted point returned", index.engine());

        let nobody = Filter { kinds: vec![], audiences: vec![customer_audience("cus-9999")] };
        assert!(index.search(&unit(0, 0.0), &nobody, 10).await.expect("search").is_empty());
    }

    #[tokio::test]
    async fn exact_index_conforms() {
        run(&ExactIndex::default()).await;
    }
}
