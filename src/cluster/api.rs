//! A cluster node's gRPC services: Collections and Points over the shards
//! (writes to the shards' logs, reads from one live replica per shard,
//! merged), and the Cluster service (its status, and the per-shard calls
//! nodes make on each other).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status, Streaming};

use super::meta::{now_ms, ClusterCollection};
use super::node::{ClusterNode, WriteAck};
use crate::api::convert::*;
use crate::api::status::{invalid, snapshot_status, to_status};
use crate::api::{hits_to_proto, search_params, stored_point_to_proto, DEFAULT_SCROLL_LIMIT};
use crate::engine::payload_index::{PayloadIndexSpec, PayloadIndexStats};
use crate::engine::{
    self, CollectionSpec, Database, LoggedFilter, Metric, Query, RemoteSchema, ReplicatedOp,
    ReplicatedPayloadUpdate, ReplicatedTarget, Selection,
};
use crate::proto;

/// The request header choosing when a write is acknowledged:
/// `all-live-replicas` (the default), `one-replica` or `log-only`.
pub const WRITE_ACK_HEADER: &str = "clipdb-write-ack";

/// The acknowledgement level a write request asks for.
pub fn write_ack<T>(request: &Request<T>) -> Result<WriteAck, Status> {
    let Some(value) = request.metadata().get(WRITE_ACK_HEADER) else {
        return Ok(WriteAck::AllLiveReplicas);
    };
    match value.to_str().unwrap_or("") {
        "" | "all-live-replicas" => Ok(WriteAck::AllLiveReplicas),
        "one-replica" => Ok(WriteAck::OneReplica),
        "log-only" => Ok(WriteAck::LogOnly),
        other => Err(invalid(
            WRITE_ACK_HEADER,
            format!("`{other}` is not one of all-live-replicas, one-replica, log-only"),
        )),
    }
}

/// A filter for the log: the engine's form and the request's wire form.
fn logged_filter(proto_filter: proto::Filter, filter: engine::Filter) -> LoggedFilter {
    LoggedFilter {
        filter,
        wire: prost::Message::encode_to_vec(&proto_filter),
    }
}

/// Collections and Points of a cluster node.
#[derive(Clone)]
pub struct ClusterApi {
    node: Arc<ClusterNode>,
}

impl ClusterApi {
    pub fn new(node: Arc<ClusterNode>) -> ClusterApi {
        ClusterApi { node }
    }

    fn status(&self, e: engine::EngineError) -> Status {
        to_status(e, self.node.db.dir())
    }

    fn snapshot_status(&self, e: super::snapshot::SnapshotError) -> Status {
        snapshot_status(e, self.node.db.dir())
    }

    fn schema(c: &ClusterCollection) -> RemoteSchema {
        RemoteSchema {
            config: c.config.clone(),
            model: c.model.clone(),
        }
    }

    async fn upsert_batch(&self, r: proto::UpsertRequest, ack: WriteAck) -> Result<u64, Status> {
        let max_payload = self.node.db.options().max_payload_bytes;
        let points = r
            .points
            .into_iter()
            .enumerate()
            .map(|(i, p)| point_from_proto(i, p, max_payload))
            .collect::<Result<Vec<_>, _>>()?;
        let c = self.node.collection(&r.collection)?;
        let prepared = self
            .node
            .db
            .prepare_replicated_upsert(&Self::schema(&c), points)
            .await
            .map_err(|e| self.status(e))?;
        let count = prepared.len() as u64;
        let mut parts: BTreeMap<u32, Vec<engine::ReplicatedPoint>> = BTreeMap::new();
        for p in prepared {
            parts.entry(c.shard_of(&p.id)).or_default().push(p);
        }
        let parts = parts
            .into_iter()
            .map(|(s, ps)| (s, ReplicatedOp::Upsert(ps)))
            .collect();
        self.node.write(&c, parts, ack).await?;
        Ok(count)
    }

    /// One log entry per shard: by-id parts routed by shard, by-filter ones
    /// to every shard.
    fn per_shard_target(
        c: &ClusterCollection,
        target: ReplicatedTarget,
    ) -> BTreeMap<u32, ReplicatedTarget> {
        match target {
            ReplicatedTarget::Ids(ids) => {
                let mut parts: BTreeMap<u32, Vec<String>> = BTreeMap::new();
                for id in ids {
                    parts.entry(c.shard_of(&id)).or_default().push(id);
                }
                parts
                    .into_iter()
                    .map(|(s, ids)| (s, ReplicatedTarget::Ids(ids)))
                    .collect()
            }
            matching => (0..c.shards).map(|s| (s, matching.clone())).collect(),
        }
    }

    /// A payload update (SetPayload, DeletePayloadKeys) through the logs.
    async fn update_payloads(
        &self,
        collection: &str,
        ids: Vec<String>,
        filter: Option<proto::Filter>,
        update: ReplicatedPayloadUpdate,
        ack: WriteAck,
    ) -> Result<u64, Status> {
        let engine_filter = filter_from_proto(filter.clone())?;
        let selection = Selection::new(ids, engine_filter).map_err(|e| self.status(e))?;
        let c = self.node.collection(collection)?;
        let target = match selection {
            Selection::Ids(ids) => ReplicatedTarget::Ids(ids),
            Selection::Filter(f) => {
                ReplicatedTarget::Matching(logged_filter(filter.unwrap_or_default(), f))
            }
        };
        self.node
            .db
            .check_replicated_target(&target)
            .map_err(|e| self.status(e))?;
        let parts = Self::per_shard_target(&c, target)
            .into_iter()
            .map(|(s, target)| {
                (
                    s,
                    ReplicatedOp::UpdatePayloads {
                        target,
                        update: update.clone(),
                    },
                )
            })
            .collect();
        self.node.write(&c, parts, ack).await
    }

