//! The one place where internal errors become gRPC statuses.

use tonic::{Code, Status};

use crate::embed::EmbedError;
use crate::engine::EngineError;

pub fn to_status(err: EngineError) -> Status {
    let code = match &err {
        EngineError::CollectionNotFound(_) | EngineError::SnapshotNotFound { .. } => Code::NotFound,
        EngineError::CollectionExists(_) => Code::AlreadyExists,
        EngineError::InvalidArgument { .. } => Code::InvalidArgument,
        EngineError::FailedPrecondition(_) => Code::FailedPrecondition,
        // Corrupt data on disk: refuse rather than answer wrongly.
        EngineError::CollectionUnavailable { .. } => Code::DataLoss,
        EngineError::ResourceExhausted(_) => Code::ResourceExhausted,
        EngineError::Storage(s) if s.is_disk_full() => Code::ResourceExhausted,
        EngineError::Storage(_) | EngineError::Index(_) | EngineError::ShuttingDown => {
            Code::Unavailable
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
    };
    if matches!(code, Code::Unavailable | Code::Internal | Code::DataLoss) {
        tracing::error!(error = %err, "request failed");
    }
    Status::new(code, err.to_string())
}

pub fn invalid(field: &str, message: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("{field}: {message}"))
}

/// tonic reports an over-limit message as OUT_OF_RANGE; our API promises
/// RESOURCE_EXHAUSTED for oversized requests.
pub fn is_oversized_message(status: &Status) -> bool {
    status.code() == Code::OutOfRange && status.message().contains("message length too large")
}
