//! The write path of a collection: record allocation in the growing
//! segment, writing records (vector files, graphs), and handing their
//! metadata to the group committer (store, delete).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Collection;
use crate::engine::commit::{
    Change, CommitOp, CommitPermit, CommitTarget, IdMap, PayloadUpdate, SyncTarget,
};
use crate::engine::payload::Payload;
use crate::engine::segment::{PointEntry, Segment};
use crate::engine::{EngineError, Result};
use crate::storage::{Loc, MetaBatch, SegmentMeta, StorageError};

/// A record handed out for a new point: its segment and record number.
type Allocation = (Arc<Segment>, u32);

/// Written records awaiting commit: their operations, the segments written,
/// and the allocations to release once the commit is decided.
type WrittenRecords = (Vec<CommitOp>, Vec<Arc<dyn SyncTarget>>, Vec<Arc<Segment>>);

/// A validated point ready to store: vectors per space (normalised for cosine).
pub(crate) struct PreparedPoint {
    pub id: String,
    pub vectors: [Option<Vec<f32>>; 2],
    pub payload: Option<Payload>,
    /// A JPEG made from the point's image (collections keeping thumbnails).
    pub thumbnail: Option<Vec<u8>>,
}

/// Releases allocated-but-unfinished records when a write ends, however it ends,
/// and seals segments that became complete.
pub(super) struct InFlight<'a> {
    pub(super) collection: &'a Arc<Collection>,
    pub(super) segments: Vec<Arc<Segment>>,
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

    /// Writes points to newly allocated records (vector files, graphs) and
    /// returns their commit operations, the segments written and the
    /// allocations to release once committed. Blocking. With `moved_from`
    /// (compaction), each point's operation applies only if the point is
    /// still at that location when it commits.
    pub(super) fn write_records(
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
        // Insert into graphs, grouped by segment and space (parallel inside the graph).
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
                thumbnail: p.thumbnail,
            });
        }
        let guard_segments = std::mem::take(&mut guard.segments);
        let written = segments
            .into_iter()
            .map(|s| s as Arc<dyn SyncTarget>)
            .collect();
        Ok((ops, written, guard_segments))
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
                .map_err(|e| EngineError::Internal(format!("write task failed: {e}")))??;
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

    /// Changes the payload of each of `ids` that exists, in one atomic,
    /// durable commit; vectors and graphs are untouched. Returns how many
    /// points were updated.
    pub(crate) async fn update_payloads(
        self: &Arc<Self>,
        ids: Vec<String>,
        update: PayloadUpdate,
    ) -> Result<u64> {
        self.update_payloads_recording(ids, update, None).await
    }

    /// Updates payloads as [`Collection::update_payloads`], recording
    /// `value` in the same atomic commit (a cluster replica's applied log
    /// position).
    pub(crate) async fn update_payloads_recording(
        self: &Arc<Self>,
        ids: Vec<String>,
        update: PayloadUpdate,
        value: Option<(String, Vec<u8>)>,
    ) -> Result<u64> {
        let update = Arc::new(update);
        let ops = ids
            .into_iter()
            .map(|id| CommitOp::SetPayload {
                id: Arc::from(id.as_str()),
                update: update.clone(),
            })
            .collect();
        let outcome = self
            .committer
            .commit(self.clone(), ops, Vec::new(), value)
            .await?;
        Ok(outcome.updated)
    }

    pub(crate) async fn delete(self: &Arc<Self>, ids: Vec<String>) -> Result<u64> {
        self.delete_recording(ids, None).await
    }

    /// Deletes `ids`, recording `value` in the same atomic commit (a cluster
    /// replica's applied log position).
    pub(crate) async fn delete_recording(
        self: &Arc<Self>,
        ids: Vec<String>,
        value: Option<(String, Vec<u8>)>,
    ) -> Result<u64> {
        let ops = ids
            .into_iter()
            .map(|id| CommitOp::Delete {
                id: Arc::from(id.as_str()),
            })
            .collect();
        let outcome = self
            .committer
            .commit(self.clone(), ops, Vec::new(), value)
            .await?;
        Ok(outcome.deleted)
    }
}

/// The committer's view of a collection: it resolves replacements against
/// the id map and, once a group is durable, applies its changes here.
impl CommitTarget for Collection {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    fn ids(&self) -> &IdMap {
        &self.ids
    }

    fn entry(&self, loc: Loc) -> Option<PointEntry> {
        self.segment(loc.segment)?
            .points
            .read()
            .get(loc.record as usize)?
            .clone()
    }

    /// Updates the id map and the record tables (searches see a record once
    /// its table entry is set), then the value recorded with the changes.
    fn apply(&self, permit: &CommitPermit, changes: &[Change], value: Option<&(String, Vec<u8>)>) {
        let mut ids = self.ids.write(permit);
        let indexes = self.payload_indexes.read();
        // A point leaves its record before it appears in its new one: a
        // search between the two would miss it (see `Collection::search`).
        let moving = changes
            .iter()
            .any(|c| c.previous.is_some() && c.new.is_some());
        if moving {
            self.moves.fetch_add(1, Ordering::AcqRel);
        }
        for Change { id, new, previous } in changes {
            if let Some(prev) = previous {
                if let Some(seg) = self.segment(prev.segment) {
                    let mut points = seg.points.write();
                    points[prev.record as usize] = None;
                    seg.set_live(prev.record, false);
                    // Under the table's lock: an index being filled reads
                    // the table under it too, so it never sees a record
                    // after its removal here.
                    for ix in indexes.iter() {
                        ix.remove(*prev);
                    }
                }
            }
            match new {
                Some((loc, entry)) => {
                    if let Some(seg) = self.segment(loc.segment) {
                        let mut points = seg.points.write();
                        points[loc.record as usize] = Some(entry.clone());
                        seg.set_live(loc.record, true);
                        for ix in indexes.iter() {
                            ix.insert(*loc, entry.payload.as_deref());
                        }
                    }
                    ids.insert(id.clone(), *loc);
                }
                None => {
                    ids.remove(id);
                }
            }
        }
        if moving {
            self.moves.fetch_add(1, Ordering::AcqRel);
        }
        if let Some((k, v)) = value {
            self.values.write().insert(k.to_string(), v.to_vec());
        }
    }
}

/// A request's written records are durable once its segments' vector files
/// are.
impl SyncTarget for Segment {
    fn sync(&self) -> std::result::Result<(), StorageError> {
        let mut first = None;
        for f in &self.vectors {
            if let Err(e) = f.sync() {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}