    /// The stored vectors of `ids` (image vector, or caption vector without
    /// an image), each from its shard; each id comes with the request field
    /// naming it in errors (`query.id`, `positive_ids[0]`).
    async fn stored_vectors(
        &self,
        c: &ClusterCollection,
        ids: &[(String, String)],
    ) -> Result<Vec<Vec<f32>>, Status> {
        let mut by_shard: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for (field, id) in ids {
            engine::validate_point_id(field, id).map_err(|e| self.status(e))?;
            by_shard.entry(c.shard_of(id)).or_default().push(id.clone());
        }
        let shards: Vec<u32> = by_shard.keys().copied().collect();
        let (replies, _) = self
            .fan_out(c, shards, false, |s| {
                ShardCall::Get(proto::GetRequest {
                    collection: c.config.name.clone(),
                    ids: by_shard[&s].clone(),
                    with_vector: true,
                })
            })
            .await?;
        let mut found: HashMap<String, Vec<f32>> = HashMap::new();
        for (_, reply) in replies {
            if let ShardReply::Get(g) = reply {
                for p in g.points {
                    let v = if p.vector.is_empty() {
                        p.text_vector
                    } else {
                        p.vector
                    };
                    found.insert(p.id, v);
                }
            }
        }
        ids.iter()
            .map(|(field, id)| {
                found.get(id).cloned().ok_or_else(|| {
                    invalid(
                        field,
                        format!("point `{id}` not found in collection `{}`", c.config.name),
                    )
                })
            })
            .collect()
    }

    /// Runs `call` on one replica of `shard`: this node's own when it is
    /// the best candidate, else the next live one over gRPC. Err(None): no
    /// replica could answer (the shard is missing); Err(Some): the request
    /// itself is wrong, which another replica would not change.
    async fn call_shard(
        &self,
        c: &ClusterCollection,
        shard: u32,
        call: ShardCall,
    ) -> Result<ShardReply, Option<Status>> {
        for node in self.node.read_candidates(c, shard) {
            let reply = if node == self.node.node_id() {
                local_call(&self.node, &c.config.name, shard, call.clone()).await
            } else {
                let mut client = match self.node.client_for(&node) {
                    Ok(client) => client,
                    Err(_) => continue,
                };
                match call.clone() {
                    ShardCall::Search(search, exclude_ids) => client
                        .shard_search(proto::ShardSearchRequest {
                            shard,
                            search: Some(search),
                            exclude_ids,
                        })
                        .await
                        .map(|r| ShardReply::Search(r.into_inner())),
                    ShardCall::Get(get) => client
                        .shard_get(proto::ShardGetRequest {
                            shard,
                            get: Some(get),
                        })
                        .await
                        .map(|r| ShardReply::Get(r.into_inner())),
                    ShardCall::Count(count) => client
                        .shard_count(proto::ShardCountRequest {
                            shard,
                            count: Some(count),
                        })
                        .await
                        .map(|r| ShardReply::Count(r.into_inner())),
                    ShardCall::Scroll(scroll) => client
                        .shard_scroll(scroll)
                        .await
                        .map(|r| ShardReply::Scroll(r.into_inner())),
                }
            };
            match reply {
                Ok(reply) => return Ok(reply),
                Err(s) if is_request_error(&s) => return Err(Some(s)),
                Err(s) => {
                    tracing::debug!(node = %node, shard, error = %s, "replica did not answer; trying the next");
                }
            }
        }
        Err(None)
    }

    /// Has one replica of `shard` (the most advanced live one) take and
    /// upload its part of collection snapshot `name`.
    async fn snapshot_shard(
        &self,
        c: &ClusterCollection,
        shard: u32,
        name: &str,
        take: u64,
    ) -> Result<super::snapshot::ShardSnapshotPart, Status> {
        let object = super::snapshot::collection_snapshot_object(name, take, shard);
        let mut last = Status::unavailable("no live replica");
        for node in self.node.read_candidates(c, shard) {
            let part = if node == self.node.node_id() {
                self.node
                    .upload_shard_snapshot(c, shard, &object)
                    .await
                    .map_err(|e| self.snapshot_status(e))
            } else {
                let mut client = match self.node.client_for(&node) {
                    Ok(client) => client,
                    Err(e) => {
                        last = e;
                        continue;
                    }
                };
                client
                    .shard_snapshot(proto::ShardSnapshotRequest {
                        collection: c.config.name.clone(),
                        shard,
                        object: object.clone(),
                    })
                    .await
                    .and_then(|r| {
                        r.into_inner()
                            .snapshot
                            .ok_or_else(|| Status::internal("empty shard snapshot reply"))
                    })
                    .map(super::snapshot::ShardSnapshotPart::from_proto)
            };
            match part {
                Ok(part) => return Ok(part),
                Err(s) => {
                    tracing::debug!(node = %node, shard, error = %s, "replica did not snapshot; trying the next");
                    last = s;
                }
            }
        }
        Err(last)
    }

    /// Runs `make(shard)` on every shard in parallel; the missing shards
    /// fail the request unless `allow_partial`.
    async fn fan_out(
        &self,
        c: &ClusterCollection,
        shards: Vec<u32>,
        allow_partial: bool,
        make: impl Fn(u32) -> ShardCall,
    ) -> Result<(Vec<(u32, ShardReply)>, Vec<u32>), Status> {
        let calls = shards
            .iter()
            .map(|&s| {
                let call = make(s);
                async move { (s, self.call_shard(c, s, call).await) }
            })
            .collect::<Vec<_>>();
        let mut replies = Vec::new();
        let mut missing = Vec::new();
        for (shard, r) in futures_util::future::join_all(calls).await {
            match r {
                Ok(reply) => replies.push((shard, reply)),
                Err(Some(status)) => return Err(status),
                Err(None) => missing.push(shard),
            }
        }
        if !missing.is_empty() && !allow_partial {
            let list: Vec<String> = missing.iter().map(|s| s.to_string()).collect();
            let nodes: Vec<String> = missing
                .iter()
                .map(|&s| format!("shard {s}: {}", c.placement[s as usize].join(", ")))
                .collect();
            return Err(Status::unavailable(format!(
                "collection `{}`: shard{} {} {} no live replica ({}); set allow_partial_results to answer from the other shards",
                c.config.name,
                if missing.len() > 1 { "s" } else { "" },
                list.join(", "),
                if missing.len() > 1 { "have" } else { "has" },
                nodes.join("; ")
            )));
        }
        Ok((replies, missing))
    }

