//! Shard snapshots in the JetStream object store, trimming of the shards'
//! logs behind them, and restoring a replica from one.
//!
//! - **Upload.** For each shard, the first node of its placement that is
//!   live (the *uploader*) takes a snapshot of its replica every
//!   `--snapshot-every-entries` applied log entries or `--snapshot-interval`
//!   (whichever comes first, and only when something was applied since the
//!   last one). The snapshot is the engine's (`Database::create_snapshot`,
//!   cut in a commit barrier), so the applied log sequence, a collection
//!   value written atomically with each entry, is in it exactly as of the
//!   cut. It goes to the object store bucket [`OBJECT_BUCKET`] as
//!   `<uid>.<shard>.<sequence>`, then the key `snapshots.<uid>.<shard>` of
//!   the metadata bucket is set to it by compare-and-set (only forward: a
//!   record of a later sequence wins). The previous snapshot is kept (a
//!   replica may be downloading it), the one before is deleted.
//! - **Trim.** The uploader then purges the shard's stream below
//!   `min(snapshot sequence, applied sequence of each live replica still
//!   in the log) + 1`: a live replica that is following the log is never
//!   overtaken; a down one (or one already behind the log's start) will
//!   restore from the snapshot instead.
//! - **Restore** ([`restore_replica`], from the replica's task): a replica
//!   whose next entry was trimmed away, or a new (empty) replica of a shard
//!   that has a snapshot, downloads the latest snapshot (the object store
//!   checks its SHA-256 digest, the engine every member's checksum), installs
//!   it as its local collection (`Database::install_collection_snapshot`:
//!   data and applied sequence appear together, the config written last, so
//!   a kill -9 part-way leaves no collection and the next start restores
//!   again) and replays the log after the snapshot's sequence.
//! - **Collection snapshots** (CreateSnapshot in cluster mode): one part
//!   per shard, taken on a live replica now, stored as objects of their
//!   own and named by a [`CollectionSnapshotRecord`], kept until
//!   DeleteSnapshot (never pruned by the above).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv, object_store};
use serde::{Deserialize, Serialize};

use super::meta::{now_ms, ClusterCollection, View};
use super::node::{open_or_create, ClusterNode};
use super::replica::{recorded_applied, APPLIED_KEY};
use crate::engine::{Database, EngineError};

/// The object store bucket holding the shards' snapshots.
pub const OBJECT_BUCKET: &str = "clipdb-snapshots";
/// How often a node looks for shards due for a snapshot or a trim.
const ROUND: Duration = Duration::from_secs(1);

/// When the uploader of a shard takes a snapshot: after this many applied
/// entries or this long since the last one (0: never by that rule).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SnapshotPolicy {
    pub every_entries: u64,
    pub interval: Duration,
}

impl Default for SnapshotPolicy {
    fn default() -> Self {
        SnapshotPolicy {
            every_entries: 100_000,
            interval: Duration::from_secs(3600),
        }
    }
}

impl SnapshotPolicy {
    /// Whether a replica at `applied`, whose shard's last snapshot holds
    /// `since` and is `age` old, is due for a new one.
    pub fn due(&self, applied: u64, since: u64, age: Duration) -> bool {
        applied > since
            && ((self.every_entries > 0 && applied - since >= self.every_entries)
                || (!self.interval.is_zero() && age >= self.interval))
    }
}

