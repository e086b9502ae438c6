//! Errors of the embedding module.

use std::path::PathBuf;

/// Everything that can go wrong while loading a CLIP model or embedding inputs.
///
/// Variants are distinct so the API layer can map them to gRPC codes:
/// model/hub/device errors are startup or `FAILED_PRECONDITION` material,
/// `InvalidImage` is `INVALID_ARGUMENT`, `ImageTooLarge` and `QueueFull` are
/// `RESOURCE_EXHAUSTED`, `Inference` is `INTERNAL`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EmbedError {
    /// A model file is missing, unreadable or malformed.
    #[error("model file {path}: {reason}")]
    ModelFile { path: PathBuf, reason: String },
    /// `config.json` exists but does not describe a CLIP model.
    #[error("{path} is not a CLIP model config: {reason}")]
    NotClip { path: PathBuf, reason: String },
    /// The folder only has PyTorch pickle weights, which are not loaded (unsafe, and not mmap-able).
    #[error(
        "model folder {dir} has only PyTorch pickle weights (pytorch_model.bin); \
         convert them to model.safetensors (e.g. `CLIPModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)`)"
    )]
    PickleOnly { dir: PathBuf },
    /// A hub id could not be resolved: offline and not cached, or the download failed.
    #[error("model {id} is not available from the Hugging Face hub: {message}")]
    HubUnavailable { id: String, message: String },
    /// The requested device does not exist or this build does not support it.
    #[error("device {device}: {reason}")]
    Device { device: String, reason: String },
    /// Image `index` (position in the request) could not be decoded.
    #[error("image {index}: {reason}")]
    InvalidImage { index: usize, reason: String },
    /// Image `index` is over the configured byte or pixel limit.
    #[error("image {index} is too large: {reason}")]
    ImageTooLarge { index: usize, reason: String },
    /// The forward pass failed (a bug or an out-of-memory condition).
    #[error("inference failed: {0}")]
    Inference(String),
    /// The batching queue already holds `capacity` items; retry later.
    #[error("embedding queue is full ({capacity} items pending)")]
    QueueFull { capacity: usize },
    /// The batching worker has stopped (it panicked or the queue was shut down).
    #[error("embedding worker is not running")]
    WorkerStopped,
}

impl EmbedError {
    pub(crate) fn model_file(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        EmbedError::ModelFile {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

/// A candle error's message without the backtrace candle attaches when
/// `RUST_BACKTRACE` is set (it would end up in client-facing messages).
pub(crate) fn candle_message(e: &candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => candle_message(inner),
        other => other.to_string(),
    }
}

impl From<candle_core::Error> for EmbedError {
    fn from(e: candle_core::Error) -> Self {
        EmbedError::Inference(candle_message(&e))
    }
}