    async fn search_one(&self, r: proto::SearchRequest) -> Result<proto::SearchResponse, Status> {
        let query = match r.query.clone() {
            Some(proto::search_request::Query::Vector(v)) => Query::Vector(v.values),
            Some(proto::search_request::Query::Text(t)) => Query::Text(t),
            Some(proto::search_request::Query::Image(i)) => Query::Image(i),
            Some(proto::search_request::Query::Id(id)) => Query::Id(id),
            None => return Err(invalid("query", "set one of vector, text, image or id")),
        };
        // Validates limit, offset, filter and fusion before any shard runs.
        let params = search_params(
            r.limit,
            r.ef,
            r.filter.clone(),
            r.with_payload,
            r.with_vector,
            r.fusion,
            r.offset,
            r.score_threshold,
            &r.payload_fields,
        )?;
        let c = self.node.collection(&r.collection)?;
        let (vector, exclude) = match query {
            // As a single node: the point's stored vector, the point itself
            // left out of the hits.
            Query::Id(id) => {
                let v = self
                    .stored_vectors(&c, &[("query.id".to_string(), id.clone())])
                    .await?
                    .remove(0);
                (v, vec![id])
            }
            query => (
                self.node
                    .db
                    .prepare_query_vector(&Self::schema(&c), query)
                    .await
                    .map_err(|e| self.status(e))?,
                Vec::new(),
            ),
        };
        self.merged_search(&c, vector, r, params.offset, params.limit, exclude)
            .await
    }

    /// Searches every shard with a prepared vector and merges the hits.
    async fn merged_search(
        &self,
        c: &ClusterCollection,
        vector: Vec<f32>,
        r: proto::SearchRequest,
        offset: usize,
        limit: usize,
        exclude: Vec<String>,
    ) -> Result<proto::SearchResponse, Status> {
        // Each shard returns its best offset + limit; the merge skips the
        // offset over all of them.
        let per_shard = proto::SearchRequest {
            query: Some(proto::search_request::Query::Vector(proto::Vector {
                values: vector,
            })),
            limit: (offset + limit) as u32,
            offset: 0,
            ..r.clone()
        };
        let (replies, missing) = self
            .fan_out(c, (0..c.shards).collect(), r.allow_partial_results, |_| {
                ShardCall::Search(per_shard.clone(), exclude.clone())
            })
            .await?;
        let mut hits: Vec<proto::ScoredPoint> = replies
            .into_iter()
            .flat_map(|(_, reply)| match reply {
                ShardReply::Search(s) => s.hits,
                _ => Vec::new(),
            })
            .collect();
        let lower_is_better = c.config.metric == Metric::L2;
        // Ties by id, so that every node answers in the same order.
        hits.sort_by(|a, b| {
            let order = a.score.total_cmp(&b.score);
            let order = if lower_is_better {
                order
            } else {
                order.reverse()
            };
            order.then_with(|| a.id.cmp(&b.id))
        });
        let hits = hits.into_iter().skip(offset).take(limit).collect();
        Ok(proto::SearchResponse {
            hits,
            missing_shards: missing,
        })
    }
}

#[derive(Clone)]
enum ShardCall {
    /// A search with a prepared vector, leaving out these ids.
    Search(proto::SearchRequest, Vec<String>),
    Get(proto::GetRequest),
    Count(proto::CountRequest),
    /// Its `shard` is set by the caller.
    Scroll(proto::ShardScrollRequest),
}

enum ShardReply {
    Search(proto::SearchResponse),
    Get(proto::GetResponse),
    Count(proto::CountResponse),
    Scroll(proto::ShardScrollResponse),
}

/// Errors about the request itself, which every replica would give too.
fn is_request_error(s: &Status) -> bool {
    matches!(
        s.code(),
        tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition | tonic::Code::OutOfRange
    )
}

/// Runs a shard call on this node's replica of `shard`.
async fn local_call(
    node: &ClusterNode,
    collection: &str,
    shard: u32,
    call: ShardCall,
) -> Result<ShardReply, Status> {
    let c = node.collection(collection)?;
    if shard >= c.shards {
        return Err(invalid(
            "shard",
            format!("{shard} is outside 0..{} of `{collection}`", c.shards),
        ));
    }
    if node.local_replica(&c.uid, shard).is_none() {
        return Err(Status::unavailable(format!(
            "node `{}` holds no replica of shard {shard} of `{collection}`",
            node.node_id()
        )));
    }
    let local = c.local_name(shard);
    let db = &node.db;
    let status = |e| to_status(e, db.dir());
    match call {
        ShardCall::Search(r, exclude) => {
            let Some(proto::search_request::Query::Vector(v)) = r.query else {
                return Err(invalid("query", "a shard search takes a prepared vector"));
            };
            let params = search_params(
                r.limit,
                r.ef,
                r.filter,
                r.with_payload,
                r.with_vector,
                r.fusion,
                r.offset,
                r.score_threshold,
                &r.payload_fields,
            )?;
            let hits = db
                .search_prepared(&local, v.values, params, exclude)
                .await
                .map_err(status)?;
            Ok(ShardReply::Search(hits_to_proto(hits, &r.payload_fields)))
        }
        ShardCall::Get(r) => {
            let points = db
                .get(&local, &r.ids, r.with_vector)
                .map_err(status)?
                .into_iter()
                .map(|p| {
                    let (vector, text_vector) = vectors_to_proto(p.vectors);
                    proto::Point {
                        id: p.id.to_string(),
                        vector,
                        text_vector,
                        payload: p.payload.as_deref().map(payload_to_proto),
                        ..Default::default()
                    }
                })
                .collect();
            Ok(ShardReply::Get(proto::GetResponse { points }))
        }
        ShardCall::Count(r) => {
            let filter = filter_from_proto(r.filter)?;
            let count = db.count(&local, filter.as_ref()).map_err(status)?;
            Ok(ShardReply::Count(proto::CountResponse {
                count,
                ..Default::default()
            }))
        }
        ShardCall::Scroll(r) => {
            let scroll = r.scroll.unwrap_or_default();
            let filter = filter_from_proto(scroll.filter)?;
            let after = (!r.after_id.is_empty()).then_some(r.after_id.as_str());
            let (points, more) = db
                .scroll_after(
                    &local,
                    after,
                    scroll.limit as usize,
                    filter.as_ref(),
                    scroll.with_vector,
                )
                .map_err(status)?;
            Ok(ShardReply::Scroll(proto::ShardScrollResponse {
                points: points
                    .into_iter()
                    .map(|p| stored_point_to_proto(p, scroll.with_payload))
                    .collect(),
                more,
            }))
        }
    }
}

