//! gRPC services: validate requests, convert to domain types, call the
//! engine, map errors to statuses. No state or business logic lives here.

pub mod auth;
pub mod codec;
pub mod convert;
pub mod status;

use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use crate::engine::{CollectionSpec, Database, Query, SearchParams};
use crate::proto;
use convert::*;
use status::{invalid, to_status};

/// Default number of hits when a search leaves `limit` at 0.
pub const DEFAULT_LIMIT: u32 = 10;
/// Most searches in one `SearchBatch` request.
pub const MAX_SEARCHES_PER_BATCH: usize = 1024;

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
    let params = SearchParams {
        limit: if r.limit == 0 { DEFAULT_LIMIT } else { r.limit } as usize,
        ef: r.ef as usize,
        filter: filter_from_proto(r.filter)?,
        with_payload: r.with_payload,
        with_vector: r.with_vector,
        fusion: fusion_from_proto(r.fusion),
    };
    let hits = db
        .search(&r.collection, query, params)
        .await
        .map_err(|e| to_status(e, db.dir()))?;
    let hits = hits
        .into_iter()
        .map(|h| proto::ScoredPoint {
            id: h.id.to_string(),
            score: h.score,
            payload: h.payload.as_deref().map(payload_to_proto),
            vector: vectors_to_proto(h.vectors).0,
        })
        .collect();
    Ok(proto::SearchResponse { hits })
}

#[derive(Clone)]
pub struct Api {
    db: Arc<Database>,
}

impl Api {
    pub fn new(db: Arc<Database>) -> Api {
        Api { db }
    }
}

#[tonic::async_trait]
impl proto::collections_server::Collections for Api {
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
        };
        let db = self.db.clone();
        let info = tokio::task::spawn_blocking(move || db.create_collection(spec))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| to_status(e, self.db.dir()))?;
        Ok(Response::new(collection_info_to_proto(info)))
    }

    async fn get_collection(
        &self,
        request: Request<proto::GetCollectionRequest>,
    ) -> Result<Response<proto::CollectionInfo>, Status> {
        let c = self
            .db
            .collection(&request.into_inner().name)
            .map_err(|e| to_status(e, self.db.dir()))?;
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
            .map_err(|e| to_status(e, self.db.dir()))?;
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
            .map_err(|e| to_status(e, self.db.dir()))?;
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
            .map_err(|e| to_status(e, self.db.dir()))?
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
            .map_err(|e| to_status(e, self.db.dir()))?;
        Ok(Response::new(proto::DeleteSnapshotResponse {}))
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
            .map_err(|e| to_status(e, self.db.dir()))
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
            .map_err(|e| to_status(e, self.db.dir()))?
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
        let deleted = self
            .db
            .delete(&r.collection, r.ids)
            .await
            .map_err(|e| to_status(e, self.db.dir()))?;
        Ok(Response::new(proto::DeleteResponse { deleted }))
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
        let c = self
            .db
            .collection(&request.into_inner().collection)
            .map_err(|e| to_status(e, self.db.dir()))?;
        Ok(Response::new(proto::CountResponse { count: c.count() }))
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
            .map_err(|e| to_status(e, self.db.dir()))?;
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
            .map_err(|e| to_status(e, self.db.dir()))?;
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
