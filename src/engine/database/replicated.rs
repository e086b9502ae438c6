//! What cluster mode (`src/cluster/`) asks of a node's database: validate
//! and embed a write or a query for a collection whose shards may live on
//! other nodes (known by its config only), apply a replicated log entry to a
//! local shard replica together with its log position, and search with a
//! query vector another node already prepared.

use super::validate::{check_count, check_search_params, validate_point_id};
use super::Database;
use crate::engine::collection::{PointSchema, PreparedPoint, RemoteSchema};
use crate::engine::commit::PayloadUpdate;
use crate::engine::payload::{Filter, Payload};
use crate::engine::payload_index::PayloadIndexSpec;
use crate::engine::types::*;
use crate::engine::{EngineError, Result};

/// One entry of a shard's log, as a replica applies it.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplicatedOp {
    Upsert(Vec<ReplicatedPoint>),
    Delete(Vec<String>),
    /// Deletes the points matching the filter, evaluated by each replica
    /// when it applies the entry (same log position, same points).
    DeleteMatching(LoggedFilter),
    UpdatePayloads {
        target: ReplicatedTarget,
        update: ReplicatedPayloadUpdate,
    },
    CreatePayloadIndex(PayloadIndexSpec),
    DropPayloadIndex(String),
}

/// A filter as a log entry carries it: what the engine evaluates, and its
/// wire form (opaque here) that the log stores.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedFilter {
    pub filter: Filter,
    pub wire: Vec<u8>,
}

/// The points a payload update of the log addresses.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplicatedTarget {
    Ids(Vec<String>),
    Matching(LoggedFilter),
}

/// How a logged payload update changes each payload.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplicatedPayloadUpdate {
    Merge(Payload),
    Replace(Payload),
    DeleteKeys(Vec<String>),
}

impl From<ReplicatedPayloadUpdate> for PayloadUpdate {
    fn from(u: ReplicatedPayloadUpdate) -> PayloadUpdate {
        match u {
            ReplicatedPayloadUpdate::Merge(p) => PayloadUpdate::Merge(p),
            ReplicatedPayloadUpdate::Replace(p) => PayloadUpdate::Replace(p),
            ReplicatedPayloadUpdate::DeleteKeys(k) => PayloadUpdate::DeleteKeys(k),
        }
    }
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
            // The caller fetches the stored vector from the point's shard.
            Query::Id(_) => Err(crate::engine::EngineError::Internal(
                "query.id: a cluster search by id takes the stored vector".into(),
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
            // The matching points as this replica holds them after every
            // earlier entry: replicas at the same position delete the same.
            ReplicatedOp::DeleteMatching(f) => {
                let ids = collection.matching_ids(&f.filter);
                collection.delete_recording(ids, Some(marker)).await
            }
            ReplicatedOp::UpdatePayloads { target, update } => {
                let ids = match target {
                    ReplicatedTarget::Ids(ids) => ids,
                    ReplicatedTarget::Matching(f) => collection.matching_ids(&f.filter),
                };
                collection
                    .update_payloads_recording(ids, update.into(), Some(marker))
                    .await
            }
            // Index changes commit their definitions on their own; the
            // position follows in a commit of its own. Replayed after a
            // crash between the two, creating the same index again is a
            // no-op and dropping a dropped one is skipped.
            ReplicatedOp::CreatePayloadIndex(spec) => {
                match collection.create_payload_index(spec).await {
                    Ok(_) => {}
                    Err(e @ EngineError::PayloadIndexExists { .. }) => {
                        tracing::warn!(collection = %collection.name(), error = %e, "logged payload index conflicts with a local one; keeping the local one");
                    }
                    Err(e) => return Err(e),
                }
                collection.delete_recording(Vec::new(), Some(marker)).await
            }
            ReplicatedOp::DropPayloadIndex(key) => {
                match collection.drop_payload_index(&key).await {
                    Ok(()) | Err(EngineError::PayloadIndexNotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
                collection.delete_recording(Vec::new(), Some(marker)).await
            }
        }
    }

    /// Validates a payload update as [`Database::set_payload`] and
    /// [`Database::delete_payload_keys`] do, for a collection whose shards
    /// may live elsewhere: listed ids (count, each id), keys to delete.
    pub fn check_replicated_target(&self, target: &ReplicatedTarget) -> Result<()> {
        if let ReplicatedTarget::Ids(ids) = target {
            check_count(
                "ids",
                ids.len(),
                self.options.max_ids_per_request,
                "--max-ids-per-request",
            )?;
            for (i, id) in ids.iter().enumerate() {
                validate_point_id(&format!("ids[{i}]"), id)?;
            }
        }
        Ok(())
    }

    /// A page of a local shard replica's points after `after` (id order),
    /// and whether more follow; cluster mode merges the shards' pages.
    pub fn scroll_after(
        &self,
        collection: &str,
        after: Option<&str>,
        limit: usize,
        filter: Option<&Filter>,
        with_vector: bool,
    ) -> Result<(Vec<StoredPoint>, bool)> {
        let collection = self.collection(collection)?;
        check_scroll_limit(limit)?;
        let page = collection.scroll(after, limit, filter, with_vector);
        Ok((page.points, page.last_id.is_some()))
    }

    /// The search vector of a Recommend, from its examples (stored ones
    /// first, as [`Database::recommend`] takes them), validated for the
    /// collection `schema` describes.
    pub fn recommend_vector(
        &self,
        schema: &RemoteSchema,
        positive: Vec<Vec<f32>>,
        positive_vectors: Vec<Vec<f32>>,
        negative: Vec<Vec<f32>>,
        negative_vectors: Vec<Vec<f32>>,
    ) -> Result<Vec<f32>> {
        let check = |mut out: Vec<Vec<f32>>, vectors: Vec<Vec<f32>>, side: &str| {
            for (i, v) in vectors.into_iter().enumerate() {
                out.push(schema.check_vector(&format!("{side}_vectors[{i}]"), v)?);
            }
            Ok::<_, EngineError>(out)
        };
        let positive = check(positive, positive_vectors, "positive")?;
        let negative = check(negative, negative_vectors, "negative")?;
        schema.check_vector(
            "positive",
            super::points::recommend_target(&positive, &negative),
        )
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
        exclude: Vec<String>,
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
        self.run_search(collection, vector, params, exclude).await
    }
}

/// Scroll page sizes: 1..=MAX_LIMIT.
pub fn check_scroll_limit(limit: usize) -> Result<()> {
    if limit == 0 || limit > super::MAX_LIMIT {
        return Err(EngineError::invalid(
            "limit",
            format!("{limit} is outside 1..={}", super::MAX_LIMIT),
        ));
    }
    Ok(())
}
