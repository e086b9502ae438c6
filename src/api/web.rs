//! The search page and its JSON API, on the operations listener
//! (`--http-listen`): `GET /` serves the page (HTML, CSS and JavaScript
//! embedded in the binary, in `src/api/web/`), `/api/` answers it and any
//! `curl` user (docs/http-api.md).
//!
//! The API calls the same `Database` methods as the gRPC handlers, with the
//! same validation; errors become gRPC statuses in `api::status` as there,
//! and those statuses HTTP ones in `status::http_status`: one mapping for
//! both. API keys are checked by `ApiKeys::authorize` as for the gRPC method
//! each endpoint stands for, so read-only keys may use all of it (it
//! changes nothing).
//!
//! On a cluster node the listing and searches go through the node's
//! cluster API (`ClusterApi`, the gRPC Collections and Points of a cluster
//! node) instead; cluster mode keeps no thumbnails.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use tonic::Status;

use super::auth::ApiKeys;
use super::filter_syntax::parse_filter_text;
use super::http::Readiness;
use super::status::{http_status, to_status};
use crate::cluster::api::ClusterApi;
use crate::engine::{Database, Fusion, Hit, Query, SearchParams, Vectorizer};
use crate::proto;

const INDEX_HTML: &str = include_str!("web/index.html");
const APP_JS: &str = include_str!("web/app.js");
const STYLE_CSS: &str = include_str!("web/style.css");

/// Results when the request names no limit.
pub const DEFAULT_LIMIT: usize = 24;
/// Largest JSON request body (searches by text or id are small).
const MAX_JSON_BYTES: usize = 64 << 10;

#[derive(Clone)]
pub(super) struct WebState {
    pub readiness: Arc<Readiness>,
    pub keys: Arc<ApiKeys>,
    /// A cluster node: its database holds only its own shard replicas, so
    /// the API goes through the cluster (as gRPC does), set once the node
    /// has joined. Thumbnails are not kept in cluster mode.
    pub cluster: Option<Arc<OnceLock<ClusterApi>>>,
}

/// Where the API's answers come from.
enum Backend {
    Local(Arc<Database>),
    Cluster(ClusterApi, Option<Arc<Database>>),
}

/// The page and the API, to merge into the operations router.
pub(super) fn routes(state: WebState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/app.js", get(app_js))
        .route("/assets/style.css", get(style_css))
        .route("/api/collections", get(list_collections))
        .route("/api/collections/{collection}/search", post(search))
        .route(
            "/api/collections/{collection}/search/image",
            post(search_image),
        )
        .route(
            "/api/collections/{collection}/points/{id}/thumbnail",
            get(thumbnail),
        )
        .fallback(not_found)
        .with_state(state)
}

/// The page's files: small and shipped with the binary, so a browser may
/// keep them only until the next request revalidates them (a new server
/// version brings new ones).
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    let mut response = asset("text/html; charset=utf-8", INDEX_HTML);
    // The page loads only its own files and talks only to this listener;
    // payload strings are shown as text, and this policy stops any script
    // that got in some other way.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' blob: data: http: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    response
}

async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

async fn not_found() -> Response {
    error(Status::not_found(
        "no such page or API endpoint (see docs/http-api.md)",
    ))
}

/// An error as the API answers it: the HTTP status of the gRPC code, and a
/// JSON body naming the code and the problem.
fn error(status: Status) -> Response {
    let http = http_status(status.code());
    (
        http,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "error": {
                "code": code_name(status.code()),
                "message": status.message(),
            }
        })),
    )
        .into_response()
}

/// A request error the HTTP layer itself finds (before any engine call).
fn http_error(http: StatusCode, code: &str, message: String) -> Response {
    (
        http,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// A JSON response body (axum's `json` feature would add crates for this).
struct Json(Value);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_vec(&self.0).expect("JSON encodes"),
        )
            .into_response()
    }
}

fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

impl WebState {
    /// The database once serving, after the request's key is accepted for
    /// `grpc_method` (the gRPC call the endpoint stands for).
    fn admit(&self, grpc_method: &str, headers: &HeaderMap) -> Result<Arc<Database>, Refusal> {
        self.keys
            .authorize(grpc_method, headers)
            .map_err(|s| Box::new(error(s)))?;
        match (self.readiness.is_ready(), self.readiness.database()) {
            (true, Some(db)) => Ok(db),
            _ => Err(Box::new(error(Status::unavailable(
                "the server is starting or stopping; retry shortly",
            )))),
        }
    }