/// What went wrong with a shard or collection snapshot. The statuses
/// clients get for these are chosen in `crate::api::status`.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The JetStream object store failed; `op` says what was asked of it,
    /// `name` is the bucket or the object.
    #[error("{op} {name}: {reason}")]
    ObjectStore {
        op: &'static str,
        name: String,
        reason: String,
    },
    /// The metadata bucket failed; `key` is the record's (or the prefix
    /// listed).
    #[error("{op} {key}: {reason}")]
    Kv {
        op: &'static str,
        key: String,
        reason: String,
    },
    /// Another node changed the shard's snapshot record between our read
    /// and our compare-and-set.
    #[error("snapshot record {key} changed meanwhile: {reason}")]
    RecordChanged { key: String, reason: String },
    /// A shard's stream could not be opened ...
    #[error("stream {stream}: {reason}")]
    Stream { stream: String, reason: String },
    /// ... or purged below the snapshot.
    #[error("purging {stream} below {below}: {reason}")]
    Purge {
        stream: String,
        below: u64,
        reason: String,
    },
    /// A local file (a snapshot being uploaded or downloaded, or the
    /// download directory).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The local engine failed to cut, read or install a snapshot; `op`
    /// and `name` say which.
    #[error("{op} {name}: {source}")]
    Engine {
        op: &'static str,
        name: String,
        source: Box<EngineError>,
    },
    /// A downloaded snapshot does not hold the sequence its record names.
    #[error("snapshot {object} holds sequence {holds}, its record says {recorded}")]
    SequenceMismatch {
        object: String,
        holds: u64,
        recorded: u64,
    },
    /// The installed replica does not record the snapshot's sequence.
    #[error("restored replica records sequence {applied}, the snapshot {snapshot}")]
    RestoredSequence { applied: u64, snapshot: u64 },
    #[error("shard {shard} has no snapshot to restore")]
    NoSnapshot { shard: u32 },
    #[error("restore task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// This node cannot take a part of a collection snapshot: it holds no
    /// replica of the shard ...
    #[error("node `{node}` holds no replica of shard {shard} of `{collection}`")]
    NoReplica {
        node: String,
        shard: u32,
        collection: String,
    },
    /// ... or its replica is being restored.
    #[error("node `{node}` is restoring its replica of shard {shard}")]
    Restoring { node: String, shard: u32 },
}

impl SnapshotError {
    fn object_store(op: &'static str, name: &str, reason: impl std::fmt::Display) -> Self {
        SnapshotError::ObjectStore {
            op,
            name: name.to_string(),
            reason: reason.to_string(),
        }
    }

    fn kv(op: &'static str, key: &str, reason: impl std::fmt::Display) -> Self {
        SnapshotError::Kv {
            op,
            key: key.to_string(),
            reason: reason.to_string(),
        }
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| SnapshotError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    fn engine(op: &'static str, name: impl std::fmt::Display) -> impl FnOnce(EngineError) -> Self {
        move |source| SnapshotError::Engine {
            op,
            name: name.to_string(),
            source: Box::new(source),
        }
    }
}

/// The latest snapshot of a shard (key `snapshots.<uid>.<shard>`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SnapshotRecord {
    /// The last log sequence the snapshot holds.
    pub sequence: u64,
    /// Its object in [`OBJECT_BUCKET`].
    pub object: String,
    /// The snapshot before it, kept while a replica may still download it.
    pub previous: Option<String>,
    pub size_bytes: u64,
    /// The node that took it.
    pub node: String,
    /// Unix milliseconds when it was recorded.
    pub created_ms: u64,
}

pub fn record_key(uid: &str, shard: u32) -> String {
    format!("snapshots.{uid}.{shard}")
}

fn object_name(uid: &str, shard: u32, sequence: u64) -> String {
    format!("{uid}.{shard}.{sequence:020}")
}

/// The object store and the metadata bucket, as replicas need them.
#[derive(Clone)]
pub struct SnapshotStore {
    kv: kv::Store,
    objects: object_store::ObjectStore,
    /// Where downloads are kept while restoring (`<data dir>/cluster-restore`).
    dir: PathBuf,
}

impl SnapshotStore {
    /// Opens the object store bucket, creating it (with `replicas` copies)
    /// if no node did yet.
    pub async fn open(
        js: &jetstream::Context,
        kv: kv::Store,
        replicas: usize,
        data_dir: &Path,
    ) -> Result<SnapshotStore, SnapshotError> {
        let objects = open_or_create(
            || js.get_object_store(OBJECT_BUCKET),
            || {
                js.create_object_store(object_store::Config {
                    bucket: OBJECT_BUCKET.into(),
                    num_replicas: replicas,
                    storage: jetstream::stream::StorageType::File,
                    ..Default::default()
                })
            },
        )
        .await
        .map_err(|e| SnapshotError::object_store("object store", OBJECT_BUCKET, e))?;
        Ok(SnapshotStore {
            kv,
            objects,
            dir: data_dir.join("cluster-restore"),
        })
    }

