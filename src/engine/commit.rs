//! Group commit. Writers prepare their records (vectors written, graphs
//! updated) concurrently, then hand the metadata changes to one committer
//! thread. It takes every request waiting, fsyncs the vector files they
//! touched, applies their metadata batches in arrival order, flushes the
//! metadata store once, and only then makes the changes visible and answers.
//! Many concurrent writers therefore share one pair of fsyncs.
//!
//! The committer also runs *barriers*: a function run on its thread between
//! two groups, when the in-memory view holds exactly the writes committed so
//! far (each whole). Snapshots take their consistent cut in one.
//!
//! Replacements are resolved here, by id, in commit order: the committer is
//! the only place that knows which record currently holds an id, so a write
//! that fails can never leave a stale mapping for a later one.
//!
//! The committer sees a collection only through [`CommitTarget`] (its name,
//! whether it was dropped, its [`IdMap`], and where to apply committed
//! changes) and the files a request wrote only through [`SyncTarget`]. It
//! alone makes the [`CommitPermit`] that changing an id map requires, and
//! lends it to [`CommitTarget::apply`] once a group is durable.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::payload::Payload;
use super::segment::PointEntry;
use super::{EngineError, Result};
use crate::storage::{Loc, MetaBatch, MetaStore, RecordMeta, StorageError};

mod id_map;
#[cfg(test)]
mod tests;

pub(crate) use id_map::IdMap;

/// What the committer needs of a collection: a name for its metadata, the
/// id map that replacements are resolved against, and a place to make
/// durable changes visible.
pub(crate) trait CommitTarget: Send + Sync {
    /// The name its metadata is stored under.
    fn name(&self) -> &str;
    /// A dropped target's requests fail with `CollectionNotFound`.
    fn is_dropped(&self) -> bool;
    /// Which record holds each id, as the commits applied so far left it.
    fn ids(&self) -> &IdMap;
    /// The committed entry (id, spaces, payload) of the record at `loc`.
    fn entry(&self, loc: Loc) -> Option<PointEntry>;
    /// Makes durable changes visible, in order: the id map (through
    /// `permit`), the record tables, and the value recorded with them.
    /// Called by the committer only, on its thread, after the group's flush.
    fn apply(&self, permit: &CommitPermit, changes: &[Change], value: Option<&(String, Vec<u8>)>);
}

/// Files a request wrote records to (a segment's vector files), which the
/// committer makes durable before any metadata refers to them.
pub(crate) trait SyncTarget: Send + Sync {
    /// Fsyncs every file; on failure, still tries the others and returns
    /// the first error.
    fn sync(&self) -> std::result::Result<(), StorageError>;
}

/// Leave to change an [`IdMap`] ([`IdMap::write`]). Only the committer can
/// make one (its field is private to this module): the commit thread does,
/// once a group is durable, and lends it to [`CommitTarget::apply`].
pub(crate) struct CommitPermit {
    _private: (),
}

/// One point's committed change.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub id: Arc<str>,
    /// Its new record and entry; None: deleted.
    pub new: Option<(Loc, PointEntry)>,
    /// The record it leaves, if it had one.
    pub previous: Option<Loc>,
}

pub(crate) enum CommitOp {
    Upsert {
        id: Arc<str>,
        loc: Loc,
        spaces: u8,
        payload: Option<Arc<Payload>>,
        payload_bytes: Option<Vec<u8>>,
        /// Compaction moves: apply only if the id is still at this location
        /// (a newer write or a delete since it was read wins).
        only_if_at: Option<Loc>,
        /// The point's thumbnail (collections that keep them), replacing any
        /// earlier one; a move leaves the thumbnail as it is.
        thumbnail: Option<Vec<u8>>,
    },
    Delete {
        id: Arc<str>,
    },
    /// Changes a point's payload in place (same record, same vectors).
    /// Resolved here against the point's current payload, so concurrent
    /// updates of one point apply in commit order. A missing id is skipped.
    SetPayload {
        id: Arc<str>,
        update: Arc<PayloadUpdate>,
    },
}

/// How [`CommitOp::SetPayload`] changes a payload.
#[derive(Debug, Clone)]
pub(crate) enum PayloadUpdate {
    /// Sets these top-level keys.
    Merge(Payload),
    /// Replaces the whole payload.
    Replace(Payload),
    /// Removes these keys (top-level or dotted).
    DeleteKeys(Vec<String>),
}

