//! Client subcommands (`import`, `search`, `loadgen`): they speak gRPC to a
//! running server, exactly like any SDK user would.

pub mod demo_data;
pub mod gallery;
pub mod import;
pub mod loadgen;
pub mod search;

use std::path::Path;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::config::ServerAddress;

use clipdb::proto::collections_client::CollectionsClient;
use clipdb::proto::embeddings_client::EmbeddingsClient;
use clipdb::proto::points_client::PointsClient;

/// Errors of the client commands, reported to the user as one line.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        source: tonic::transport::Error,
    },
    #[error("{what}: {status_code:?}: {message}")]
    Rpc {
        what: String,
        status_code: tonic::Code,
        message: String,
    },
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("{0}")]
    Usage(String),
}

impl ClientError {
    pub fn rpc(what: impl Into<String>, status: tonic::Status) -> Self {
        ClientError::Rpc {
            what: what.into(),
            status_code: status.code(),
            message: status.message().to_string(),
        }
    }

    pub fn file(path: &Path, reason: impl ToString) -> Self {
        ClientError::File {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Adds the API key, when there is one, to every request.
#[derive(Clone)]
pub struct ApiKeyInterceptor {
    key: Option<tonic::metadata::AsciiMetadataValue>,
}

impl tonic::service::Interceptor for ApiKeyInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(key) = &self.key {
            request.metadata_mut().insert("x-api-key", key.clone());
        }
        Ok(request)
    }
}

type Service = InterceptedService<Channel, ApiKeyInterceptor>;

/// gRPC clients sharing one connection.
#[derive(Clone)]
pub struct Clients {
    pub collections: CollectionsClient<Service>,
    pub points: PointsClient<Service>,
    pub embeddings: EmbeddingsClient<Service>,
}

impl Clients {
    /// Connects to `address.server` (TLS for https:// URLs, trusting
    /// `--tls-ca`), presenting the API key and client certificate if given.
    pub async fn connect(address: &ServerAddress) -> Result<Clients, ClientError> {
        let url = address.server.as_str();
        let key = address
            .api_key
            .as_deref()
            .map(|k| {
                k.parse()
                    .map_err(|_| ClientError::Usage("the API key must be printable ASCII".into()))
            })
            .transpose()?;
        let auth = ApiKeyInterceptor { key };
        let mut endpoint = Channel::from_shared(url.to_string())
            .map_err(|e| ClientError::Usage(format!("bad server URL {url}: {e}")))?;
        if url.starts_with("https://") {
            endpoint = endpoint
                .tls_config(client_tls(address)?)
                .map_err(|e| ClientError::Usage(format!("TLS: {e}")))?;
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|source| ClientError::Connect {
                url: url.to_string(),
                source,
            })?;
        Ok(Clients {
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
}

fn client_tls(address: &ServerAddress) -> Result<ClientTlsConfig, ClientError> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| ClientError::file(p, e));
    let ca = address.tls_ca.as_deref().ok_or_else(|| {
        ClientError::Usage(
            "https:// servers need --tls-ca (the CA that signed the server's certificate)".into(),
        )
    })?;
    let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?));
    if let (Some(cert), Some(key)) = (&address.tls_client_cert, &address.tls_client_key) {
        config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(config)
}

/// Image file extensions the server decodes.
pub const IMAGE_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "webp", "gif", "bmp"];

pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
