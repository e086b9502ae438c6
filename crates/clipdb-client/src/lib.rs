//! A Rust client for [clipdb](https://github.com/clipdb/clipdb), the vector
//! database server for text-to-image search with CLIP.
//!
//! ```no_run
//! # async fn demo() -> Result<(), clipdb_client::ClipdbError> {
//! use clipdb_client::{Client, ClientOptions, proto};
//!
//! let mut db = Client::connect(ClientOptions::new("http://127.0.0.1:50051")).await?;
//! db.create_collection(proto::CreateCollectionRequest {
//!     name: "photos".into(),
//!     vectorizer: proto::Vectorizer::Clip as i32,
//!     ..Default::default()
//! })
//! .await?;
//! let hits = db.search_text("photos", "a red bus", 8).await?;
//! for hit in hits {
//!     println!("{} {:.3}", hit.id, hit.score);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`Client`] holds one connection and the three services' generated
//! clients (reachable as [`Client::collections`], [`Client::points`],
//! [`Client::embeddings`] for every RPC), adds the API key to every call,
//! speaks TLS for `https://` URLs, and turns statuses into [`ClipdbError`].

pub mod proto {
    //! The generated messages and clients of `clipdb.v1`.
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("clipdb.v1");
}

use std::path::PathBuf;

use proto::collections_client::CollectionsClient;
use proto::embeddings_client::EmbeddingsClient;
use proto::points_client::PointsClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// How to reach a server.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// `http://HOST:PORT`, or `https://HOST:PORT` for TLS.
    pub url: String,
    /// Sent as `x-api-key` with every request.
    pub api_key: Option<String>,
    /// PEM of the CA that signed the server's certificate (https:// only).
    pub tls_ca: Option<PathBuf>,
    /// PEM certificate and key to present (mutual TLS).
    pub tls_client_cert: Option<PathBuf>,
    pub tls_client_key: Option<PathBuf>,
}

impl ClientOptions {
    pub fn new(url: impl Into<String>) -> ClientOptions {
        ClientOptions {
            url: url.into(),
            ..Default::default()
        }
    }

    pub fn api_key(mut self, key: impl Into<String>) -> ClientOptions {
        self.api_key = Some(key.into());
        self
    }
}

/// What can go wrong talking to clipdb.
#[derive(Debug, thiserror::Error)]
pub enum ClipdbError {
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        source: tonic::transport::Error,
    },
    /// The server answered with an error status; `message` is the server's
    /// (it names the field or point at fault).
    #[error("{code:?}: {message}")]
    Status { code: tonic::Code, message: String },
    /// The options are unusable (a bad URL, an unreadable certificate...).
    #[error("{0}")]
    Config(String),
}

impl From<tonic::Status> for ClipdbError {
    fn from(s: tonic::Status) -> Self {
        ClipdbError::Status {
            code: s.code(),
            message: s.message().to_string(),
        }
    }
}

impl ClipdbError {
    /// The gRPC code of a server error (None for connection and option errors).
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            ClipdbError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ClipdbError>;

/// Adds the API key, when there is one, to every request.
#[derive(Clone)]
pub struct ApiKeyInterceptor {
    key: Option<tonic::metadata::AsciiMetadataValue>,
}

impl tonic::service::Interceptor for ApiKeyInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> std::result::Result<tonic::Request<()>, tonic::Status> {
        if let Some(key) = &self.key {
            request.metadata_mut().insert("x-api-key", key.clone());
        }
        Ok(request)
    }
}

/// A connection with the API key attached.
pub type Service = InterceptedService<Channel, ApiKeyInterceptor>;

/// A connected clipdb client. Cheap to clone (one shared connection).
#[derive(Clone)]
pub struct Client {
    pub collections: CollectionsClient<Service>,
    pub points: PointsClient<Service>,
    pub embeddings: EmbeddingsClient<Service>,
}

impl Client {
    /// Connects (TLS for `https://` URLs, trusting `tls_ca`).
    pub async fn connect(options: ClientOptions) -> Result<Client> {
        let url = options.url.as_str();
        let key = options
            .api_key
            .as_deref()
            .map(|k| {
                k.parse()
                    .map_err(|_| ClipdbError::Config("the API key must be printable ASCII".into()))
            })
            .transpose()?;
        let auth = ApiKeyInterceptor { key };
        let mut endpoint = Channel::from_shared(url.to_string())
            .map_err(|e| ClipdbError::Config(format!("bad server URL {url}: {e}")))?;
        if url.starts_with("https://") {
            endpoint = endpoint
                .tls_config(tls_config(&options)?)
                .map_err(|e| ClipdbError::Config(format!("TLS: {e}")))?;
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|source| ClipdbError::Connect {
                url: url.to_string(),
                source,
            })?;
        Ok(Client {
            collections: CollectionsClient::with_interceptor(channel.clone(), auth.clone())
                .max_decoding_message_size(usize::MAX),
            points: PointsClient::with_interceptor(channel.clone(), auth.clone())
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
            embeddings: EmbeddingsClient::with_interceptor(channel, auth)
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
        })
    }

