//! One local replica of a shard: a local collection that applies the
//! shard's log in order. Each entry is applied together with its stream
//! sequence in one atomic metadata commit (`Database::apply_replicated`), so
//! after a crash the replica resumes right after the last entry it applied:
//! nothing applied twice, nothing skipped. A replica whose next entry was
//! trimmed from the log (or a new, empty one of a shard with a snapshot)
//! first restores the shard's latest snapshot (`snapshot.rs`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use futures_util::StreamExt;
use parking_lot::Mutex;
use tokio::sync::watch;

use super::log;
use super::snapshot::{must_restore, restore_replica, SnapshotStore};
use crate::engine::Database;

/// The collection value holding the last applied stream sequence.
pub const APPLIED_KEY: &str = "cluster.applied_sequence";

/// Entry results a replica remembers, for writers asking what their entry
/// did (the number of points it upserted or deleted).
const RESULTS_KEPT: usize = 4096;

pub struct LocalReplica {
    pub local_name: String,
    uid: String,
    shard: u32,
    /// Loading the shard's snapshot (then nothing is applied).
    restoring: AtomicBool,
    applied: watch::Sender<u64>,
    results: Mutex<VecDeque<(u64, u64)>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl LocalReplica {
    /// Starts applying `stream` (shard `shard` of the collection `uid`) from
    /// after `applied` (the sequence recorded in the local collection).
    pub fn start(
        db: Arc<Database>,
        js: jetstream::Context,
        snapshots: SnapshotStore,
        (uid, shard): (String, u32),
        stream: String,
        local_name: String,
        applied: u64,
    ) -> Arc<LocalReplica> {
        let (tx, _) = watch::channel(applied);
        let replica = Arc::new(LocalReplica {
            local_name,
            uid,
            shard,
            restoring: AtomicBool::new(false),
            applied: tx,
            results: Mutex::new(VecDeque::new()),
            task: Mutex::new(None),
        });
        let task = tokio::spawn(apply_loop(replica.clone(), db, js, snapshots, stream));
        *replica.task.lock() = Some(task);
        replica
    }

    pub fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    pub fn is_restoring(&self) -> bool {
        self.restoring.load(Ordering::Acquire)
    }

    /// Waits until the replica has applied `sequence`; returns the applied
    /// sequence, or None after `timeout`.
    pub async fn wait_applied(&self, sequence: u64, timeout: Duration) -> Option<u64> {
        let mut rx = self.applied.subscribe();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|&a| a >= sequence)).await;
        match waited {
            Ok(Ok(a)) => Some(*a),
            _ => None,
        }
    }

    /// What the entry at `sequence` did here, if still remembered.
    pub fn result_of(&self, sequence: u64) -> Option<u64> {
        self.results
            .lock()
            .iter()
            .find(|(s, _)| *s == sequence)
            .map(|(_, n)| *n)
    }

    pub fn stop(&self) {
        if let Some(task) = self.task.lock().take() {
            task.abort();
        }
    }
}

impl Drop for LocalReplica {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Consumes the stream from after the applied sequence with an ordered
/// consumer (ephemeral, in order, recreated by the client on gaps) and
/// applies each entry; on any error starts over from the applied sequence.
async fn apply_loop(
    replica: Arc<LocalReplica>,
    db: Arc<Database>,
    js: jetstream::Context,
    snapshots: SnapshotStore,
    stream_name: String,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match consume(&replica, &db, &js, &snapshots, &stream_name).await {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) => {
                tracing::warn!(stream = %stream_name, replica = %replica.local_name, error = %e, "replica stopped applying; resuming from its applied sequence");
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
        tokio::time::sleep(backoff).await;
    }
}

async fn consume(
    replica: &LocalReplica,
    db: &Arc<Database>,
    js: &jetstream::Context,
    snapshots: &SnapshotStore,
    stream_name: &str,
) -> Result<(), String> {
    let stream = js
        .get_stream(stream_name)
        .await
        .map_err(|e| format!("stream {stream_name}: {e}"))?;
    let first = stream.cached_info().state.first_sequence;
    let applied = replica.applied();
    // Only an empty replica asks whether the shard has a snapshot.
    let snapshot = if applied == 0 || applied + 1 < first {
        snapshots
            .latest(&replica.uid, replica.shard)
            .await
            .map_err(|e| e.to_string())?
            .map(|r| r.sequence)
    } else {
        None
    };
    if must_restore(applied, first, snapshot) {
        tracing::info!(replica = %replica.local_name, applied, log_starts_at = first, snapshot = ?snapshot, "restoring the replica from the shard's snapshot");
        replica.restoring.store(true, Ordering::Release);
        let restored = restore_replica(
            snapshots,
            db,
            &replica.uid,
            replica.shard,
            &replica.local_name,
        )
        .await;
        replica.restoring.store(false, Ordering::Release);
        replica
            .applied
            .send_replace(restored.map_err(|e| e.to_string())?);
    }
    let start = replica.applied() + 1;
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            deliver_policy: jetstream::consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| format!("consumer on {stream_name}: {e}"))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| format!("messages of {stream_name}: {e}"))?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| format!("reading {stream_name}: {e}"))?;
        let sequence = message
            .info()
            .map_err(|e| format!("message info: {e}"))?
            .stream_sequence;
        if sequence <= replica.applied() {
            continue;
        }
        if sequence != replica.applied() + 1 {
            // The entries in between were trimmed (after this consumer
            // started): restore the snapshot that holds them.
            return Err(format!(
                "sequence {sequence} follows {}: the entries between were trimmed",
                replica.applied()
            ));
        }
        let op = log::decode(&message.payload).map_err(|e| format!("sequence {sequence}: {e}"))?;
        let marker = (APPLIED_KEY.to_string(), sequence.to_le_bytes().to_vec());
        let changed = db
            .apply_replicated(&replica.local_name, op, marker)
            .await
            .map_err(|e| format!("applying sequence {sequence}: {e}"))?;
        {
            let mut results = replica.results.lock();
            if results.len() == RESULTS_KEPT {
                results.pop_front();
            }
            results.push_back((sequence, changed));
        }
        replica.applied.send_replace(sequence);
    }
    Ok(())
}

/// The applied sequence recorded in a local collection (0: none yet).
pub fn recorded_applied(db: &Database, local_name: &str) -> u64 {
    db.collection_value(local_name, APPLIED_KEY)
        .ok()
        .flatten()
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}
