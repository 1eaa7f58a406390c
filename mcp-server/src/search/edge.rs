//! Qdrant Edge: the Qdrant engine in process, persisted in a folder. The embedded default.
//!
//! Its API is synchronous and runs its own thread pools, so every call goes through
//! `spawn_blocking`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use futures_util::future::BoxFuture;
use qdrant_edge::{
    Condition, CountRequestBuilder, CreateIndex, Distance, EdgeConfig, EdgeShard, EdgeVectorParams, FieldCondition,
    FieldIndexOperations, Filter as EdgeFilter, JsonPath, Match, NamedQuery, PayloadFieldSchema, PayloadSchemaType,
    PointId, PointInsertOperations, PointOperations, PointStruct, PointStructPersisted, QueryEnum, QueryRequestBuilder,
    ScoringQuery, SearchParams, UpdateOperation, VectorInternal, Vectors, WithPayloadInterface,
};
use serde_json::json;

use super::document::{Filter, point_id};
use super::index::{Hit, Point, VectorIndex};

/// The named vector every point carries.
const VECTOR: &str = "text";
/// Candidates the HNSW search keeps (Qdrant's `hnsw_ef`): higher finds more of the true
/// neighbours for a little more time; see docs/PERFORMANCE.md.
const HNSW_EF: usize = 128;

/// A Qdrant Edge shard of document vectors.
#[derive(Clone)]
pub struct EdgeIndex {
    shard: Arc<EdgeShard>,
}

impl std::fmt::Debug for EdgeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeIndex").field("path", &self.shard.path()).finish()
    }
}

fn path(name: &str) -> anyhow::Result<JsonPath> {
    JsonPath::try_from(name).map_err(|()| anyhow!("`{name}` is not a payload path"))
}

impl EdgeIndex {
    /// Opens the shard in `dir`, creating it for `dimensions`-wide vectors when the folder holds
    /// none. A shard made for another width is refused: the embedding model changed, so the
    /// folder must be removed and rebuilt from the sources.
    pub fn open(dir: &Path, dimensions: usize) -> anyhow::Result<EdgeIndex> {
        std::fs::create_dir_all(dir).with_context(|| format!("could not create the index folder {}", dir.display()))?;
        let existing = dir.join("edge_config.json").exists();
        let shard = if existing {
            EdgeShard::load(dir, None)
                .with_context(|| format!("could not open the vector index in {}", dir.display()))?
        } else {
            let config = EdgeConfig::builder()
                .vector(VECTOR, EdgeVectorParams::builder(dimensions, Distance::Cosine).build())
                .build();
            let shard = EdgeShard::new(dir, config)
                .with_context(|| format!("could not create a vector index in {}", dir.display()))?;
            for field in ["kind", "audience"] {
                shard
                    .update(UpdateOperation::FieldIndexOperation(FieldIndexOperations::CreateIndex(CreateIndex {
                        field_name: path(field)?,
                        field_schema: Some(PayloadFieldSchema::FieldType(PayloadSchemaType::Keyword)),
                    })))
                    .with_context(|| format!("could not index the payload field `{field}`"))?;
            }
            shard
        };
        let width = shard.config().vectors.get(VECTOR).map(|params| params.size);
        if width != Some(dimensions) {
            anyhow::bail!(
                "the vector index in {} holds {}-wide vectors but the embedder makes {dimensions}: \
                 remove the folder and the indexer rebuilds it",
                dir.display(),
                width.map_or_else(|| "unknown".to_owned(), |w| w.to_string())
            );
        }
        Ok(EdgeIndex { shard: Arc::new(shard) })
    }

    /// Builds the HNSW graph and merges segments (blocking, seconds per 10k points in a release
    /// build); searches are exact scans of appendable segments until then.
    pub async fn optimize(&self) -> anyhow::Result<()> {
        let shard = self.shard.clone();
        tokio::task::spawn_blocking(move || shard.optimize().map(drop).context("optimizing the vector index failed"))
            .await?
    }

