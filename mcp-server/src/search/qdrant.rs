//! A Qdrant server or cluster through qdrant-client (gRPC): for deployments that outgrow the
//! in-process engine or share one index between replicas.

use anyhow::Context;
use futures_util::future::BoxFuture;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeletePointsBuilder,
    Distance, FieldType, Filter as QdrantFilter, PointStruct, PointsIdsList, QueryPointsBuilder, UpsertPointsBuilder,
    VectorParamsBuilder,
};
use qdrant_client::{Payload, Qdrant};

use super::document::{Filter, point_id};
use super::index::{Hit, Point, VectorIndex};

/// A collection of document vectors on a Qdrant server.
pub struct QdrantIndex {
    client: Qdrant,
    collection: String,
}

impl std::fmt::Debug for QdrantIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QdrantIndex").field("collection", &self.collection).finish_non_exhaustive()
    }
}

impl QdrantIndex {
    /// Connects to the server at `url` (gRPC, e.g. `http://localhost:6334`) and makes sure
    /// `collection` exists for `dimensions`-wide cosine vectors with its keyword indexes.
    pub async fn connect(
        url: &str,
        api_key: Option<String>,
        collection: &str,
        dimensions: usize,
    ) -> anyhow::Result<QdrantIndex> {
        let client = Qdrant::from_url(url)
            .api_key(api_key)
            .build()
            .with_context(|| format!("could not build a Qdrant client for {url}"))?;
        let exists = client
            .collection_exists(collection)
            .await
            .with_context(|| format!("could not reach the Qdrant server at {url}"))?;
        if !exists {
            client
                .create_collection(
                    CreateCollectionBuilder::new(collection)
                        .vectors_config(VectorParamsBuilder::new(dimensions as u64, Distance::Cosine)),
                )
                .await
                .with_context(|| format!("could not create the collection `{collection}`"))?;
            for field in ["kind", "audience"] {
                client
                    .create_field_index(
                        CreateFieldIndexCollectionBuilder::new(collection, field, FieldType::Keyword).wait(true),
                    )
                    .await
                    .with_context(|| format!("could not index the payload field `{field}`"))?;
            }
        }
        Ok(QdrantIndex { client, collection: collection.to_owned() })
    }

    /// Removes the collection (for test suites that made their own).
    pub async fn drop_collection(&self) -> anyhow::Result<()> {
        self.client.delete_collection(&self.collection).await.map(drop).context("could not drop the collection")
    }
}

fn qdrant_filter(filter: &Filter) -> QdrantFilter {
    let mut must = vec![Condition::matches("audience", filter.audiences.clone())];
    if !filter.kinds.is_empty() {
        must.push(Condition::matches(
            "kind",
            filter.kinds.iter().map(|kind| kind.name().to_owned()).collect::<Vec<_>>(),
        ));
    }
    QdrantFilter::must(must)
}

impl VectorIndex for QdrantIndex {
    fn engine(&self) -> &'static str {
        "qdrant server"
    }

    fn upsert(&self, points: Vec<Point>) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let points: Vec<PointStruct> = points
                .into_iter()
                .map(|point| {
                    let mut payload = Payload::new();
                    payload.insert("kind", point.kind.name());
                    payload.insert("audience", point.audience);
                    let id = point_id(&point.id);
                    payload.insert("doc_id", point.id);
                    PointStruct::new(id, point.vector, payload)
                })
                .collect();
            self.client
                .upsert_points(UpsertPointsBuilder::new(&self.collection, points).wait(true))
                .await
                .map(drop)
                .context("upserting points failed")
        })
    }

    fn delete(&self, ids: Vec<String>) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let ids = ids.iter().map(|id| point_id(id).into()).collect();
            self.client
                .delete_points(DeletePointsBuilder::new(&self.collection).points(PointsIdsList { ids }).wait(true))
                .await
                .map(drop)
                .context("deleting points failed")
        })
    }

    fn search<'a>(
        &'a self,
        vector: &'a [f32],
        filter: &'a Filter,
        limit: usize,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Hit>>> {
        Box::pin(async move {
            let response = self
                .client
                .query(
                    QueryPointsBuilder::new(&self.collection)
                        .query(vector.to_vec())
                        .filter(qdrant_filter(filter))
                        .limit(limit as u64)
                        .with_payload(true),
                )
                .await
                .context("searching the collection failed")?;
            Ok(response
                .result
                .into_iter()
                .filter_map(|point| {
                    let id = point.payload.get("doc_id")?.as_str()?.to_owned();
                    Some(Hit { id, score: point.score })
                })
                .collect())
        })
    }

    fn count(&self) -> BoxFuture<'_, anyhow::Result<u64>> {
        Box::pin(async move {
            let response = self
                .client
                .count(CountPointsBuilder::new(&self.collection).exact(true))
                .await
                .context("counting points failed")?;
            Ok(response.result.map_or(0, |result| result.count))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the conformance suite on a real Qdrant server named by `QDRANT_URL` (gRPC port).
    #[tokio::test]
    async fn qdrant_server_index_conforms() {
        let Ok(url) = std::env::var("QDRANT_URL") else {
            eprintln!("skipped: set QDRANT_URL (e.g. http://localhost:6334) to run the Qdrant server suite");
            return;
        };
        let collection = format!("boutique-conformance-{}", uuid::Uuid::new_v4().simple());
        let index = QdrantIndex::connect(&url, std::env::var("QDRANT_API_KEY").ok(), &collection, 8).await.unwrap();
        super::super::index::conformance::run(&index).await;
        index.drop_collection().await.unwrap();
    }
}
