//! Server assembly: the gRPC services, health, reflection, limits, and
//! graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::api::auth::{ApiKeys, AuthLayer};
use crate::api::http::Readiness;
use crate::api::Api;
use crate::embed::{
    bundled, BatchConfig, DeviceKind, EmbedError, EmbedQueue, Embedder, ImageLimits,
};
use crate::engine::{Database, DatabaseOptions, EngineError};
use crate::proto;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub listen: String,
    pub data_dir: PathBuf,
    pub max_message_bytes: usize,
    pub database: DatabaseOptions,
    /// The CLIP model to load; None serves raw vectors only.
    pub model: Option<ModelOptions>,
    /// How long in-flight requests may run on after a shutdown signal.
    pub shutdown_grace: std::time::Duration,
    /// API keys every request must present (none: open).
    pub api_keys: ApiKeys,
    /// Serve TLS instead of plaintext.
    pub tls: Option<TlsOptions>,
    /// Where to serve /metrics, /healthz and /readyz (None: not at all).
    pub http_listen: Option<String>,
    /// Record metrics (the server always does; false lets benchmarks
    /// measure their cost: no recorder is installed, so every `metrics`
    /// call is a no-op, and the RPC layer times nothing).
    pub record_metrics: bool,
    /// Cluster mode (`--nats`): join the cluster; None: a single server.
    pub cluster: Option<crate::cluster::ClusterOptions>,
}

/// The addresses the server bound (port 0 picks a free one).
#[derive(Debug, Clone, Copy)]
pub struct BoundAddrs {
    pub grpc: SocketAddr,
    pub http: Option<SocketAddr>,
}

/// PEM files for TLS.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// Server certificate chain.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// CA whose certificates clients must present (mutual TLS); None: no
    /// client certificates asked for.
    pub client_ca: Option<PathBuf>,
}

impl TlsOptions {
    fn server_config(&self) -> Result<tonic::transport::ServerTlsConfig, ServerError> {
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|e| ServerError::Tls(format!("{}: {e}", path.display())))
        };
        let identity = tonic::transport::Identity::from_pem(read(&self.cert)?, read(&self.key)?);
        let mut config = tonic::transport::ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &self.client_ca {
            config = config.client_ca_root(tonic::transport::Certificate::from_pem(read(ca)?));
        }
        Ok(config)
    }
}