/// A cluster collection as clients see it: its config, shards, replicas and
/// their lag, and its point count (one replica per shard).
async fn collection_info(api: &ClusterApi, c: &ClusterCollection) -> proto::CollectionInfo {
    let node = &api.node;
    let lasts = node.last_sequences(c).await;
    let firsts = node.first_sequences(c).await;
    let counts = api
        .fan_out(c, (0..c.shards).collect(), true, |_| {
            ShardCall::Count(proto::CountRequest {
                collection: c.config.name.clone(),
                ..Default::default()
            })
        })
        .await
        .map(|(replies, _)| {
            replies
                .into_iter()
                .map(|(_, r)| match r {
                    ShardReply::Count(c) => c.count,
                    _ => 0,
                })
                .sum::<u64>()
        })
        .unwrap_or(0);
    let view = node.view();
    let now = now_ms();
    let shard_details = (0..c.shards)
        .map(|shard| {
            let last = lasts[shard as usize];
            let replicas = c.placement[shard as usize]
                .iter()
                .map(|n| {
                    let (applied, restoring) = if n == node.node_id() {
                        node.local_replica(&c.uid, shard)
                            .map(|r| (r.applied(), r.is_restoring()))
                    } else {
                        view.reported(&c.uid, shard, n)
                            .map(|r| (r.applied, r.restoring))
                    }
                    .unwrap_or((0, false));
                    let live = n == node.node_id() || view.is_live(n, now);
                    let lag = last.map_or(0, |l| l.saturating_sub(applied));
                    let state = if !live {
                        proto::ReplicaState::Down
                    } else if restoring {
                        proto::ReplicaState::Restoring
                    } else if lag > 0 {
                        proto::ReplicaState::CatchingUp
                    } else {
                        proto::ReplicaState::Active
                    };
                    proto::ReplicaInfo {
                        node: n.clone(),
                        applied_sequence: applied,
                        lag,
                        state: state as i32,
                    }
                })
                .collect();
            proto::ShardInfo {
                shard,
                last_sequence: last.unwrap_or(0),
                replicas,
                first_sequence: firsts[shard as usize].unwrap_or(0),
                snapshot_sequence: view
                    .snapshots
                    .get(&(c.uid.clone(), shard))
                    .map_or(0, |s| s.sequence),
            }
        })
        .collect();
    let mut info = collection_info_to_proto(engine::CollectionInfo {
        config: c.config.clone(),
        point_count: counts,
        segments: Vec::new(),
        model: c.model.clone(),
        // From the collection's config: every replica applies the logged
        // change; per-shard counts are not gathered.
        payload_indexes: c
            .payload_indexes
            .iter()
            .map(|spec| PayloadIndexStats {
                spec: spec.clone(),
                ready: true,
                indexed_points: 0,
                mismatched_points: 0,
            })
            .collect(),
    });
    info.shards = c.shards;
    info.replication_factor = c.replication_factor;
    info.shard_details = shard_details;
    info
}

#[tonic::async_trait]
impl proto::collections_server::Collections for ClusterApi {
    async fn create_collection(
        &self,
        request: Request<proto::CreateCollectionRequest>,
    ) -> Result<Response<proto::CollectionInfo>, Status> {
        let r = request.into_inner();
        let hnsw = r.hnsw.unwrap_or_default();
        let spec = CollectionSpec {
            name: r.name,
            dimension: r.dimension,
            metric: metric_from_proto(r.metric)?,
            vectorizer: vectorizer_from_proto(r.vectorizer)?,
            m: hnsw.m,
            ef_construction: hnsw.ef_construction,
            ef_search: hnsw.ef_search,
            fusion: fusion_from_proto(r.fusion),
            segment_capacity: r.segment_capacity,
            quantization: quantization_from_proto(r.quantization)?,
            // Replicas get vectors, never images, so they cannot make
            // thumbnails: none in cluster mode (docs/cluster.md).
            thumbnails: crate::engine::ThumbnailSpec {
                disabled: true,
                ..Default::default()
            },
        };
        let config = self
            .node
            .db
            .config_for_spec(&spec)
            .map_err(|e| self.status(e))?;
        let c = self
            .node
            .create_collection(config, r.shards, r.replication_factor)
            .await?;
        Ok(Response::new(collection_info(self, &c).await))
    }

    async fn get_collection(
        &self,
        request: Request<proto::GetCollectionRequest>,
    ) -> Result<Response<proto::CollectionInfo>, Status> {
        let c = self.node.collection(&request.into_inner().name)?;
        Ok(Response::new(collection_info(self, &c).await))
    }

    async fn list_collections(
        &self,
        _request: Request<proto::ListCollectionsRequest>,
    ) -> Result<Response<proto::ListCollectionsResponse>, Status> {
        let mut collections = Vec::new();
        for c in self.node.view().collections.values() {
            collections.push(collection_info(self, c).await);
        }
        Ok(Response::new(proto::ListCollectionsResponse {
            collections,
        }))
    }

    async fn delete_collection(
        &self,
        request: Request<proto::DeleteCollectionRequest>,
    ) -> Result<Response<proto::DeleteCollectionResponse>, Status> {
        let name = request.into_inner().name;
        crate::engine::validate_collection_name(&name).map_err(|e| self.status(e))?;
        self.node.drop_collection(&name).await?;
        Ok(Response::new(proto::DeleteCollectionResponse {}))
    }