    /// As [`WebState::admit`], on a cluster node the cluster's API.
    fn backend(&self, grpc_method: &str, headers: &HeaderMap) -> Result<Backend, Refusal> {
        let Some(slot) = &self.cluster else {
            return self.admit(grpc_method, headers).map(Backend::Local);
        };
        self.keys
            .authorize(grpc_method, headers)
            .map_err(|s| Box::new(error(s)))?;
        // Reads through the cluster need no local catch-up: any node
        // answers once it has joined.
        match slot.get() {
            Some(api) => Ok(Backend::Cluster(api.clone(), self.readiness.database())),
            None => Err(Box::new(error(Status::unavailable(
                "the node is joining the cluster; retry shortly",
            )))),
        }
    }
}

async fn list_collections(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let db = match state.backend("/clipdb.v1.Collections/ListCollections", &headers) {
        Ok(Backend::Local(db)) => db,
        Ok(Backend::Cluster(api, _)) => return cluster_collections(&api).await,
        Err(r) => return *r,
    };
    let mut collections = db.list_collections();
    collections.sort_by(|a, b| a.config.name.cmp(&b.config.name));
    let list: Vec<Value> = collections
        .into_iter()
        .map(|c| {
            json!({
                "name": c.config.name,
                "point_count": c.point_count,
                "vectorizer": match c.config.vectorizer {
                    Vectorizer::Clip => "clip",
                    Vectorizer::None => "none",
                },
                "fusion": { "image": c.config.fusion.image, "text": c.config.fusion.text },
                "thumbnails": c.config.thumbnails.is_some(),
            })
        })
        .collect();
    Json(json!({ "collections": list })).into_response()
}

/// The collections of a cluster, as [`list_collections`] lists a server's
/// (no thumbnails: cluster mode keeps none).
async fn cluster_collections(api: &ClusterApi) -> Response {
    use proto::collections_server::Collections;
    let infos = match api
        .list_collections(tonic::Request::new(proto::ListCollectionsRequest {}))
        .await
    {
        Ok(r) => r.into_inner().collections,
        Err(s) => return error(s),
    };
    let mut list: Vec<Value> = infos
        .into_iter()
        .map(|c| {
            let fusion = c.fusion.unwrap_or_default();
            json!({
                "name": c.name,
                "point_count": c.point_count,
                "vectorizer": if c.vectorizer == proto::Vectorizer::Clip as i32 { "clip" } else { "none" },
                "fusion": { "image": fusion.image, "text": fusion.text },
                "thumbnails": false,
            })
        })
        .collect();
    list.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Json(json!({ "collections": list })).into_response()
}

/// What a search may say besides its query (JSON body, or the query string
/// of an image search).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchOptions {
    /// Results (default 24).
    limit: Option<u64>,
    /// Best results to skip.
    #[serde(default)]
    offset: u64,
    /// Conditions in the filter syntax, `;`-separated.
    #[serde(default)]
    filter: String,
    /// Weights of image and caption vectors (CLIP collections).
    fusion: Option<Fusion>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchBody {
    text: Option<String>,
    /// "More like this": a stored point's id.
    id: Option<String>,
    #[serde(flatten)]
    options: SearchOptions,
}

fn invalid(field: &str, message: impl std::fmt::Display) -> Response {
    error(super::status::invalid(field, message))
}

/// A request turned away before the engine call, with its answer (boxed:
/// responses are large, and most requests are not refused).
type Refusal = Box<Response>;

fn refused(field: &str, message: impl std::fmt::Display) -> Refusal {
    Box::new(invalid(field, message))
}

impl SearchOptions {
    fn params(&self) -> Result<SearchParams, Refusal> {
        let filter = parse_filter_text(&self.filter).map_err(|e| refused("filter", e))?;
        // Out-of-range numbers are the engine's to refuse (one message for
        // gRPC and HTTP); only what does not fit a usize is caught here.
        let size = |field: &str, n: u64| {
            usize::try_from(n).map_err(|_| refused(field, format!("{n} is too large")))
        };
        Ok(SearchParams {
            limit: size("limit", self.limit.unwrap_or(DEFAULT_LIMIT as u64))?,
            ef: 0,
            filter,
            with_payload: true,
            with_vector: false,
            fusion: self.fusion,
            offset: size("offset", self.offset)?,
            score_threshold: None,
        })
    }
}

