//! Durable storage: memory-mapped vector segment files and sled metadata.
//!
//! This module knows nothing about HNSW or CLIP. It offers fixed-size vector
//! records in checksummed files ([`VectorFile`]), small checksummed JSON
//! documents ([`manifest`]) and a metadata store ([`MetaStore`]) that applies
//! atomic batches and makes them durable on [`MetaStore::flush`].

pub mod manifest;
pub mod meta;
pub mod snapshot;
pub mod vectors;

use std::path::{Path, PathBuf};

pub use meta::{CollectionMeta, MetaBatch, MetaStore, RecordMeta, SegmentMeta, SledMetaStore};
pub use vectors::VectorFile;

/// Location of a record: segment number and record number inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub segment: u32,
    pub record: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt or foreign file {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// Another process holds the metadata store: a server is running on
    /// this data directory.
    #[error("the data directory {} is in use by a running clipdb server{}; stop it first", data_dir.display(), holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default())]
    InUse {
        data_dir: PathBuf,
        holder: Option<u32>,
    },
    /// A metadata entry that cannot be read back: damaged or foreign data.
    #[error("corrupt metadata: {0}")]
    CorruptMetadata(String),
    /// The metadata store failed for a reason that is neither I/O nor
    /// damaged data (sled reports a bug or an unsupported operation).
    #[error("metadata store failed: {0}")]
    MetaStore(String),
}

impl StorageError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        StorageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn corrupt(path: &Path, reason: impl Into<String>) -> Self {
        StorageError::Corrupt {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    /// The same error again, for each request of a commit group that it failed.
    pub(crate) fn replicate(&self) -> StorageError {
        match self {
            StorageError::Io { path, source } => StorageError::Io {
                path: path.clone(),
                source: match source.raw_os_error() {
                    Some(code) => std::io::Error::from_raw_os_error(code),
                    None => std::io::Error::new(source.kind(), source.to_string()),
                },
            },
            StorageError::Corrupt { path, reason } => StorageError::Corrupt {
                path: path.clone(),
                reason: reason.clone(),
            },
            StorageError::CorruptMetadata(m) => StorageError::CorruptMetadata(m.clone()),
            StorageError::InUse { data_dir, holder } => StorageError::InUse {
                data_dir: data_dir.clone(),
                holder: *holder,
            },
            StorageError::MetaStore(m) => StorageError::MetaStore(m.clone()),
        }
    }

    /// True when the error means the disk is full (maps to RESOURCE_EXHAUSTED).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StorageError::Io { source, .. } if source.raw_os_error() == Some(28))
    }
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// The error a failpoint injects (test builds only; see docs/reliability.md
/// "Fault injection"): `return(enospc)` is a full disk, any other argument
/// an I/O error.
#[allow(dead_code)] // unused where failpoints compile to nothing
pub(crate) fn injected_fault(path: &Path, arg: Option<String>) -> StorageError {
    let code = match arg.as_deref() {
        Some("enospc") => 28, // ENOSPC
        _ => 5,               // EIO
    };
    StorageError::io(path, std::io::Error::from_raw_os_error(code))
}

/// Fsyncs a directory so that file creations and renames inside it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| StorageError::io(dir, e))
}
