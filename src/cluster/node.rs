//! A cluster node: joins the cluster (refusing a node id that is live
//! elsewhere), heartbeats, keeps its view of the metadata current through a
//! watch of the bucket, runs the local replicas the placement gives it, and
//! routes writes (to the shards' logs) and reads (to one live replica per
//! shard, merged).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;
use parking_lot::{Mutex, RwLock};
use tonic::transport::Channel;
use tonic::Status;

use super::log;
use super::meta::*;
use super::replica::{recorded_applied, LocalReplica};
use super::snapshot::{SnapshotPolicy, SnapshotStore};
use crate::engine::{Database, ReplicatedOp};
use crate::proto;
use crate::proto::cluster_client::ClusterClient;

/// How long a write waits for the live replicas of its shards to apply it.
const APPLY_WAIT: Duration = Duration::from_secs(15);

/// When a write is acknowledged (the request header `clipdb-write-ack`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteAck {
    /// Every live replica of the touched shards has applied it.
    #[default]
    AllLiveReplicas,
    /// One replica of each touched shard has applied it.
    OneReplica,
    /// The shards' logs hold it durably; replicas apply it later.
    LogOnly,
}

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// NATS server URLs (any of the cluster's; the client learns the rest).
    pub nats_urls: Vec<String>,
    /// This node's id, unique among live nodes.
    pub node_id: String,
    /// HOST:PORT where other nodes reach this node's gRPC API.
    pub advertise: String,
    /// PEM CA that signed the other nodes' certificates (--cluster-tls-ca;
    /// needed when the nodes serve TLS).
    pub tls_ca: Option<std::path::PathBuf>,
    /// How this node calls the others; set by the server from its own TLS
    /// and API key options.
    pub peer: PeerOptions,
    /// TLS to NATS: the PEM CA that signed the NATS servers' certificates
    /// (--nats-tls-ca; the connection then requires TLS).
    pub nats_tls_ca: Option<std::path::PathBuf>,
    /// The client certificate and key to present to NATS servers that
    /// verify clients (--nats-tls-cert, --nats-tls-key).
    pub nats_tls_identity: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// When shard snapshots are taken (`snapshot.rs`).
    pub snapshots: SnapshotPolicy,
}

/// How a node calls the other nodes' gRPC APIs: as they serve it.
#[derive(Debug, Clone, Default)]
pub struct PeerOptions {
    /// TLS, trusting this CA; None: plaintext.
    pub tls_ca: Option<std::path::PathBuf>,
    /// The client certificate and key to present (nodes requiring mutual
    /// TLS): the node's own certificate.
    pub identity: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// The API key to present (nodes requiring one).
    pub api_key: Option<String>,
}

/// Adds the cluster's API key to every node-to-node call.
#[derive(Clone)]
pub(crate) struct PeerKey(Option<tonic::metadata::AsciiMetadataValue>);

impl tonic::service::Interceptor for PeerKey {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(key) = &self.0 {
            request.metadata_mut().insert("x-api-key", key.clone());
        }
        Ok(request)
    }
}

/// A client of another node's Cluster service.
pub(crate) type PeerClient =
    ClusterClient<tonic::service::interceptor::InterceptedService<Channel, PeerKey>>;

/// The TLS settings and API key of node-to-node calls, read and checked.
fn peer_settings(
    peer: &PeerOptions,
) -> Result<(Option<tonic::transport::ClientTlsConfig>, PeerKey), ClusterError> {
    let read = |path: &std::path::PathBuf| {
        std::fs::read(path).map_err(|e| ClusterError::Config(format!("{}: {e}", path.display())))
    };
    let tls = match &peer.tls_ca {
        None => None,
        Some(ca) => {
            let mut tls = tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(read(ca)?));
            if let Some((cert, key)) = &peer.identity {
                tls = tls.identity(tonic::transport::Identity::from_pem(
                    read(cert)?,
                    read(key)?,
                ));
            }
            Some(tls)
        }
    };
    let key = match &peer.api_key {
        None => None,
        Some(k) => Some(k.parse().map_err(|_| {
            ClusterError::Config("the API key nodes present to each other is not ASCII".into())
        })?),
    };
    Ok((tls, PeerKey(key)))
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{0}")]
    Config(String),
    #[error("cannot connect to NATS at {urls}: {reason}")]
    Connect { urls: String, reason: String },
    #[error("NATS JetStream: {0}")]
    JetStream(String),
    #[error("node id `{id}` is already live at {address} (last heartbeat {age_ms} ms ago); give this node another --node-id, or stop the other one and wait {liveness_ms} ms")]
    NodeIdLive {
        id: String,
        address: String,
        age_ms: u64,
        liveness_ms: u64,
    },
}