    pub async fn create_collection(
        &mut self,
        request: proto::CreateCollectionRequest,
    ) -> Result<proto::CollectionInfo> {
        Ok(self
            .collections
            .create_collection(request)
            .await?
            .into_inner())
    }

    pub async fn get_collection(&mut self, name: &str) -> Result<proto::CollectionInfo> {
        let request = proto::GetCollectionRequest { name: name.into() };
        Ok(self.collections.get_collection(request).await?.into_inner())
    }

    pub async fn list_collections(&mut self) -> Result<Vec<proto::CollectionInfo>> {
        let request = proto::ListCollectionsRequest {};
        Ok(self
            .collections
            .list_collections(request)
            .await?
            .into_inner()
            .collections)
    }

    pub async fn delete_collection(&mut self, name: &str) -> Result<()> {
        let request = proto::DeleteCollectionRequest { name: name.into() };
        self.collections.delete_collection(request).await?;
        Ok(())
    }

    /// Inserts or replaces points; returns how many were written.
    pub async fn upsert(&mut self, collection: &str, points: Vec<proto::Point>) -> Result<u64> {
        let request = proto::UpsertRequest {
            collection: collection.into(),
            points,
        };
        Ok(self.points.upsert(request).await?.into_inner().upserted)
    }

    /// Any search (vector, text, image or id; filters, fusion...).
    pub async fn search(
        &mut self,
        request: proto::SearchRequest,
    ) -> Result<Vec<proto::ScoredPoint>> {
        Ok(self.points.search(request).await?.into_inner().hits)
    }

    /// The `limit` best points for a sentence, with payloads.
    pub async fn search_text(
        &mut self,
        collection: &str,
        text: &str,
        limit: u32,
    ) -> Result<Vec<proto::ScoredPoint>> {
        self.search(proto::SearchRequest {
            collection: collection.into(),
            query: Some(proto::search_request::Query::Text(text.into())),
            limit,
            with_payload: true,
            ..Default::default()
        })
        .await
    }

    /// The `limit` nearest points to a vector, with payloads.
    pub async fn search_vector(
        &mut self,
        collection: &str,
        vector: Vec<f32>,
        limit: u32,
    ) -> Result<Vec<proto::ScoredPoint>> {
        self.search(proto::SearchRequest {
            collection: collection.into(),
            query: Some(proto::search_request::Query::Vector(proto::Vector {
                values: vector,
            })),
            limit,
            with_payload: true,
            ..Default::default()
        })
        .await
    }

    pub async fn get(&mut self, collection: &str, ids: Vec<String>) -> Result<Vec<proto::Point>> {
        let request = proto::GetRequest {
            collection: collection.into(),
            ids,
            with_vector: false,
        };
        Ok(self.points.get(request).await?.into_inner().points)
    }

    /// Deletes points by id; returns how many existed.
    pub async fn delete(&mut self, collection: &str, ids: Vec<String>) -> Result<u64> {
        let request = proto::DeleteRequest {
            collection: collection.into(),
            ids,
            filter: None,
        };
        Ok(self.points.delete(request).await?.into_inner().deleted)
    }

    /// Live points, or those matching `filter`.
    pub async fn count(&mut self, collection: &str, filter: Option<proto::Filter>) -> Result<u64> {
        let request = proto::CountRequest {
            collection: collection.into(),
            filter,
            ..Default::default()
        };
        Ok(self.points.count(request).await?.into_inner().count)
    }

    /// Every point (or every one matching `filter`), following the pages of
    /// a scroll to the end.
    pub async fn scroll_all(
        &mut self,
        collection: &str,
        filter: Option<proto::Filter>,
        with_payload: bool,
    ) -> Result<Vec<proto::Point>> {
        let mut points = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .points
                .scroll(proto::ScrollRequest {
                    collection: collection.into(),
                    filter: filter.clone(),
                    limit: 1000,
                    page_token,
                    with_payload,
                    with_vector: false,
                })
                .await?
                .into_inner();
            points.extend(page.points);
            if page.next_page_token.is_empty() {
                return Ok(points);
            }
            page_token = page.next_page_token;
        }
    }

    /// L2-normalised CLIP embeddings of texts (no point is stored).
    pub async fn embed_texts(&mut self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        let request = proto::EmbedTextRequest { texts };
        Ok(self
            .embeddings
            .embed_text(request)
            .await?
            .into_inner()
            .embeddings
            .into_iter()
            .map(|v| v.values)
            .collect())
    }
}

fn tls_config(options: &ClientOptions) -> Result<ClientTlsConfig> {
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| ClipdbError::Config(format!("{}: {e}", p.display())))
    };
    let ca = options.tls_ca.as_ref().ok_or_else(|| {
        ClipdbError::Config(
            "https:// servers need a CA certificate (tls_ca: the CA that signed the server's)"
                .into(),
        )
    })?;
    let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?));
    if let (Some(cert), Some(key)) = (&options.tls_client_cert, &options.tls_client_key) {
        config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(config)
}
