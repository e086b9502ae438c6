//! Collection snapshots (backups).
//!
//! **Cut.** A snapshot is taken in a commit barrier: on the commit thread,
//! between two groups, the collection's in-memory view holds exactly the
//! writes committed so far, each whole. There [`Collection::capture`] copies
//! the live record table (ids, payloads, which record holds which point),
//! the segment list with each segment's sealed flag, and the collection's
//! values. That pass over the record tables is the only time writers wait.
//!
//! **Files.** Everything else is copied after the barrier, while reads and
//! writes go on: records are append-only and a committed record is never
//! rewritten, so the vector records the capture refers to are stable; for a
//! segment that was growing at the cut only the prefix up to its last live
//! record is copied (later bytes belong to writes after the cut and are not
//! referred to). A segment sealed at the cut has immutable graph files and a
//! manifest, which are copied too, so a restore reloads its graphs instead
//! of rebuilding them. A segment that was full but still sealing at the cut
//! is waited for (up to [`SEAL_WAIT`]) and copied as sealed: its graph files
//! hold no state of their own beyond the full segment's vectors, and records
//! written into it after the cut are simply absent from `points.jsonl`
//! (dead, like deleted ones). Growing segments' graphs are rebuilt on open.
//!
//! **Archive.** See [`crate::storage::snapshot`]: `snapshot.json` (the
//! [`SnapshotHeader`]), `points.jsonl` (one live record per line), the
//! segment files, `checksums.json`.
//!
//! **Restore** ([`restore_snapshot`]) is offline: it verifies every member's
//! checksum into a staging directory, then moves it into place, writes the
//! metadata (the config last, as collection creation does) and opens the
//! database to prove the collection serves.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::collection::{Capture, Collection};
use super::database::{validate_collection_name, Database, DatabaseOptions};
use super::payload::Payload;
use super::segment::{segment_dir, vectors_path};
use super::types::CollectionConfig;
use super::types::IMAGE_SPACE;
use super::{EngineError, Result};
use crate::storage::snapshot::{self as archive, ArchiveWriter, HEADER_MEMBER};
use crate::storage::{
    manifest, sync_dir, Loc, MetaBatch, MetaStore, RecordMeta, SegmentMeta, SledMetaStore,
    StorageError,
};

/// Version of the snapshot layout this build writes and reads.
pub const SNAPSHOT_FORMAT: u32 = 1;
const POINTS_MEMBER: &str = "points.jsonl";
/// Records per metadata batch while restoring.
const RESTORE_BATCH: usize = 10_000;
/// How long a snapshot waits for a segment that was full but not yet sealed
/// at the cut. Longer than any seal of a default-size segment on a small
/// machine; past it (a seal retrying on a failing disk) the segment is copied
/// as growing and rebuilt on restore.
const SEAL_WAIT: Duration = Duration::from_secs(300);

/// What a snapshot holds, stored first in its archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SnapshotHeader {
    pub format: u32,
    /// The collection as it was named when the snapshot was taken.
    pub collection: String,
    pub config: CollectionConfig,
    /// The cut, in microseconds since the Unix epoch (UTC).
    pub created_at_us: u64,
    /// The same, RFC 3339, for people reading the archive.
    pub created_at: String,
    pub point_count: u64,
    pub segments: Vec<SnapshotSegment>,
    /// The collection's values (the model record), base64.
    pub values: BTreeMap<String, String>,
    /// The clipdb version that wrote the snapshot.
    pub written_by: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SnapshotSegment {
    pub id: u32,
    pub capacity: u32,
    pub sealed: bool,
    /// Full length of each vector file; a growing segment's member holds a
    /// prefix, extended (sparse) to this length on restore.
    pub vector_file_len: u64,
    /// The archive members of this segment (`seg-NNNNNN/FILE`).
    pub files: Vec<String>,
}

/// One live record, a line of `points.jsonl`.
#[derive(Serialize)]
struct PointLine<'a> {
    segment: u32,
    record: u32,
    id: &'a str,
    spaces: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a Payload>,
    /// The point's thumbnail as stored (base64: vector tag and JPEG), when
    /// the collection keeps them.
    #[serde(skip_serializing_if = "Option::is_none")]
    thumbnail: Option<String>,
}

#[derive(Deserialize)]
struct PointLineOwned {
    segment: u32,
    record: u32,
    id: String,
    spaces: u8,
    #[serde(default)]
    payload: Option<Payload>,
    #[serde(default)]
    thumbnail: Option<String>,
}

