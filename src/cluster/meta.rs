//! The cluster's metadata as it lives in the JetStream key-value bucket
//! `clipdb`, and each node's cached view of it.
//!
//! Keys:
//! - `nodes.<id>`: a [`NodeRecord`] (address, last heartbeat), put by the
//!   node every [`HEARTBEAT`];
//! - `collections.<name>`: a [`ClusterCollection`] (config, shards,
//!   replication factor, placement), created and deleted with
//!   compare-and-set on the key's revision;
//! - `applied.<uid>.<shard>.<node>`: an [`AppliedReport`], how far a replica
//!   has applied its shard's log (for lag and read routing);
//! - `snapshots.<uid>.<shard>`: a [`SnapshotRecord`], the shard's latest
//!   snapshot in the object store (see `snapshot.rs`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use super::snapshot::SnapshotRecord;
use crate::engine::{CollectionConfig, ModelRecord};

/// How often a node announces itself.
pub const HEARTBEAT: Duration = Duration::from_millis(500);
/// A node whose last heartbeat is older than this is down: readers skip its
/// replicas and writers stop waiting for them.
pub const LIVENESS: Duration = Duration::from_millis(2500);
/// Most shards a collection may have.
pub const MAX_SHARDS: u32 = 256;
/// Most copies of a shard.
pub const MAX_REPLICATION_FACTOR: u32 = 5;
/// The key-value bucket holding the metadata.
pub const BUCKET: &str = "clipdb";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NodeRecord {
    /// Where other nodes reach its gRPC API (--advertise).
    pub address: String,
    /// Unix milliseconds of its last heartbeat.
    pub heartbeat_ms: u64,
}

impl NodeRecord {
    pub fn age(&self, now_ms: u64) -> Duration {
        Duration::from_millis(now_ms.saturating_sub(self.heartbeat_ms))
    }

    pub fn is_live(&self, now_ms: u64) -> bool {
        self.age(now_ms) < LIVENESS
    }
}

/// A collection of the cluster: its config and where its shards live.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClusterCollection {
    /// The collection's config (its cluster-wide name).
    pub config: CollectionConfig,
    /// Random, fixed at creation: names the shards' streams and local
    /// replicas, so a collection dropped and created again under the same
    /// name shares nothing with its predecessor.
    pub uid: String,
    pub shards: u32,
    pub replication_factor: u32,
    /// Per shard, the ids of the nodes holding a replica.
    pub placement: Vec<Vec<String>>,
    /// The model that embeds its text and images (CLIP collections): every
    /// node must serve this one for text and image operations.
    pub model: Option<ModelRecord>,
    /// Its payload indexes (created and dropped through the shards' logs).
    #[serde(default)]
    pub payload_indexes: Vec<crate::engine::payload_index::PayloadIndexSpec>,
}

impl ClusterCollection {
    /// The JetStream stream holding shard `shard`'s log.
    pub fn stream(&self, shard: u32) -> String {
        format!("clipdb-{}-{shard}", self.uid)
    }

    /// The subject the shard's log entries are published on.
    pub fn subject(&self, shard: u32) -> String {
        format!("clipdb.log.{}.{shard}", self.uid)
    }

    /// The name of a node's local collection holding its replica of `shard`.
    pub fn local_name(&self, shard: u32) -> String {
        local_name(&self.uid, shard)
    }

    /// The shard a point id belongs to.
    pub fn shard_of(&self, id: &str) -> u32 {
        shard_of(id, self.shards)
    }
}

pub fn local_name(uid: &str, shard: u32) -> String {
    format!("r{uid}s{shard}")
}

/// `xxh3(id) % shards`.
pub fn shard_of(id: &str, shards: u32) -> u32 {
    (xxhash_rust::xxh3::xxh3_64(id.as_bytes()) % shards.max(1) as u64) as u32
}

/// How far a replica has applied its shard's log.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct AppliedReport {
    pub applied: u64,
    /// Loading the shard's latest snapshot (then `applied` is what the
    /// replica held before).
    #[serde(default)]
    pub restoring: bool,
}

/// A node's cached copy of the bucket, kept current by a watch.
#[derive(Debug, Default, Clone)]
pub struct View {
    pub nodes: BTreeMap<String, NodeRecord>,
    pub collections: BTreeMap<String, ClusterCollection>,
    /// (collection uid, shard, node) -> report.
    pub applied: HashMap<(String, u32, String), AppliedReport>,
    /// (collection uid, shard) -> its latest snapshot.
    pub snapshots: HashMap<(String, u32), SnapshotRecord>,
    /// The watch has delivered everything the bucket held when it started:
    /// a collection missing from the view was deleted.
    pub loaded: bool,
}

