//! Cluster mode (`clipdb serve --nats ...`): collections split into shards,
//! each shard kept by several replicas on different nodes, any node taking
//! any request. NATS JetStream is the write-ahead log (one stream per
//! collection shard) and the metadata store (the key-value bucket of
//! `meta.rs`); see docs/cluster.md for the design and its guarantees.
//!
//! - `meta.rs`: the metadata records, each node's cached view, placement;
//! - `log.rs`: the log entries replicas apply;
//! - `replica.rs`: a local replica, applying its shard's log in order;
//! - `snapshot.rs`: shard snapshots in the JetStream object store, trimming
//!   the logs behind them, restoring a replica from one;
//! - `node.rs`: the node: joining, heartbeats, the watch of the metadata,
//!   starting and stopping local replicas, and routing writes and reads;
//! - `api.rs`: the Collections, Points and Cluster gRPC services of a node.

pub mod api;
mod log;
pub mod meta;
mod node;
mod replica;
mod snapshot;

pub use node::{ClusterError, ClusterNode, ClusterOptions, PeerOptions};
pub use snapshot::{SnapshotError, SnapshotPolicy};
