//! The one place where internal errors become gRPC statuses.

use std::path::Path;

use tonic::{Code, Status};

use crate::cluster::SnapshotError;
use crate::embed::EmbedError;
use crate::engine::EngineError;
use crate::storage::StorageError;

/// The status a client gets for `err`. File paths in the message are shown
/// relative to `data_dir` (clients learn which collection and file, not the
/// server's layout); the full error goes to the server log.
pub fn to_status(err: EngineError, data_dir: &Path) -> Status {
    let code = status_code(&err);
    if matches!(code, Code::Unavailable | Code::Internal | Code::DataLoss) {
        tracing::error!(error = %err, "request failed");
    }
    Status::new(code, relative_paths(&err.to_string(), data_dir))
}

fn status_code(err: &EngineError) -> Code {
    match err {
        EngineError::CollectionNotFound(_)
        | EngineError::SnapshotNotFound { .. }
        | EngineError::PayloadIndexNotFound { .. } => Code::NotFound,
        EngineError::CollectionExists(_) | EngineError::PayloadIndexExists { .. } => {
            Code::AlreadyExists
        }
        EngineError::InvalidArgument { .. } => Code::InvalidArgument,
        EngineError::FailedPrecondition(_) => Code::FailedPrecondition,
        EngineError::ResourceExhausted(_) => Code::ResourceExhausted,
        // Damaged data on disk: refuse rather than answer wrongly; a retry
        // cannot help.
        EngineError::CollectionUnavailable { .. }
        | EngineError::Storage(StorageError::Corrupt { .. })
        | EngineError::Storage(StorageError::CorruptMetadata(_)) => Code::DataLoss,
        EngineError::Storage(s) if s.is_disk_full() => Code::ResourceExhausted,
        // Transient: the disk or the process is in trouble, a retry may pass.
        EngineError::Storage(StorageError::Io { .. } | StorageError::InUse { .. })
        | EngineError::Index(_)
        | EngineError::ShuttingDown => Code::Unavailable,
        EngineError::Storage(StorageError::MetaStore(_)) | EngineError::Internal(_) => {
            Code::Internal
        }
        EngineError::Embedding(e) => match e {
            EmbedError::QueueFull { .. } => Code::ResourceExhausted,
            EmbedError::WorkerStopped => Code::Unavailable,
            // Client input errors are turned into InvalidArgument (naming the
            // point) by the engine; any left here are still the client's.
            EmbedError::InvalidImage { .. } | EmbedError::ImageTooLarge { .. } => {
                Code::InvalidArgument
            }
            _ => Code::Internal,
        },
    }
}

/// The status for a failed shard or collection snapshot in cluster mode.
pub fn snapshot_status(err: SnapshotError, data_dir: &Path) -> Status {
    use SnapshotError as E;
    let code = match &err {
        // NATS (the metadata bucket, the object store, the shard's stream)
        // or this node's replica not ready: another try or another replica
        // may pass.
        E::Kv { .. }
        | E::ObjectStore { .. }
        | E::RecordChanged { .. }
        | E::Stream { .. }
        | E::Purge { .. }
        | E::NoReplica { .. }
        | E::Restoring { .. } => Code::Unavailable,
        E::Io { .. }
        | E::Engine { .. }
        | E::SequenceMismatch { .. }
        | E::RestoredSequence { .. }
        | E::NoSnapshot { .. }
        | E::Task(_) => Code::Internal,
    };
    if code == Code::Internal {
        tracing::error!(error = %err, "snapshot request failed");
    }
    Status::new(code, relative_paths(&err.to_string(), data_dir))
}

/// `message` with every path under `data_dir` written relative to it.
fn relative_paths(message: &str, data_dir: &Path) -> String {
    let root = data_dir.display().to_string();
    if root.is_empty() {
        return message.to_string();
    }
    let root = root.trim_end_matches('/');
    message.replace(&format!("{root}/"), "")
}

/// The HTTP status for a gRPC code (the HTTP API's errors): the mapping
/// Google's API gateways use.
pub fn http_status(code: Code) -> http::StatusCode {
    use http::StatusCode as H;
    match code {
        Code::Ok => H::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => H::BAD_REQUEST,
        Code::Unauthenticated => H::UNAUTHORIZED,
        Code::PermissionDenied => H::FORBIDDEN,
        Code::NotFound => H::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => H::CONFLICT,
        Code::ResourceExhausted => H::TOO_MANY_REQUESTS,
        Code::Cancelled => H::from_u16(499).expect("499 is a valid status"),
        Code::Unimplemented => H::NOT_IMPLEMENTED,
        Code::Unavailable => H::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => H::GATEWAY_TIMEOUT,
        Code::Unknown | Code::Internal | Code::DataLoss => H::INTERNAL_SERVER_ERROR,
    }
}

pub fn invalid(field: &str, message: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("{field}: {message}"))
}

/// tonic reports an over-limit message as OUT_OF_RANGE; our API promises
/// RESOURCE_EXHAUSTED for oversized requests.
pub fn is_oversized_message(status: &Status) -> bool {
    status.code() == Code::OutOfRange && status.message().contains("message length too large")
}

