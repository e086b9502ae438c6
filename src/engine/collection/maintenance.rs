//! Maintenance: sealing full segments, compacting segments with many dead
//! records, and the capture of the committed state that snapshots copy.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::write::{InFlight, PreparedPoint};
use super::Collection;
use crate::engine::segment::{PointEntry, Segment};
use crate::engine::{EngineError, Result};
use crate::storage::{Loc, MetaBatch, SegmentMeta};

/// Backoff between attempts to seal a segment after a storage fault.
const SEAL_RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(250);
const SEAL_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// Points moved per commit when compacting: small enough that a compaction
/// never holds up writers for long, large enough to share fsyncs.
const COMPACTION_CHUNK: usize = 256;

/// A collection's committed state at one instant (see [`Collection::capture`]).
pub(crate) struct Capture {
    pub segments: Vec<CapturedSegment>,
    pub values: HashMap<String, Vec<u8>>,
    pub point_count: u64,
    pub at: std::time::SystemTime,
}

pub(crate) struct CapturedSegment {
    pub segment: Arc<Segment>,
    /// Sealed at the cut: its sealed graph files and manifest are complete.
    pub sealed: bool,
    /// Live records (record number, entry), in record order.
    pub points: Vec<(u32, PointEntry)>,
}

impl Collection {
    /// The committed state: live records, segments and values. Call it on
    /// the commit thread (a [`Committer::barrier`]), where no commit is half
    /// applied; the cost is one pass over the segments' record tables.
    ///
    /// [`Committer::barrier`]: crate::engine::commit::Committer::barrier
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
        let ids = self.ids.len() as u64;
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

    /// Checkpoints the graphs of growing segments with at least
    /// `min_new_points` inserted since their last checkpoint (see
    /// [`Segment::write_checkpoints`]). Returns the points checkpointed.
    pub(crate) fn checkpoint_graphs(&self, min_new_points: usize) -> Result<usize> {
        if self.is_dropped() {
            return Ok(0);
        }
        let growing: Vec<Arc<Segment>> = self
            .segments
            .read()
            .iter()
            .filter(|s| !s.sealed.load(Ordering::Acquire))
            .cloned()
            .collect();
        let mut total = 0;
        for seg in growing {
            let points: usize = seg.graphs.iter().map(|g| g.len()).sum();
            let done = seg.checkpointed_points.load(Ordering::Acquire);
            if points >= done + min_new_points.max(1) {
                let started = std::time::Instant::now();
                let n = seg.write_checkpoints()?;
                if n > 0 {
                    tracing::debug!(
                        collection = %self.config.name,
                        segment = seg.id,
                        points = n,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "checkpointed growing graphs"
                    );
                }
                total += n;
            }
        }
        Ok(total)
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

    /// One attempt at sealing: write the sealed graphs and manifest (once; the
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
        // sealed files (memory-mapped; the growing graphs go).
        if let Err(e) = seg.switch_to_sealed_graphs(&self.config) {
            // Still correct, only slower and bigger: the growing graphs keep serving.
            tracing::error!(
                collection = %self.config.name,
                segment = seg.id,
                error = %e,
                "cannot open the sealed graphs just written; searching the in-memory ones"
            );
        }
        seg.sealed.store(true, Ordering::Release);
        seg.remove_checkpoints();
        metrics::counter!("clipdb_seals_total").increment(1);
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
                    // A move keeps the stored thumbnail where it is.
                    thumbnail: None,
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
        metrics::counter!("clipdb_compactions_total").increment(1);
        Ok(Some(seg.id))
    }
}
