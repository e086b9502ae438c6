//! A collection: its segments, the id map, and the write and search paths.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rayon::prelude::*;

use super::commit::{CommitOp, Committer};
use super::payload::{Filter, Payload};
use super::segment::{PointEntry, Segment};
use super::types::*;
use super::{EngineError, Result};
use crate::storage::{Loc, MetaBatch, MetaStore, SegmentMeta, StorageError};

/// Metadata key of the fingerprint of the model that embedded the collection.
/// Key of the collection value holding its [`ModelRecord`] (JSON).
pub(crate) const MODEL_KEY: &str = "model";

/// Backoff between attempts to seal a segment after a storage fault.
const SEAL_RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(250);
const SEAL_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// A record handed out for a new point: its segment and record number.
type Allocation = (Arc<Segment>, u32);

/// Written records awaiting commit: their operations, the segments written,
/// and the allocations to release once the commit is decided.
type WrittenRecords = (Vec<CommitOp>, Vec<Arc<Segment>>, Vec<Arc<Segment>>);

/// Points moved per commit when compacting: small enough that a compaction
/// never holds up writers for long, large enough to share fsyncs.
const COMPACTION_CHUNK: usize = 256;

pub struct Collection {
    config: CollectionConfig,
    dir: PathBuf,
    meta: Arc<dyn MetaStore>,
    committer: Committer,
    /// Visible id -> record map; changed only by the committer.
    pub(crate) ids: RwLock<HashMap<Arc<str>, Loc>>,
    /// All segments, oldest first.
    segments: RwLock<Vec<Arc<Segment>>>,
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
}

/// A collection's committed state at one instant (see [`Collection::capture`]).
pub(crate) struct Capture {
    pub segments: Vec<CapturedSegment>,
    pub values: HashMap<String, Vec<u8>>,
    pub point_count: u64,
    pub at: std::time::SystemTime,
}

pub(crate) struct CapturedSegment {
    pub segment: Arc<Segment>,
    /// Sealed at the cut: its graph dumps and manifest are complete.
    pub sealed: bool,
    /// Live records (record number, entry), in record order.
    pub points: Vec<(u32, PointEntry)>,
}

/// A validated point ready to store: vectors per space (normalised for cosine).
pub(crate) struct PreparedPoint {
    pub id: String,
    pub vectors: [Option<Vec<f32>>; 2],
    pub payload: Option<Payload>,
}

