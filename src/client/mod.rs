//! Client subcommands (`import`, `search`, `demo-data`): they speak gRPC to a
//! running server, exactly like any SDK user would.

pub mod gallery;
pub mod import;
pub mod search;

use std::path::Path;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::proto::collections_client::CollectionsClient;
use crate::proto::embeddings_client::EmbeddingsClient;
use crate::proto::points_client::PointsClient;

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
    pub async fn connect(url: &str, api_key: Option<&str>) -> Result<Clients, ClientError> {
        let key = api_key
            .map(|k| {
                k.parse()
                    .map_err(|_| ClientError::Usage("the API key must be printable ASCII".into()))
            })
            .transpose()?;
        let auth = ApiKeyInterceptor { key };
        let channel = Channel::from_shared(url.to_string())
            .map_err(|e| ClientError::Usage(format!("bad server URL {url}: {e}")))?
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

/// Image file extensions the server decodes.
pub const IMAGE_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "webp", "gif", "bmp"];

pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
