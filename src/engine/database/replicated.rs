//! What cluster mode (`src/cluster/`) asks of a node's database: validate
//! and embed a write or a query for a collection whose shards may live on
//! other nodes (known by its config only), apply a replicated log entry to a
//! local shard replica together with its log position, and search with a
//! query vector another node already prepared.

use super::validate::{check_count, check_search_params};
use super::Database;
use crate::engine::collection::{PointSchema, PreparedPoint, RemoteSchema};
use crate::engine::types::*;
use crate::engine::Result;

/// One entry of a shard's log, as a replica applies it.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplicatedOp {
    Upsert(Vec<ReplicatedPoint>),
    Delete(Vec<String>),
}

impl Database {
    /// Validates and embeds an upsert for the collection `schema` describes,
    /// exactly as [`Database::upsert`] would (limits, admission, ids,
    /// vectors, text and images), without storing it: the vectors come back
    /// ready for replicas to store as they are.
    pub async fn prepare_replicated_upsert(
        &self,
        schema: &RemoteSchema,
        points: Vec<PointInput>,
    ) -> Result<Vec<ReplicatedPoint>> {
        check_count(
            "points",
            points.len(),
            self.options.max_points_per_request,
            "--max-points-per-request",
        )?;
        let _admitted = self.admit_write()?;
        let (mut prepared, media) = self.prepare_points(schema, points)?;
        // The model record is the cluster's business (its collection config).
        self.embed_media(schema, &mut prepared, media).await?;
        Ok(prepared
            .into_iter()
            .map(|p| ReplicatedPoint {
                id: p.id,
                vectors: p.vectors,
                payload: p.payload,
            })
            .collect())
    }

    /// The query vector of a vector, text or image query on the collection
    /// `schema` describes, validated and embedded as [`Database::search`]
    /// does.
    pub async fn prepare_query_vector(
        &self,
        schema: &RemoteSchema,
        query: Query,
    ) -> Result<Vec<f32>> {
        match query {
            Query::Vector(v) => schema.check_vector("query.vector", v),
            Query::Text(text) => {
                let queue = self.embedder_for(schema, "query.text")?;
                let v = queue.embed_texts(vec![text]).await?.remove(0);
                schema.check_vector("query.text", v)
            }
            Query::Image(image) => {
                let queue = self.embedder_for(schema, "query.image")?;
                let v = queue
                    .embed_images(vec![image])
                    .await
                    .map_err(|e| super::input_error(e, |_| "query.image".to_string()))?
                    .remove(0);
                schema.check_vector("query.image", v)
            }
            Query::Id(_) => Err(crate::engine::EngineError::FailedPrecondition(
                "query.id: searching by a stored point's id is not supported in cluster mode yet; \
                 Get the point with_vector and search with its vector"
                    .into(),
            )),
        }
    }

    /// Applies one log entry to the local collection `collection`, recording
    /// `marker` (key, value) in the same atomic metadata commit, so that the
    /// entry and the log position it reached are durable together or not at
    /// all. No admission or validation: the node that logged the entry
    /// validated it, and its vectors are stored bit for bit.
    pub async fn apply_replicated(
        &self,
        collection: &str,
        op: ReplicatedOp,
        marker: (String, Vec<u8>),
    ) -> Result<u64> {
        let collection = self.collection(collection)?;
        match op {
            ReplicatedOp::Upsert(points) if !points.is_empty() => {
                let prepared = points
                    .into_iter()
                    .map(|p| PreparedPoint {
                        id: p.id,
                        vectors: p.vectors,
                        payload: p.payload,
                        // Log entries carry vectors, not images: cluster
                        // collections keep no thumbnails (docs/cluster.md).
                        thumbnail: None,
                    })
                    .collect();
                collection.store(prepared, Some(marker)).await
            }
            ReplicatedOp::Upsert(_) => collection.delete_recording(Vec::new(), Some(marker)).await,
            ReplicatedOp::Delete(ids) => collection.delete_recording(ids, Some(marker)).await,
        }
    }

    /// A value recorded with a local collection's metadata.
    pub fn collection_value(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.collection(collection)?.value(key))
    }

    /// Searches a local collection with a query vector that another node
    /// validated and normalised already: its bits are used as they are, so
    /// scores equal a single node's.
    pub async fn search_prepared(
        &self,
        collection: &str,
        vector: Vec<f32>,
        params: SearchParams,
    ) -> Result<Vec<Hit>> {
        let collection = self.collection(collection)?;
        check_search_params(&params)?;
        if vector.len() != collection.config().dimension as usize {
            return Err(crate::engine::EngineError::invalid(
                "query.vector",
                format!(
                    "vector has dimension {}, collection `{}` expects {}",
                    vector.len(),
                    collection.name(),
                    collection.config().dimension
                ),
            ));
        }
        self.run_search(collection, vector, params, Vec::new())
            .await
    }
}