    async fn create_snapshot(
        &self,
        request: Request<proto::CreateSnapshotRequest>,
    ) -> Result<Response<proto::SnapshotInfo>, Status> {
        let c = self.node.collection(&request.into_inner().collection)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let created_us = now.as_micros() as u64;
        let name = format!("{}-{}", c.config.name, engine::format_utc(created_us, true));
        let take = xxhash_rust::xxh3::xxh3_64(
            format!("{}/{}/{}", self.node.node_id(), now.as_nanos(), c.uid).as_bytes(),
        );
        let parts = (0..c.shards)
            .map(|shard| {
                let (c, name) = (&c, &name);
                async move { (shard, self.snapshot_shard(c, shard, name, take).await) }
            })
            .collect::<Vec<_>>();
        let mut shards = Vec::new();
        let mut failed = Vec::new();
        for (shard, part) in futures_util::future::join_all(parts).await {
            match part {
                Ok(part) => shards.push(part),
                Err(e) => failed.push(format!("shard {shard}: {}", e.message())),
            }
        }
        let record = super::snapshot::CollectionSnapshotRecord {
            name,
            collection: c.config.name.clone(),
            uid: c.uid.clone(),
            created_us,
            shards,
        };
        let objects: Vec<String> = record.shards.iter().map(|p| p.object.clone()).collect();
        if !failed.is_empty() {
            self.node.delete_snapshot_objects(&objects).await;
            return Err(Status::unavailable(format!(
                "snapshot of `{}` not taken: {}",
                c.config.name,
                failed.join("; ")
            )));
        }
        if let Err(e) = self.node.record_collection_snapshot(&record).await {
            self.node.delete_snapshot_objects(&objects).await;
            return Err(self.snapshot_status(e));
        }
        Ok(Response::new(record.to_proto()))
    }

    async fn list_snapshots(
        &self,
        request: Request<proto::ListSnapshotsRequest>,
    ) -> Result<Response<proto::ListSnapshotsResponse>, Status> {
        let collection = request.into_inner().collection;
        if !collection.is_empty() {
            engine::validate_collection_name(&collection).map_err(|e| self.status(e))?;
        }
        let records = self
            .node
            .collection_snapshots(&collection)
            .await
            .map_err(|e| self.snapshot_status(e))?;
        // As a single node: NOT_FOUND only for a collection that neither
        // exists nor has snapshots.
        if records.is_empty() && !collection.is_empty() {
            self.node.collection(&collection)?;
        }
        Ok(Response::new(proto::ListSnapshotsResponse {
            snapshots: records.iter().map(|r| r.to_proto()).collect(),
        }))
    }

    async fn delete_snapshot(
        &self,
        request: Request<proto::DeleteSnapshotRequest>,
    ) -> Result<Response<proto::DeleteSnapshotResponse>, Status> {
        let r = request.into_inner();
        engine::validate_collection_name(&r.collection).map_err(|e| self.status(e))?;
        engine::validate_snapshot_name(&r.name).map_err(|e| self.status(e))?;
        let deleted = self
            .node
            .delete_collection_snapshot(&r.collection, &r.name)
            .await
            .map_err(|e| self.snapshot_status(e))?;
        if !deleted {
            return Err(self.status(engine::EngineError::SnapshotNotFound {
                collection: r.collection,
                name: r.name,
            }));
        }
        Ok(Response::new(proto::DeleteSnapshotResponse {}))
    }

    async fn create_payload_index(
        &self,
        request: Request<proto::CreatePayloadIndexRequest>,
    ) -> Result<Response<proto::PayloadIndexInfo>, Status> {
        let ack = write_ack(&request)?;
        let r = request.into_inner();
        let spec = PayloadIndexSpec {
            key: r.key,
            kind: payload_index_type_from_proto(r.r#type)?,
        };
        let c = self.node.collection(&r.collection)?;
        if spec.key.is_empty() || spec.key.split('.').any(str::is_empty) {
            return Err(invalid(
                "key",
                format!(
                    "`{}` is not a payload key (dotted names need every part)",
                    spec.key
                ),
            ));
        }
        let conflict = |c: &ClusterCollection| {
            c.payload_indexes
                .iter()
                .find(|s| s.key == spec.key && **s != spec)
                .map(|existing| {
                    self.status(engine::EngineError::PayloadIndexExists {
                        key: spec.key.clone(),
                        existing: format!("{:?}", existing.kind).to_lowercase(),
                    })
                })
        };
        if let Some(e) = conflict(&c) {
            return Err(e);
        }
        // Recorded in the config first (compare-and-set), then applied by
        // every replica through its log; the same index again is a no-op
        // on both, so a retry after a failure finishes the job.
        let c = self
            .node
            .update_collection(&c.config.name, |c| {
                if !c.payload_indexes.iter().any(|s| s.key == spec.key) {
                    c.payload_indexes.push(spec.clone());
                }
            })
            .await?;
        if let Some(e) = conflict(&c) {
            return Err(e);
        }
        let parts = (0..c.shards)
            .map(|s| (s, ReplicatedOp::CreatePayloadIndex(spec.clone())))
            .collect();
        self.node.write(&c, parts, ack).await?;
        Ok(Response::new(payload_index_to_proto(PayloadIndexStats {
            spec,
            ready: true,
            indexed_points: 0,
            mismatched_points: 0,
        })))
    }

    async fn delete_payload_index(
        &self,
        request: Request<proto::DeletePayloadIndexRequest>,
    ) -> Result<Response<proto::DeletePayloadIndexResponse>, Status> {
        let ack = write_ack(&request)?;
        let r = request.into_inner();
        let c = self.node.collection(&r.collection)?;
        if !c.payload_indexes.iter().any(|s| s.key == r.key) {
            return Err(self.status(engine::EngineError::PayloadIndexNotFound {
                collection: c.config.name.clone(),
                key: r.key,
            }));
        }
        let c = self
            .node
            .update_collection(&c.config.name, |c| {
                c.payload_indexes.retain(|s| s.key != r.key)
            })
            .await?;
        let parts = (0..c.shards)
            .map(|s| (s, ReplicatedOp::DropPayloadIndex(r.key.clone())))
            .collect();
        self.node.write(&c, parts, ack).await?;
        Ok(Response::new(proto::DeletePayloadIndexResponse {}))
    }
}

#[tonic::async_trait]
impl proto::points_server::Points for ClusterApi {
    async fn upsert(
        &self,
        request: Request<proto::UpsertRequest>,
    ) -> Result<Response<proto::UpsertResponse>, Status> {
        let ack = write_ack(&request)?;
        let upserted = self.upsert_batch(request.into_inner(), ack).await?;
        Ok(Response::new(proto::UpsertResponse { upserted }))
    }