/// Which CLIP model to load and how to run it.
#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// Folder path or hub id.
    pub spec: String,
    pub device: DeviceKind,
    pub limits: ImageLimits,
    pub batch: BatchConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot load the embedding model: {0}")]
    Model(#[from] EmbedError),
    #[error("cannot open the database: {0}")]
    Database(#[from] EngineError),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("cluster: {0}")]
    Cluster(#[from] crate::cluster::ClusterError),
}

/// tonic answers over-limit messages with OUT_OF_RANGE; the API promises
/// RESOURCE_EXHAUSTED, so rewrite that status on the way out.
fn oversized_to_resource_exhausted<B>(mut response: http::Response<B>) -> http::Response<B> {
    let headers = response.headers_mut();
    let is_oversized = headers.get("grpc-status").is_some_and(|s| s == "11")
        && headers
            .get("grpc-message")
            .and_then(|m| m.to_str().ok())
            .is_some_and(|m| m.contains("too%20large") || m.contains("too large"));
    if is_oversized {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
    response
}

/// Opens the database, binds, reports the bound addresses through
/// `on_bound`, and serves until `shutdown` resolves; in-flight requests
/// finish first. The operations listener (if any) starts first, so
/// `/healthz` answers and `/readyz` says why not while the model loads.
pub async fn serve(
    options: ServerOptions,
    on_bound: impl FnOnce(BoundAddrs),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let started = std::time::Instant::now();
    if options.record_metrics {
        crate::api::metrics::handle();
    }
    let readiness = Readiness::new();
    // The search page's way into the cluster, set once the node has joined.
    let web_cluster = options
        .cluster
        .as_ref()
        .map(|_| std::sync::Arc::new(std::sync::OnceLock::new()));
    let http = match &options.http_listen {
        None => None,
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: addr.clone(),
                    source,
                })?;
            let bound = listener.local_addr().map_err(|source| ServerError::Bind {
                addr: addr.clone(),
                source,
            })?;
            tracing::info!(addr = %bound, "operations endpoints (/metrics, /healthz, /readyz) and the search page (/) listening");
            let task = tokio::spawn(crate::api::http::serve(
                listener,
                readiness.clone(),
                options.api_keys.clone(),
                web_cluster.clone(),
            ));
            Some((bound, AbortOnDrop(task)))
        }
    };
    // Absolute, so that error messages can show clients paths relative to it
    // (api::status) and the log names files unambiguously.
    let mut options = options;
    options.data_dir =
        std::path::absolute(&options.data_dir).map_err(|source| ServerError::DataDir {
            path: options.data_dir.clone(),
            source,
        })?;
    let embedder = match options.model.clone() {
        Some(m) => Some(load_model(m, &options.data_dir).await?),
        None => {
            tracing::info!("no embedding model: serving raw vectors only (start with --model to embed text and images)");
            None
        }
    };
    let dir = options.data_dir.clone();
    let db_options = options.database.clone();
    let db = tokio::task::spawn_blocking(move || Database::open(&dir, db_options, embedder))
        .await
        .expect("database open task")?;
    db.start_compaction();
    tracing::info!(
        data_dir = %options.data_dir.display(),
        collections = db.list_collections().len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "database open"
    );
    let listener =
        TcpListener::bind(&options.listen)
            .await
            .map_err(|source| ServerError::Bind {
                addr: options.listen.clone(),
                source,
            })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: options.listen.clone(),
        source,
    })?;

    readiness.set_model(
        &db.model()
            .map(|m| m.model_id.clone())
            .unwrap_or_else(|| "none".into()),
    );
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<proto::collections_server::CollectionsServer<Api>>()
        .await;
    health_reporter
        .set_serving::<proto::points_server::PointsServer<Api>>()
        .await;
    health_reporter
        .set_serving::<proto::embeddings_server::EmbeddingsServer<Api>>()
        .await;
    // Both reflection versions: grpcurl and grpcui speak v1, but older
    // tools (Postman, Python's grpc_requests, older grpcurl) only v1alpha.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    // Cluster mode: joined after the listener is bound, so a node id is
    // claimed only by a process that holds its address.
    let cluster = match options.cluster.clone() {
        Some(mut c) => {
            // Nodes call each other's gRPC API as they serve it: TLS
            // (trusting --cluster-tls-ca, presenting their own certificate
            // where mutual TLS is required) and the first read-write key.
            let config = |m: &str| crate::cluster::ClusterError::Config(m.into());
            if let Some(tls) = &options.tls {
                let ca = c.tls_ca.clone().ok_or_else(|| {
                    config("--nats with --tls-cert needs --cluster-tls-ca: the PEM CA that signed the other nodes' certificates")
                })?;
                c.peer.tls_ca = Some(ca);
                c.peer.identity = tls
                    .client_ca
                    .is_some()
                    .then(|| (tls.cert.clone(), tls.key.clone()));
            } else if c.tls_ca.is_some() {
                return Err(config(
                    "--cluster-tls-ca is for nodes serving TLS: give --tls-cert and --tls-key too",
                )
                .into());
            }
            if options.api_keys.is_enabled() {
                c.peer.api_key = Some(options.api_keys.node_key().ok_or_else(|| {
                    config("--nats with API keys needs a read-write --api-key: nodes present the first one to each other")
                })?);
            }
            if c.advertise.is_empty() {
                if addr.ip().is_unspecified() {
                    return Err(crate::cluster::ClusterError::Config(format!(
                        "listening on {addr}: give --advertise HOST:PORT, where other nodes reach this one"
                    ))
                    .into());
                }
                c.advertise = addr.to_string();
            }
            Some(crate::cluster::ClusterNode::start(c, db.clone()).await?)
        }
        None => None,
    };
    let api = Api::new(db.clone());
    let max = options.max_message_bytes;
    let mut builder = Server::builder();
    if let Some(tls) = &options.tls {
        builder = builder
            .tls_config(tls.server_config()?)
            .map_err(|e| ServerError::Tls(e.to_string()))?;
    }
    let router = builder
        .layer(tower::util::MapResponseLayer::new(
            oversized_to_resource_exhausted,
        ))
        .layer(crate::api::metrics::MetricsLayer::new(
            options.record_metrics,
        ))
        .layer(AuthLayer::new(options.api_keys.clone()))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            proto::cluster_server::ClusterServer::new(crate::cluster::api::ClusterService::new(
                cluster.clone(),
            ))
            .max_decoding_message_size(max)
            .max_encoding_message_size(usize::MAX),
        );
    // A cluster node serves collections over the cluster's shards; a single
    // server its own database.
    let router = match &cluster {
        Some(node) => {
            let cluster_api = crate::cluster::api::ClusterApi::new(node.clone());
            if let Some(slot) = &web_cluster {
                let _ = slot.set(cluster_api.clone());
            }
            router
                .add_service(
                    proto::collections_server::CollectionsServer::new(cluster_api.clone())
                        .max_decoding_message_size(max)
                        .max_encoding_message_size(usize::MAX),
                )
                .add_service(
                    proto::points_server::PointsServer::new(cluster_api)
                        .max_decoding_message_size(max)
                        .max_encoding_message_size(usize::MAX),
                )
        }
        None => router
            .add_service(
                proto::collections_server::CollectionsServer::new(api.clone())
                    .max_decoding_message_size(max)
                    .max_encoding_message_size(usize::MAX),
            )
            .add_service(
                proto::points_server::PointsServer::new(api.clone())
                    .max_decoding_message_size(max)
                    .max_encoding_message_size(usize::MAX),
            ),
    };
    let router = router.add_service(
        proto::embeddings_server::EmbeddingsServer::new(api)
            .max_decoding_message_size(max)
            .max_encoding_message_size(usize::MAX),
    );
    tracing::info!(
        %addr,
        tls = options.tls.is_some(),
        mutual_tls = options.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
        api_keys = options.api_keys.is_enabled(),
        "clipdb listening"
    );
    // A cluster node is ready once its replicas have applied their shards'
    // logs as far as they reached when it joined: until then it serves
    // (other nodes' calls, reads it forwards) but probes say not ready, so a
    // rolling restart waits for it before taking down the next node.
    let catch_up = match &cluster {
        Some(node) => {
            readiness.set_database(db.clone());
            readiness.set_not_ready("catching up with the cluster's log");
            health_reporter
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
            let (node, ready, health, db) = (
                node.clone(),
                readiness.clone(),
                health_reporter.clone(),
                db.clone(),
            );
            Some(tokio::spawn(async move {
                let targets = node.catch_up_targets().await;
                while let Some(reason) = node.catching_up(&targets) {
                    ready.set_not_ready(&reason);
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                tracing::info!(
                    replicas = targets.len(),
                    "caught up with the cluster's log: ready"
                );
                ready.set_ready(db);
                health
                    .set_service_status("", tonic_health::ServingStatus::Serving)
                    .await;
            }))
        }
        None => {
            readiness.set_ready(db.clone());
            None
        }
    };
    on_bound(BoundAddrs {
        grpc: addr,
        http: http.as_ref().map(|(a, _)| *a),
    });
    // After the shutdown signal, in-flight requests get `shutdown_grace` to
    // finish; a client that keeps its connection open past that (HTTP/2
    // graceful close waits for the peer) must not hold the server up.
    // Acknowledged writes are durable already, so cutting them off is safe.
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let stopping = readiness.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutdown requested: finishing in-flight requests");
        if let Some(task) = catch_up {
            task.abort(); // so it cannot report ready again
        }
        // Probes see it at once, over HTTP and over gRPC health alike.
        stopping.set_not_ready("shutting down");
        health_reporter
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        for service in [
            "clipdb.v1.Collections",
            "clipdb.v1.Points",
            "clipdb.v1.Embeddings",
        ] {
            health_reporter
                .set_service_status(service, tonic_health::ServingStatus::NotServing)
                .await;
        }
        let _ = signalled_tx.send(());
    };
    let grace = options.shutdown_grace;
    // Cluster nodes answer each other several calls at once on one
    // connection: without TCP_NODELAY the later small responses wait for
    // the peer's delayed ACK (40 ms on Linux).
    let nodelay = cluster.is_some();
    let incoming = tokio_stream::StreamExt::map(TcpListenerStream::new(listener), move |s| {
        if let Ok(stream) = &s {
            if nodelay {
                let _ = stream.set_nodelay(true);
            }
        }
        s
    });
    let serving = router.serve_with_incoming_shutdown(incoming, shutdown);
    tokio::select! {
        served = serving => served?,
        _ = async {
            if signalled_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "connections still open after the shutdown grace period; closing them");
        }
    }
    tracing::info!("shutting down: flushing data");
    // The next start then loads growing graphs instead of rebuilding them.
    let started = std::time::Instant::now();
    match db.checkpoint_graphs(1) {
        Ok(points) => tracing::info!(
            points,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "checkpointed growing graphs"
        ),
        Err(e) => {
            tracing::error!(error = %e, "graph checkpoint failed; the next start rebuilds those graphs")
        }
    }
    db.flush()?;
    Ok(())
}