async fn search(
    State(state): State<WebState>,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let backend = match state.backend("/clipdb.v1.Points/Search", &headers) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let bytes = match read_body(body, &headers, MAX_JSON_BYTES).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let request: SearchBody = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return invalid("body", format!("not a search request: {e}")),
    };
    let query = match (request.text, request.id) {
        (Some(text), None) => Query::Text(text),
        (None, Some(id)) => Query::Id(id),
        _ => {
            return invalid(
                "query",
                "set exactly one of `text` or `id` (search by image: POST the image to .../search/image)",
            )
        }
    };
    run_search(&backend, &collection, query, &request.options).await
}

async fn search_image(
    State(state): State<WebState>,
    Path(collection): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let backend = match state.backend("/clipdb.v1.Points/Search", &headers) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let options = match options_from_query(query.as_deref().unwrap_or("")) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let db = match &backend {
        Backend::Local(db) => Some(db),
        Backend::Cluster(_, db) => db.as_ref(),
    };
    let limit = db
        .and_then(|db| db.image_limits())
        .unwrap_or_default()
        .max_bytes;
    let image = match read_body(body, &headers, limit).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    if image.is_empty() {
        return invalid(
            "query.image",
            "the request body is empty; send the image's bytes",
        );
    }
    run_search(
        &backend,
        &collection,
        Query::Image(image.to_vec()),
        &options,
    )
    .await
}

/// An image search's options from its query string:
/// `limit`, `offset`, `filter`, `image_weight` and `text_weight`.
fn options_from_query(query: &str) -> Result<SearchOptions, Refusal> {
    let mut options = SearchOptions::default();
    let (mut image, mut text) = (None, None);
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let number = |field: &str| -> Result<f64, Refusal> {
            value
                .trim()
                .parse::<f64>()
                .map_err(|_| refused(field, format!("`{value}` is not a number")))
        };
        let count = |field: &str| -> Result<u64, Refusal> {
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| refused(field, format!("`{value}` is not a whole number")))
        };
        match key.as_ref() {
            "limit" => options.limit = Some(count("limit")?),
            "offset" => options.offset = count("offset")?,
            "filter" => options.filter = value.into_owned(),
            "image_weight" => image = Some(number("image_weight")? as f32),
            "text_weight" => text = Some(number("text_weight")? as f32),
            other => {
                return Err(refused(
                    other,
                    "unknown parameter (expected limit, offset, filter, image_weight, text_weight)",
                ))
            }
        }
    }
    options.fusion = match (image, text) {
        (None, None) => None,
        (Some(image), Some(text)) => Some(Fusion { image, text }),
        _ => return Err(refused("fusion", "give both image_weight and text_weight")),
    };
    Ok(options)
}

/// The request body, refused with 413 past `limit` bytes (before reading
/// it, when its length is declared).
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, Refusal> {
    let too_large = || {
        Box::new(http_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RESOURCE_EXHAUSTED",
            format!("request body: larger than the limit of {limit} bytes"),
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // axum reports the limit as "length limit exceeded".
        if e.to_string().contains("length limit") {
            too_large()
        } else {
            refused("body", format!("could not be read: {e}"))
        }
    })
}