impl PayloadUpdate {
    pub(crate) fn apply(&self, current: Option<&Payload>) -> Payload {
        match self {
            PayloadUpdate::Replace(p) => p.clone(),
            PayloadUpdate::Merge(p) => {
                let mut merged = current.cloned().unwrap_or_default();
                merged.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
                merged
            }
            PayloadUpdate::DeleteKeys(keys) => {
                let mut kept = current.cloned().unwrap_or_default();
                for key in keys {
                    remove_dotted(&mut kept, key);
                }
                kept
            }
        }
    }
}

/// Removes `key` (dotted for nested objects) from `payload`.
fn remove_dotted(payload: &mut Payload, key: &str) {
    match key.split_once('.') {
        None => {
            payload.remove(key);
        }
        Some((head, rest)) => {
            if let Some(serde_json::Value::Object(inner)) = payload.get_mut(head) {
                remove_dotted(inner, rest);
            }
        }
    }
}

pub(crate) struct CommitRequest {
    pub collection: Arc<dyn CommitTarget>,
    pub ops: Vec<CommitOp>,
    /// Segments whose vector files received records for this request.
    pub segments: Vec<Arc<dyn SyncTarget>>,
    /// A metadata value to record with the batch (e.g. the model fingerprint).
    pub value: Option<(String, Vec<u8>)>,
    pub reply: oneshot::Sender<Result<CommitOutcome>>,
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CommitOutcome {
    pub upserted: u64,
    pub deleted: u64,
    /// Points whose payload a SetPayload op changed.
    pub updated: u64,
}

/// Work for the commit thread.
enum Job {
    Commit(CommitRequest),
    /// Runs between groups.
    Barrier(Box<dyn FnOnce() + Send>),
}

#[derive(Clone)]
pub(crate) struct Committer {
    tx: mpsc::Sender<Job>,
}

/// Most requests one group takes, so a flood of writers still gets answers.
const MAX_GROUP: usize = 1024;

impl Committer {
    pub fn start(meta: Arc<dyn MetaStore>) -> Committer {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("clipdb-commit".into())
            .spawn(move || {
                let mut next = None;
                loop {
                    let job = match next.take() {
                        Some(job) => job,
                        None => match rx.recv() {
                            Ok(job) => job,
                            Err(_) => break,
                        },
                    };
                    let first = match job {
                        Job::Barrier(f) => {
                            // A panic must not take the commit thread down;
                            // the waiting caller sees its reply dropped.
                            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
                                tracing::error!("a commit barrier panicked");
                            }
                            continue;
                        }
                        Job::Commit(r) => r,
                    };
                    let mut group = vec![first];
                    while group.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(Job::Commit(r)) => group.push(r),
                            Ok(barrier) => {
                                // Runs after this group, before later writes.
                                next = Some(barrier);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    let started = std::time::Instant::now();
                    commit_group(meta.as_ref(), group);
                    metrics::histogram!("clipdb_commit_duration_seconds")
                        .record(started.elapsed().as_secs_f64());
                }
            })
            .expect("spawn commit thread");
        Committer { tx }
    }

    /// Queues a commit; the receiver gets its outcome.
    fn send_commit(
        &self,
        collection: Arc<dyn CommitTarget>,
        ops: Vec<CommitOp>,
        segments: Vec<Arc<dyn SyncTarget>>,
        value: Option<(String, Vec<u8>)>,
    ) -> Result<oneshot::Receiver<Result<CommitOutcome>>> {
        let (reply, rx) = oneshot::channel();
        let req = CommitRequest {
            collection,
            ops,
            segments,
            value,
            reply,
        };
        self.tx
            .send(Job::Commit(req))
            .map_err(|_| EngineError::ShuttingDown)?;
        Ok(rx)
    }

    /// Queues a barrier; the receiver gets `f`'s result.
    fn send_barrier<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<oneshot::Receiver<T>> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Barrier(Box::new(move || {
            let _ = reply.send(f());
        }));
        self.tx.send(job).map_err(|_| EngineError::ShuttingDown)?;
        Ok(rx)
    }

    pub async fn commit(
        &self,
        collection: Arc<dyn CommitTarget>,
        ops: Vec<CommitOp>,
        segments: Vec<Arc<dyn SyncTarget>>,
        value: Option<(String, Vec<u8>)>,
    ) -> Result<CommitOutcome> {
        let rx = self.send_commit(collection, ops, segments, value)?;
        rx.await.map_err(|_| EngineError::ShuttingDown)?
    }

