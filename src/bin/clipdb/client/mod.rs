//! Client subcommands (`import`, `search`, `loadgen`): they speak gRPC to a
//! running server, exactly like any SDK user would.

pub mod cluster;
pub mod demo_data;
pub mod gallery;
pub mod import;
pub mod loadgen;
pub mod search;

use std::path::Path;

use crate::config::ServerAddress;

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

/// The gRPC clients of one connection: the Rust SDK's client.
pub type Clients = clipdb_client::Client;

/// Connects to `address.server` (TLS for https:// URLs, trusting
/// `--tls-ca`), presenting the API key and client certificate if given.
pub async fn connect(address: &ServerAddress) -> Result<Clients, ClientError> {
    let options = clipdb_client::ClientOptions {
        url: address.server.clone(),
        api_key: address.api_key.clone(),
        tls_ca: address.tls_ca.clone(),
        tls_client_cert: address.tls_client_cert.clone(),
        tls_client_key: address.tls_client_key.clone(),
    };
    if options.url.starts_with("https://") && options.tls_ca.is_none() {
        return Err(ClientError::Usage(
            "https:// servers need --tls-ca (the CA that signed the server's certificate)".into(),
        ));
    }
    clipdb_client::Client::connect(options)
        .await
        .map_err(|e| match e {
            clipdb_client::ClipdbError::Connect { url, source } => {
                ClientError::Connect { url, source }
            }
            other => ClientError::Usage(other.to_string()),
        })
}

/// Image file extensions the server decodes.
pub const IMAGE_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "webp", "gif", "bmp"];

pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