async fn run_search(
    backend: &Backend,
    collection: &str,
    query: Query,
    options: &SearchOptions,
) -> Response {
    let params = match options.params() {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let db = match backend {
        Backend::Local(db) => db,
        Backend::Cluster(api, _) => return cluster_search(api, collection, query, params).await,
    };
    let offset = params.offset;
    let started = Instant::now();
    let hits = match db.search(collection, query, params).await {
        Ok(h) => h,
        Err(e) => return error(to_status(e, db.dir())),
    };
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    let thumbnails = db
        .collection(collection)
        .is_ok_and(|c| c.config().thumbnails.is_some());
    let hits: Vec<Value> = hits
        .into_iter()
        .enumerate()
        .map(|(i, hit)| hit_json(collection, offset + i + 1, hit, thumbnails))
        .collect();
    Json(json!({
        "collection": collection,
        "took_ms": (took_ms * 1000.0).round() / 1000.0,
        "hits": hits,
    }))
    .into_response()
}

/// A search through the cluster: the gRPC Search of a cluster node (embeds
/// once, searches one replica per shard, merges). Hits have no thumbnail.
async fn cluster_search(
    api: &ClusterApi,
    collection: &str,
    query: Query,
    params: SearchParams,
) -> Response {
    use proto::points_server::Points;
    use proto::search_request::Query as Q;
    let query = match query {
        Query::Text(t) => Q::Text(t),
        Query::Id(id) => Q::Id(id),
        Query::Image(i) => Q::Image(i),
        Query::Vector(v) => Q::Vector(proto::Vector { values: v }),
    };
    // Past u32 the engine's own limit check refuses them anyway.
    let wire = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let request = proto::SearchRequest {
        collection: collection.to_string(),
        query: Some(query),
        limit: wire(params.limit),
        offset: wire(params.offset),
        filter: params.filter.as_ref().map(super::convert::filter_to_proto),
        with_payload: true,
        fusion: params.fusion.map(|f| proto::FusionWeights {
            image: f.image,
            text: f.text,
        }),
        ..Default::default()
    };
    let started = Instant::now();
    let hits = match api.search(tonic::Request::new(request)).await {
        Ok(r) => r.into_inner().hits,
        Err(s) => return error(s),
    };
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    let hits: Vec<Value> = hits
        .into_iter()
        .enumerate()
        .map(|(i, hit)| {
            let payload = super::convert::payload_from_proto("payload", hit.payload)
                .ok()
                .flatten();
            json!({
                "rank": params.offset + i + 1,
                "id": hit.id,
                "score": hit.score,
                "payload": payload,
                "thumbnail": Value::Null,
            })
        })
        .collect();
    Json(json!({
        "collection": collection,
        "took_ms": (took_ms * 1000.0).round() / 1000.0,
        "hits": hits,
    }))
    .into_response()
}

fn hit_json(collection: &str, rank: usize, hit: Hit, thumbnails: bool) -> Value {
    let thumbnail = thumbnails.then(|| {
        format!(
            "/api/collections/{}/points/{}/thumbnail",
            path_segment(collection),
            path_segment(&hit.id)
        )
    });
    json!({
        "rank": rank,
        "id": &*hit.id,
        "score": hit.score,
        "payload": hit.payload.as_deref(),
        "thumbnail": thumbnail,
    })
}

/// `s` percent-encoded for one path segment.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn thumbnail(
    State(state): State<WebState>,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let db = match state.backend("/clipdb.v1.Points/Get", &headers) {
        Ok(Backend::Local(db)) => db,
        Ok(Backend::Cluster(..)) => {
            return error(Status::not_found(format!(
                "point `{id}` has no thumbnail in collection `{collection}`: cluster mode keeps no thumbnails (docs/cluster.md)"
            )))
        }
        Err(r) => return *r,
    };
    let lookup = {
        let (db, collection, id) = (db.clone(), collection.clone(), id.clone());
        tokio::task::spawn_blocking(move || db.thumbnail(&collection, &id)).await
    };
    let jpeg = match lookup {
        Ok(Ok(Some(jpeg))) => jpeg,
        Ok(Ok(None)) => {
            return error(Status::not_found(format!(
                "point `{id}` has no thumbnail in collection `{collection}` (missing, written without an image, or the collection keeps none)"
            )))
        }
        Ok(Err(e)) => return error(to_status(e, db.dir())),
        Err(e) => return error(Status::internal(format!("thumbnail task failed: {e}"))),
    };
    // Content-addressed: a replaced point's new thumbnail has a new tag.
    let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&jpeg));
    let cache = [
        (header::ETAG, etag.clone()),
        // Private: with API keys the answer is not for shared caches.
        (header::CACHE_CONTROL, "private, max-age=60".to_string()),
    ];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(header::CONTENT_TYPE, "image/jpeg".to_string())],
        Body::from(jpeg),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_search_options_come_from_the_query_string() {
        let o = options_from_query(
            "limit=5&filter=colour%3Dred%3B%20n%3E%3D2&image_weight=1&text_weight=0",
        )
        .unwrap();
        assert_eq!(o.limit, Some(5));
        assert_eq!(o.filter, "colour=red; n>=2");
        assert_eq!(
            o.fusion,
            Some(Fusion {
                image: 1.0,
                text: 0.0
            })
        );
        assert!(options_from_query("limit=x").is_err());
        assert!(options_from_query("image_weight=1").is_err());
        assert!(options_from_query("colour=red").is_err());
    }

    #[test]
    fn ids_are_escaped_in_thumbnail_paths() {
        assert_eq!(path_segment("a b/c?<d>"), "a%20b%2Fc%3F%3Cd%3E");
        assert_eq!(path_segment("img-01.jpg"), "img-01.jpg");
    }
}
