//! A cluster node's gRPC services: Collections and Points over the shards
//! (writes to the shards' logs, reads from one live replica per shard,
//! merged), and the Cluster service (its status, and the per-shard calls
//! nodes make on each other).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status, Streaming};

use super::meta::{now_ms, ClusterCollection};
use super::node::ClusterNode;
use crate::api::convert::*;
use crate::api::status::{invalid, to_status};
use crate::api::{hits_to_proto, search_params};
use crate::engine::{self, CollectionSpec, Metric, Query, RemoteSchema, ReplicatedOp};
use crate::proto;

fn unsupported(what: &str) -> Status {
    Status::unimplemented(format!(
        "{what} is not supported in cluster mode yet (docs/cluster.md, \"Not implemented yet\")"
    ))
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

    fn schema(c: &ClusterCollection) -> RemoteSchema {
        RemoteSchema {
            config: c.config.clone(),
            model: c.model.clone(),
        }
    }

    async fn upsert_batch(&self, r: proto::UpsertRequest) -> Result<u64, Status> {
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
        self.node.write(&c, parts).await?;
        Ok(count)
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
                    ShardCall::Search(search) => client
                        .shard_search(proto::ShardSearchRequest {
                            shard,
                            search: Some(search),
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
        let vector = self
            .node
            .db
            .prepare_query_vector(&Self::schema(&c), query)
            .await
            .map_err(|e| self.status(e))?;
        // Each shard returns its best offset + limit; the merge skips the
        // offset over all of them.
        let per_shard = proto::SearchRequest {
            query: Some(proto::search_request::Query::Vector(proto::Vector {
                values: vector,
            })),
            limit: (params.offset + params.limit) as u32,
            offset: 0,
            ..r.clone()
        };
        let (replies, missing) = self
            .fan_out(&c, (0..c.shards).collect(), r.allow_partial_results, |_| {
                ShardCall::Search(per_shard.clone())
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
        let hits = hits
            .into_iter()
            .skip(params.offset)
            .take(params.limit)
            .collect();
        Ok(proto::SearchResponse {
            hits,
            missing_shards: missing,
        })
    }
}

#[derive(Clone)]
enum ShardCall {
    Search(proto::SearchRequest),
    Get(proto::GetRequest),
    Count(proto::CountRequest),
}

enum ShardReply {
    Search(proto::SearchResponse),
    Get(proto::GetResponse),
    Count(proto::CountResponse),
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
        ShardCall::Search(r) => {
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
                .search_prepared(&local, v.values, params)
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
        payload_indexes: Vec::new(),
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
        _request: Request<proto::CreateSnapshotRequest>,
    ) -> Result<Response<proto::SnapshotInfo>, Status> {
        Err(unsupported("CreateSnapshot"))
    }

    async fn list_snapshots(
        &self,
        _request: Request<proto::ListSnapshotsRequest>,
    ) -> Result<Response<proto::ListSnapshotsResponse>, Status> {
        Err(unsupported("ListSnapshots"))
    }

    async fn delete_snapshot(
        &self,
        _request: Request<proto::DeleteSnapshotRequest>,
    ) -> Result<Response<proto::DeleteSnapshotResponse>, Status> {
        Err(unsupported("DeleteSnapshot"))
    }

    async fn create_payload_index(
        &self,
        _request: Request<proto::CreatePayloadIndexRequest>,
    ) -> Result<Response<proto::PayloadIndexInfo>, Status> {
        Err(unsupported("CreatePayloadIndex"))
    }

    async fn delete_payload_index(
        &self,
        _request: Request<proto::DeletePayloadIndexRequest>,
    ) -> Result<Response<proto::DeletePayloadIndexResponse>, Status> {
        Err(unsupported("DeletePayloadIndex"))
    }
}

#[tonic::async_trait]
impl proto::points_server::Points for ClusterApi {
    async fn upsert(
        &self,
        request: Request<proto::UpsertRequest>,
    ) -> Result<Response<proto::UpsertResponse>, Status> {
        let upserted = self.upsert_batch(request.into_inner()).await?;
        Ok(Response::new(proto::UpsertResponse { upserted }))
    }

    async fn upsert_stream(
        &self,
        request: Request<Streaming<proto::UpsertRequest>>,
    ) -> Result<Response<proto::UpsertResponse>, Status> {
        let mut stream = request.into_inner();
        let mut upserted = 0;
        while let Some(msg) = stream.message().await? {
            upserted += self.upsert_batch(msg).await.map_err(|s| {
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
        let r = request.into_inner();
        if r.filter.is_some() {
            return Err(unsupported("Delete by filter"));
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
        let deleted = self.node.write(&c, parts).await?;
        Ok(Response::new(proto::DeleteResponse { deleted }))
    }

    async fn scroll(
        &self,
        _request: Request<proto::ScrollRequest>,
    ) -> Result<Response<proto::ScrollResponse>, Status> {
        Err(unsupported("Scroll"))
    }

    async fn set_payload(
        &self,
        _request: Request<proto::SetPayloadRequest>,
    ) -> Result<Response<proto::SetPayloadResponse>, Status> {
        Err(unsupported("SetPayload"))
    }

    async fn delete_payload_keys(
        &self,
        _request: Request<proto::DeletePayloadKeysRequest>,
    ) -> Result<Response<proto::DeletePayloadKeysResponse>, Status> {
        Err(unsupported("DeletePayloadKeys"))
    }

    async fn recommend(
        &self,
        _request: Request<proto::RecommendRequest>,
    ) -> Result<Response<proto::SearchResponse>, Status> {
        Err(unsupported("Recommend"))
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
        shard_reply(
            local_call(&api.node, &collection, r.shard, ShardCall::Search(search)).await,
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