impl View {
    /// Applies one key's new value (None: deleted).
    pub fn apply(&mut self, key: &str, value: Option<&[u8]>) {
        if let Some(id) = key.strip_prefix("nodes.") {
            match value.and_then(|v| serde_json::from_slice(v).ok()) {
                Some(record) => {
                    self.nodes.insert(id.to_string(), record);
                }
                None => {
                    self.nodes.remove(id);
                }
            }
        } else if let Some(name) = key.strip_prefix("collections.") {
            match value.and_then(|v| serde_json::from_slice(v).ok()) {
                Some(c) => {
                    self.collections.insert(name.to_string(), c);
                }
                None => {
                    self.collections.remove(name);
                }
            }
        } else if let Some(rest) = key.strip_prefix("snapshots.") {
            let Some((uid, shard)) = rest.split_once('.') else {
                return;
            };
            let Ok(shard) = shard.parse::<u32>() else {
                return;
            };
            let k = (uid.to_string(), shard);
            match value.and_then(|v| serde_json::from_slice(v).ok()) {
                Some(r) => {
                    self.snapshots.insert(k, r);
                }
                None => {
                    self.snapshots.remove(&k);
                }
            }
        } else if let Some(rest) = key.strip_prefix("applied.") {
            let mut parts = rest.splitn(3, '.');
            let (Some(uid), Some(shard), Some(node)) = (parts.next(), parts.next(), parts.next())
            else {
                return;
            };
            let Ok(shard) = shard.parse::<u32>() else {
                return;
            };
            let k = (uid.to_string(), shard, node.to_string());
            match value.and_then(|v| serde_json::from_slice(v).ok()) {
                Some(r) => {
                    self.applied.insert(k, r);
                }
                None => {
                    self.applied.remove(&k);
                }
            }
        }
    }

    pub fn is_live(&self, node: &str, now_ms: u64) -> bool {
        self.nodes.get(node).is_some_and(|n| n.is_live(now_ms))
    }

    pub fn reported(&self, uid: &str, shard: u32, node: &str) -> Option<AppliedReport> {
        self.applied
            .get(&(uid.to_string(), shard, node.to_string()))
            .copied()
    }
}

/// Places `shards` x `replication_factor` replicas on `nodes` (the live
/// ones, each with the number of replicas it holds already): each shard's
/// copies on distinct nodes, the least loaded first.
pub fn place(nodes: &[(String, usize)], shards: u32, replication_factor: u32) -> Vec<Vec<String>> {
    let mut load: Vec<(String, usize)> = nodes.to_vec();
    let mut placement = Vec::with_capacity(shards as usize);
    for _ in 0..shards {
        load.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        let chosen: Vec<String> = load
            .iter()
            .take(replication_factor as usize)
            .map(|(n, _)| n.clone())
            .collect();
        for entry in load.iter_mut().take(replication_factor as usize) {
            entry.1 += 1;
        }
        placement.push(chosen);
    }
    placement
}

/// Node ids: what a key of the bucket and a log line can hold.
pub fn validate_node_id(id: &str) -> Result<(), String> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("--node-id `{id}`: use 1 to 64 of A-Z a-z 0-9 - _"));
    }
    Ok(())
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_spreads_copies_over_distinct_nodes() {
        let nodes: Vec<(String, usize)> =
            ["a", "b", "c"].iter().map(|n| (n.to_string(), 0)).collect();
        let p = place(&nodes, 4, 2);
        assert_eq!(p.len(), 4);
        let mut per_node: HashMap<&str, usize> = HashMap::new();
        for shard in &p {
            assert_eq!(shard.len(), 2);
            assert_ne!(shard[0], shard[1]);
            for n in shard {
                *per_node.entry(n).or_default() += 1;
            }
        }
        // 8 copies on 3 nodes: 3, 3, 2.
        let mut counts: Vec<usize> = per_node.values().copied().collect();
        counts.sort();
        assert_eq!(counts, vec![2, 3, 3]);
    }

    #[test]
    fn shard_of_is_stable_and_in_range() {
        for shards in [1, 2, 3, 7] {
            for i in 0..100 {
                let id = format!("p{i}");
                let s = shard_of(&id, shards);
                assert!(s < shards);
                assert_eq!(s, shard_of(&id, shards));
            }
        }
        // Spread: 1 000 ids over 4 shards, none empty.
        let mut seen = [0usize; 4];
        for i in 0..1000 {
            seen[shard_of(&format!("id-{i}"), 4) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 150), "{seen:?}");
    }

    #[test]
    fn view_tracks_puts_and_deletes() {
        let mut v = View::default();
        let rec = NodeRecord {
            address: "127.0.0.1:1".into(),
            heartbeat_ms: 1000,
        };
        v.apply("nodes.n1", Some(&serde_json::to_vec(&rec).unwrap()));
        assert!(v.is_live("n1", 1000 + LIVENESS.as_millis() as u64 - 1));
        assert!(!v.is_live("n1", 1000 + LIVENESS.as_millis() as u64));
        v.apply(
            "applied.abc.3.n1",
            Some(
                &serde_json::to_vec(&AppliedReport {
                    applied: 7,
                    restoring: false,
                })
                .unwrap(),
            ),
        );
        assert_eq!(v.reported("abc", 3, "n1").unwrap().applied, 7);
        let snapshot = SnapshotRecord {
            sequence: 40,
            object: "abc.3.40".into(),
            previous: None,
            size_bytes: 10,
            node: "n1".into(),
            created_ms: 5,
        };
        v.apply(
            "snapshots.abc.3",
            Some(&serde_json::to_vec(&snapshot).unwrap()),
        );
        assert_eq!(v.snapshots[&("abc".to_string(), 3)], snapshot);
        v.apply("snapshots.abc.3", None);
        assert!(v.snapshots.is_empty());
        v.apply("nodes.n1", None);
        assert!(!v.is_live("n1", 1000));
    }

    #[test]
    fn node_ids_are_checked() {
        assert!(validate_node_id("node-1_a").is_ok());
        assert!(validate_node_id("").is_err());
        assert!(validate_node_id("a.b").is_err());
        assert!(validate_node_id(&"x".repeat(65)).is_err());
    }
}