    async fn upsert_stream(
        &self,
        request: Request<Streaming<proto::UpsertRequest>>,
    ) -> Result<Response<proto::UpsertResponse>, Status> {
        let ack = write_ack(&request)?;
        let mut stream = request.into_inner();
        let mut upserted = 0;
        while let Some(msg) = stream.message().await? {
            upserted += self.upsert_batch(msg, ack).await.map_err(|s| {
                Status::new(
                    s.code(),
                    format!(
                        "{} ({upserted} points stored before this batch)",
                        s.message()
                    ),
                )
            })?;
        }
        Ok(Response::new(proto::UpsertResponse { upserted }))
    }

    async fn get(
        &self,
        request: Request<proto::GetRequest>,
    ) -> Result<Response<proto::GetResponse>, Status> {
        let r = request.into_inner();
        let max = self.node.db.options().max_ids_per_request;
        if r.ids.len() > max {
            return Err(invalid(
                "ids",
                format!(
                    "{} exceed the limit of {max} (server option --max-ids-per-request)",
                    r.ids.len()
                ),
            ));
        }
        let c = self.node.collection(&r.collection)?;
        let mut by_shard: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for id in &r.ids {
            by_shard.entry(c.shard_of(id)).or_default().push(id.clone());
        }
        let shards: Vec<u32> = by_shard.keys().copied().collect();
        let (replies, _) = self
            .fan_out(&c, shards, false, |s| {
                ShardCall::Get(proto::GetRequest {
                    collection: r.collection.clone(),
                    ids: by_shard[&s].clone(),
                    with_vector: r.with_vector,
                })
            })
            .await?;
        let mut found: HashMap<String, proto::Point> = HashMap::new();
        for (_, reply) in replies {
            if let ShardReply::Get(g) = reply {
                for p in g.points {
                    found.insert(p.id.clone(), p);
                }
            }
        }
        // In the order of the requested ids, each once.
        let points = r.ids.iter().filter_map(|id| found.remove(id)).collect();
        Ok(Response::new(proto::GetResponse { points }))
    }

    async fn delete(
        &self,
        request: Request<proto::DeleteRequest>,
    ) -> Result<Response<proto::DeleteResponse>, Status> {
        let ack = write_ack(&request)?;
        let r = request.into_inner();
        if let Some(filter) = filter_from_proto(r.filter.clone())? {
            // As a single node: exactly one of ids and filter.
            Selection::new(r.ids.clone(), Some(filter.clone())).map_err(|e| self.status(e))?;
            let c = self.node.collection(&r.collection)?;
            let logged = logged_filter(r.filter.unwrap_or_default(), filter);
            let parts = (0..c.shards)
                .map(|s| (s, ReplicatedOp::DeleteMatching(logged.clone())))
                .collect();
            let deleted = self.node.write(&c, parts, ack).await?;
            return Ok(Response::new(proto::DeleteResponse { deleted }));
        }
        let max = self.node.db.options().max_ids_per_request;
        if r.ids.len() > max {
            return Err(invalid(
                "ids",
                format!(
                    "{} exceed the limit of {max} (server option --max-ids-per-request)",
                    r.ids.len()
                ),
            ));
        }
        for (i, id) in r.ids.iter().enumerate() {
            if id.is_empty() {
                return Err(invalid(&format!("ids[{i}]"), "empty id"));
            }
        }
        let c = self.node.collection(&r.collection)?;
        let mut parts: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for id in r.ids {
            parts.entry(c.shard_of(&id)).or_default().push(id);
        }
        let parts = parts
            .into_iter()
            .map(|(s, ids)| (s, ReplicatedOp::Delete(ids)))
            .collect();
        let deleted = self.node.write(&c, parts, ack).await?;
        Ok(Response::new(proto::DeleteResponse { deleted }))
    }

    async fn scroll(
        &self,
        request: Request<proto::ScrollRequest>,
    ) -> Result<Response<proto::ScrollResponse>, Status> {
        let r = request.into_inner();
        filter_from_proto(r.filter.clone())?;
        let limit = if r.limit == 0 {
            DEFAULT_SCROLL_LIMIT
        } else {
            r.limit
        } as usize;
        let c = self.node.collection(&r.collection)?;
        engine::check_scroll_limit(limit).map_err(|e| self.status(e))?;
        let after_id = if r.page_token.is_empty() {
            String::new()
        } else {
            Database::decode_page_token(&c.config, &r.page_token).map_err(|e| self.status(e))?
        };
        // Each shard's first `limit` points after the cursor hold the
        // page: the merge takes the first `limit` of them in id order.
        let shard_request = proto::ShardScrollRequest {
            shard: 0,
            scroll: Some(proto::ScrollRequest {
                page_token: String::new(),
                limit: limit as u32,
                ..r.clone()
            }),
            after_id,
        };
        let (replies, _) = self
            .fan_out(&c, (0..c.shards).collect(), false, |s| {
                ShardCall::Scroll(proto::ShardScrollRequest {
                    shard: s,
                    ..shard_request.clone()
                })
            })
            .await?;
        let mut more = false;
        let mut points = Vec::new();
        for (_, reply) in replies {
            if let ShardReply::Scroll(page) = reply {
                more |= page.more;
                points.extend(page.points);
            }
        }
        points.sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
        more |= points.len() > limit;
        points.truncate(limit);
        let next_page_token = match points.last() {
            Some(last) if more => Database::encode_page_token(&c.config, &last.id),
            _ => String::new(),
        };
        Ok(Response::new(proto::ScrollResponse {
            points,
            next_page_token,
        }))
    }

    async fn set_payload(
        &self,
        request: Request<proto::SetPayloadRequest>,
    ) -> Result<Response<proto::SetPayloadResponse>, Status> {
        let ack = write_ack(&request)?;
        let r = request.into_inner();
        Selection::new(r.ids.clone(), filter_from_proto(r.filter.clone())?)
            .map_err(|e| self.status(e))?;
        let max = self.node.db.options().max_payload_bytes;
        let size = r.payload.as_ref().map_or(0, prost::Message::encoded_len);
        if size > max {
            return Err(invalid(
                "payload",
                format!(
                    "{size} bytes exceed the limit of {max} (server option --max-payload-bytes)"
                ),
            ));
        }
        let payload = payload_from_proto("payload", r.payload)?.unwrap_or_default();
        if payload.is_empty() && !r.replace {
            return Err(invalid(
                "payload",
                "no keys to set (use `replace` to clear)",
            ));
        }
        let update = if r.replace {
            ReplicatedPayloadUpdate::Replace(payload)
        } else {
            ReplicatedPayloadUpdate::Merge(payload)
        };
        let updated = self
            .update_payloads(&r.collection, r.ids, r.filter, update, ack)
            .await?;
        Ok(Response::new(proto::SetPayloadResponse { updated }))
    }