    /// Writes everything to disk.
    pub async fn flush(&self) -> anyhow::Result<()> {
        let shard = self.shard.clone();
        tokio::task::spawn_blocking(move || shard.flush().context("flushing the vector index failed")).await?
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&EdgeShard) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let shard = self.shard.clone();
        tokio::task::spawn_blocking(move || work(&shard)).await.context("the vector index task failed")?
    }
}

fn edge_filter(filter: &Filter) -> anyhow::Result<EdgeFilter> {
    let mut must =
        vec![Condition::Field(FieldCondition::new_match(path("audience")?, Match::from(filter.audiences.clone())))];
    if !filter.kinds.is_empty() {
        let kinds = filter.kinds.iter().map(|kind| kind.name().to_owned()).collect::<Vec<_>>();
        must.push(Condition::Field(FieldCondition::new_match(path("kind")?, Match::from(kinds))));
    }
    Ok(EdgeFilter { must: Some(must), ..EdgeFilter::default() })
}

fn document_id(payload: Option<&qdrant_edge::Payload>) -> Option<String> {
    payload?.0.get("doc_id")?.as_str().map(str::to_owned)
}

impl VectorIndex for EdgeIndex {
    fn engine(&self) -> &'static str {
        "qdrant-edge"
    }

    fn upsert(&self, points: Vec<Point>) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(self.blocking(move |shard| {
            let points: Vec<PointStructPersisted> = points
                .into_iter()
                .map(|point| {
                    let payload = json!({ "doc_id": point.id, "kind": point.kind.name(), "audience": point.audience });
                    PointStruct::new(point_id(&point.id), Vectors::new_named([(VECTOR, point.vector)]), payload).into()
                })
                .collect();
            shard
                .update(UpdateOperation::PointOperation(PointOperations::UpsertPoints(
                    PointInsertOperations::PointsList(points),
                )))
                .context("upserting points failed")
        }))
    }

    fn delete(&self, ids: Vec<String>) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(self.blocking(move |shard| {
            let ids = ids.iter().map(|id| PointId::NumId(point_id(id))).collect();
            shard
                .update(UpdateOperation::PointOperation(PointOperations::DeletePoints { ids }))
                .context("deleting points failed")
        }))
    }

    fn search<'a>(
        &'a self,
        vector: &'a [f32],
        filter: &'a Filter,
        limit: usize,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Hit>>> {
        let vector = vector.to_vec();
        let filter = edge_filter(filter);
        Box::pin(self.blocking(move |shard| {
            let request = QueryRequestBuilder::new(limit)
                .query(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
                    query: VectorInternal::Dense(vector),
                    using: Some(VECTOR.into()),
                })))
                .filter(filter?)
                .params(SearchParams { hnsw_ef: Some(HNSW_EF), ..SearchParams::default() })
                .with_payload(WithPayloadInterface::Bool(true))
                .build();
            let points = shard.query(request).context("searching the vector index failed")?;
            Ok(points
                .into_iter()
                .filter_map(|point| Some(Hit { id: document_id(point.payload.as_ref())?, score: point.score }))
                .collect())
        }))
    }

    fn count(&self) -> BoxFuture<'_, anyhow::Result<u64>> {
        Box::pin(self.blocking(|shard| {
            let count =
                shard.count(CountRequestBuilder::new().exact(true).build()).context("counting points failed")?;
            Ok(count as u64)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn edge_index_conforms_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let index = EdgeIndex::open(dir.path(), 8).unwrap();
        super::super::index::conformance::run(&index).await;
        index.flush().await.unwrap();
        drop(index);
        let reopened = EdgeIndex::open(dir.path(), 8).unwrap();
        assert_eq!(reopened.count().await.unwrap(), 5);
        drop(reopened);
        let error = EdgeIndex::open(dir.path(), 16).unwrap_err().to_string();
        assert!(error.contains("8-wide") && error.contains("16"), "{error}");
    }
}
