//! The database engine: collections, the write path (group commit) and the
//! search path. Knows nothing about protobuf.

mod collection;
mod commit;
mod database;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod payload;
pub mod payload_index;
mod repair;
mod segment;
mod snapshot;
mod thumbnail;
mod types;

pub use collection::{Collection, RemoteSchema};
pub(crate) use database::validate_collection_name;
pub use database::{check_scroll_limit, validate_point_id};
pub use database::{
    Database, DatabaseOptions, LoggedFilter, RecommendQuery, ReplicatedOp, ReplicatedPayloadUpdate,
    ReplicatedTarget, Selection,
};
pub use payload::{Condition, Filter, Match, Payload, Range};
pub use repair::{repair, CollectionRepair, RepairOptions, RepairReport};
pub(crate) use snapshot::{format_utc, validate_snapshot_name};
pub use snapshot::{
    restore_snapshot, snapshot_value, RestoreReport, SnapshotInfo, SNAPSHOT_FORMAT,
};
pub use types::*;

use crate::embed::EmbedError;
use crate::index::IndexError;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("collection `{0}` not found")]
    CollectionNotFound(String),
    #[error("collection `{0}` already exists")]
    CollectionExists(String),
    #[error("payload index on `{key}` already exists with type {existing}; delete it first")]
    PayloadIndexExists { key: String, existing: String },
    #[error("collection `{collection}` has no payload index on `{key}`")]
    PayloadIndexNotFound { collection: String, key: String },
    /// Malformed input; `field` names the offending point id or request field.
    #[error("{field}: {message}")]
    InvalidArgument { field: String, message: String },
    /// The operation needs something the server or collection lacks (a model).
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("snapshot `{name}` of collection `{collection}` not found")]
    SnapshotNotFound { collection: String, name: String },
    #[error("collection `{name}` is unavailable: {reason}")]
    CollectionUnavailable { name: String, reason: String },
    #[error("{0}")]
    ResourceExhausted(String),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("index: {0}")]
    Index(#[from] IndexError),
    /// Embedding failed for a reason that is not the client's input (the
    /// queue is full, the worker stopped, inference failed).
    #[error("embedding: {0}")]
    Embedding(#[from] EmbedError),
    #[error("the server is shutting down")]
    ShuttingDown,
    /// A bug or a failed internal task (a panicked search, a lost worker
    /// thread, a broken invariant): neither the client's fault nor worth a
    /// retry.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        EngineError::InvalidArgument {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;