    async fn delete_payload_keys(
        &self,
        request: Request<proto::DeletePayloadKeysRequest>,
    ) -> Result<Response<proto::DeletePayloadKeysResponse>, Status> {
        let ack = write_ack(&request)?;
        let r = request.into_inner();
        Selection::new(r.ids.clone(), filter_from_proto(r.filter.clone())?)
            .map_err(|e| self.status(e))?;
        if r.keys.is_empty() || r.keys.iter().any(String::is_empty) {
            return Err(invalid("keys", "name at least one key, none empty"));
        }
        let update = ReplicatedPayloadUpdate::DeleteKeys(r.keys);
        let updated = self
            .update_payloads(&r.collection, r.ids, r.filter, update, ack)
            .await?;
        Ok(Response::new(proto::DeletePayloadKeysResponse { updated }))
    }

    async fn recommend(
        &self,
        request: Request<proto::RecommendRequest>,
    ) -> Result<Response<proto::SearchResponse>, Status> {
        let r = request.into_inner();
        let params = search_params(
            r.limit,
            r.ef,
            r.filter.clone(),
            r.with_payload,
            r.with_vector,
            r.fusion,
            r.offset,
            r.score_threshold,
            &r.payload_fields,
        )?;
        let c = self.node.collection(&r.collection)?;
        if r.positive_ids.is_empty() && r.positive_vectors.is_empty() {
            return Err(invalid(
                "positive_ids",
                "give at least one positive example (an id or a vector)",
            ));
        }
        let fields = |ids: &[String], side: &str| -> Vec<(String, String)> {
            ids.iter()
                .enumerate()
                .map(|(i, id)| (format!("{side}_ids[{i}]"), id.clone()))
                .collect()
        };
        let mut examples = fields(&r.positive_ids, "positive");
        examples.extend(fields(&r.negative_ids, "negative"));
        let mut stored = self.stored_vectors(&c, &examples).await?;
        let negative = stored.split_off(r.positive_ids.len());
        let vector = self
            .node
            .db
            .recommend_vector(
                &Self::schema(&c),
                stored,
                r.positive_vectors.into_iter().map(|v| v.values).collect(),
                negative,
                r.negative_vectors.into_iter().map(|v| v.values).collect(),
            )
            .map_err(|e| self.status(e))?;
        let exclude: Vec<String> = r
            .positive_ids
            .iter()
            .chain(&r.negative_ids)
            .cloned()
            .collect();
        let search = proto::SearchRequest {
            collection: r.collection,
            filter: r.filter,
            limit: r.limit,
            ef: r.ef,
            with_payload: r.with_payload,
            with_vector: r.with_vector,
            score_threshold: r.score_threshold,
            offset: r.offset,
            payload_fields: r.payload_fields,
            fusion: r.fusion,
            ..Default::default()
        };
        let response = self
            .merged_search(&c, vector, search, params.offset, params.limit, exclude)
            .await?;
        Ok(Response::new(response))
    }

    async fn search(
        &self,
        request: Request<proto::SearchRequest>,
    ) -> Result<Response<proto::SearchResponse>, Status> {
        Ok(Response::new(self.search_one(request.into_inner()).await?))
    }

    async fn search_batch(
        &self,
        request: Request<proto::SearchBatchRequest>,
    ) -> Result<Response<proto::SearchBatchResponse>, Status> {
        let searches = request.into_inner().searches;
        if searches.len() > crate::api::MAX_SEARCHES_PER_BATCH {
            return Err(invalid(
                "searches",
                format!("at most {} per batch", crate::api::MAX_SEARCHES_PER_BATCH),
            ));
        }
        let mut results = Vec::with_capacity(searches.len());
        for (i, s) in searches.into_iter().enumerate() {
            results.push(
                self.search_one(s).await.map_err(|e| {
                    Status::new(e.code(), format!("searches[{i}]: {}", e.message()))
                })?,
            );
        }
        Ok(Response::new(proto::SearchBatchResponse { results }))
    }

    async fn count(
        &self,
        request: Request<proto::CountRequest>,
    ) -> Result<Response<proto::CountResponse>, Status> {
        let r = request.into_inner();
        filter_from_proto(r.filter.clone())?;
        let c = self.node.collection(&r.collection)?;
        let (replies, missing) = self
            .fan_out(&c, (0..c.shards).collect(), r.allow_partial_results, |_| {
                ShardCall::Count(r.clone())
            })
            .await?;
        let count = replies
            .into_iter()
            .map(|(_, reply)| match reply {
                ShardReply::Count(c) => c.count,
                _ => 0,
            })
            .sum();
        Ok(Response::new(proto::CountResponse {
            count,
            missing_shards: missing,
        }))
    }
}

/// The Cluster service: status for clients, shard calls for nodes. A
/// single server (no --nats) answers UNIMPLEMENTED.
#[derive(Clone)]
pub struct ClusterService {
    api: Option<ClusterApi>,
}

impl ClusterService {
    pub fn new(node: Option<Arc<ClusterNode>>) -> ClusterService {
        ClusterService {
            api: node.map(ClusterApi::new),
        }
    }

