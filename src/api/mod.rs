//! gRPC services: validate requests, convert to domain types, call the
//! engine, map errors to statuses. No state or business logic lives here.

pub mod auth;
pub mod codec;
pub mod convert;
pub mod filter_syntax;
pub mod http;
pub mod metrics;
pub mod status;
pub mod web;

use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use crate::engine::{self, CollectionSpec, Database, Query, SearchParams, Selection};
use crate::proto;
use convert::*;
use status::{invalid, to_status};

/// Default number of hits when a search leaves `limit` at 0.
pub const DEFAULT_LIMIT: u32 = 10;
/// Most searches in one `SearchBatch` request.
pub const MAX_SEARCHES_PER_BATCH: usize = 1024;

/// Default page size of a scroll.
pub const DEFAULT_SCROLL_LIMIT: u32 = 100;

/// Search parameters shared by Search and Recommend.
#[allow(clippy::too_many_arguments)]
pub(crate) fn search_params(
    limit: u32,
    ef: u32,
    filter: Option<proto::Filter>,
    with_payload: bool,
    with_vector: bool,
    fusion: Option<proto::FusionWeights>,
    offset: u32,
    score_threshold: Option<f32>,
    payload_fields: &[String],
) -> Result<SearchParams, Status> {
    Ok(SearchParams {
        limit: if limit == 0 { DEFAULT_LIMIT } else { limit } as usize,
        ef: ef as usize,
        filter: filter_from_proto(filter)?,
        with_payload: with_payload || !payload_fields.is_empty(),
        with_vector,
        fusion: fusion_from_proto(fusion),
        offset: offset as usize,
        score_threshold,
    })
}

pub(crate) fn hits_to_proto(
    hits: Vec<engine::Hit>,
    payload_fields: &[String],
) -> proto::SearchResponse {
    let hits = hits
        .into_iter()
        .map(|h| proto::ScoredPoint {
            id: h.id.to_string(),
            score: h.score,
            payload: h.payload.as_deref().map(|p| {
                if payload_fields.is_empty() {
                    payload_to_proto(p)
                } else {
                    payload_to_proto(&project_payload(p, payload_fields))
                }
            }),
            vector: vectors_to_proto(h.vectors).0,
        })
        .collect();
    proto::SearchResponse {
        hits,
        ..Default::default()
    }
}