/// Loads the model off the runtime's threads and starts its batching queue.
/// `--model demo` is unpacked from the binary into `<data_dir>/models/` first.
async fn load_model(
    m: ModelOptions,
    data_dir: &std::path::Path,
) -> Result<EmbedQueue, ServerError> {
    let spec = m.spec.clone();
    let models_dir = data_dir.join("models");
    let embedder = tokio::task::spawn_blocking(move || {
        if spec == bundled::DEMO_MODEL {
            let dir = bundled::unpack_demo_model(&models_dir)?;
            let mut e = Embedder::load(&dir.to_string_lossy(), m.device, m.limits)?;
            e.set_model_id(bundled::DEMO_MODEL_ID);
            Ok(e)
        } else {
            Embedder::load(&spec, m.device, m.limits)
        }
    })
    .await
    .expect("model load task")?;
    let info = embedder.info();
    if info.model_id == bundled::DEMO_MODEL_ID {
        tracing::info!(
            "serving the bundled demo CLIP: a small model trained by clipdb on synthetic \
             shapes (circles, squares, stars... in ten colours), for trying clipdb offline. \
             For real photos serve a real CLIP: --model openai/clip-vit-base-patch32 or \
             --model /path/to/hf-clip-folder"
        );
    }
    tracing::info!(
        model = %info.model_id,
        dimension = info.dimension,
        parameters = info.parameters,
        device = %info.device,
        load_ms = info.load_time.as_millis() as u64,
        fingerprint = %info.fingerprint,
        image_size = info.image_size,
        context_length = info.context_length,
        "embedding model loaded"
    );
    Ok(EmbedQueue::new(std::sync::Arc::new(embedder), m.batch))
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled (only once the server
/// listens): a signal that arrives while the model loads or collections
/// open is then a graceful stop once serving starts, not a kill by the
/// default action. Call it inside the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).expect("SIGINT handler");
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = term.recv() => {},
            }
            tracing::info!("shutdown signal received");
        }
    }
    #[cfg(not(unix))]
    async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received");
    }
}

/// Aborts a task when dropped: the operations listener ends with `serve`.
struct AbortOnDrop(tokio::task::JoinHandle<std::io::Result<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