    /// [`Committer::commit`] for a thread outside the async runtime
    /// (compaction).
    pub fn commit_blocking(
        &self,
        collection: Arc<dyn CommitTarget>,
        ops: Vec<CommitOp>,
        segments: Vec<Arc<dyn SyncTarget>>,
    ) -> Result<CommitOutcome> {
        let rx = self.send_commit(collection, ops, segments, None)?;
        rx.blocking_recv().map_err(|_| EngineError::ShuttingDown)?
    }

    /// [`Committer::barrier`] for a thread outside the async runtime.
    pub fn barrier_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let rx = self.send_barrier(f)?;
        rx.blocking_recv().map_err(|_| EngineError::ShuttingDown)
    }

    /// Runs `f` on the commit thread between two groups: every write
    /// acknowledged before this call is visible to it, no write is half
    /// visible, and none becomes visible while it runs. Keep `f` short: all
    /// writes of every collection wait for it.
    pub async fn barrier<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let rx = self.send_barrier(f)?;
        rx.await.map_err(|_| EngineError::ShuttingDown)
    }
}

/// What one request will change in memory once durable.
struct Planned {
    req: CommitRequest,
    changes: Vec<Change>,
    outcome: CommitOutcome,
}

fn commit_group(meta: &dyn MetaStore, group: Vec<CommitRequest>) {
    // 1. Vector bytes first: metadata must never point at records not on disk.
    let mut synced: Vec<*const ()> = Vec::new();
    let mut sync_error = None;
    for req in &group {
        for seg in &req.segments {
            let ptr = Arc::as_ptr(seg) as *const ();
            if synced.contains(&ptr) {
                continue;
            }
            synced.push(ptr);
            if let Err(e) = seg.sync() {
                sync_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = sync_error {
        // Nothing is recorded yet: the group's records stay unreferenced.
        tracing::error!(error = %e, "vector fsync failed; the group's writes are not acknowledged");
        for req in group {
            let _ = req.reply.send(Err(EngineError::Storage(e.replicate())));
        }
        return;
    }

    // 2. Resolve replacements and apply each request's batch, in order. The
    // overlay holds this group's not-yet-visible id changes.
    let mut overlay: HashMap<(*const (), Arc<str>), Option<Loc>> = HashMap::new();
    // The entries this group wrote, for payload updates of points it wrote.
    let mut overlay_entries: HashMap<(*const (), Arc<str>), PointEntry> = HashMap::new();
    let mut planned = Vec::with_capacity(group.len());
    let mut undos = Vec::with_capacity(group.len());
    for req in group {
        if req.collection.is_dropped() {
            let _ = req.reply.send(Err(EngineError::CollectionNotFound(
                req.collection.name().to_string(),
            )));
            continue;
        }
        let cptr = Arc::as_ptr(&req.collection) as *const ();
        let mut batch = MetaBatch::default();
        let mut changes = Vec::with_capacity(req.ops.len());
        let mut outcome = CommitOutcome::default();
        let mut local: HashMap<Arc<str>, Option<Loc>> = HashMap::new();
        let mut local_entries: HashMap<Arc<str>, PointEntry> = HashMap::new();
        {
            let ids = req.collection.ids().read();
            let current = |id: &Arc<str>, local: &HashMap<Arc<str>, Option<Loc>>| -> Option<Loc> {
                if let Some(l) = local.get(id) {
                    return *l;
                }
                match overlay.get(&(cptr, id.clone())) {
                    Some(l) => *l,
                    None => ids.get(id).copied(),
                }
            };
            for op in &req.ops {
                match op {
                    CommitOp::Upsert {
                        id,
                        loc,
                        spaces,
                        payload,
                        payload_bytes,
                        only_if_at,
                        thumbnail,
                    } => {
                        let previous = current(id, &local);
                        if only_if_at.is_some() && previous != *only_if_at {
                            continue;
                        }
                        if only_if_at.is_none() {
                            match thumbnail {
                                Some(jpeg) => batch.put_thumbnail(id, jpeg.clone()),
                                None if previous.is_some() => batch.remove_thumbnail(id),
                                None => {}
                            }
                        }
                        if let Some(prev) = previous {
                            batch.remove_record(prev);
                        }
                        // A move carries the payload the point has now: a
                        // payload update keeps the point's record, so it
                        // may have come after the mover read it.
                        let (payload, payload_bytes) = match only_if_at {
                            None => (payload.clone(), payload_bytes.clone()),
                            Some(at) => {
                                let now = match local_entries.get(id) {
                                    Some(e) => Some(e.clone()),
                                    None => match overlay_entries.get(&(cptr, id.clone())) {
                                        Some(e) => Some(e.clone()),
                                        None => req.collection.entry(*at),
                                    },
                                };
                                let payload = now.and_then(|e| e.payload);
                                let bytes = payload
                                    .as_deref()
                                    .map(|p| serde_json::to_vec(p).expect("JSON encodes"));
                                (payload, bytes)
                            }
                        };
                        batch.put_record(
                            *loc,
                            RecordMeta {
                                id: id.to_string(),
                                spaces: *spaces,
                                payload: payload_bytes,
                            },
                        );
                        let entry = PointEntry {
                            id: id.clone(),
                            spaces: *spaces,
                            payload,
                        };
                        local_entries.insert(id.clone(), entry.clone());
                        changes.push(Change {
                            id: id.clone(),
                            new: Some((*loc, entry)),
                            previous,
                        });
                        local.insert(id.clone(), Some(*loc));
                        outcome.upserted += 1;
                    }
                    CommitOp::Delete { id } => {
                        let previous = current(id, &local);
                        if let Some(prev) = previous {
                            batch.remove_record(prev);
                            batch.remove_thumbnail(id);
                            changes.push(Change {
                                id: id.clone(),
                                new: None,
                                previous: Some(prev),
                            });
                            local.insert(id.clone(), None);
                            local_entries.remove(id);
                            outcome.deleted += 1;
                        }
                    }
                    CommitOp::SetPayload { id, update } => {
                        let Some(loc) = current(id, &local) else {
                            continue;
                        };
                        let entry = match local_entries.get(id) {
                            Some(e) => Some(e.clone()),
                            None => match overlay_entries.get(&(cptr, id.clone())) {
                                Some(e) => Some(e.clone()),
                                None => req.collection.entry(loc),
                            },
                        };
                        let Some(entry) = entry else { continue };
                        let payload = update.apply(entry.payload.as_deref());
                        let payload = (!payload.is_empty()).then(|| Arc::new(payload));
                        batch.put_record(
                            loc,
                            RecordMeta {
                                id: id.to_string(),
                                spaces: entry.spaces,
                                payload: payload
                                    .as_deref()
                                    .map(|p| serde_json::to_vec(p).expect("JSON encodes")),
                            },
                        );
                        let entry = PointEntry { payload, ..entry };
                        local_entries.insert(id.clone(), entry.clone());
                        // Same record: nothing to vacate.
                        changes.push(Change {
                            id: id.clone(),
                            new: Some((loc, entry)),
                            previous: None,
                        });
                        local.insert(id.clone(), Some(loc));
                        outcome.updated += 1;
                    }
                }
            }
        }
        if let Some((k, v)) = &req.value {
            batch.put_value(k, v.clone());
        }
        if batch.is_empty() {
            planned.push(Planned {
                req,
                changes,
                outcome,
            });
            continue;
        }
        match meta.apply(req.collection.name(), batch) {
            Ok(undo) => {
                undos.push(undo);
                for (id, loc) in local {
                    if loc.is_none() {
                        overlay_entries.remove(&(cptr, id.clone()));
                    }
                    overlay.insert((cptr, id), loc);
                }
                for (id, entry) in local_entries {
                    overlay_entries.insert((cptr, id), entry);
                }
                planned.push(Planned {
                    req,
                    changes,
                    outcome,
                });
            }
            Err(e) => {
                let _ = req.reply.send(Err(e.into()));
            }
        }
    }

    // 3. One flush makes the whole group durable.
    if let Err(e) = meta.flush() {
        tracing::error!(error = %e, "metadata flush failed; the group's writes are not acknowledged");
        // Take the batches back so the store matches the in-memory view (which
        // never saw them): otherwise a later flush could make a write the
        // client was told failed durable, with its id recorded twice. Should a
        // crash persist them before the revert does, each is still whole.
        for undo in undos.into_iter().rev() {
            if let Err(e) = meta.revert(undo) {
                tracing::error!(error = %e, "could not take back an unflushed metadata batch");
            }
        }
        for p in planned {
            let _ = p.req.reply.send(Err(EngineError::Storage(e.replicate())));
        }
        return;
    }

    // 4. Make visible, in order, then acknowledge.
    let permit = CommitPermit { _private: () };
    for p in planned {
        p.req
            .collection
            .apply(&permit, &p.changes, p.req.value.as_ref());
        let _ = p.req.reply.send(Ok(p.outcome));
    }
}