/// One search request, validated, run and converted.
async fn run_search(
    db: Arc<Database>,
    r: proto::SearchRequest,
) -> Result<proto::SearchResponse, Status> {
    let query = match r.query {
        Some(proto::search_request::Query::Vector(v)) => Query::Vector(v.values),
        Some(proto::search_request::Query::Text(t)) => Query::Text(t),
        Some(proto::search_request::Query::Image(i)) => Query::Image(i),
        Some(proto::search_request::Query::Id(id)) => Query::Id(id),
        None => return Err(invalid("query", "set one of vector, text, image or id")),
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
        .search(&r.collection, query, params)
        .await
        .map_err(|e| to_status(e, db.dir()))?;
    Ok(hits_to_proto(hits, &r.payload_fields))
}

pub(crate) fn stored_point_to_proto(p: engine::StoredPoint, with_payload: bool) -> proto::Point {
    let (vector, text_vector) = vectors_to_proto(p.vectors);
    proto::Point {
        id: p.id.to_string(),
        vector,
        text_vector,
        payload: if with_payload {
            p.payload.as_deref().map(payload_to_proto)
        } else {
            None
        },
        ..Default::default()
    }
}

#[derive(Clone)]
pub struct Api {
    db: Arc<Database>,
}

impl Api {
    pub fn new(db: Arc<Database>) -> Api {
        Api { db }
    }

    fn status(&self, err: engine::EngineError) -> Status {
        to_status(err, self.db.dir())
    }
}

#[tonic::async_trait]
impl proto::collections_server::Collections for Api {
    async fn create_collection(
        &self,
        request: Request<proto::CreateCollectionRequest>,
    ) -> Result<Response<proto::CollectionInfo>, Status> {
        let r = request.into_inner();
        status::single_node_layout(r.shards, r.replication_factor)?;
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
            thumbnails: thumbnails_from_proto(r.thumbnails),
        };
        let db = self.db.clone();
        let info = tokio::task::spawn_blocking(move || db.create_collection(spec))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| self.status(e))?;
        Ok(Response::new(collection_info_to_proto(info)))
    }

    async fn get_collection(
        &self,
        request: Request<proto::GetCollectionRequest>,
    ) -> Result<Response<proto::CollectionInfo>, Status> {
        let c = self
            .db
            .collection(&request.into_inner().name)
            .map_err(|e| self.status(e))?;
        Ok(Response::new(collection_info_to_proto(c.info())))
    }

    async fn list_collections(
        &self,
        _request: Request<proto::ListCollectionsRequest>,
    ) -> Result<Response<proto::ListCollectionsResponse>, Status> {
        let collections = self
            .db
            .list_collections()
            .into_iter()
            .map(collection_info_to_proto)
            .collect();
        Ok(Response::new(proto::ListCollectionsResponse {
            collections,
        }))
    }

    async fn delete_collection(
        &self,
        request: Request<proto::DeleteCollectionRequest>,
    ) -> Result<Response<proto::DeleteCollectionResponse>, Status> {
        let name = request.into_inner().name;
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.drop_collection(&name))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| self.status(e))?;
        Ok(Response::new(proto::DeleteCollectionResponse {}))
    }

    async fn create_snapshot(
        &self,
        request: Request<proto::CreateSnapshotRequest>,
    ) -> Result<Response<proto::SnapshotInfo>, Status> {
        let info = self
            .db
            .create_snapshot(&request.into_inner().collection)
            .await
            .map_err(|e| self.status(e))?;
        Ok(Response::new(snapshot_info_to_proto(info)))
    }

    async fn list_snapshots(
        &self,
        request: Request<proto::ListSnapshotsRequest>,
    ) -> Result<Response<proto::ListSnapshotsResponse>, Status> {
        let collection = request.into_inner().collection;
        let db = self.db.clone();
        let snapshots = tokio::task::spawn_blocking(move || db.list_snapshots(&collection))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| self.status(e))?
            .into_iter()
            .map(snapshot_info_to_proto)
            .collect();
        Ok(Response::new(proto::ListSnapshotsResponse { snapshots }))
    }

    async fn delete_snapshot(
        &self,
        request: Request<proto::DeleteSnapshotRequest>,
    ) -> Result<Response<proto::DeleteSnapshotResponse>, Status> {
        let r = request.into_inner();
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.delete_snapshot(&r.collection, &r.name))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| self.status(e))?;
        Ok(Response::new(proto::DeleteSnapshotResponse {}))
    }

    async fn create_payload_index(
        &self,
        request: Request<proto::CreatePayloadIndexRequest>,
    ) -> Result<Response<proto::PayloadIndexInfo>, Status> {
        let r = request.into_inner();
        let spec = engine::payload_index::PayloadIndexSpec {
            key: r.key,
            kind: payload_index_type_from_proto(r.r#type)?,
        };
        let stats = self
            .db
            .create_payload_index(&r.collection, spec)
            .await
            .map_err(|e| self.status(e))?;
        Ok(Response::new(payload_index_to_proto(stats)))
    }

    async fn delete_payload_index(
        &self,
        request: Request<proto::DeletePayloadIndexRequest>,
    ) -> Result<Response<proto::DeletePayloadIndexResponse>, Status> {
        let r = request.into_inner();
        self.db
            .drop_payload_index(&r.collection, &r.key)
            .await
            .map_err(|e| self.status(e))?;
        Ok(Response::new(proto::DeletePayloadIndexResponse {}))
    }
}

impl Api {
    async fn upsert_batch(&self, r: proto::UpsertRequest) -> Result<u64, Status> {
        let points = r
            .points
            .into_iter()
            .enumerate()
            .map(|(i, p)| point_from_proto(i, p, self.db.options().max_payload_bytes))
            .collect::<Result<Vec<_>, _>>()?;
        self.db
            .upsert(&r.collection, points)
            .await
            .map_err(|e| self.status(e))
    }
}

#[tonic::async_trait]
impl proto::points_server::Points for Api {
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
        loop {
            let msg = match stream.message().await {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(s) if status::is_oversized_message(&s) => {
                    return Err(Status::resource_exhausted(s.message()))
                }
                Err(s) => return Err(s),
            };
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
        let points = self
            .db
            .get(&r.collection, &r.ids, r.with_vector)
            .map_err(|e| self.status(e))?
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
        Ok(Response::new(proto::GetResponse { points }))
    }

    async fn delete(
        &self,
        request: Request<proto::DeleteRequest>,
    ) -> Result<Response<proto::DeleteResponse>, Status> {
        let r = request.into_inner();
        let deleted = match filter_from_proto(r.filter)? {
            None => self.db.delete(&r.collection, r.ids).await,
            filter => {
                let selection = Selection::new(r.ids, filter).map_err(|e| self.status(e))?;
                self.db.delete_points(&r.collection, selection).await
            }
        }
        .map_err(|e| self.status(e))?;
        Ok(Response::new(proto::DeleteResponse { deleted }))
    }

    async fn scroll(
        &self,
        request: Request<proto::ScrollRequest>,
    ) -> Result<Response<proto::ScrollResponse>, Status> {
        let r = request.into_inner();
        let filter = filter_from_proto(r.filter)?;
        let limit = if r.limit == 0 {
            DEFAULT_SCROLL_LIMIT
        } else {
            r.limit
        };
        let (points, next_page_token) = self
            .db
            .scroll(
                &r.collection,
                &r.page_token,
                limit as usize,
                filter.as_ref(),
                r.with_vector,
            )
            .map_err(|e| self.status(e))?;
        Ok(Response::new(proto::ScrollResponse {
            points: points
                .into_iter()
                .map(|p| stored_point_to_proto(p, r.with_payload))
                .collect(),
            next_page_token,
        }))
    }