    /// The shard's latest snapshot, read from the bucket (not a view).
    pub async fn latest(
        &self,
        uid: &str,
        shard: u32,
    ) -> Result<Option<SnapshotRecord>, SnapshotError> {
        let key = record_key(uid, shard);
        let entry = self
            .kv
            .entry(&key)
            .await
            .map_err(|e| SnapshotError::kv("snapshot record", &key, e))?;
        Ok(entry
            .filter(|e| e.operation == kv::Operation::Put)
            .and_then(|e| serde_json::from_slice(&e.value).ok()))
    }

    async fn download(
        &self,
        record: &SnapshotRecord,
        local: &str,
    ) -> Result<PathBuf, SnapshotError> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(SnapshotError::io(&self.dir))?;
        let path = self.dir.join(format!("{local}.snapshot"));
        let mut object = self
            .objects
            .get(&record.object)
            .await
            .map_err(|e| SnapshotError::object_store("snapshot", &record.object, e))?;
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(SnapshotError::io(&path))?;
        // Reading to the end checks the object's SHA-256 digest.
        tokio::io::copy(&mut object, &mut file)
            .await
            .map_err(|e| SnapshotError::object_store("downloading snapshot", &record.object, e))?;
        file.sync_all().await.map_err(SnapshotError::io(&path))?;
        Ok(path)
    }
}

/// The applied log sequence a snapshot file holds.
fn sequence_in(path: &Path) -> Result<u64, SnapshotError> {
    let value = crate::engine::snapshot_value(path, APPLIED_KEY)
        .map_err(SnapshotError::engine("snapshot", path.display()))?;
    Ok(value
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0))
}

/// Replaces the local replica `local` of shard `shard` with the shard's
/// latest snapshot; returns the applied sequence it holds (the replica
/// replays the log from the next one).
pub async fn restore_replica(
    store: &SnapshotStore,
    db: &Arc<Database>,
    uid: &str,
    shard: u32,
    local: &str,
) -> Result<u64, SnapshotError> {
    let started = Instant::now();
    let record = store
        .latest(uid, shard)
        .await?
        .ok_or(SnapshotError::NoSnapshot { shard })?;
    let path = store.download(&record, local).await?;
    let restored = async {
        let sequence = sequence_in(&path)?;
        if sequence != record.sequence {
            return Err(SnapshotError::SequenceMismatch {
                object: record.object.clone(),
                holds: sequence,
                recorded: record.sequence,
            });
        }
        let (db2, local2, path2) = (db.clone(), local.to_string(), path.clone());
        let info =
            tokio::task::spawn_blocking(move || db2.install_collection_snapshot(&local2, &path2))
                .await?
                .map_err(SnapshotError::engine("installing snapshot", &record.object))?;
        let applied = recorded_applied(db, local);
        if applied != sequence {
            return Err(SnapshotError::RestoredSequence {
                applied,
                snapshot: sequence,
            });
        }
        metrics::counter!("clipdb_replica_restores_total").increment(1);
        tracing::info!(
            replica = %local,
            shard,
            snapshot = %record.object,
            sequence,
            points = info.point_count,
            bytes = record.size_bytes,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "restored the replica from the shard's snapshot"
        );
        Ok(applied)
    }
    .await;
    let _ = tokio::fs::remove_file(&path).await;
    restored
}

/// Every [`ROUND`]: snapshots due, trims, and the records of dropped
/// collections.
pub(super) async fn snapshot_loop(node: std::sync::Weak<ClusterNode>) {
    let mut first_seen: HashMap<(String, u32), Instant> = HashMap::new();
    loop {
        tokio::time::sleep(ROUND).await;
        let Some(node) = node.upgrade() else { break };
        node.snapshot_round(&mut first_seen).await;
    }
}