    fn api(&self) -> Result<&ClusterApi, Status> {
        self.api.as_ref().ok_or_else(|| {
            Status::unimplemented(
                "this server is not in cluster mode (start it with --nats, --node-id and --advertise)",
            )
        })
    }
}

fn shard_reply<T>(
    reply: Result<ShardReply, Status>,
    pick: impl Fn(ShardReply) -> Option<T>,
) -> Result<Response<T>, Status> {
    let reply = reply?;
    pick(reply)
        .map(Response::new)
        .ok_or_else(|| Status::internal("mismatched shard reply"))
}

#[tonic::async_trait]
impl proto::cluster_server::Cluster for ClusterService {
    async fn get_cluster(
        &self,
        _request: Request<proto::GetClusterRequest>,
    ) -> Result<Response<proto::GetClusterResponse>, Status> {
        let api = self.api()?;
        let view = api.node.view();
        let now = now_ms();
        let nodes = view
            .nodes
            .iter()
            .map(|(id, n)| proto::NodeInfo {
                id: id.clone(),
                address: n.address.clone(),
                live: n.is_live(now),
                heartbeat_age_ms: n.age(now).as_millis() as u64,
            })
            .collect();
        let mut collections = Vec::new();
        for c in view.collections.values() {
            collections.push(collection_info(api, c).await);
        }
        Ok(Response::new(proto::GetClusterResponse {
            node: api.node.node_id().to_string(),
            nodes,
            collections,
        }))
    }

    async fn shard_search(
        &self,
        request: Request<proto::ShardSearchRequest>,
    ) -> Result<Response<proto::SearchResponse>, Status> {
        let api = self.api()?;
        let r = request.into_inner();
        let search = r.search.ok_or_else(|| invalid("search", "required"))?;
        let collection = search.collection.clone();
        let call = ShardCall::Search(search, r.exclude_ids);
        shard_reply(
            local_call(&api.node, &collection, r.shard, call).await,
            |reply| match reply {
                ShardReply::Search(s) => Some(s),
                _ => None,
            },
        )
    }

    async fn shard_get(
        &self,
        request: Request<proto::ShardGetRequest>,
    ) -> Result<Response<proto::GetResponse>, Status> {
        let api = self.api()?;
        let r = request.into_inner();
        let get = r.get.ok_or_else(|| invalid("get", "required"))?;
        let collection = get.collection.clone();
        shard_reply(
            local_call(&api.node, &collection, r.shard, ShardCall::Get(get)).await,
            |reply| match reply {
                ShardReply::Get(g) => Some(g),
                _ => None,
            },
        )
    }

    async fn shard_count(
        &self,
        request: Request<proto::ShardCountRequest>,
    ) -> Result<Response<proto::CountResponse>, Status> {
        let api = self.api()?;
        let r = request.into_inner();
        let count = r.count.ok_or_else(|| invalid("count", "required"))?;
        let collection = count.collection.clone();
        shard_reply(
            local_call(&api.node, &collection, r.shard, ShardCall::Count(count)).await,
            |reply| match reply {
                ShardReply::Count(c) => Some(c),
                _ => None,
            },
        )
    }

    async fn shard_scroll(
        &self,
        request: Request<proto::ShardScrollRequest>,
    ) -> Result<Response<proto::ShardScrollResponse>, Status> {
        let api = self.api()?;
        let r = request.into_inner();
        let collection = r
            .scroll
            .as_ref()
            .ok_or_else(|| invalid("scroll", "required"))?
            .collection
            .clone();
        let shard = r.shard;
        shard_reply(
            local_call(&api.node, &collection, shard, ShardCall::Scroll(r)).await,
            |reply| match reply {
                ShardReply::Scroll(s) => Some(s),
                _ => None,
            },
        )
    }

    async fn shard_snapshot(
        &self,
        request: Request<proto::ShardSnapshotRequest>,
    ) -> Result<Response<proto::ShardSnapshotResponse>, Status> {
        let api = self.api()?;
        let r = request.into_inner();
        let c = api.node.collection(&r.collection)?;
        if r.shard >= c.shards {
            return Err(invalid(
                "shard",
                format!(
                    "{} is outside 0..{} of `{}`",
                    r.shard, c.shards, r.collection
                ),
            ));
        }
        if !r.object.starts_with("collection-snapshot.") {
            return Err(invalid("object", "must start with `collection-snapshot.`"));
        }
        let part = api
            .node
            .upload_shard_snapshot(&c, r.shard, &r.object)
            .await
            .map_err(|e| api.snapshot_status(e))?;
        Ok(Response::new(proto::ShardSnapshotResponse {
            snapshot: Some(part.to_proto()),
        }))
    }

    async fn move_replica(
        &self,
        request: Request<proto::MoveReplicaRequest>,
    ) -> Result<Response<proto::MoveReplicaResponse>, Status> {
        let api = self.api()?;
        let r = request.into_inner();
        let timeout = Duration::from_millis(if r.timeout_ms == 0 {
            60_000
        } else {
            r.timeout_ms as u64
        });
        let c = api
            .node
            .move_replica(&r.collection, r.shard, &r.from_node, &r.to_node, timeout)
            .await?;
        Ok(Response::new(proto::MoveReplicaResponse {
            collection: Some(collection_info(api, &c).await),
        }))
    }

    async fn wait_applied(
        &self,
        request: Request<proto::WaitAppliedRequest>,
    ) -> Result<Response<proto::WaitAppliedResponse>, Status> {
        let api = self.api()?;
        let r = request.into_inner();
        let c = api.node.collection(&r.collection)?;
        if r.shard >= c.shards {
            return Err(invalid(
                "shard",
                format!(
                    "{} is outside 0..{} of `{}`",
                    r.shard, c.shards, r.collection
                ),
            ));
        }
        let replica = api.node.local_replica(&c.uid, r.shard).ok_or_else(|| {
            Status::unavailable(format!(
                "node `{}` holds no replica of shard {} of `{}`",
                api.node.node_id(),
                r.shard,
                r.collection
            ))
        })?;
        let timeout = Duration::from_millis(if r.timeout_ms == 0 {
            10_000
        } else {
            r.timeout_ms as u64
        });
        match replica.wait_applied(r.sequence, timeout).await {
            Some(applied) => Ok(Response::new(proto::WaitAppliedResponse {
                applied_sequence: applied,
                entry_result: replica.result_of(r.sequence),
            })),
            None => Err(Status::deadline_exceeded(format!(
                "shard {} of `{}` on node `{}` has applied {} of {} after {} ms",
                r.shard,
                r.collection,
                api.node.node_id(),
                replica.applied(),
                r.sequence,
                timeout.as_millis()
            ))),
        }
    }
}