    async fn set_payload(
        &self,
        request: Request<proto::SetPayloadRequest>,
    ) -> Result<Response<proto::SetPayloadResponse>, Status> {
        let r = request.into_inner();
        let selection =
            Selection::new(r.ids, filter_from_proto(r.filter)?).map_err(|e| self.status(e))?;
        let max = self.db.options().max_payload_bytes;
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
        let updated = self
            .db
            .set_payload(&r.collection, selection, payload, r.replace)
            .await
            .map_err(|e| self.status(e))?;
        Ok(Response::new(proto::SetPayloadResponse { updated }))
    }

    async fn delete_payload_keys(
        &self,
        request: Request<proto::DeletePayloadKeysRequest>,
    ) -> Result<Response<proto::DeletePayloadKeysResponse>, Status> {
        let r = request.into_inner();
        let selection =
            Selection::new(r.ids, filter_from_proto(r.filter)?).map_err(|e| self.status(e))?;
        let updated = self
            .db
            .delete_payload_keys(&r.collection, selection, r.keys)
            .await
            .map_err(|e| self.status(e))?;
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
            r.filter,
            r.with_payload,
            r.with_vector,
            r.fusion,
            r.offset,
            r.score_threshold,
            &r.payload_fields,
        )?;
        let query = engine::RecommendQuery {
            positive_ids: r.positive_ids,
            positive_vectors: r.positive_vectors.into_iter().map(|v| v.values).collect(),
            negative_ids: r.negative_ids,
            negative_vectors: r.negative_vectors.into_iter().map(|v| v.values).collect(),
        };
        let hits = self
            .db
            .recommend(&r.collection, query, params)
            .await
            .map_err(|e| self.status(e))?;
        Ok(Response::new(hits_to_proto(hits, &r.payload_fields)))
    }

    async fn search(
        &self,
        request: Request<proto::SearchRequest>,
    ) -> Result<Response<proto::SearchResponse>, Status> {
        Ok(Response::new(
            run_search(self.db.clone(), request.into_inner()).await?,
        ))
    }

    async fn search_batch(
        &self,
        request: Request<proto::SearchBatchRequest>,
    ) -> Result<Response<proto::SearchBatchResponse>, Status> {
        let searches = request.into_inner().searches;
        if searches.len() > MAX_SEARCHES_PER_BATCH {
            return Err(invalid(
                "searches",
                format!(
                    "{} searches in one request exceed the limit of {MAX_SEARCHES_PER_BATCH}",
                    searches.len()
                ),
            ));
        }
        // Each search runs on its own task: the blocking graph walks spread
        // over the cores instead of queueing behind one another.
        let tasks: Vec<_> = searches
            .into_iter()
            .map(|s| tokio::spawn(run_search(self.db.clone(), s)))
            .collect();
        let mut results = Vec::with_capacity(tasks.len());
        for (i, task) in tasks.into_iter().enumerate() {
            let result = task
                .await
                .map_err(|e| Status::internal(format!("searches[{i}]: task failed: {e}")))?;
            results.push(result.map_err(|s| {
                Status::with_details(
                    s.code(),
                    format!("searches[{i}]: {}", s.message()),
                    s.details().to_vec().into(),
                )
            })?);
        }
        Ok(Response::new(proto::SearchBatchResponse { results }))
    }

    async fn count(
        &self,
        request: Request<proto::CountRequest>,
    ) -> Result<Response<proto::CountResponse>, Status> {
        let r = request.into_inner();
        let filter = filter_from_proto(r.filter)?;
        let count = self
            .db
            .count(&r.collection, filter.as_ref())
            .map_err(|e| self.status(e))?;
        Ok(Response::new(proto::CountResponse {
            count,
            ..Default::default()
        }))
    }
}

#[tonic::async_trait]
impl proto::embeddings_server::Embeddings for Api {
    async fn embed_text(
        &self,
        request: Request<proto::EmbedTextRequest>,
    ) -> Result<Response<proto::EmbedResponse>, Status> {
        let vectors = self
            .db
            .embed_texts(request.into_inner().texts)
            .await
            .map_err(|e| self.status(e))?;
        Ok(Response::new(embed_response(vectors)))
    }

    async fn embed_image(
        &self,
        request: Request<proto::EmbedImageRequest>,
    ) -> Result<Response<proto::EmbedResponse>, Status> {
        let vectors = self
            .db
            .embed_images(request.into_inner().images)
            .await
            .map_err(|e| self.status(e))?;
        Ok(Response::new(embed_response(vectors)))
    }
}

fn embed_response(vectors: Vec<Vec<f32>>) -> proto::EmbedResponse {
    proto::EmbedResponse {
        embeddings: vectors
            .into_iter()
            .map(|values| proto::Vector { values })
            .collect(),
    }
}