impl ClusterNode {
    async fn snapshot_round(&self, first_seen: &mut HashMap<(String, u32), Instant>) {
        let view = self.view();
        if !view.loaded {
            return;
        }
        let now = now_ms();
        let me = self.node_id().to_string();
        for c in view.collections.values() {
            for shard in 0..c.shards {
                let Some(replica) = self.local_replica(&c.uid, shard) else {
                    continue;
                };
                let uploader = c.placement[shard as usize]
                    .iter()
                    .find(|n| **n == me || view.is_live(n, now));
                if uploader != Some(&me) || replica.is_restoring() {
                    continue;
                }
                let key = (c.uid.clone(), shard);
                let mut record = view.snapshots.get(&key).cloned();
                let age = match &record {
                    Some(r) => Duration::from_millis(now.saturating_sub(r.created_ms)),
                    None => first_seen.entry(key).or_insert_with(Instant::now).elapsed(),
                };
                let since = record.as_ref().map_or(0, |r| r.sequence);
                if self.snapshot_policy.due(replica.applied(), since, age) {
                    match self.upload_snapshot(c, shard).await {
                        Ok(r) => record = Some(r),
                        Err(e) => {
                            tracing::warn!(collection = %c.config.name, shard, error = %e, "shard snapshot failed; will retry")
                        }
                    }
                }
                if let Some(r) = record {
                    if let Err(e) = self.trim(c, shard, &r).await {
                        tracing::warn!(collection = %c.config.name, shard, error = %e, "cannot trim the shard's log");
                    }
                }
            }
        }
        self.sweep_dropped(&view).await;
    }

    /// Takes a snapshot of this node's replica of `shard`, uploads it and
    /// records it (compare-and-set, only forward).
    async fn upload_snapshot(
        &self,
        c: &ClusterCollection,
        shard: u32,
    ) -> Result<SnapshotRecord, SnapshotError> {
        let started = Instant::now();
        let local = c.local_name(shard);
        let _uploading = self.snapshot_upload.lock().await;
        // Files an upload killed part-way left (each is removed once
        // uploaded).
        for old in self.db.list_snapshots(&local).unwrap_or_default() {
            let _ = self.db.delete_snapshot(&local, &old.name);
        }
        let info = self
            .db
            .create_snapshot(&local)
            .await
            .map_err(SnapshotError::engine("snapshot of", &local))?;
        let uploaded = async {
            let sequence = sequence_in(&info.path)?;
            let key = record_key(&c.uid, shard);
            let current = self.snapshots.latest(&c.uid, shard).await?;
            if let Some(current) = current.filter(|r| r.sequence >= sequence) {
                return Ok(current);
            }
            let object = object_name(&c.uid, shard, sequence);
            let mut file = tokio::fs::File::open(&info.path)
                .await
                .map_err(SnapshotError::io(&info.path))?;
            self.snapshots
                .objects
                .put(object.as_str(), &mut file)
                .await
                .map_err(|e| SnapshotError::object_store("uploading", &object, e))?;
            let entry = self
                .kv
                .entry(&key)
                .await
                .map_err(|e| SnapshotError::kv("snapshot record", &key, e))?;
            let current: Option<SnapshotRecord> = entry
                .as_ref()
                .filter(|e| e.operation == kv::Operation::Put)
                .and_then(|e| serde_json::from_slice(&e.value).ok());
            if let Some(current) = current.as_ref().filter(|r| r.sequence >= sequence) {
                // Another node recorded a later one meanwhile.
                if current.object != object && current.previous.as_ref() != Some(&object) {
                    let _ = self.snapshots.objects.delete(&object).await;
                }
                return Ok(current.clone());
            }
            let record = SnapshotRecord {
                sequence,
                object: object.clone(),
                previous: current.as_ref().map(|r| r.object.clone()),
                size_bytes: info.size_bytes,
                node: self.node_id().to_string(),
                created_ms: now_ms(),
            };
            let value: bytes::Bytes = serde_json::to_vec(&record).expect("encodes").into();
            let written = match &entry {
                Some(e) => self.kv.update(&key, value, e.revision).await.map(|_| ()),
                None => self.kv.create(&key, value).await.map(|_| ()).map_err(|e| {
                    kv::UpdateError::with_source(kv::UpdateErrorKind::Other, e)
                }),
            };
            if let Err(e) = written {
                let _ = self.snapshots.objects.delete(&object).await;
                return Err(SnapshotError::RecordChanged {
                    key,
                    reason: e.to_string(),
                });
            }
            // Keep the latest and the previous one.
            if let Some(older) = current.and_then(|r| r.previous) {
                if older != record.object {
                    if let Err(e) = self.snapshots.objects.delete(&older).await {
                        tracing::warn!(object = %older, error = %e, "cannot delete an old snapshot");
                    }
                }
            }
            metrics::counter!("clipdb_shard_snapshots_uploaded_total").increment(1);
            tracing::info!(
                collection = %c.config.name,
                shard,
                sequence,
                object = %record.object,
                points = info.point_count,
                bytes = info.size_bytes,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "uploaded the shard's snapshot"
            );
            Ok(record)
        }
        .await;
        let _ = tokio::fs::remove_file(&info.path).await;
        uploaded
    }

