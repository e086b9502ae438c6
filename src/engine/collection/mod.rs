//! A collection: its segments, the id map, and the write and search paths.
//!
//! This file holds the struct, opening and creating, and small accessors;
//! the paths live beside it: `write.rs` (record allocation, writing records,
//! store and delete), `search.rs` (reads and search), `maintenance.rs`
//! (sealing, compaction, the capture for snapshots).

mod indexes;
mod maintenance;
mod search;
mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::commit::{Committer, IdMap};
use super::payload::Payload;
use super::payload_index::PayloadIndex;
use super::segment::Segment;
use super::types::*;
use super::{EngineError, Result};
use crate::storage::{MetaBatch, MetaStore, SegmentMeta, StorageError};

pub(crate) use maintenance::Capture;
pub(crate) use write::PreparedPoint;

/// Metadata key of the fingerprint of the model that embedded the collection.
/// Key of the collection value holding its [`ModelRecord`] (JSON).
pub(crate) const MODEL_KEY: &str = "model";

pub struct Collection {
    config: CollectionConfig,
    dir: PathBuf,
    meta: Arc<dyn MetaStore>,
    committer: Committer,
    /// Visible id -> record map; changed only by the committer (it takes a
    /// `CommitPermit`, see `CommitTarget::apply` in `write.rs`).
    ids: IdMap,
    /// All segments, oldest first.
    pub(crate) segments: RwLock<Vec<Arc<Segment>>>,
    /// The segment taking writes; its lock serialises record allocation.
    growing: Mutex<Arc<Segment>>,
    values: RwLock<HashMap<String, Vec<u8>>>,
    dropped: AtomicBool,
    /// Snapshots copying this collection's files: compaction deletes no
    /// segment while one runs.
    pub(crate) file_pins: AtomicUsize,
    /// Held while a segment is sealed (files written into `dir`, metadata
    /// updated) and by a drop, which so waits for a seal in progress before
    /// removing the files and metadata; seals check `dropped` under it.
    pub(crate) seal_lock: Mutex<()>,
    /// Odd while a commit moves points between records (a replacement, a
    /// compaction move), bumped before and after: a search that saw it
    /// change may have seen a point in neither place, and runs again.
    pub(crate) moves: std::sync::atomic::AtomicU64,
    /// Payload indexes (see `payload_index.rs`), kept in step by
    /// `CommitTarget::apply` under each segment's record-table lock.
    pub(crate) payload_indexes: RwLock<Vec<Arc<PayloadIndex>>>,
    /// Serialises creating and dropping payload indexes.
    pub(crate) index_changes: tokio::sync::Mutex<()>,
}