/// A single server (no --nats) holds every collection as one shard with one
/// copy: `shards` and `replication_factor` may only be 0 (default) or 1.
pub fn single_node_layout(shards: u32, replication_factor: u32) -> Result<(), Status> {
    for (field, value) in [
        ("shards", shards),
        ("replication_factor", replication_factor),
    ] {
        if value > 1 {
            return Err(invalid(
                field,
                format!(
                    "{value} needs cluster mode (clipdb serve --nats ...); a single server holds 1"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::index::IndexError;

    fn io(code: i32) -> StorageError {
        StorageError::Io {
            path: PathBuf::from("/srv/clipdb/collections/c/seg-000001/vectors-0.bin"),
            source: std::io::Error::from_raw_os_error(code),
        }
    }

    #[test]
    fn every_engine_error_maps_to_its_status() {
        let cases: Vec<(EngineError, Code)> = vec![
            (EngineError::CollectionNotFound("c".into()), Code::NotFound),
            (
                EngineError::PayloadIndexExists {
                    key: "k".into(),
                    existing: "keyword".into(),
                },
                Code::AlreadyExists,
            ),
            (
                EngineError::PayloadIndexNotFound {
                    collection: "c".into(),
                    key: "k".into(),
                },
                Code::NotFound,
            ),
            (
                EngineError::SnapshotNotFound {
                    collection: "c".into(),
                    name: "s".into(),
                },
                Code::NotFound,
            ),
            (
                EngineError::CollectionExists("c".into()),
                Code::AlreadyExists,
            ),
            (
                EngineError::invalid("points[0]", "bad"),
                Code::InvalidArgument,
            ),
            (
                EngineError::FailedPrecondition("no model".into()),
                Code::FailedPrecondition,
            ),
            (
                EngineError::ResourceExhausted("queue".into()),
                Code::ResourceExhausted,
            ),
            (
                EngineError::CollectionUnavailable {
                    name: "c".into(),
                    reason: "damaged".into(),
                },
                Code::DataLoss,
            ),
            (
                EngineError::Storage(StorageError::Corrupt {
                    path: "graph-0.idx".into(),
                    reason: "bad checksum".into(),
                }),
                Code::DataLoss,
            ),
            (
                EngineError::Storage(StorageError::CorruptMetadata("bad entry".into())),
                Code::DataLoss,
            ),
            (EngineError::Storage(io(28)), Code::ResourceExhausted),
            (EngineError::Storage(io(5)), Code::Unavailable),
            (
                EngineError::Storage(StorageError::MetaStore("reportable bug".into())),
                Code::Internal,
            ),
            (
                EngineError::Internal("a search panicked".into()),
                Code::Internal,
            ),
            (
                EngineError::Index(IndexError::Load {
                    path: "graph-0.idx".into(),
                    reason: "short".into(),
                }),
                Code::Unavailable,
            ),
            (EngineError::ShuttingDown, Code::Unavailable),
            (
                EngineError::Embedding(EmbedError::QueueFull { capacity: 1 }),
                Code::ResourceExhausted,
            ),
            (
                EngineError::Embedding(EmbedError::WorkerStopped),
                Code::Unavailable,
            ),
            (
                EngineError::Embedding(EmbedError::InvalidImage {
                    index: 0,
                    reason: "not an image".into(),
                }),
                Code::InvalidArgument,
            ),
        ];
        for (err, code) in cases {
            let shown = format!("{err:?}");
            assert_eq!(
                to_status(err, Path::new("/srv/clipdb")).code(),
                code,
                "{shown}"
            );
        }
    }

    #[test]
    fn clients_see_paths_relative_to_the_data_directory() {
        let err = EngineError::CollectionUnavailable {
            name: "c".into(),
            reason: "corrupt or foreign file /srv/clipdb/collections/c/seg-000003/graph-0.idx: bad magic".into(),
        };
        let status = to_status(err, Path::new("/srv/clipdb/"));
        assert_eq!(
            status.message(),
            "collection `c` is unavailable: corrupt or foreign file collections/c/seg-000003/graph-0.idx: bad magic"
        );
        let status = to_status(EngineError::Storage(io(5)), Path::new("/srv/clipdb"));
        assert!(
            !status.message().contains("/srv/clipdb"),
            "{}",
            status.message()
        );
        assert!(status
            .message()
            .contains("collections/c/seg-000001/vectors-0.bin"));
    }

    #[test]
    fn snapshot_errors_name_what_failed_with_paths_relative() {
        let data_dir = Path::new("/srv/clipdb");
        let cases: Vec<(SnapshotError, Code, &str)> = vec![
            (
                SnapshotError::Kv {
                    op: "listing snapshots",
                    key: "collection-snapshots.c.".into(),
                    reason: "timed out".into(),
                },
                Code::Unavailable,
                "listing snapshots collection-snapshots.c.: timed out",
            ),
            (
                SnapshotError::ObjectStore {
                    op: "uploading",
                    name: "collection-snapshot.s.00000000000000ff.0".into(),
                    reason: "no responders".into(),
                },
                Code::Unavailable,
                "uploading collection-snapshot.s.00000000000000ff.0: no responders",
            ),
            (
                SnapshotError::Restoring {
                    node: "n1".into(),
                    shard: 2,
                },
                Code::Unavailable,
                "node `n1` is restoring its replica of shard 2",
            ),
            (
                SnapshotError::Io {
                    path: "/srv/clipdb/snapshots/c/x.snapshot".into(),
                    source: std::io::Error::from_raw_os_error(2),
                },
                Code::Internal,
                "snapshots/c/x.snapshot: No such file or directory (os error 2)",
            ),
            (
                SnapshotError::Engine {
                    op: "snapshot of shard",
                    name: "1".into(),
                    source: Box::new(EngineError::Storage(io(5))),
                },
                Code::Internal,
                "snapshot of shard 1: ",
            ),
        ];
        for (err, code, message) in cases {
            let shown = format!("{err:?}");
            let status = snapshot_status(err, data_dir);
            assert_eq!(status.code(), code, "{shown}");
            assert!(
                status.message().starts_with(message),
                "{}",
                status.message()
            );
            assert!(
                !status.message().contains("/srv/clipdb"),
                "{}",
                status.message()
            );
        }
    }
}