    /// Purges the shard's log below the snapshot, but not past the next
    /// entry of any live replica still following the log.
    async fn trim(
        &self,
        c: &ClusterCollection,
        shard: u32,
        record: &SnapshotRecord,
    ) -> Result<(), SnapshotError> {
        let stream_name = c.stream(shard);
        let stream = self
            .js
            .get_stream(&stream_name)
            .await
            .map_err(|e| SnapshotError::Stream {
                stream: stream_name.clone(),
                reason: e.to_string(),
            })?;
        let first = stream.cached_info().state.first_sequence;
        let view = self.view();
        let now = now_ms();
        let mut keep_from = record.sequence + 1;
        for n in &c.placement[shard as usize] {
            let applied = if n == self.node_id() {
                match self.local_replica(&c.uid, shard) {
                    Some(r) => r.applied(),
                    None => continue,
                }
            } else if view.is_live(n, now) {
                view.reported(&c.uid, shard, n).map_or(0, |r| r.applied)
            } else {
                continue;
            };
            // One already behind the log's start restores anyway.
            if applied + 1 >= first {
                keep_from = keep_from.min(applied + 1);
            }
        }
        if keep_from > first {
            stream
                .purge()
                .sequence(keep_from)
                .await
                .map_err(|e| SnapshotError::Purge {
                    stream: stream_name.clone(),
                    below: keep_from,
                    reason: e.to_string(),
                })?;
            tracing::info!(collection = %c.config.name, shard, below = keep_from, snapshot = record.sequence, "trimmed the shard's log");
        }
        Ok(())
    }

    /// Deletes the snapshots of collections that no longer exist (one node
    /// does it: the first live one by id).
    async fn sweep_dropped(&self, view: &View) {
        let now = now_ms();
        let first_live = view.nodes.iter().find(|(_, n)| n.is_live(now));
        if first_live.map(|(id, _)| id.as_str()) != Some(self.node_id()) {
            return;
        }
        for ((uid, shard), record) in &view.snapshots {
            if view.collections.values().any(|c| c.uid == *uid) {
                continue;
            }
            for object in std::iter::once(&record.object).chain(record.previous.iter()) {
                let _ = self.snapshots.objects.delete(object).await;
            }
            let _ = self.kv.purge(record_key(uid, *shard)).await;
        }
    }

    /// The first sequence of each shard's stream (for `first_sequence` in
    /// the collection's shard details).
    pub(crate) async fn first_sequences(&self, c: &ClusterCollection) -> Vec<Option<u64>> {
        let mut out = Vec::new();
        for shard in 0..c.shards {
            let first = match self.js.get_stream(c.stream(shard)).await {
                Ok(s) => Some(s.cached_info().state.first_sequence),
                Err(_) => None,
            };
            out.push(first);
        }
        out
    }
}

/// A collection snapshot (CreateSnapshot in cluster mode): one snapshot
/// per shard, each an object of its own, kept until DeleteSnapshot (the
/// periodic shard snapshots never prune it). Key
/// `collection-snapshots.<collection>.<name>` of the metadata bucket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CollectionSnapshotRecord {
    pub name: String,
    pub collection: String,
    /// The collection's uid when it was taken (a dropped collection's
    /// snapshots are still listed, as on a single node).
    pub uid: String,
    /// Microseconds since the Unix epoch.
    pub created_us: u64,
    pub shards: Vec<ShardSnapshotPart>,
}

/// One shard's part of a [`CollectionSnapshotRecord`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShardSnapshotPart {
    pub shard: u32,
    pub sequence: u64,
    pub object: String,
    pub size_bytes: u64,
    pub point_count: u64,
    pub node: String,
}

const COLLECTION_SNAPSHOTS: &str = "collection-snapshots.";

fn collection_snapshot_key(collection: &str, name: &str) -> String {
    format!("{COLLECTION_SNAPSHOTS}{collection}.{name}")
}

