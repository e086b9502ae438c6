//! API-key authentication, as a tower layer in front of every gRPC service.
//!
//! A request carries its key as `x-api-key: KEY` or `authorization: Bearer
//! KEY`. Read-write keys may call everything; read-only keys only the RPCs
//! that change nothing. Health checks need no key (load balancers probe
//! them). Keys are compared in constant time and never logged.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::Status;

/// The configured keys. Empty: authentication is off.
#[derive(Clone, Default)]
pub struct ApiKeys {
    read_write: Vec<Vec<u8>>,
    read_only: Vec<Vec<u8>>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the keys themselves.
        f.debug_struct("ApiKeys")
            .field("read_write", &self.read_write.len())
            .field("read_only", &self.read_only.len())
            .finish()
    }
}

/// RPCs a read-only key may call: they change no data.
const READ_ONLY_METHODS: [&str; 12] = [
    "/clipdb.v1.Collections/GetCollection",
    "/clipdb.v1.Collections/ListCollections",
    "/clipdb.v1.Collections/ListSnapshots",
    "/clipdb.v1.Points/Get",
    "/clipdb.v1.Points/Search",
    "/clipdb.v1.Points/SearchBatch",
    "/clipdb.v1.Points/Count",
    "/clipdb.v1.Points/Scroll",
    "/clipdb.v1.Points/Recommend",
    "/clipdb.v1.Cluster/GetCluster",
    "/clipdb.v1.Embeddings/EmbedText",
    "/clipdb.v1.Embeddings/EmbedImage",
];

/// Services anyone may call: health checking.
const OPEN_PREFIX: &str = "/grpc.health.v1.Health/";

/// Services a read-only key may call in full: reflection describes the API.
const READ_ONLY_PREFIX: &str = "/grpc.reflection.";

impl ApiKeys {
    pub fn new(read_write: Vec<String>, read_only: Vec<String>) -> ApiKeys {
        let bytes = |keys: Vec<String>| {
            keys.into_iter()
                .filter(|k| !k.is_empty())
                .map(String::into_bytes)
                .collect()
        };
        ApiKeys {
            read_write: bytes(read_write),
            read_only: bytes(read_only),
        }
    }

    pub fn is_enabled(&self) -> bool {
        !self.read_write.is_empty() || !self.read_only.is_empty()
    }

    /// The key cluster nodes present to each other: the first read-write
    /// one (every node of a cluster must accept it).
    pub fn node_key(&self) -> Option<String> {
        self.read_write
            .first()
            .map(|k| String::from_utf8_lossy(k).into_owned())
    }

    /// Whether a request for `path` with these headers may proceed.
    pub fn authorize(&self, path: &str, headers: &http::HeaderMap) -> Result<(), Status> {
        if !self.is_enabled() || path.starts_with(OPEN_PREFIX) {
            return Ok(());
        }
        let Some(key) = presented_key(headers) else {
            return Err(Status::unauthenticated(
                "missing API key: send it as `x-api-key: KEY` or `authorization: Bearer KEY`",
            ));
        };
        // Check every configured key so the time taken does not tell which
        // (or whether any) matched.
        let read_write = self
            .read_write
            .iter()
            .fold(false, |found, k| found | constant_time_eq(k, key));
        let read_only = self
            .read_only
            .iter()
            .fold(false, |found, k| found | constant_time_eq(k, key));
        if read_write {
            return Ok(());
        }
        if read_only {
            if READ_ONLY_METHODS.contains(&path) || path.starts_with(READ_ONLY_PREFIX) {
                return Ok(());
            }
            return Err(Status::permission_denied(format!(
                "this API key is read-only and cannot call {path}"
            )));
        }
        Err(Status::unauthenticated("invalid API key"))
    }
}

fn presented_key(headers: &http::HeaderMap) -> Option<&[u8]> {
    if let Some(v) = headers.get("x-api-key") {
        return Some(v.as_bytes());
    }
    let auth = headers.get(http::header::AUTHORIZATION)?.as_bytes();
    let prefix = b"bearer ";
    (auth.len() > prefix.len() && auth[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &auth[prefix.len()..])
}

/// Equality whose running time depends only on the lengths, not on where
/// the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// The tower layer applying [`ApiKeys`] to every request.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    keys: Arc<ApiKeys>,
}

impl AuthLayer {
    pub fn new(keys: ApiKeys) -> AuthLayer {
        AuthLayer {
            keys: Arc::new(keys),
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            keys: self.keys.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    keys: Arc<ApiKeys>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for AuthService<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        match self.keys.authorize(request.uri().path(), request.headers()) {
            Ok(()) => Box::pin(self.inner.call(request)),
            Err(status) => Box::pin(std::future::ready(Ok(status.into_http()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
        h
    }

    #[test]
    fn keys_and_roles() {
        let keys = ApiKeys::new(vec!["rw-key".into()], vec!["ro-key".into()]);
        let search = "/clipdb.v1.Points/Search";
        let upsert = "/clipdb.v1.Points/Upsert";
        assert!(keys
            .authorize(search, &headers("x-api-key", "rw-key"))
            .is_ok());
        assert!(keys
            .authorize(upsert, &headers("authorization", "Bearer rw-key"))
            .is_ok());
        assert!(keys
            .authorize(search, &headers("x-api-key", "ro-key"))
            .is_ok());
        let denied = keys
            .authorize(upsert, &headers("x-api-key", "ro-key"))
            .unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        let wrong = keys
            .authorize(search, &headers("x-api-key", "rw-kez"))
            .unwrap_err();
        assert_eq!(wrong.code(), tonic::Code::Unauthenticated);
        let prefix = keys
            .authorize(search, &headers("x-api-key", "rw-key-longer"))
            .unwrap_err();
        assert_eq!(prefix.code(), tonic::Code::Unauthenticated);
        let missing = keys.authorize(search, &http::HeaderMap::new()).unwrap_err();
        assert_eq!(missing.code(), tonic::Code::Unauthenticated);
        assert!(keys
            .authorize("/grpc.health.v1.Health/Check", &http::HeaderMap::new())
            .is_ok());
        // Snapshots: listing is a read, creating and deleting write files.
        let ro = headers("x-api-key", "ro-key");
        assert!(keys
            .authorize("/clipdb.v1.Collections/ListSnapshots", &ro)
            .is_ok());
        for write in ["CreateSnapshot", "DeleteSnapshot"] {
            let path = format!("/clipdb.v1.Collections/{write}");
            let denied = keys.authorize(&path, &ro).unwrap_err();
            assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{path}");
        }
        assert!(!format!("{keys:?}").contains("rw-key"));
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
        // Lengths differing by a multiple of 256 must still differ.
        assert!(!constant_time_eq(&[0u8; 256], b""));
    }
}