impl Collection {
    pub(crate) fn create(
        dir: PathBuf,
        config: CollectionConfig,
        meta: Arc<dyn MetaStore>,
        committer: Committer,
    ) -> Result<Arc<Collection>> {
        if dir.exists() {
            // Leftovers of a collection of the same name that was dropped.
            std::fs::remove_dir_all(&dir).map_err(|e| crate::storage::StorageError::io(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| crate::storage::StorageError::io(&dir, e))?;
        let first = Arc::new(Segment::create(&dir, 1, &config)?);
        let mut batch = MetaBatch::default();
        batch.put_segment(SegmentMeta {
            id: 1,
            capacity: config.segment_capacity,
            sealed: false,
        });
        meta.apply(&config.name, batch)?;
        Ok(Arc::new(Collection {
            config,
            dir,
            meta,
            committer,
            ids: IdMap::default(),
            segments: RwLock::new(vec![first.clone()]),
            growing: Mutex::new(first),
            values: RwLock::new(HashMap::new()),
            dropped: AtomicBool::new(false),
            file_pins: AtomicUsize::new(0),
            seal_lock: Mutex::new(()),
            moves: std::sync::atomic::AtomicU64::new(0),
            payload_indexes: RwLock::new(Vec::new()),
            index_changes: tokio::sync::Mutex::new(()),
        }))
    }

    pub(crate) fn open(
        dir: PathBuf,
        config: CollectionConfig,
        meta: Arc<dyn MetaStore>,
        committer: Committer,
    ) -> Result<Arc<Collection>> {
        let stored = meta.load(&config.name)?;
        let mut by_segment: HashMap<u32, Vec<_>> = HashMap::new();
        let mut ids = HashMap::with_capacity(stored.records.len());
        for (loc, rec) in stored.records {
            let payload = match &rec.payload {
                Some(bytes) => Some(Arc::new(serde_json::from_slice::<Payload>(bytes).map_err(
                    |e| {
                        EngineError::Storage(StorageError::CorruptMetadata(format!(
                            "collection {}: payload of point {} is unreadable: {e}",
                            config.name, rec.id
                        )))
                    },
                )?)),
                None => None,
            };
            if ids.insert(Arc::<str>::from(rec.id.as_str()), loc).is_some() {
                return Err(EngineError::Storage(StorageError::CorruptMetadata(
                    format!(
                        "collection {}: point {} is recorded twice",
                        config.name, rec.id
                    ),
                )));
            }
            by_segment
                .entry(loc.segment)
                .or_default()
                .push((loc.record, rec, payload));
        }
        // Re-point the id map at the shared Arc<str> of each entry later built.
        let last_unsealed = stored
            .segments
            .iter()
            .rev()
            .find(|s| !s.sealed)
            .map(|s| s.id);
        let mut segments = Vec::with_capacity(stored.segments.len());
        for s in &stored.segments {
            let records = by_segment.remove(&s.id).unwrap_or_default();
            let seg = Segment::open(&dir, s.id, s.sealed, &config, records)?;
            if !s.sealed && Some(s.id) != last_unsealed {
                // An older segment whose sealing was interrupted: take no more writes.
                seg.allocated.store(seg.capacity, Ordering::Release);
            }
            segments.push(Arc::new(seg));
        }
        remove_orphan_segment_dirs(&dir, &stored.segments);
        if let Some(seg) = by_segment.keys().next() {
            return Err(EngineError::Storage(StorageError::CorruptMetadata(
                format!(
                    "collection {}: records refer to unknown segment {seg}",
                    config.name
                ),
            )));
        }
        let growing = match segments
            .iter()
            .rev()
            .find(|s| !s.sealed.load(Ordering::Acquire))
        {
            Some(s) if s.allocated.load(Ordering::Acquire) < s.capacity => s.clone(),
            _ => {
                let id = segments.last().map_or(1, |s| s.id + 1);
                let seg = Arc::new(Segment::create(&dir, id, &config)?);
                let mut batch = MetaBatch::default();
                batch.put_segment(SegmentMeta {
                    id,
                    capacity: config.segment_capacity,
                    sealed: false,
                });
                meta.apply(&config.name, batch)?;
                meta.flush()?;
                segments.push(seg.clone());
                seg
            }
        };
        let collection = Arc::new(Collection {
            config,
            dir,
            meta,
            committer,
            ids: IdMap::loaded(ids),
            segments: RwLock::new(segments),
            growing: Mutex::new(growing),
            values: RwLock::new(stored.values),
            dropped: AtomicBool::new(false),
            file_pins: AtomicUsize::new(0),
            seal_lock: Mutex::new(()),
            moves: std::sync::atomic::AtomicU64::new(0),
            payload_indexes: RwLock::new(Vec::new()),
            index_changes: tokio::sync::Mutex::new(()),
        });
        // Payload indexes are derived from the payloads: rebuilt here.
        for spec in collection.payload_index_specs()? {
            let index = Arc::new(PayloadIndex::new(spec));
            collection.fill_index(&index);
            index.mark_ready();
            collection.payload_indexes.write().push(index);
        }
        for seg in collection.segments.read().iter() {
            collection.maybe_seal(seg);
        }
        Ok(collection)
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn config(&self) -> &CollectionConfig {
        &self.config
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    pub(crate) fn mark_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }

    pub(crate) fn segment(&self, id: u32) -> Option<Arc<Segment>> {
        let segs = self.segments.read();
        // Ids increase along the list; compaction leaves gaps.
        segs.binary_search_by_key(&id, |s| s.id)
            .ok()
            .map(|i| segs[i].clone())
    }

    /// The model that embedded this collection's text and images, if any.
    pub fn model(&self) -> Option<ModelRecord> {
        let values = self.values.read();
        let raw = values.get(MODEL_KEY)?;
        match serde_json::from_slice(raw) {
            Ok(record) => Some(record),
            Err(e) => {
                // Unreadable record: treat as a model nobody has, so text and
                // image operations refuse instead of mixing embeddings.
                tracing::error!(collection = %self.config.name, error = %e, "unreadable model record");
                Some(ModelRecord {
                    id: "<unreadable model record>".into(),
                    fingerprint: String::from_utf8_lossy(raw).into_owned(),
                })
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.ids.len() as u64
    }

    pub fn info(&self) -> CollectionInfo {
        let segments = self
            .segments
            .read()
            .iter()
            .map(|s| SegmentStats {
                id: s.id,
                sealed: s.sealed.load(Ordering::Acquire),
                records: s.allocated.load(Ordering::Acquire).min(s.capacity) as u64,
                live_points: s.live_count() as u64,
                graph_source: s.graph_source,
            })
            .collect();
        CollectionInfo {
            config: self.config.clone(),
            point_count: self.count(),
            segments,
            model: self.model(),
            payload_indexes: self
                .payload_indexes
                .read()
                .iter()
                .map(|ix| ix.stats())
                .collect(),
        }
    }

    /// Validates a raw vector for this collection and normalises it for cosine.
    pub(crate) fn check_vector(&self, field: &str, v: Vec<f32>) -> Result<Vec<f32>> {
        check_vector_for(&self.config, field, v)
    }

    /// A value recorded with this collection's metadata (e.g. the applied
    /// log position of a cluster replica), as the last commit left it.
    pub(crate) fn value(&self, key: &str) -> Option<Vec<u8>> {
        self.values.read().get(key).cloned()
    }
}

/// What validating and embedding points for a collection needs of it: its
/// config and the model that filled it. A local [`Collection`], or in
/// cluster mode a [`RemoteSchema`]: a collection whose shards other nodes
/// hold, described by its config.
pub(crate) trait PointSchema: Sync {
    fn schema_config(&self) -> &CollectionConfig;
    fn schema_model(&self) -> Option<ModelRecord>;
    fn check_vector(&self, field: &str, v: Vec<f32>) -> Result<Vec<f32>> {
        check_vector_for(self.schema_config(), field, v)
    }
}

impl PointSchema for Collection {
    fn schema_config(&self) -> &CollectionConfig {
        &self.config
    }
    fn schema_model(&self) -> Option<ModelRecord> {
        self.model()
    }
}

/// A collection known by its config only (cluster mode: its shards live on
/// other nodes), for validating and embedding writes and queries.
#[derive(Debug, Clone)]
pub struct RemoteSchema {
    pub config: CollectionConfig,
    /// The model that embeds its text and images, when one is recorded.
    pub model: Option<ModelRecord>,
}

impl PointSchema for RemoteSchema {
    fn schema_config(&self) -> &CollectionConfig {
        &self.config
    }
    fn schema_model(&self) -> Option<ModelRecord> {
        self.model.clone()
    }
}

/// Validates a raw vector for a collection of `config` and normalises it for
/// cosine (a collection's own check, usable where only the config is at
/// hand: a cluster node writing to shards other nodes hold).
pub(crate) fn check_vector_for(
    config: &CollectionConfig,
    field: &str,
    mut v: Vec<f32>,
) -> Result<Vec<f32>> {
    let dim = config.dimension as usize;
    if v.len() != dim {
        return Err(EngineError::invalid(
            field,
            format!(
                "vector has dimension {}, collection `{}` expects {dim}",
                v.len(),
                config.name
            ),
        ));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(EngineError::invalid(
            field,
            format!("vector component {i} is not finite ({})", v[i]),
        ));
    }
    let norm_sq: f32 = v.iter().map(|x| x * x).sum();
    if !norm_sq.is_finite() {
        return Err(EngineError::invalid(field, "vector norm overflows f32"));
    }
    if config.metric == Metric::Cosine {
        if norm_sq == 0.0 {
            return Err(EngineError::invalid(
                field,
                "zero vector has no direction (cosine metric)",
            ));
        }
        let inv = 1.0 / norm_sq.sqrt();
        v.iter_mut().for_each(|x| *x *= inv);
    }
    Ok(v)
}

/// Removes segment directories that metadata does not list: a compacted
/// segment whose files outlived its metadata entry (a crash in between), or
/// one whose creation never reached the metadata.
fn remove_orphan_segment_dirs(dir: &Path, listed: &[SegmentMeta]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_prefix("seg-"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if !listed.iter().any(|s| s.id == id) {
            tracing::info!(segment = id, dir = %entry.path().display(), "removing an unlisted segment directory");
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                tracing::warn!(error = %e, "could not remove an unlisted segment directory");
            }
        }
    }
}