/// The object holding shard `shard` of collection snapshot `name`; `take`
/// tells this taking apart from another of the same name (two calls in the
/// same microsecond), so that the loser's clean-up never deletes the
/// winner's parts.
pub fn collection_snapshot_object(name: &str, take: u64, shard: u32) -> String {
    format!("collection-snapshot.{name}.{take:016x}.{shard}")
}

impl CollectionSnapshotRecord {
    pub fn to_proto(&self) -> crate::proto::SnapshotInfo {
        crate::proto::SnapshotInfo {
            name: self.name.clone(),
            collection: self.collection.clone(),
            size_bytes: self.shards.iter().map(|s| s.size_bytes).sum(),
            created_at: Some(prost_types::Timestamp {
                seconds: (self.created_us / 1_000_000) as i64,
                nanos: (self.created_us % 1_000_000) as i32 * 1000,
            }),
            point_count: self.shards.iter().map(|s| s.point_count).sum(),
            path: String::new(),
            error: String::new(),
            shards: self
                .shards
                .iter()
                .map(ShardSnapshotPart::to_proto)
                .collect(),
        }
    }
}

impl ShardSnapshotPart {
    pub fn to_proto(&self) -> crate::proto::ShardSnapshot {
        crate::proto::ShardSnapshot {
            shard: self.shard,
            sequence: self.sequence,
            object: self.object.clone(),
            size_bytes: self.size_bytes,
            point_count: self.point_count,
            node: self.node.clone(),
        }
    }

    pub fn from_proto(s: crate::proto::ShardSnapshot) -> ShardSnapshotPart {
        ShardSnapshotPart {
            shard: s.shard,
            sequence: s.sequence,
            object: s.object,
            size_bytes: s.size_bytes,
            point_count: s.point_count,
            node: s.node,
        }
    }
}

impl ClusterNode {
    /// Takes a snapshot of this node's replica of `shard` and uploads it as
    /// `object` (one part of a collection snapshot).
    pub(crate) async fn upload_shard_snapshot(
        &self,
        c: &ClusterCollection,
        shard: u32,
        object: &str,
    ) -> Result<ShardSnapshotPart, SnapshotError> {
        let replica =
            self.local_replica(&c.uid, shard)
                .ok_or_else(|| SnapshotError::NoReplica {
                    node: self.node_id().to_string(),
                    shard,
                    collection: c.config.name.clone(),
                })?;
        if replica.is_restoring() {
            return Err(SnapshotError::Restoring {
                node: self.node_id().to_string(),
                shard,
            });
        }
        let local = c.local_name(shard);
        let _uploading = self.snapshot_upload.lock().await;
        let info = self
            .db
            .create_snapshot(&local)
            .await
            .map_err(SnapshotError::engine("snapshot of shard", shard))?;
        let uploaded = async {
            let sequence = sequence_in(&info.path)?;
            let mut file = tokio::fs::File::open(&info.path)
                .await
                .map_err(SnapshotError::io(&info.path))?;
            self.snapshots
                .objects
                .put(object, &mut file)
                .await
                .map_err(|e| SnapshotError::object_store("uploading", object, e))?;
            Ok::<_, SnapshotError>(sequence)
        }
        .await;
        let _ = tokio::fs::remove_file(&info.path).await;
        let sequence = uploaded?;
        tracing::info!(collection = %c.config.name, shard, sequence, object, points = info.point_count, "uploaded a shard's part of a collection snapshot");
        Ok(ShardSnapshotPart {
            shard,
            sequence,
            object: object.to_string(),
            size_bytes: info.size_bytes,
            point_count: info.point_count,
            node: self.node_id().to_string(),
        })
    }

    /// Records a collection snapshot whose parts are uploaded (refused if
    /// the name exists).
    pub(crate) async fn record_collection_snapshot(
        &self,
        record: &CollectionSnapshotRecord,
    ) -> Result<(), SnapshotError> {
        let value: bytes::Bytes = serde_json::to_vec(record).expect("encodes").into();
        let key = collection_snapshot_key(&record.collection, &record.name);
        self.kv
            .create(&key, value)
            .await
            .map(|_| ())
            .map_err(|e| SnapshotError::kv("recording snapshot", &key, e))
    }