/// A snapshot file, as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotInfo {
    pub name: String,
    pub collection: String,
    pub size_bytes: u64,
    /// Microseconds since the Unix epoch (0 when unreadable).
    pub created_at_us: u64,
    pub point_count: u64,
    pub path: PathBuf,
    /// Why the file cannot be read as a snapshot, if it cannot.
    pub error: Option<String>,
}

/// What [`restore_snapshot`] did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The collection the snapshot was taken of.
    pub source_collection: String,
    /// The collection restored (the same name, or the one asked for).
    pub collection: String,
    pub created_at: String,
    pub point_count: u64,
    pub segments: usize,
    pub sealed_segments: usize,
    /// True when an existing collection of that name was replaced.
    pub replaced: bool,
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (`compact`: `YYYYMMDDTHHMMSS.ffffffZ`).
pub(crate) fn format_utc(us: u64, compact: bool) -> String {
    let secs = us / 1_000_000;
    let micros = us % 1_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let (y, m, d) = crate::utc::civil_from_days(days);
    if compact {
        format!("{y:04}{m:02}{d:02}T{h:02}{mi:02}{s:02}.{micros:06}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{micros:06}Z")
    }
}

fn unix_us(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_micros() as u64
}

pub(crate) fn validate_snapshot_name(name: &str) -> Result<()> {
    if archive::is_valid_name(name) {
        Ok(())
    } else {
        Err(EngineError::invalid(
            "name",
            format!(
                "snapshot name `{name}` must match [A-Za-z0-9._-]{{1,128}} and not start with a dot"
            ),
        ))
    }
}

impl Database {
    fn snapshots_root(&self) -> PathBuf {
        self.dir().join("snapshots")
    }

    /// Removes temporary files of snapshots interrupted by a crash. Called
    /// on open, before any snapshot can be running.
    pub(crate) fn clear_unfinished_snapshots(&self) {
        let Ok(dirs) = std::fs::read_dir(self.snapshots_root()) else {
            return;
        };
        for dir in dirs.flatten() {
            let Ok(files) = std::fs::read_dir(dir.path()) else {
                continue;
            };
            for f in files.flatten() {
                if f.file_name()
                    .to_str()
                    .is_some_and(|n| n.ends_with(archive::TMP_SUFFIX))
                {
                    tracing::warn!(file = %f.path().display(), "removing an unfinished snapshot");
                    let _ = std::fs::remove_file(f.path());
                }
            }
        }
    }

    /// Writes a consistent snapshot of `collection` (see the module docs)
    /// while it keeps serving reads and writes.
    pub async fn create_snapshot(&self, collection: &str) -> Result<SnapshotInfo> {
        let c = self.collection(collection)?;
        let started = std::time::Instant::now();
        // Compaction must not delete the captured segments' files before
        // they are copied.
        c.file_pins
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let _pin = FilePin(c.clone());
        let captured = c.clone();
        let capture = self
            .committer()
            .barrier(move || captured.capture())
            .await??;
        let cut_ms = started.elapsed().as_millis() as u64;
        let dir = self.snapshots_root().join(collection);
        let info = tokio::task::spawn_blocking(move || write_snapshot(&dir, &c, capture))
            .await
            .map_err(|e| EngineError::Internal(format!("snapshot task failed: {e}")))??;
        metrics::histogram!("clipdb_snapshot_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        tracing::info!(
            collection = %info.collection,
            snapshot = %info.name,
            points = info.point_count,
            bytes = info.size_bytes,
            cut_ms,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "snapshot written"
        );
        Ok(info)
    }

    /// The snapshots of `collection` (empty: of every collection), oldest
    /// first. A dropped collection's snapshots are still listed.
    pub fn list_snapshots(&self, collection: &str) -> Result<Vec<SnapshotInfo>> {
        let root = self.snapshots_root();
        let mut out = Vec::new();
        if collection.is_empty() {
            let dirs = match std::fs::read_dir(&root) {
                Ok(d) => d,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
                Err(e) => return Err(StorageError::io(&root, e).into()),
            };
            for d in dirs {
                let d = d.map_err(|e| StorageError::io(&root, e))?;
                if let Some(name) = d.file_name().to_str() {
                    if validate_collection_name(name).is_ok() && d.path().is_dir() {
                        list_dir(&d.path(), name, &mut out)?;
                    }
                }
            }
        } else {
            validate_collection_name(collection)?;
            let dir = root.join(collection);
            if !dir.is_dir() {
                return if self.has_collection(collection) {
                    Ok(out)
                } else {
                    Err(EngineError::CollectionNotFound(collection.to_string()))
                };
            }
            list_dir(&dir, collection, &mut out)?;
        }
        out.sort_by(|a, b| {
            (a.created_at_us, &a.collection, &a.name).cmp(&(
                b.created_at_us,
                &b.collection,
                &b.name,
            ))
        });
        Ok(out)
    }