/// Releases allocated-but-unfinished records when a write ends, however it ends,
/// and seals segments that became complete.
struct InFlight<'a> {
    collection: &'a Arc<Collection>,
    segments: Vec<Arc<Segment>>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        for seg in &self.segments {
            seg.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
        let mut seen: Vec<u32> = Vec::new();
        for seg in &self.segments {
            if !seen.contains(&seg.id) {
                seen.push(seg.id);
                self.collection.maybe_seal(seg);
            }
        }
    }
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
            ids: RwLock::new(HashMap::new()),
            segments: RwLock::new(vec![first.clone()]),
            growing: Mutex::new(first),
            values: RwLock::new(HashMap::new()),
            dropped: AtomicBool::new(false),
            file_pins: AtomicUsize::new(0),
            seal_lock: Mutex::new(()),
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
            ids: RwLock::new(ids),
            segments: RwLock::new(segments),
            growing: Mutex::new(growing),
            values: RwLock::new(stored.values),
            dropped: AtomicBool::new(false),
            file_pins: AtomicUsize::new(0),
            seal_lock: Mutex::new(()),
        });
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

    /// The committed state: live records, segments and values. Call it on
    /// the commit thread (a [`Committer::barrier`]), where no commit is half
    /// applied; the cost is one pass over the segments' record tables.
    pub(crate) fn capture(&self) -> Result<Capture> {
        if self.is_dropped() {
            return Err(EngineError::CollectionNotFound(self.config.name.clone()));
        }
        let at = std::time::SystemTime::now();
        let segments: Vec<CapturedSegment> = self
            .segments
            .read()
            .iter()
            .map(|seg| CapturedSegment {
                segment: seg.clone(),
                sealed: seg.sealed.load(Ordering::Acquire),
                points: seg
                    .points
                    .read()
                    .iter()
                    .enumerate()
                    .filter_map(|(r, p)| p.as_ref().map(|e| (r as u32, e.clone())))
                    .collect(),
            })
            .collect();
        let point_count = segments.iter().map(|s| s.points.len() as u64).sum();
        let ids = self.ids.read().len() as u64;
        if point_count != ids {
            return Err(EngineError::Internal(format!(
                "collection {}: {ids} ids but {point_count} live records",
                self.config.name
            )));
        }
        Ok(Capture {
            segments,
            values: self.values.read().clone(),
            point_count,
            at,
        })
    }

    pub(crate) fn set_value(&self, key: &str, value: &[u8]) {
        self.values.write().insert(key.to_string(), value.to_vec());
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
        self.ids.read().len() as u64
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
        }
    }

    /// Validates a raw vector for this collection and normalises it for cosine.
    pub(crate) fn check_vector(&self, field: &str, mut v: Vec<f32>) -> Result<Vec<f32>> {
        let dim = self.config.dimension as usize;
        if v.len() != dim {
            return Err(EngineError::invalid(
                field,
                format!(
                    "vector has dimension {}, collection `{}` expects {dim}",
                    v.len(),
                    self.config.name
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
        if self.config.metric == Metric::Cosine {
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

    /// Hands out `n` records in the growing segment(s), rolling to a new
    /// segment when one fills up.
    fn allocate<'a>(self: &'a Arc<Self>, n: usize) -> Result<(Vec<Allocation>, InFlight<'a>)> {
        let mut guard = InFlight {
            collection: self,
            segments: Vec::with_capacity(n),
        };
        let mut out = Vec::with_capacity(n);
        let mut growing = self.growing.lock();
        for _ in 0..n {
            if growing.allocated.load(Ordering::Acquire) >= growing.capacity {
                let next = self.add_segment()?;
                *growing = next;
            }
            let record = growing.allocated.fetch_add(1, Ordering::AcqRel);
            growing.in_flight.fetch_add(1, Ordering::AcqRel);
            guard.segments.push(growing.clone());
            out.push((growing.clone(), record));
        }
        Ok((out, guard))
    }

    fn add_segment(&self) -> Result<Arc<Segment>> {
        let id = self.segments.read().last().map_or(1, |s| s.id + 1);
        let seg = Arc::new(Segment::create(&self.dir, id, &self.config)?);
        let mut batch = MetaBatch::default();
        batch.put_segment(SegmentMeta {
            id,
            capacity: self.config.segment_capacity,
            sealed: false,
        });
        self.meta.apply(&self.config.name, batch)?;
        self.meta.flush()?;
        self.segments.write().push(seg.clone());
        tracing::info!(collection = %self.config.name, segment = id, "started a new segment");
        Ok(seg)
    }

    /// Seals a full segment in the background once its last write is done.
    pub(crate) fn maybe_seal(self: &Arc<Self>, seg: &Arc<Segment>) {
        if !seg.ready_to_seal() || seg.sealing.swap(true, Ordering::AcqRel) {
            return;
        }
        let collection = self.clone();
        let seg = seg.clone();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let mut files_written = false;
            let mut retry_in = SEAL_RETRY_FIRST;
            loop {
                match collection.seal(&seg, &mut files_written) {
                    Ok(()) => {
                        tracing::info!(
                            collection = %collection.config.name,
                            segment = seg.id,
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "sealed segment"
                        );
                        break;
                    }
                    Err(e) => {
                        // Meanwhile the segment serves from memory (a restart
                        // would rebuild its graphs); writes go to the next one.
                        tracing::error!(
                            collection = %collection.config.name,
                            segment = seg.id,
                            error = %e,
                            retry_in_ms = retry_in.as_millis() as u64,
                            "sealing failed; will retry"
                        );
                        std::thread::sleep(retry_in);
                        retry_in = (retry_in * 2).min(SEAL_RETRY_MAX);
                    }
                }
            }
            seg.sealing.store(false, Ordering::Release);
        });
    }

    /// One attempt at sealing: dump the graphs and manifest (once; the
    /// segment is full, so they cannot change), then record it as sealed.
    fn seal(&self, seg: &Segment, files_written: &mut bool) -> Result<()> {
        let _sealing = self.seal_lock.lock();
        if self.is_dropped() {
            return Ok(());
        }
        // Tests stop a seal here, past its `dropped` check and before it
        // writes, to drop the collection exactly then. Named per collection
        // (failpoints are process-global), so only that test's seal stops.
        fail::fail_point!(&format!("seal-before-write/{}", self.config.name));
        if !*files_written {
            seg.write_sealed_files(&self.config)?;
            *files_written = true;
        }
        let mut batch = MetaBatch::default();
        batch.put_segment(SegmentMeta {
            id: seg.id,
            capacity: seg.capacity,
            sealed: true,
        });
        self.meta.apply(&self.config.name, batch)?;
        self.meta.flush()?;
        // Full, so its graphs never change again: serve them from the
        // sealed files (our loop, memory-mapped; hnsw_rs's copies go).
        if let Err(e) = seg.switch_to_sealed_graphs(&self.config) {
            // Still correct, only slower and bigger: hnsw_rs keeps serving.
            tracing::error!(
                collection = %self.config.name,
                segment = seg.id,
                error = %e,
                "cannot open the sealed graphs just written; searching the in-memory ones"
            );
        }
        seg.sealed.store(true, Ordering::Release);
        Ok(())
    }

    /// One compaction step. Picks the sealed segment (never the newest) with
    /// the largest share of dead (replaced or deleted) records, if that share
    /// is at least `dead_ratio`; moves its live points to the growing segment,
    /// in chunks committed like writes; then drops the emptied segment and
    /// its files. Returns the segment dropped, if any. Blocking.
    ///
    /// Safe against concurrent writers: a move commits only if the point is
    /// still where it was read (else the newer write wins and the copy is
    /// garbage), each chunk commits atomically, and the segment is detached
    /// on the commit thread only once no id refers to it.
    pub(crate) fn compact_once(self: &Arc<Self>, dead_ratio: f64) -> Result<Option<u32>> {
        let candidate = {
            let segs = self.segments.read();
            let newest = segs.last().map(|s| s.id);
            segs.iter()
                .filter(|s| s.sealed.load(Ordering::Acquire) && Some(s.id) != newest)
                .map(|s| {
                    let dead = 1.0 - s.live_count() as f64 / s.capacity.max(1) as f64;
                    (dead, s.clone())
                })
                .filter(|(dead, _)| *dead >= dead_ratio)
                .max_by(|a, b| a.0.total_cmp(&b.0))
        };
        let Some((dead, seg)) = candidate else {
            return Ok(None);
        };
        let started = std::time::Instant::now();
        let live: Vec<(u32, PointEntry)> = seg
            .points
            .read()
            .iter()
            .enumerate()
            .filter_map(|(r, p)| p.as_ref().map(|e| (r as u32, e.clone())))
            .collect();
        for chunk in live.chunks(COMPACTION_CHUNK) {
            if self.is_dropped() {
                return Ok(None);
            }
            fail::fail_point!("compaction-move", |arg| Err(
                crate::storage::injected_fault(&seg.dir, arg).into()
            ));
            let from: Vec<Loc> = chunk
                .iter()
                .map(|(r, _)| Loc {
                    segment: seg.id,
                    record: *r,
                })
                .collect();
            let points = chunk
                .iter()
                .map(|(r, e)| PreparedPoint {
                    id: e.id.to_string(),
                    vectors: self.vectors_of(&seg, *r, e.spaces),
                    payload: e.payload.as_deref().cloned(),
                })
                .collect();
            let (ops, segments, guard_segments) = self.write_records(points, Some(&from))?;
            let _guard = InFlight {
                collection: self,
                segments: guard_segments,
            };
            self.committer
                .commit_blocking(self.clone(), ops, segments)?;
        }
        // Detach on the commit thread: there no commit is half applied, so
        // "no live record" means no id refers to the segment, and a snapshot
        // either captured it before (and pinned its files) or never sees it.
        let this = self.clone();
        let target = seg.clone();
        let detached = self.committer.barrier_blocking(move || {
            if this.file_pins.load(Ordering::Acquire) > 0 || target.live_count() > 0 {
                return false;
            }
            this.segments.write().retain(|s| s.id != target.id);
            true
        })?;
        if !detached {
            return Ok(None);
        }
        let mut batch = MetaBatch::default();
        batch.remove_segment(seg.id);
        self.meta.apply(&self.config.name, batch)?;
        self.meta.flush()?;
        // Searches still holding the segment keep reading its mapping.
        if let Err(e) = std::fs::remove_dir_all(&seg.dir) {
            tracing::warn!(collection = %self.config.name, segment = seg.id, error = %e, "could not remove a compacted segment's files");
        }
        tracing::info!(
            collection = %self.config.name,
            segment = seg.id,
            dead_ratio = dead,
            moved = live.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "compacted segment"
        );
        Ok(Some(seg.id))
    }

    /// Writes points to newly allocated records (vector files, graphs) and
    /// returns their commit operations, the segments written and the
    /// allocations to release once committed. Blocking. With `moved_from`
    /// (compaction), each point's operation applies only if the point is
    /// still at that location when it commits.
    fn write_records(
        self: &Arc<Self>,
        points: Vec<PreparedPoint>,
        moved_from: Option<&[Loc]>,
    ) -> Result<WrittenRecords> {
        let (allocs, mut guard) = self.allocate(points.len())?;
        for (p, (seg, rec)) in points.iter().zip(&allocs) {
            for (space, v) in p.vectors.iter().enumerate() {
                if let Some(v) = v {
                    seg.vectors[space].write(*rec, v)?;
                }
            }
        }
        // Insert into graphs, grouped by segment and space (parallel inside hnsw_rs).
        let mut segments: Vec<Arc<Segment>> = Vec::new();
        for (seg, _) in &allocs {
            if !segments.iter().any(|s| s.id == seg.id) {
                segments.push(seg.clone());
            }
        }
        for seg in &segments {
            for space in 0..self.config.spaces() {
                let items: Vec<(&[f32], usize)> = points
                    .iter()
                    .zip(&allocs)
                    .filter(|(p, (s, _))| s.id == seg.id && p.vectors[space].is_some())
                    .map(|(p, (_, r))| (p.vectors[space].as_deref().unwrap(), *r as usize))
                    .collect();
                seg.graphs[space].insert(&items);
            }
        }
        let mut ops = Vec::with_capacity(points.len());
        for (i, (p, (seg, rec))) in points.into_iter().zip(&allocs).enumerate() {
            let spaces = p
                .vectors
                .iter()
                .enumerate()
                .fold(0u8, |m, (i, v)| m | ((v.is_some() as u8) << i));
            let payload_bytes = p
                .payload
                .as_ref()
                .map(|pl| serde_json::to_vec(pl).expect("JSON encodes"));
            ops.push(CommitOp::Upsert {
                id: Arc::from(p.id.as_str()),
                loc: Loc {
                    segment: seg.id,
                    record: *rec,
                },
                spaces,
                payload: p.payload.map(Arc::new),
                payload_bytes,
                only_if_at: moved_from.map(|from| from[i]),
            });
        }
        let guard_segments = std::mem::take(&mut guard.segments);
        Ok((ops, segments, guard_segments))
    }

    /// Stores validated points (blocking: writes files and builds graphs),
    /// then waits for the group commit. `value` is recorded with the batch.
    pub(crate) async fn store(
        self: &Arc<Self>,
        points: Vec<PreparedPoint>,
        value: Option<(String, Vec<u8>)>,
    ) -> Result<u64> {
        if points.is_empty() {
            return Ok(0);
        }
        let this = self.clone();
        // Everything up to the commit is blocking work (file writes, graph inserts).
        let (ops, segments, guard_segments) =
            tokio::task::spawn_blocking(move || this.write_records(points, None))
                .await
                .map_err(|e| {
                    EngineError::Internal(format!("write task failed: {e}"))
                })??;
        let _guard = InFlight {
            collection: self,
            segments: guard_segments,
        };
        let outcome = self
            .committer
            .commit(self.clone(), ops, segments, value)
            .await?;
        Ok(outcome.upserted)
    }

    pub(crate) async fn delete(self: &Arc<Self>, ids: Vec<String>) -> Result<u64> {
        let ops = ids
            .into_iter()
            .map(|id| CommitOp::Delete {
                id: Arc::from(id.as_str()),
            })
            .collect();
        let outcome = self
            .committer
            .commit(self.clone(), ops, Vec::new(), None)
            .await?;
        Ok(outcome.deleted)
    }

    fn vectors_of(&self, seg: &Segment, record: u32, spaces: u8) -> [Option<Vec<f32>>; 2] {
        let mut out = [None, None];
        for (space, file) in seg.vectors.iter().enumerate() {
            if spaces & (1 << space) != 0 {
                out[space] = Some(file.get(record).to_vec());
            }
        }
        out
    }

    pub fn get(&self, ids: &[String], with_vector: bool) -> Vec<StoredPoint> {
        let map = self.ids.read();
        ids.iter()
            .filter_map(|id| {
                let loc = *map.get(id.as_str())?;
                let seg = self.segment(loc.segment)?;
                let entry = seg.points.read()[loc.record as usize].clone()?;
                Some(StoredPoint {
                    vectors: with_vector.then(|| self.vectors_of(&seg, loc.record, entry.spaces)),
                    id: entry.id,
                    payload: entry.payload,
                })
            })
            .collect()
    }

    /// The stored vector of a point, for "more like this" queries.
    pub fn query_vector_of(&self, id: &str) -> Result<Vec<f32>> {
        let not_found = || {
            EngineError::invalid(
                "query.id",
                format!(
                    "point `{id}` not found in collection `{}`",
                    self.config.name
                ),
            )
        };
        let loc = *self.ids.read().get(id).ok_or_else(not_found)?;
        let seg = self.segment(loc.segment).ok_or_else(not_found)?;
        let entry = seg.points.read()[loc.record as usize]
            .clone()
            .ok_or_else(not_found)?;
        let space = if entry.spaces & 1 != 0 {
            IMAGE_SPACE
        } else {
            TEXT_SPACE
        };
        Ok(seg.vectors[space].get(loc.record).to_vec())
    }

    /// Nearest neighbours of a (validated, normalised) query vector, best
    /// first. Blocking: run off the async runtime.
    pub fn search(&self, query: &[f32], params: &SearchParams, exclude: Option<&str>) -> Vec<Hit> {
        let spaces = self.config.spaces();
        let weights = if spaces == 1 {
            [1.0, 0.0]
        } else {
            params.fusion.unwrap_or(self.config.fusion).weights()
        };
        let active_mask: u8 = (0..spaces)
            .filter(|&s| weights[s] > 0.0)
            .fold(0, |m, s| m | (1 << s));
        let ef = if params.ef == 0 {
            self.config.ef_search as usize
        } else {
            params.ef
        }
        .max(params.limit);
        let ctx = SearchContext {
            metric: self.config.metric,
            query,
            weights,
            active_mask,
            limit: params.limit,
            ef,
            filter: params.filter.as_ref().filter(|f| !f.is_empty()),
            exclude,
        };
        let segments: Vec<Arc<Segment>> = self
            .segments
            .read()
            .iter()
            .filter(|s| s.allocated.load(Ordering::Acquire) > 0)
            .cloned()
            .collect();
        let search = |seg: &Arc<Segment>| -> Vec<(f32, Arc<Segment>, u32)> {
            ctx.search_segment(seg)
                .into_iter()
                .map(|(s, r)| (s, seg.clone(), r))
                .collect()
        };
        // Segments in parallel only when there are several: handing a lone
        // segment to rayon's pool costs two thread wake-ups per request.
        let mut found: Vec<(f32, Arc<Segment>, u32)> = if segments.len() > 1 {
            segments.par_iter().flat_map_iter(search).collect()
        } else {
            segments.iter().flat_map(search).collect()
        };
        found.sort_by(|a, b| ctx.metric.cmp_scores(a.0, b.0));
        found.truncate(params.limit);
        found
            .into_iter()
            .filter_map(|(score, seg, record)| {
                let entry = seg.points.read()[record as usize].clone()?;
                Some(Hit {
                    score,
                    vectors: params
                        .with_vector
                        .then(|| self.vectors_of(&seg, record, entry.spaces)),
                    payload: if params.with_payload {
                        entry.payload
                    } else {
                        None
                    },
                    id: entry.id,
                })
            })
            .collect()
    }
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

struct SearchContext<'a> {
    metric: Metric,
    query: &'a [f32],
    weights: [f32; 2],
    active_mask: u8,
    limit: usize,
    ef: usize,
    filter: Option<&'a Filter>,
    exclude: Option<&'a str>,
}

/// A filter matching at most this many candidates per `ef` (or a growing
/// segment with at most this many records per `ef`) is answered by an exact
/// scan: scoring that few vectors costs less than a graph walk, and a
/// filtered graph walk loses recall when few nodes pass.
const EXACT_SCAN_FACTOR: usize = 16;

impl SearchContext<'_> {
    fn keep(&self, entry: &PointEntry) -> bool {
        entry.spaces & self.active_mask != 0
            && self.exclude.is_none_or(|x| &*entry.id != x)
            && self
                .filter
                .is_none_or(|f| f.matches(entry.payload.as_deref()))
    }

    /// Exact fused score: the weighted mean of per-space scores over the
    /// active spaces the point has.
    fn score(&self, seg: &Segment, record: u32, spaces: u8) -> f32 {
        let (mut num, mut den) = (0.0f32, 0.0f32);
        for (space, file) in seg.vectors.iter().enumerate() {
            if spaces & self.active_mask & (1 << space) != 0 {
                num += self.weights[space] * self.metric.score(self.query, file.get(record));
                den += self.weights[space];
            }
        }
        num / den
    }

    fn top(&self, mut scored: Vec<(f32, u32)>) -> Vec<(f32, u32)> {
        scored.sort_by(|a, b| self.metric.cmp_scores(a.0, b.0));
        scored.truncate(self.limit);
        scored
    }

    fn exact(
        &self,
        seg: &Segment,
        points: &[Option<PointEntry>],
        candidates: impl Iterator<Item = u32>,
    ) -> Vec<(f32, u32)> {
        let scored = candidates
            .filter_map(|r| {
                let e = points[r as usize].as_ref()?;
                Some((self.score(seg, r, e.spaces), r))
            })
            .collect();
        self.top(scored)
    }

    fn search_segment(&self, seg: &Segment) -> Vec<(f32, u32)> {
        let points = seg.points.read();
        let allocated = (seg.allocated.load(Ordering::Acquire).min(seg.capacity)) as usize;
        let keep_record = |r: usize| {
            points
                .get(r)
                .and_then(|p| p.as_ref())
                .is_some_and(|e| self.keep(e))
        };
        let kept_records = || (0..allocated).filter(|&r| keep_record(r)).map(|r| r as u32);
        // A growing segment this small is scanned exactly: it costs about
        // what a walk does, and its answers stay the same across a restart,
        // which rebuilds its graph (a parallel build, never the same graph).
        if !seg.sealed.load(Ordering::Acquire) && allocated <= self.ef * EXACT_SCAN_FACTOR {
            return self.exact(seg, &points, kept_records());
        }
        if self.filter.is_some() {
            let matching: Vec<u32> = kept_records().collect();
            if matching.len() <= self.ef * EXACT_SCAN_FACTOR {
                return self.exact(seg, &points, matching.into_iter());
            }
        }
        let mut candidates: Vec<u32> = Vec::new();
        for (space, graph) in seg.graphs.iter().enumerate() {
            if self.active_mask & (1 << space) != 0 {
                candidates.extend(
                    graph
                        .search(self.query, self.ef, self.ef, &keep_record)
                        .into_iter()
                        .map(|r| r as u32),
                );
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let result = self.exact(seg, &points, candidates.into_iter());
        if result.len() < self.limit {
            // The graph walk came back short (many deleted or filtered-out
            // nodes): fall back to an exact scan so matches are never missed.
            let exact = self.exact(seg, &points, kept_records());
            if exact.len() > result.len() {
                return exact;
            }
        }
        result
    }
}