    /// Deletes uploaded parts (of a snapshot that failed, or is deleted).
    pub(crate) async fn delete_snapshot_objects(&self, objects: &[String]) {
        for object in objects {
            if let Err(e) = self.snapshots.objects.delete(object).await {
                tracing::warn!(object = %object, error = %e, "cannot delete a snapshot object");
            }
        }
    }

    /// The collection snapshots of `collection` (empty: of every
    /// collection), oldest first.
    pub(crate) async fn collection_snapshots(
        &self,
        collection: &str,
    ) -> Result<Vec<CollectionSnapshotRecord>, SnapshotError> {
        let prefix = if collection.is_empty() {
            COLLECTION_SNAPSHOTS.to_string()
        } else {
            format!("{COLLECTION_SNAPSHOTS}{collection}.")
        };
        let mut keys = self
            .kv
            .keys()
            .await
            .map_err(|e| SnapshotError::kv("listing snapshots", &prefix, e))?;
        let mut out = Vec::new();
        use futures_util::StreamExt;
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| SnapshotError::kv("listing snapshots", &prefix, e))?;
            if !key.starts_with(&prefix) {
                continue;
            }
            if let Some(record) = self.collection_snapshot(&key).await? {
                out.push(record);
            }
        }
        out.sort_by(|a, b| {
            (a.created_us, &a.collection, &a.name).cmp(&(b.created_us, &b.collection, &b.name))
        });
        Ok(out)
    }

    async fn collection_snapshot(
        &self,
        key: &str,
    ) -> Result<Option<CollectionSnapshotRecord>, SnapshotError> {
        let entry = self
            .kv
            .entry(key)
            .await
            .map_err(|e| SnapshotError::kv("snapshot record", key, e))?;
        Ok(entry
            .filter(|e| e.operation == kv::Operation::Put)
            .and_then(|e| serde_json::from_slice(&e.value).ok()))
    }

    /// Deletes collection snapshot `name` (its record, then its objects);
    /// Ok(false) if there is none.
    pub(crate) async fn delete_collection_snapshot(
        &self,
        collection: &str,
        name: &str,
    ) -> Result<bool, SnapshotError> {
        let key = collection_snapshot_key(collection, name);
        // A name no key can have is no snapshot.
        let Ok(Some(record)) = self.collection_snapshot(&key).await else {
            return Ok(false);
        };
        self.kv
            .purge(&key)
            .await
            .map_err(|e| SnapshotError::kv("deleting snapshot record", &key, e))?;
        let objects: Vec<String> = record.shards.iter().map(|s| s.object.clone()).collect();
        self.delete_snapshot_objects(&objects).await;
        Ok(true)
    }
}

/// Whether a replica at `applied` must restore the shard's snapshot before
/// following the log whose first entry is `first`: its next entry was
/// trimmed away, or it is empty and a snapshot exists (restoring copies the
/// shard at once instead of replaying all its history).
pub fn must_restore(applied: u64, first: u64, snapshot: Option<u64>) -> bool {
    applied + 1 < first || (applied == 0 && snapshot.is_some_and(|s| s > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_due_by_entries_or_time() {
        let p = SnapshotPolicy {
            every_entries: 10,
            interval: Duration::from_secs(60),
        };
        assert!(!p.due(5, 0, Duration::ZERO));
        assert!(p.due(10, 0, Duration::ZERO));
        assert!(p.due(11, 5, Duration::from_secs(60)));
        // Nothing applied since the last one: never.
        assert!(!p.due(5, 5, Duration::from_secs(600)));
        let off = SnapshotPolicy {
            every_entries: 0,
            interval: Duration::ZERO,
        };
        assert!(!off.due(1_000_000, 0, Duration::from_secs(1_000_000)));
    }

    #[test]
    fn restore_when_trimmed_past_or_empty() {
        // Next entry still in the log: replay.
        assert!(!must_restore(10, 11, Some(40)));
        assert!(!must_restore(0, 1, None));
        // Next entry trimmed away.
        assert!(must_restore(10, 12, Some(40)));
        // Empty, a snapshot exists: restore it rather than replay it all.
        assert!(must_restore(0, 1, Some(40)));
        // A log trimmed wholly (first = last + 1) the replica had reached.
        assert!(!must_restore(40, 41, Some(40)));
        assert_eq!(object_name("ab", 3, 7), "ab.3.00000000000000000007");
    }
}