    /// Deletes snapshot `name` of `collection`.
    pub fn delete_snapshot(&self, collection: &str, name: &str) -> Result<()> {
        validate_collection_name(collection)?;
        validate_snapshot_name(name)?;
        let dir = self.snapshots_root().join(collection);
        let path = archive::path_of(&dir, name);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&dir)?;
                tracing::info!(collection, snapshot = name, "snapshot deleted");
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(EngineError::SnapshotNotFound {
                    collection: collection.to_string(),
                    name: name.to_string(),
                })
            }
            Err(e) => Err(StorageError::io(&path, e).into()),
        }
    }
}

/// Releases a collection's files to compaction when the snapshot is done.
struct FilePin(std::sync::Arc<Collection>);

impl Drop for FilePin {
    fn drop(&mut self) {
        self.0
            .file_pins
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

fn list_dir(dir: &Path, collection: &str, out: &mut Vec<SnapshotInfo>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| StorageError::io(dir, e))?;
    for e in entries {
        let e = e.map_err(|e| StorageError::io(dir, e))?;
        let file_name = e.file_name();
        let Some(name) = file_name
            .to_str()
            .and_then(|n| n.strip_suffix(&format!(".{}", archive::EXTENSION)))
        else {
            continue;
        };
        if !archive::is_valid_name(name) {
            continue;
        }
        let path = e.path();
        let size_bytes = e
            .metadata()
            .map_err(|err| StorageError::io(&path, err))?
            .len();
        let mut info = SnapshotInfo {
            name: name.to_string(),
            collection: collection.to_string(),
            size_bytes,
            created_at_us: 0,
            point_count: 0,
            path: path.clone(),
            error: None,
        };
        match archive::read_header::<SnapshotHeader>(&path) {
            Ok(h) => {
                info.created_at_us = h.created_at_us;
                info.point_count = h.point_count;
            }
            Err(err) => info.error = Some(err.to_string()),
        }
        out.push(info);
    }
    Ok(())
}

fn seg_dir_name(id: u32) -> String {
    segment_dir(Path::new(""), id)
        .to_string_lossy()
        .into_owned()
}

/// Whether `seg`, full but not sealed at the cut, got sealed within
/// [`SEAL_WAIT`] (blocking). A segment that is not full is not waited for.
fn wait_for_seal(collection: &Collection, seg: &super::segment::Segment) -> bool {
    use std::sync::atomic::Ordering;
    if seg.allocated.load(Ordering::Acquire) < seg.capacity {
        return false;
    }
    let deadline = std::time::Instant::now() + SEAL_WAIT;
    while !seg.sealed.load(Ordering::Acquire) {
        if collection.is_dropped() || std::time::Instant::now() >= deadline {
            tracing::warn!(
                collection = %collection.name(),
                segment = seg.id,
                "segment still sealing; the snapshot copies it as growing"
            );
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Writes the archive of a capture (blocking; after the barrier).
fn write_snapshot(dir: &Path, collection: &Collection, capture: Capture) -> Result<SnapshotInfo> {
    let name = collection.name();
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| StorageError::io(dir, e))?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
            if let Some(root) = parent.parent() {
                sync_dir(root)?;
            }
        }
    }
    let created_at_us = unix_us(capture.at);
    let stamp = format_utc(created_at_us, true);

    // Which files, and how much of each, belong to the snapshot.
    let mut segments = Vec::with_capacity(capture.segments.len());
    let mut copies: Vec<(String, PathBuf, u64)> = Vec::new();
    for cs in &capture.segments {
        let seg = &cs.segment;
        let dir_name = seg_dir_name(seg.id);
        let sealed = cs.sealed || wait_for_seal(collection, seg);
        let records = if sealed {
            seg.capacity
        } else {
            cs.points.last().map_or(0, |(r, _)| r + 1)
        };
        let mut files = Vec::new();
        for (space, file) in seg.vectors.iter().enumerate() {
            let path = vectors_path(&seg.dir, space);
            let member = format!("{dir_name}/{}", file_name(&path));
            copies.push((member.clone(), path, file.prefix_len(records)));
            files.push(member);
        }
        if sealed {
            for path in seg.sealed_files()? {
                let len = std::fs::metadata(&path)
                    .map_err(|e| StorageError::io(&path, e))?
                    .len();
                let member = format!("{dir_name}/{}", file_name(&path));
                copies.push((member.clone(), path, len));
                files.push(member);
            }
        }
        segments.push(SnapshotSegment {
            id: seg.id,
            capacity: seg.capacity,
            sealed,
            vector_file_len: seg.vectors[0].full_len(),
            files,
        });
    }
    let header = SnapshotHeader {
        format: SNAPSHOT_FORMAT,
        collection: name.to_string(),
        config: collection.config().clone(),
        created_at_us,
        created_at: format_utc(created_at_us, false),
        point_count: capture.point_count,
        segments,
        values: capture
            .values
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    base64::engine::general_purpose::STANDARD.encode(v),
                )
            })
            .collect(),
        written_by: format!("clipdb {}", env!("CARGO_PKG_VERSION")),
    };

    // A unique name: the collection and the cut's time, then a counter.
    let base = format!("{name}-{stamp}");
    let mut n = 0;
    let (snapshot_name, mut writer) = loop {
        let candidate = if n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        if let Some(w) = ArchiveWriter::create(dir, &candidate, created_at_us / 1_000_000)? {
            break (candidate, w);
        }
        n += 1;
    };
    writer.add_bytes(HEADER_MEMBER, &manifest::to_bytes(&header))?;
    writer.add_streamed(POINTS_MEMBER, |out| {
        for cs in &capture.segments {
            for (record, entry) in &cs.points {
                // Read after the cut: kept only if it was made with the
                // captured record's image (the point may have been
                // replaced or deleted since; then it has none here).
                let thumbnail = match collection.config().thumbnails {
                    Some(_) if entry.spaces & (1 << IMAGE_SPACE) != 0 => collection
                        .stored_thumbnail(&entry.id)
                        .map_err(std::io::Error::other)?
                        .filter(|stored| {
                            let vector = cs.segment.vectors[IMAGE_SPACE].get(*record);
                            crate::engine::thumbnail::split(stored).is_some_and(|(tag, _)| {
                                tag == crate::engine::thumbnail::vector_tag(vector)
                            })
                        })
                        .map(|t| base64::engine::general_purpose::STANDARD.encode(t)),
                    _ => None,
                };
                let line = PointLine {
                    segment: cs.segment.id,
                    record: *record,
                    id: &entry.id,
                    spaces: entry.spaces,
                    payload: entry.payload.as_deref(),
                    thumbnail,
                };
                serde_json::to_writer(&mut *out, &line)?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    })?;
    for (member, path, len) in &copies {
        writer.add_file_prefix(member, path, *len)?;
    }
    let (path, size_bytes) = writer.finish()?;
    Ok(SnapshotInfo {
        name: snapshot_name,
        collection: name.to_string(),
        size_bytes,
        created_at_us,
        point_count: capture.point_count,
        path,
        error: None,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("file path")
        .to_string_lossy()
        .into_owned()
}

/// Reads `points.jsonl`, checking each record against the header.
fn for_each_point(
    path: &Path,
    header: &SnapshotHeader,
    mut f: impl FnMut(Loc, RecordMeta, Option<Vec<u8>>) -> Result<()>,
) -> Result<u64> {
    let file = std::fs::File::open(path).map_err(|e| StorageError::io(path, e))?;
    let spaces_mask: u8 = (1u8 << header.config.spaces()) - 1;
    let mut n = 0u64;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| StorageError::io(path, e))?;
        let bad = |why: String| StorageError::corrupt(path, format!("line {}: {why}", i + 1));
        let p: PointLineOwned = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        let seg = header
            .segments
            .iter()
            .find(|s| s.id == p.segment)
            .ok_or_else(|| bad(format!("unknown segment {}", p.segment)))?;
        if p.record >= seg.capacity || p.spaces & !spaces_mask != 0 || p.spaces == 0 {
            return Err(bad(format!("record {} is malformed", p.record)).into());
        }
        let payload = p
            .payload
            .map(|pl| serde_json::to_vec(&pl).expect("JSON encodes"));
        let thumbnail = p
            .thumbnail
            .map(|t| base64::engine::general_purpose::STANDARD.decode(t))
            .transpose()
            .map_err(|_| bad("thumbnail is not base64".into()))?;
        f(
            Loc {
                segment: p.segment,
                record: p.record,
            },
            RecordMeta {
                id: p.id,
                spaces: p.spaces,
                payload,
            },
            thumbnail,
        )?;
        n += 1;
    }
    Ok(n)
}

/// Restores the snapshot `file` into the data directory `data_dir` (no
/// server may be running on it), as collection `name` (default: the
/// snapshot's). An existing collection of that name is refused unless
/// `force`, in which case it is replaced. Every member's checksum is
/// verified before anything existing is touched; the restored collection is
/// opened (as the server would) before this returns.
pub fn restore_snapshot(
    file: &Path,
    data_dir: &Path,
    name: Option<&str>,
    force: bool,
) -> Result<RestoreReport> {
    let header: SnapshotHeader = archive::read_header(file)?;
    check_format(file, &header)?;
    let target = name.unwrap_or(&header.collection).to_string();
    validate_collection_name(&target)?;
    let collections_dir = data_dir.join("collections");
    std::fs::create_dir_all(&collections_dir).map_err(|e| StorageError::io(&collections_dir, e))?;
    let meta_dir = data_dir.join("meta");
    let meta = SledMetaStore::open(&meta_dir).map_err(|e| match e {
        // Says itself which server holds the directory and what to do.
        in_use @ StorageError::InUse { .. } => EngineError::FailedPrecondition(in_use.to_string()),
        other => EngineError::FailedPrecondition(format!(
            "cannot open the metadata in {}: {other}",
            meta_dir.display()
        )),
    })?;
    let exists = meta.collections()?.iter().any(|(n, _)| *n == target);
    if exists && !force {
        return Err(EngineError::FailedPrecondition(format!(
            "collection `{target}` already exists in {}; pass --force to replace it, or --collection NAME to restore under another name",
            data_dir.display()
        )));
    }

    let header = install_snapshot(file, &collections_dir, &meta, &target)?;
    drop(meta);

    // 4. Open it as the server would.
    let db = Database::open(data_dir, DatabaseOptions::default(), None)?;
    let restored = db.collection(&target)?;
    let info = restored.info();
    if info.point_count != header.point_count {
        return Err(EngineError::Internal(format!(
            "restored collection {target} has {} points, the snapshot {}",
            info.point_count, header.point_count
        )));
    }
    Ok(RestoreReport {
        source_collection: header.collection.clone(),
        collection: target,
        created_at: header.created_at.clone(),
        point_count: info.point_count,
        segments: info.segments.len(),
        sealed_segments: info.segments.iter().filter(|s| s.sealed).count(),
        replaced: exists,
    })
}

/// Verifies and installs the snapshot `file` as collection `target` of the
/// metadata store `meta` (whose collection files live in
/// `collections_dir`), replacing whatever the name held there. Every
/// member's checksum is verified into a staging directory before anything
/// existing is touched; the config is written last, so a crash part-way
/// leaves no collection of that name (its leftovers are cleared by the
/// next install or create of the name). Does not open the collection.
pub(crate) fn install_snapshot(
    file: &Path,
    collections_dir: &Path,
    meta: &dyn MetaStore,
    target: &str,
) -> Result<SnapshotHeader> {
    let target = target.to_string();
    // 1. Verify and unpack next to the collections (a name no collection can have).
    let staging = collections_dir.join(format!(".restore-{target}"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| StorageError::io(&staging, e))?;
    }
    std::fs::create_dir_all(&staging).map_err(|e| StorageError::io(&staging, e))?;
    let cleanup = scopeguard(staging.clone());
    let header: SnapshotHeader = archive::extract(file, &staging)?;
    check_format(file, &header)?;
    let mut seen_ids = std::collections::HashSet::new();
    let count = for_each_point(&staging.join(POINTS_MEMBER), &header, |_, rec, _| {
        if !seen_ids.insert(rec.id) {
            return Err(StorageError::corrupt(file, "a point id appears twice").into());
        }
        Ok(())
    })?;
    drop(seen_ids);
    if count != header.point_count {
        return Err(StorageError::corrupt(
            file,
            format!(
                "{count} points in {POINTS_MEMBER}, header says {}",
                header.point_count
            ),
        )
        .into());
    }
    for s in &header.segments {
        let dir = segment_dir(&staging, s.id);
        for space in 0..header.config.spaces() {
            let path = vectors_path(&dir, space);
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| StorageError::io(&path, e))?;
            // A growing segment's vectors came as a prefix: restore the
            // file's full (sparse) size.
            f.set_len(s.vector_file_len)
                .and_then(|()| f.sync_all())
                .map_err(|e| StorageError::io(&path, e))?;
        }
    }
    let values = header
        .values
        .iter()
        .map(|(k, v)| {
            base64::engine::general_purpose::STANDARD
                .decode(v)
                .map(|bytes| (k.clone(), bytes))
                .map_err(|_| StorageError::corrupt(file, format!("value {k} is not base64")))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;

    // 2. Clear what the name held, move the files into place.
    meta.remove_collection(&target)?;
    let dest = collections_dir.join(&target);
    if dest.exists() {
        std::fs::remove_dir_all(&dest).map_err(|e| StorageError::io(&dest, e))?;
    }
    std::fs::remove_file(staging.join(HEADER_MEMBER)).ok();
    std::fs::rename(&staging, &dest).map_err(|e| StorageError::io(&dest, e))?;
    cleanup.disarm();
    sync_dir(collections_dir)?;

    // 3. Metadata: segments, records, values; the config last.
    let mut batch = MetaBatch::default();
    for s in &header.segments {
        batch.put_segment(SegmentMeta {
            id: s.id,
            capacity: s.capacity,
            sealed: s.sealed,
        });
    }
    for (k, v) in values {
        batch.put_value(&k, v);
    }
    meta.apply(&target, batch)?;
    let mut batch = MetaBatch::default();
    let mut in_batch = 0;
    for_each_point(&dest.join(POINTS_MEMBER), &header, |loc, rec, thumbnail| {
        if let Some(jpeg) = thumbnail {
            batch.put_thumbnail(&rec.id, jpeg);
        }
        batch.put_record(loc, rec);
        in_batch += 1;
        if in_batch == RESTORE_BATCH {
            meta.apply(&target, std::mem::take(&mut batch))?;
            in_batch = 0;
        }
        Ok(())
    })?;
    meta.apply(&target, batch)?;
    meta.flush()?;
    let _ = std::fs::remove_file(dest.join(POINTS_MEMBER));
    // Tests stop here: a crash before the config leaves no collection.
    fail::fail_point!(&format!("snapshot-install-before-config/{target}"), |_| {
        Err(EngineError::Internal(
            "failpoint: install stopped before the config".into(),
        ))
    });
    let mut config = header.config.clone();
    config.name = target.clone();
    meta.put_collection(
        &target,
        &serde_json::to_vec(&config).expect("config encodes"),
    )?;
    Ok(header)
}

fn check_format(file: &Path, header: &SnapshotHeader) -> Result<()> {
    if header.format != SNAPSHOT_FORMAT {
        return Err(StorageError::corrupt(
            file,
            format!(
                "snapshot format {} is not supported by this build (it reads {SNAPSHOT_FORMAT})",
                header.format
            ),
        )
        .into());
    }
    Ok(())
}

/// A collection value recorded in the snapshot `file` (read from its
/// header; cluster mode reads the applied log sequence this way).
pub fn snapshot_value(file: &Path, key: &str) -> Result<Option<Vec<u8>>> {
    let header: SnapshotHeader = archive::read_header(file)?;
    check_format(file, &header)?;
    header
        .values
        .get(key)
        .map(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v)
                .map_err(|_| {
                    StorageError::corrupt(file, format!("value {key} is not base64")).into()
                })
        })
        .transpose()
}

/// Removes a directory when dropped, unless disarmed.
struct DirGuard(Option<PathBuf>);

fn scopeguard(dir: PathBuf) -> DirGuard {
    DirGuard(Some(dir))
}

impl DirGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0, false), "1970-01-01T00:00:00.000000Z");
        // 2024-02-29T23:59:59.5Z (leap day).
        assert_eq!(
            format_utc(1_709_251_199_500_000, false),
            "2024-02-29T23:59:59.500000Z"
        );
        assert_eq!(
            format_utc(1_709_251_199_500_000, true),
            "20240229T235959.500000Z"
        );
        assert_eq!(
            format_utc(4_102_444_800_000_001, false),
            "2100-01-01T00:00:00.000001Z"
        );
    }
}