/// Runs `op` until it succeeds, every 500 ms for up to 30 s, while NATS
/// JetStream comes up: with nodes and NATS servers starting together, a
/// bucket answers once its stream's servers have elected a leader. A node id
/// that is already live ends it at once.
async fn while_jetstream_starts<T, F, Fut>(what: &str, mut op: F) -> Result<T, ClusterError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClusterError>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(e @ ClusterError::NodeIdLive { .. }) => return Err(e),
            Err(e) if attempt >= 60 => return Err(e),
            Err(e) => {
                attempt += 1;
                tracing::info!(error = %e, "waiting for {what}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
/// Opens a JetStream bucket with `get`, or creates it with `create` if no
/// node did yet; if another node created it first (so ours failed), opens
/// that one. The error reported is the create's.
pub(super) async fn open_or_create<T, GetError, CreateError, Get, GetFut, Create, CreateFut>(
    get: Get,
    create: Create,
) -> Result<T, CreateError>
where
    Get: Fn() -> GetFut,
    GetFut: std::future::Future<Output = Result<T, GetError>>,
    Create: FnOnce() -> CreateFut,
    CreateFut: std::future::Future<Output = Result<T, CreateError>>,
{
    if let Ok(bucket) = get().await {
        return Ok(bucket);
    }
    match create().await {
        Ok(bucket) => Ok(bucket),
        Err(e) => get().await.map_err(|_| e),
    }
}

fn js_err(e: impl std::fmt::Display) -> ClusterError {
    ClusterError::JetStream(e.to_string())
}

pub struct ClusterNode {
    pub(crate) options: ClusterOptions,
    pub(crate) db: Arc<Database>,
    pub(crate) js: jetstream::Context,
    pub(crate) kv: kv::Store,
    /// The shards' snapshots (object store) and where restores download.
    pub(crate) snapshots: SnapshotStore,
    pub(crate) snapshot_policy: SnapshotPolicy,
    /// Held while this node takes and uploads a snapshot of a replica (the
    /// periodic uploader clears leftover snapshot files first).
    pub(crate) snapshot_upload: tokio::sync::Mutex<()>,
    /// Copies of each stream (and of the bucket): min(3, NATS servers).
    stream_replicas: usize,
    /// Largest message the NATS servers take.
    max_payload: usize,
    view: RwLock<View>,
    /// (collection uid, shard) -> this node's replica.
    replicas: Mutex<HashMap<(String, u32), Arc<LocalReplica>>>,
    clients: Mutex<HashMap<String, PeerClient>>,
    /// TLS of node-to-node calls (None: plaintext) and the key they carry.
    peer_tls: Option<tonic::transport::ClientTlsConfig>,
    peer_key: PeerKey,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
    }
}

impl ClusterNode {
    /// Connects, creates the bucket if needed, registers this node (refused
    /// while its id is live at another address), and starts heartbeats, the
    /// metadata watch and the replica reconciler.
    pub async fn start(
        options: ClusterOptions,
        db: Arc<Database>,
    ) -> Result<Arc<ClusterNode>, ClusterError> {
        validate_node_id(&options.node_id).map_err(ClusterError::Config)?;
        let (peer_tls, peer_key) = peer_settings(&options.peer)?;
        let urls = options.nats_urls.join(",");
        let addrs = options
            .nats_urls
            .iter()
            .map(|u| u.parse::<async_nats::ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ClusterError::Config(format!("--nats {urls}: {e}")))?;
        let mut connect = async_nats::ConnectOptions::new()
            .name(format!("clipdb-{}", options.node_id))
            .connection_timeout(Duration::from_secs(5));
        for path in options
            .nats_tls_ca
            .iter()
            .chain(options.nats_tls_identity.iter().flat_map(|(c, k)| [c, k]))
        {
            // Named here: the client's own error would not say which file.
            if let Err(e) = std::fs::metadata(path) {
                return Err(ClusterError::Config(format!(
                    "NATS TLS file {}: {e}",
                    path.display()
                )));
            }
        }
        if let Some(ca) = &options.nats_tls_ca {
            connect = connect.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let Some((cert, key)) = &options.nats_tls_identity {
            connect = connect
                .add_client_certificate(cert.clone(), key.clone())
                .require_tls(true);
        }
        let client = connect
            .connect(addrs)
            .await
            .map_err(|e| ClusterError::Connect {
                urls: urls.clone(),
                reason: e.to_string(),
            })?;
        let info = client.server_info();
        let servers = info.connect_urls.len().max(options.nats_urls.len()).max(1);
        let stream_replicas = servers.min(3);
        let max_payload = info.max_payload.max(64 << 10);
        let js = jetstream::new(client);
        let kv = while_jetstream_starts("NATS JetStream", || async {
            open_or_create(
                || js.get_key_value(BUCKET),
                || {
                    js.create_key_value(kv::Config {
                        bucket: BUCKET.into(),
                        history: 1,
                        num_replicas: stream_replicas,
                        storage: jetstream::stream::StorageType::File,
                        ..Default::default()
                    })
                },
            )
            .await
            .map_err(js_err)
        })
        .await?;
        let snapshots = while_jetstream_starts("the snapshot object store", || async {
            SnapshotStore::open(&js, kv.clone(), stream_replicas, db.dir())
                .await
                .map_err(js_err)
        })
        .await?;
        let node = Arc::new(ClusterNode {
            snapshot_policy: options.snapshots,
            snapshot_upload: tokio::sync::Mutex::new(()),
            options,
            db,
            js,
            kv,
            snapshots,
            stream_replicas,
            max_payload,
            view: RwLock::new(View::default()),
            replicas: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
            peer_tls,
            peer_key,
            tasks: Mutex::new(Vec::new()),
        });
        while_jetstream_starts("the metadata bucket", || node.register()).await?;
        let weak = Arc::downgrade(&node);
        let heartbeat = tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                let Some(node) = weak.upgrade() else { break };
                if let Err(e) = node.heartbeat().await {
                    tracing::warn!(error = %e, "heartbeat failed");
                }
            }
        });
        let weak = Arc::downgrade(&node);
        let watch = tokio::spawn(async move { watch_loop(weak).await });
        let weak = Arc::downgrade(&node);
        let reconcile = tokio::spawn(async move {
            let mut rounds = 0u64;
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let Some(node) = weak.upgrade() else { break };
                node.reconcile().await;
                node.report_applied().await;
                rounds += 1;
                // The gauges each second (asking JetStream for every
                // shard's last sequence costs a round trip per shard).
                if rounds % 5 == 1 {
                    node.record_metrics().await;
                }
            }
        });
        let weak = Arc::downgrade(&node);
        let snapshots = tokio::spawn(super::snapshot::snapshot_loop(weak));
        node.tasks
            .lock()
            .extend([heartbeat, watch, reconcile, snapshots]);
        // The view holds what the bucket held (so reads and placement see
        // the cluster) before this node serves.
        for _ in 0..100 {
            if node.view.read().loaded {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node.reconcile().await;
        tracing::info!(node = %node.options.node_id, advertise = %node.options.advertise, nats = %urls, stream_replicas, "joined the cluster");
        Ok(node)
    }

    pub fn node_id(&self) -> &str {
        &self.options.node_id
    }

    fn node_key(&self) -> String {
        format!("nodes.{}", self.options.node_id)
    }

    fn record(&self) -> bytes::Bytes {
        serde_json::to_vec(&NodeRecord {
            address: self.options.advertise.clone(),
            heartbeat_ms: now_ms(),
        })
        .expect("node record encodes")
        .into()
    }

    async fn register(&self) -> Result<(), ClusterError> {
        let key = self.node_key();
        let entry = self.kv.entry(&key).await.map_err(js_err)?;
        let live_elsewhere = |record: &NodeRecord| {
            record.is_live(now_ms()) && record.address != self.options.advertise
        };
        let written = match entry {
            Some(e) if e.operation == kv::Operation::Put => {
                if let Ok(record) = serde_json::from_slice::<NodeRecord>(&e.value) {
                    if live_elsewhere(&record) {
                        return Err(ClusterError::NodeIdLive {
                            id: self.options.node_id.clone(),
                            age_ms: record.age(now_ms()).as_millis() as u64,
                            address: record.address,
                            liveness_ms: LIVENESS.as_millis() as u64,
                        });
                    }
                }
                // Compare-and-set: a node registering the same id at the same
                // moment makes one of the two fail.
                self.kv
                    .update(&key, self.record(), e.revision)
                    .await
                    .map(|_| ())
            }
            _ => self
                .kv
                .create(&key, self.record())
                .await
                .map(|_| ())
                .map_err(|e| {
                    async_nats::jetstream::kv::UpdateError::with_source(
                        async_nats::jetstream::kv::UpdateErrorKind::Other,
                        e,
                    )
                }),
        };
        written.map_err(|e| {
            ClusterError::Config(format!(
                "node id `{}` was registered by another process at the same time: {e}",
                self.options.node_id
            ))
        })
    }

    async fn heartbeat(&self) -> Result<(), ClusterError> {
        self.kv
            .put(self.node_key(), self.record())
            .await
            .map_err(js_err)?;
        Ok(())
    }

    pub(crate) fn view(&self) -> View {
        self.view.read().clone()
    }

    pub(crate) fn collection(&self, name: &str) -> Result<ClusterCollection, Status> {
        crate::engine::validate_collection_name(name)
            .map_err(|e| crate::api::status::to_status(e, self.db.dir()))?;
        self.view
            .read()
            .collections
            .get(name)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("collection `{name}` not found")))
    }

    pub(crate) fn local_replica(&self, uid: &str, shard: u32) -> Option<Arc<LocalReplica>> {
        self.replicas.lock().get(&(uid.to_string(), shard)).cloned()
    }

    /// Starts the replicas the placement gives this node and stops (and
    /// deletes) those it no longer does.
    async fn reconcile(&self) {
        let view = self.view();
        if !view.loaded {
            return;
        }
        let me = &self.options.node_id;
        let mut wanted: HashMap<(String, u32), (ClusterCollection, u32)> = HashMap::new();
        for c in view.collections.values() {
            for (shard, nodes) in c.placement.iter().enumerate() {
                if nodes.iter().any(|n| n == me) {
                    wanted.insert((c.uid.clone(), shard as u32), (c.clone(), shard as u32));
                }
            }
        }
        for (key, (c, shard)) in &wanted {
            if self.replicas.lock().contains_key(key) {
                continue;
            }
            let local = c.local_name(*shard);
            if self.db.collection(&local).is_err() {
                let mut config = c.config.clone();
                config.name = local.clone();
                let db = self.db.clone();
                let created =
                    tokio::task::spawn_blocking(move || db.create_collection_with_config(config))
                        .await;
                match created {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(collection = %c.config.name, shard, error = %e, "cannot create the local replica");
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "replica creation task failed");
                        continue;
                    }
                }
            }
            let applied = recorded_applied(&self.db, &local);
            tracing::info!(collection = %c.config.name, shard, applied, "starting local replica");
            let replica = LocalReplica::start(
                self.db.clone(),
                self.js.clone(),
                self.snapshots.clone(),
                key.clone(),
                c.stream(*shard),
                local,
                applied,
            );
            self.replicas.lock().insert(key.clone(), replica);
            // Reported at once: the bucket may still hold what this node
            // reported before it lost its disk (or before a restore), and
            // readers must not route to it by that.
            let report = AppliedReport {
                applied,
                restoring: false,
            };
            let report_key = format!("applied.{}.{shard}.{}", c.uid, self.options.node_id);
            let value = serde_json::to_vec(&report).expect("encodes");
            if let Err(e) = self.kv.put(report_key, value.into()).await {
                tracing::warn!(error = %e, "cannot report the applied sequence");
            }
        }
        // Replicas of collections deleted (or moved away), including ones
        // deleted while this node was down: local collections named like a
        // replica (r<uid>s<shard>) that no placement wants.
        let stale: Vec<(String, u32)> = self
            .replicas
            .lock()
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for key in stale {
            if let Some(r) = self.replicas.lock().remove(&key) {
                r.stop();
            }
        }
        let wanted_names: std::collections::HashSet<String> =
            wanted.values().map(|(c, s)| c.local_name(*s)).collect();
        for info in self.db.list_collections() {
            let name = &info.config.name;
            if is_replica_name(name) && !wanted_names.contains(name) {
                tracing::info!(local = %name, "dropping a replica no collection places here");
                let db = self.db.clone();
                let name = name.clone();
                let _ = tokio::task::spawn_blocking(move || db.drop_collection(&name)).await;
            }
        }
    }

    /// Puts each local replica's applied sequence into the bucket when it
    /// changed (lag in GetCluster, read routing on other nodes).
    async fn report_applied(&self) {
        let replicas: Vec<((String, u32), Arc<LocalReplica>)> = self
            .replicas
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for ((uid, shard), r) in replicas {
            let report = AppliedReport {
                applied: r.applied(),
                restoring: r.is_restoring(),
            };
            let reported = self
                .view
                .read()
                .reported(&uid, shard, &self.options.node_id);
            if reported == Some(report) {
                continue;
            }
            let key = format!("applied.{uid}.{shard}.{}", self.options.node_id);
            let value = serde_json::to_vec(&report).expect("encodes");
            if let Err(e) = self.kv.put(key, value.into()).await {
                tracing::warn!(error = %e, "cannot report the applied sequence");
            }
        }
    }

    /// Where each replica this node holds must get to before the node is
    /// ready: its shard's last log sequence now, per (collection name,
    /// collection uid, shard).
    pub async fn catch_up_targets(&self) -> Vec<(String, String, u32, u64)> {
        let view = self.view();
        let held: Vec<(String, u32)> = self.replicas.lock().keys().cloned().collect();
        let mut out = Vec::new();
        for c in view.collections.values() {
            let shards: Vec<u32> = held
                .iter()
                .filter(|(uid, _)| *uid == c.uid)
                .map(|(_, s)| *s)
                .collect();
            if shards.is_empty() {
                continue;
            }
            let lasts = self.last_sequences(c).await;
            for shard in shards {
                if let Some(Some(last)) = lasts.get(shard as usize) {
                    out.push((c.config.name.clone(), c.uid.clone(), shard, *last));
                }
            }
        }
        out
    }

    /// The first replica still short of its target (see
    /// [`ClusterNode::catch_up_targets`]), as a reason for /readyz; None
    /// once every one has applied its log that far.
    pub fn catching_up(&self, targets: &[(String, String, u32, u64)]) -> Option<String> {
        let replicas = self.replicas.lock();
        targets.iter().find_map(|(name, uid, shard, target)| {
            let applied = replicas.get(&(uid.clone(), *shard))?.applied();
            (applied < *target).then(|| {
                format!(
                    "catching up: collection {name} shard {shard} applied {applied} of {target}"
                )
            })
        })
    }

    /// The cluster gauges of /metrics: nodes by liveness as this node sees
    /// them, and for each replica this node holds its applied log sequence
    /// and how far it is behind its shard's log.
    async fn record_metrics(&self) {
        let view = self.view();
        let now = now_ms();
        let live = view.nodes.values().filter(|n| n.is_live(now)).count();
        metrics::gauge!("clipdb_cluster_nodes", "state" => "live").set(live as f64);
        metrics::gauge!("clipdb_cluster_nodes", "state" => "down")
            .set((view.nodes.len() - live) as f64);
        let replicas: Vec<((String, u32), Arc<LocalReplica>)> = self
            .replicas
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for c in view.collections.values() {
            let mine: Vec<(u32, u64)> = replicas
                .iter()
                .filter(|((uid, _), _)| *uid == c.uid)
                .map(|((_, shard), r)| (*shard, r.applied()))
                .collect();
            if mine.is_empty() {
                continue;
            }
            let lasts = self.last_sequences(c).await;
            let name = c.config.name.clone();
            for (shard, applied) in mine {
                let labels = [("collection", name.clone()), ("shard", shard.to_string())];
                metrics::gauge!("clipdb_replica_applied_sequence", &labels).set(applied as f64);
                if let Some(s) = view.snapshots.get(&(c.uid.clone(), shard)) {
                    metrics::gauge!("clipdb_shard_snapshot_sequence", &labels)
                        .set(s.sequence as f64);
                }
                if let Some(Some(last)) = lasts.get(shard as usize) {
                    metrics::gauge!("clipdb_replica_lag", &labels)
                        .set(last.saturating_sub(applied) as f64);
                }
            }
        }
    }

    fn client(&self, address: &str) -> Result<PeerClient, Status> {
        if let Some(c) = self.clients.lock().get(address) {
            return Ok(c.clone());
        }
        let scheme = if self.peer_tls.is_some() {
            "https"
        } else {
            "http"
        };
        let mut endpoint = Channel::from_shared(format!("{scheme}://{address}"))
            .map_err(|e| Status::internal(format!("node address {address}: {e}")))?;
        if let Some(tls) = &self.peer_tls {
            endpoint = endpoint
                .tls_config(tls.clone())
                .map_err(|e| Status::internal(format!("TLS to node {address}: {e}")))?;
        }
        let channel = endpoint
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        let client = ClusterClient::with_interceptor(channel, self.peer_key.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        self.clients
            .lock()
            .insert(address.to_string(), client.clone());
        Ok(client)
    }

    pub(crate) fn client_for(&self, node: &str) -> Result<PeerClient, Status> {
        let address = self
            .view
            .read()
            .nodes
            .get(node)
            .map(|n| n.address.clone())
            .ok_or_else(|| Status::unavailable(format!("node `{node}` is unknown")))?;
        self.client(&address)
    }

    // ---- create and drop -------------------------------------------------

    pub(crate) async fn create_collection(
        &self,
        config: crate::engine::CollectionConfig,
        shards: u32,
        replication_factor: u32,
    ) -> Result<ClusterCollection, Status> {
        let shards = if shards == 0 { 1 } else { shards };
        let replication_factor = if replication_factor == 0 {
            1
        } else {
            replication_factor
        };
        if shards > MAX_SHARDS {
            return Err(crate::api::status::invalid(
                "shards",
                format!("{shards} is outside 1..={MAX_SHARDS}"),
            ));
        }
        let view = self.view();
        let now = now_ms();
        let live: Vec<String> = view
            .nodes
            .iter()
            .filter(|(_, n)| n.is_live(now))
            .map(|(id, _)| id.clone())
            .collect();
        if replication_factor > MAX_REPLICATION_FACTOR || replication_factor as usize > live.len() {
            return Err(crate::api::status::invalid(
                "replication_factor",
                format!(
                    "{replication_factor} is outside 1..={} ({} live nodes: {}; at most {MAX_REPLICATION_FACTOR})",
                    (live.len() as u32).min(MAX_REPLICATION_FACTOR),
                    live.len(),
                    live.join(", ")
                ),
            ));
        }
        if view.collections.contains_key(&config.name) {
            return Err(Status::already_exists(format!(
                "collection `{}` already exists",
                config.name
            )));
        }
        let mut load: BTreeMap<String, usize> = live.iter().map(|n| (n.clone(), 0)).collect();
        for c in view.collections.values() {
            for nodes in &c.placement {
                for n in nodes {
                    if let Some(l) = load.get_mut(n) {
                        *l += 1;
                    }
                }
            }
        }
        let load: Vec<(String, usize)> = load.into_iter().collect();
        let placement = place(&load, shards, replication_factor);
        let model = match config.vectorizer {
            crate::engine::Vectorizer::Clip => {
                self.db.model().map(|m| crate::engine::ModelRecord {
                    id: m.model_id.clone(),
                    fingerprint: m.fingerprint.clone(),
                })
            }
            crate::engine::Vectorizer::None => None,
        };
        let collection = ClusterCollection {
            uid: format!("{:016x}", random_u64()),
            config,
            shards,
            replication_factor,
            placement,
            model,
            payload_indexes: Vec::new(),
        };
        for shard in 0..shards {
            self.js
                .create_stream(jetstream::stream::Config {
                    name: collection.stream(shard),
                    subjects: vec![collection.subject(shard)],
                    num_replicas: self.stream_replicas,
                    storage: jetstream::stream::StorageType::File,
                    duplicate_window: Duration::from_secs(120),
                    ..Default::default()
                })
                .await
                .map_err(|e| {
                    Status::unavailable(format!("creating the log of shard {shard}: {e}"))
                })?;
        }
        let value = serde_json::to_vec(&collection).expect("collection encodes");
        if let Err(e) = self
            .kv
            .create(
                format!("collections.{}", collection.config.name),
                value.into(),
            )
            .await
        {
            self.delete_streams(&collection).await;
            return Err(match e.kind() {
                kv::CreateErrorKind::AlreadyExists => Status::already_exists(format!(
                    "collection `{}` already exists",
                    collection.config.name
                )),
                _ => Status::unavailable(format!("recording the collection: {e}")),
            });
        }
        // Answer once every replica exists, so that writes right after find
        // them.
        self.wait_view(|v| {
            v.collections.get(&collection.config.name).map(|c| &c.uid) == Some(&collection.uid)
        })
        .await;
        for shard in 0..shards {
            self.wait_shard_applied(&collection, shard, 0, false)
                .await?;
        }
        Ok(collection)
    }

    pub(crate) async fn drop_collection(&self, name: &str) -> Result<(), Status> {
        let key = format!("collections.{name}");
        let entry = self
            .kv
            .entry(&key)
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
            return Err(Status::not_found(format!("collection `{name}` not found")));
        };
        let collection: ClusterCollection = serde_json::from_slice(&entry.value)
            .map_err(|e| Status::internal(format!("collection record: {e}")))?;
        self.kv
            .delete_expect_revision(&key, Some(entry.revision))
            .await
            .map_err(|e| Status::aborted(format!("collection `{name}` changed meanwhile: {e}")))?;
        self.delete_streams(&collection).await;
        self.wait_view(|v| !v.collections.contains_key(name)).await;
        Ok(())
    }

    /// Moves the replica of `shard` on `from` to `to`: adds `to` to the
    /// placement, waits until its new replica has applied the log as far as
    /// it reached when the move began, then removes `from` (whose node
    /// drops its copy). Both placement changes are compare-and-set.
    pub(crate) async fn move_replica(
        &self,
        name: &str,
        shard: u32,
        from: &str,
        to: &str,
        timeout: Duration,
    ) -> Result<ClusterCollection, Status> {
        let c = self.collection(name)?;
        if shard >= c.shards {
            return Err(crate::api::status::invalid(
                "shard",
                format!("{shard} is outside 0..{} of `{name}`", c.shards),
            ));
        }
        let view = self.view();
        let known: Vec<&str> = view.nodes.keys().map(String::as_str).collect();
        for (field, node) in [("from_node", from), ("to_node", to)] {
            if !view.nodes.contains_key(node) {
                return Err(crate::api::status::invalid(
                    field,
                    format!(
                        "node `{node}` is unknown (known nodes: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
        if from == to {
            return Err(crate::api::status::invalid(
                "to_node",
                "is the same node as from_node",
            ));
        }
        let placed = &c.placement[shard as usize];
        if !placed.iter().any(|n| n == from) {
            return Err(crate::api::status::invalid(
                "from_node",
                format!(
                    "node `{from}` holds no replica of shard {shard} of `{name}` (its replicas: {})",
                    placed.join(", ")
                ),
            ));
        }
        if !view.is_live(to, now_ms()) {
            return Err(Status::failed_precondition(format!(
                "to_node: node `{to}` is down"
            )));
        }
        // Phase 1 (skipped when an earlier, timed-out move added it).
        if !placed.iter().any(|n| n == to) {
            self.update_collection(name, |c| {
                let nodes = &mut c.placement[shard as usize];
                if !nodes.iter().any(|n| n == to) {
                    nodes.push(to.to_string());
                }
            })
            .await?;
        }
        let target = self.last_sequences(&c).await[shard as usize].unwrap_or(0);
        let deadline = tokio::time::Instant::now() + timeout;
        let c = self.collection(name)?;
        self.wait_node_applied(&c, shard, to, target, deadline)
            .await?;
        // Phase 2.
        let moved = self
            .update_collection(name, |c| {
                c.placement[shard as usize].retain(|n| n != from);
            })
            .await?;
        self.wait_view(|v| {
            v.collections
                .get(name)
                .is_some_and(|c| !c.placement[shard as usize].iter().any(|n| n == from))
        })
        .await;
        Ok(moved)
    }

    /// Changes a collection's record with compare-and-set on its revision,
    /// retrying when another node changed it in between.
    pub(crate) async fn update_collection(
        &self,
        name: &str,
        change: impl Fn(&mut ClusterCollection),
    ) -> Result<ClusterCollection, Status> {
        let key = format!("collections.{name}");
        for _ in 0..10 {
            let entry = self
                .kv
                .entry(&key)
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?
                .filter(|e| e.operation == kv::Operation::Put)
                .ok_or_else(|| Status::not_found(format!("collection `{name}` not found")))?;
            let mut c: ClusterCollection = serde_json::from_slice(&entry.value)
                .map_err(|e| Status::internal(format!("collection record: {e}")))?;
            change(&mut c);
            let value = serde_json::to_vec(&c).expect("collection encodes");
            if self
                .kv
                .update(&key, value.into(), entry.revision)
                .await
                .is_ok()
            {
                let changed = c.clone();
                self.wait_view(|v| v.collections.get(name) == Some(&changed))
                    .await;
                return Ok(c);
            }
        }
        Err(Status::aborted(format!(
            "collection `{name}` kept changing; try again"
        )))
    }

    /// Waits until `node`'s replica of `shard` has applied `sequence`.
    async fn wait_node_applied(
        &self,
        c: &ClusterCollection,
        shard: u32,
        node: &str,
        sequence: u64,
        deadline: tokio::time::Instant,
    ) -> Result<(), Status> {
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(Status::deadline_exceeded(format!(
                    "node `{node}` has not caught up with shard {shard} of `{}` (sequence {sequence}) yet; \
                     its replica stays and keeps catching up: call MoveReplica again to finish the move",
                    c.config.name
                )));
            }
            if node == self.options.node_id {
                if let Some(r) = self.local_replica(&c.uid, shard) {
                    if r.wait_applied(sequence, left).await.is_some() {
                        return Ok(());
                    }
                    continue;
                }
            } else {
                let mut client = self.client_for(node)?;
                let request = proto::WaitAppliedRequest {
                    collection: c.config.name.clone(),
                    shard,
                    sequence,
                    timeout_ms: left.as_millis().min(u32::MAX as u128) as u32,
                };
                if client.wait_applied(request).await.is_ok() {
                    return Ok(());
                }
            }
            // Its replica does not exist yet (the node creates it on its
            // next pass) or the node is restarting.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn delete_streams(&self, c: &ClusterCollection) {
        for shard in 0..c.shards {
            if let Err(e) = self.js.delete_stream(c.stream(shard)).await {
                tracing::warn!(stream = %c.stream(shard), error = %e, "cannot delete the stream");
            }
        }
    }

    async fn wait_view(&self, done: impl Fn(&View) -> bool) {
        for _ in 0..200 {
            if done(&self.view.read()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    // ---- writes ----------------------------------------------------------

    /// Appends each shard's part of a write to the shard's log, then waits
    /// until every live replica of those shards applied it. Returns the
    /// number of points the entries changed (as the first replica of each
    /// shard reports it).
    pub(crate) async fn write(
        &self,
        collection: &ClusterCollection,
        parts: BTreeMap<u32, ReplicatedOp>,
        ack: WriteAck,
    ) -> Result<u64, Status> {
        let request_id = format!("{:016x}", random_u64());
        let mut appended: Vec<(u32, u64)> = Vec::new();
        let mut failures: Vec<String> = Vec::new();
        let publishes = parts.into_iter().map(|(shard, op)| {
            let request_id = request_id.clone();
            async move {
                let mut last = 0;
                for (i, entry) in log::split(op, self.max_payload.saturating_sub(1024))
                    .into_iter()
                    .enumerate()
                {
                    let msg_id = format!("{request_id}-{shard}-{i}");
                    last = self
                        .publish(collection, shard, &msg_id, log::encode(&entry))
                        .await?;
                }
                Ok::<(u32, u64), (u32, String)>((shard, last))
            }
        });
        for r in futures_util::future::join_all(publishes).await {
            match r {
                Ok(a) => appended.push(a),
                Err((shard, e)) => failures.push(format!("shard {shard}: {e}")),
            }
        }
        if !failures.is_empty() {
            let done: Vec<String> = appended.iter().map(|(s, _)| s.to_string()).collect();
            return Err(Status::unavailable(format!(
                "write not acknowledged: {}; shards [{}] have it in their log and will apply it; \
                 retrying the whole request is safe (it writes the same points again)",
                failures.join("; "),
                done.join(", ")
            )));
        }
        if ack == WriteAck::LogOnly {
            return Ok(0);
        }
        let one = ack == WriteAck::OneReplica;
        let waits = appended
            .iter()
            .map(|&(shard, seq)| self.wait_shard_applied(collection, shard, seq, one));
        let mut changed = 0;
        for r in futures_util::future::join_all(waits).await {
            changed += r?;
        }
        Ok(changed)
    }

    /// Publishes one entry, retrying with the same message id (JetStream
    /// drops the duplicate if an earlier try got through) while a NATS
    /// server fails over.
    async fn publish(
        &self,
        collection: &ClusterCollection,
        shard: u32,
        msg_id: &str,
        payload: Vec<u8>,
    ) -> Result<u64, (u32, String)> {
        let payload = bytes::Bytes::from(payload);
        let mut last_error = String::new();
        for attempt in 0..20 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 * attempt.min(5))).await;
            }
            let sent = self
                .js
                .send_publish(
                    collection.subject(shard),
                    jetstream::message::PublishMessage::build()
                        .payload(payload.clone())
                        .message_id(msg_id),
                )
                .await;
            let ack = match sent {
                Ok(future) => future.await,
                Err(e) => {
                    last_error = e.to_string();
                    continue;
                }
            };
            match ack {
                Ok(ack) => return Ok(ack.sequence),
                Err(e) => last_error = e.to_string(),
            }
        }
        Err((
            shard,
            format!("the log did not take the entry: {last_error}"),
        ))
    }

    /// Waits until every live replica of `shard` (with `one`: the first
    /// one) has applied `sequence`; returns what the entry changed on the
    /// first one that says.
    pub(crate) async fn wait_shard_applied(
        &self,
        collection: &ClusterCollection,
        shard: u32,
        sequence: u64,
        one: bool,
    ) -> Result<u64, Status> {
        let deadline = tokio::time::Instant::now() + APPLY_WAIT;
        let nodes = collection.placement[shard as usize].clone();
        let mut result = None;
        for node in nodes {
            loop {
                if node == self.options.node_id {
                    let Some(replica) = self.local_replica(&collection.uid, shard) else {
                        if tokio::time::Instant::now() > deadline {
                            return Err(Status::unavailable(format!(
                                "shard {shard}: the local replica did not start"
                            )));
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    if replica.wait_applied(sequence, left).await.is_none() {
                        return Err(Status::unavailable(format!(
                            "shard {shard}: node `{node}` did not apply sequence {sequence} within {} s; the write is in the log and will be applied",
                            APPLY_WAIT.as_secs()
                        )));
                    }
                    result = result.or(replica.result_of(sequence));
                    if one {
                        return Ok(result.unwrap_or(0));
                    }
                    break;
                }
                if !self.view.read().is_live(&node, now_ms()) {
                    break;
                }
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if left.is_zero() {
                    return Err(Status::unavailable(format!(
                        "shard {shard}: node `{node}` did not confirm sequence {sequence} within {} s; the write is in the log and will be applied",
                        APPLY_WAIT.as_secs()
                    )));
                }
                let mut client = self.client_for(&node)?;
                let request = proto::WaitAppliedRequest {
                    collection: collection.config.name.clone(),
                    shard,
                    sequence,
                    timeout_ms: left.as_millis().min(u32::MAX as u128) as u32,
                };
                match client.wait_applied(request).await {
                    Ok(r) => {
                        let r = r.into_inner();
                        result = result.or(r.entry_result);
                        if one {
                            return Ok(result.unwrap_or(0));
                        }
                        break;
                    }
                    Err(_) => {
                        // Down, restarting or not yet holding the replica:
                        // retry while it heartbeats.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
        Ok(result.unwrap_or(0))
    }

    /// The nodes to read shard `shard` from, best first: live ones holding
    /// a replica, the most advanced first (this node first among equals).
    pub(crate) fn read_candidates(
        &self,
        collection: &ClusterCollection,
        shard: u32,
    ) -> Vec<String> {
        let view = self.view.read();
        let now = now_ms();
        let me = &self.options.node_id;
        let mut nodes: Vec<(u64, bool, String)> = collection.placement[shard as usize]
            .iter()
            .filter_map(|n| {
                // A replica loading a snapshot has no copy to read.
                if n == me {
                    let r = self.local_replica(&collection.uid, shard)?;
                    (!r.is_restoring()).then(|| (r.applied(), true, n.clone()))
                } else if view.is_live(n, now) {
                    let report = view.reported(&collection.uid, shard, n);
                    if report.is_some_and(|r| r.restoring) {
                        return None;
                    }
                    Some((report.map_or(0, |r| r.applied), false, n.clone()))
                } else {
                    None
                }
            })
            .collect();
        nodes.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        nodes.into_iter().map(|(_, _, n)| n).collect()
    }

    /// The last sequence of each shard's stream (for lag).
    pub(crate) async fn last_sequences(&self, collection: &ClusterCollection) -> Vec<Option<u64>> {
        let mut out = Vec::new();
        for shard in 0..collection.shards {
            let last = match self.js.get_stream(collection.stream(shard)).await {
                Ok(mut s) => s.info().await.ok().map(|i| i.state.last_sequence),
                Err(_) => None,
            };
            out.push(last);
        }
        out
    }
}

/// Local collections named like a replica: `r` + 16 hex digits + `s` + shard.
fn is_replica_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 18
        && b[0] == b'r'
        && b[1..17].iter().all(|c| c.is_ascii_hexdigit())
        && b[17] == b's'
        && b[18..].iter().all(|c| c.is_ascii_digit())
}

/// Keeps the node's view equal to the bucket: every key's latest value,
/// then each change as it happens; re-subscribes after an error (a NATS
/// server going away).
async fn watch_loop(node: std::sync::Weak<ClusterNode>) {
    loop {
        let Some(n) = node.upgrade() else { break };
        let kv = n.kv.clone();
        drop(n);
        // Every key's latest value first (a delete marker for deleted
        // ones), then each change.
        match kv.watch_with_history(">").await {
            Ok(mut watch) => {
                // A bucket holding only this node's own key delivers it; an
                // empty watch cannot happen once the node registered.
                while let Some(entry) = watch.next().await {
                    let Some(n) = node.upgrade() else { return };
                    match entry {
                        Ok(entry) => {
                            let mut view = n.view.write();
                            let value = (entry.operation == kv::Operation::Put)
                                .then_some(entry.value.as_ref());
                            view.apply(&entry.key, value);
                            if entry.seen_current {
                                view.loaded = true;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "metadata watch failed; re-subscribing");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot watch the metadata; retrying"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::is_replica_name;

    #[test]
    fn replica_names_are_recognised() {
        assert!(is_replica_name("r0123456789abcdefs0"));
        assert!(is_replica_name("r0123456789abcdefs12"));
        assert!(!is_replica_name("r0123456789abcdef"));
        assert!(!is_replica_name("photos"));
        assert!(!is_replica_name("r0123456789abcdefsx"));
    }
}
