//! Metadata: collection configs, segment lists and per-record entries (id,
//! vector presence, payload), kept in sled behind a small trait so the store
//! can be swapped (sled 0.34 is old; its 1.0 is an alpha).
//!
//! Record entries exist only for live records: deleting or replacing a point
//! removes its entry, which is the tombstone. Batches are atomic; they become
//! durable at the next [`MetaStore::flush`].

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Loc, Result, StorageError};

/// A segment as recorded in metadata.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SegmentMeta {
    pub id: u32,
    pub capacity: u32,
    /// Set once the segment's sealed graphs and its manifest are written.
    pub sealed: bool,
}

/// A live record: the point's id, which named vectors it has (bit i = vector
/// space i), and its payload as opaque bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMeta {
    pub id: String,
    pub spaces: u8,
    pub payload: Option<Vec<u8>>,
}

const HAS_PAYLOAD: u8 = 0x80;

impl RecordMeta {
    fn encode(&self) -> Vec<u8> {
        let payload = self.payload.as_deref().unwrap_or(&[]);
        let mut out = Vec::with_capacity(3 + self.id.len() + payload.len());
        let flags = self.spaces & !HAS_PAYLOAD
            | if self.payload.is_some() {
                HAS_PAYLOAD
            } else {
                0
            };
        out.push(flags);
        out.extend_from_slice(&(self.id.len() as u16).to_le_bytes());
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn decode(bytes: &[u8]) -> Option<RecordMeta> {
        let flags = *bytes.first()?;
        let len = u16::from_le_bytes(bytes.get(1..3)?.try_into().ok()?) as usize;
        let id = std::str::from_utf8(bytes.get(3..3 + len)?)
            .ok()?
            .to_string();
        let rest = &bytes[3 + len..];
        Some(RecordMeta {
            id,
            spaces: flags & !HAS_PAYLOAD,
            payload: (flags & HAS_PAYLOAD != 0).then(|| rest.to_vec()),
        })
    }
}

/// Everything recorded about one collection.
#[derive(Debug, Default)]
pub struct CollectionMeta {
    pub segments: Vec<SegmentMeta>,
    pub records: Vec<(Loc, RecordMeta)>,
    pub values: HashMap<String, Vec<u8>>,
}

enum Op {
    PutRecord(Loc, RecordMeta),
    RemoveRecord(Loc),
    PutSegment(SegmentMeta),
    PutValue(String, Vec<u8>),
    RemoveSegment(u32),
    PutThumbnail(String, Vec<u8>),
    RemoveThumbnail(String),
}

/// Changes to one collection, applied atomically.
#[derive(Default)]
pub struct MetaBatch {
    ops: Vec<Op>,
}

impl MetaBatch {
    pub fn put_record(&mut self, loc: Loc, record: RecordMeta) {
        self.ops.push(Op::PutRecord(loc, record));
    }
    pub fn remove_record(&mut self, loc: Loc) {
        self.ops.push(Op::RemoveRecord(loc));
    }
    pub fn put_segment(&mut self, segment: SegmentMeta) {
        self.ops.push(Op::PutSegment(segment));
    }
    pub fn remove_segment(&mut self, id: u32) {
        self.ops.push(Op::RemoveSegment(id));
    }
    pub fn put_value(&mut self, key: &str, value: Vec<u8>) {
        self.ops.push(Op::PutValue(key.to_string(), value));
    }
    /// A point's thumbnail (an encoded image), keyed by its id: written in
    /// the same batch as the point's record, so both are durable together.
    pub fn put_thumbnail(&mut self, id: &str, jpeg: Vec<u8>) {
        self.ops.push(Op::PutThumbnail(id.to_string(), jpeg));
    }
    pub fn remove_thumbnail(&mut self, id: &str) {
        self.ops.push(Op::RemoveThumbnail(id.to_string()));
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// What [`MetaStore::revert`] needs to take an applied batch back: the
/// previous value (or absence) of every key it touched.
#[derive(Debug, Default)]
pub struct MetaUndo {
    collection: String,
    previous: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

pub trait MetaStore: Send + Sync {
    /// Records a collection's (opaque) config, durably.
    fn put_collection(&self, name: &str, config: &[u8]) -> Result<()>;
    /// Forgets a collection and all its records, durably.
    fn remove_collection(&self, name: &str) -> Result<()>;
    /// All collections with their configs.
    fn collections(&self) -> Result<Vec<(String, Vec<u8>)>>;
    /// Everything recorded for one collection.
    fn load(&self, name: &str) -> Result<CollectionMeta>;
    /// Applies a batch atomically; durable after the next `flush`. Returns
    /// what undoes it, for a batch whose flush fails.
    fn apply(&self, name: &str, batch: MetaBatch) -> Result<MetaUndo>;
    /// Takes back an applied batch that was not flushed, so that the store
    /// again matches what was acknowledged.
    fn revert(&self, undo: MetaUndo) -> Result<()>;
    /// Makes every applied batch durable.
    fn flush(&self) -> Result<()>;
    /// The thumbnail stored for point `id`, if any. Thumbnails are not part
    /// of [`MetaStore::load`]: they are read one at a time, when served.
    fn thumbnail(&self, name: &str, id: &str) -> Result<Option<Vec<u8>>>;
}

pub struct SledMetaStore {
    db: sled::Db,
    collections: sled::Tree,
}

fn sled_err(e: sled::Error) -> StorageError {
    match e {
        sled::Error::Io(io) => StorageError::Io {
            path: "meta".into(),
            source: io,
        },
        sled::Error::Corruption { .. } => StorageError::CorruptMetadata(e.to_string()),
        other => StorageError::MetaStore(other.to_string()),
    }
}

fn tree_name(collection: &str) -> String {
    format!("c/{collection}")
}

fn record_key(loc: Loc) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'r';
    k[1..5].copy_from_slice(&loc.segment.to_be_bytes());
    k[5..9].copy_from_slice(&loc.record.to_be_bytes());
    k
}

/// Thumbnails sort after records and segments, before values: `load` skips
/// their key range without reading them.
const THUMBNAIL_PREFIX: u8 = b't';

fn thumbnail_key(id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(THUMBNAIL_PREFIX);
    k.extend_from_slice(id.as_bytes());
    k
}

fn segment_key(id: u32) -> [u8; 5] {
    let mut k = [0u8; 5];
    k[0] = b's';
    k[1..5].copy_from_slice(&id.to_be_bytes());
    k
}

impl MetaBatch {
    /// The batch as key changes in one collection's tree (None: remove), in
    /// order: the layout every store keeps.
    fn encode(self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        self.ops
            .into_iter()
            .map(|op| match op {
                Op::PutRecord(loc, rec) => (record_key(loc).to_vec(), Some(rec.encode())),
                Op::RemoveRecord(loc) => (record_key(loc).to_vec(), None),
                Op::PutSegment(seg) => (
                    segment_key(seg.id).to_vec(),
                    Some(serde_json::to_vec(&seg).expect("segment meta encodes")),
                ),
                Op::PutValue(key, value) => {
                    let mut k = vec![b'v'];
                    k.extend_from_slice(key.as_bytes());
                    (k, Some(value))
                }
                Op::RemoveSegment(id) => (segment_key(id).to_vec(), None),
                Op::PutThumbnail(id, jpeg) => (thumbnail_key(&id), Some(jpeg)),
                Op::RemoveThumbnail(id) => (thumbnail_key(&id), None),
            })
            .collect()
    }
}

/// Adds one entry of a collection's tree to what [`MetaStore::load`] returns.
fn decode_entry(name: &str, meta: &mut CollectionMeta, k: &[u8], v: &[u8]) -> Result<()> {
    let bad = |what: &str| {
        StorageError::CorruptMetadata(format!("collection {name}: malformed {what} entry"))
    };
    match k.first() {
        Some(b'r') if k.len() == 9 => {
            let loc = Loc {
                segment: u32::from_be_bytes(k[1..5].try_into().unwrap()),
                record: u32::from_be_bytes(k[5..9].try_into().unwrap()),
            };
            meta.records
                .push((loc, RecordMeta::decode(v).ok_or_else(|| bad("record"))?));
        }
        Some(b's') if k.len() == 5 => {
            meta.segments
                .push(serde_json::from_slice(v).map_err(|_| bad("segment"))?);
        }
        Some(b'v') => {
            let key = String::from_utf8(k[1..].to_vec()).map_err(|_| bad("value"))?;
            meta.values.insert(key, v.to_vec());
        }
        Some(&THUMBNAIL_PREFIX) => {}
        _ => return Err(bad("unknown")),
    }
    Ok(())
}

impl SledMetaStore {
    pub fn open(dir: &Path) -> Result<SledMetaStore> {
        // sled releases its file lock only once its background threads
        // have let go of the database, a moment after the last handle is
        // dropped: reopening in the same process (`clipdb snapshot restore`
        // checks what it restored this way) can find it still held. Wait a
        // little before reporting the directory as in use.
        let mut waited = std::time::Duration::ZERO;
        let db = loop {
            match sled::Config::new()
                .path(dir)
                .flush_every_ms(Some(1000))
                .open()
            {
                Err(sled::Error::Io(io)) if is_lock_held(&io) => {
                    if waited >= LOCK_WAIT {
                        return Err(StorageError::InUse {
                            data_dir: dir.parent().unwrap_or(dir).to_path_buf(),
                            holder: lock_holder(&dir.join("db")),
                        });
                    }
                    std::thread::sleep(LOCK_RETRY);
                    waited += LOCK_RETRY;
                }
                other => {
                    break other.map_err(|e| match e {
                        sled::Error::Io(io) => StorageError::io(dir, io),
                        other => StorageError::corrupt(dir, other.to_string()),
                    })?
                }
            }
        };
        let collections = db.open_tree("collections").map_err(sled_err)?;
        Ok(SledMetaStore { db, collections })
    }

    fn tree(&self, name: &str) -> Result<sled::Tree> {
        self.db.open_tree(tree_name(name)).map_err(sled_err)
    }
}

/// sled 0.34 reports a held lock as an `Other` error whose message wraps
/// the `WouldBlock` from `flock`.
fn is_lock_held(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
}

/// The process holding the lock sled takes on `file` (its `db` file), read
/// from `/proc/locks` (Linux; None elsewhere or when it cannot be told).
fn lock_holder(file: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(file).ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        // "1: FLOCK  ADVISORY  WRITE 2584 fe:00:5310021 0 EOF"
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (pid, device_inode) = (fields.get(4)?, fields.get(5)?);
        let holder_inode: u64 = device_inode.rsplit(':').next()?.parse().ok()?;
        (holder_inode == inode).then(|| pid.parse().ok())?
    })
}

/// How long [`SledMetaStore::open`] waits for a lock its own process may
/// still hold, and how often it tries again.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(20);

impl MetaStore for SledMetaStore {
    fn put_collection(&self, name: &str, config: &[u8]) -> Result<()> {
        self.collections.insert(name, config).map_err(sled_err)?;
        self.flush()
    }

    fn remove_collection(&self, name: &str) -> Result<()> {
        self.collections.remove(name).map_err(sled_err)?;
        self.db.drop_tree(tree_name(name)).map_err(sled_err)?;
        self.flush()
    }

    fn collections(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.collections
            .iter()
            .map(|kv| {
                let (k, v) = kv.map_err(sled_err)?;
                let name = String::from_utf8(k.to_vec()).map_err(|_| {
                    StorageError::CorruptMetadata("collection name is not UTF-8".into())
                })?;
                Ok((name, v.to_vec()))
            })
            .collect()
    }

    fn load(&self, name: &str) -> Result<CollectionMeta> {
        let tree = self.tree(name)?;
        let mut meta = CollectionMeta::default();
        let before_thumbnails = tree.range(..[THUMBNAIL_PREFIX].as_slice());
        let after_thumbnails = tree.range([THUMBNAIL_PREFIX + 1].as_slice()..);
        for kv in before_thumbnails.chain(after_thumbnails) {
            let (k, v) = kv.map_err(sled_err)?;
            decode_entry(name, &mut meta, &k, &v)?;
        }
        meta.segments.sort_by_key(|s| s.id);
        Ok(meta)
    }

    fn apply(&self, name: &str, batch: MetaBatch) -> Result<MetaUndo> {
        fail::fail_point!("meta-apply", |arg| Err(super::injected_fault(
            Path::new("meta"),
            arg
        )));
        let tree = self.tree(name)?;
        // Only the commit thread writes records, and segment entries are
        // written by one thread per segment, so nothing changes these keys
        // between reading their old values and applying the batch.
        let changes = batch.encode();
        let mut undo = MetaUndo {
            collection: name.to_string(),
            previous: Vec::new(),
        };
        let mut b = sled::Batch::default();
        for (key, value) in changes {
            if !undo.previous.iter().any(|(k, _)| *k == key) {
                let old = tree.get(&key).map_err(sled_err)?.map(|v| v.to_vec());
                undo.previous.push((key.clone(), old));
            }
            match value {
                Some(v) => b.insert(key, v),
                None => b.remove(key),
            }
        }
        tree.apply_batch(b).map_err(sled_err)?;
        Ok(undo)
    }

    fn revert(&self, undo: MetaUndo) -> Result<()> {
        let tree = self.tree(&undo.collection)?;
        let mut b = sled::Batch::default();
        for (key, old) in undo.previous {
            match old {
                Some(v) => b.insert(key, v),
                None => b.remove(key),
            }
        }
        tree.apply_batch(b).map_err(sled_err)
    }

    fn flush(&self) -> Result<()> {
        fail::fail_point!("meta-flush", |arg| Err(super::injected_fault(
            Path::new("meta"),
            arg
        )));
        self.db.flush().map(|_| ()).map_err(sled_err)
    }

    fn thumbnail(&self, name: &str, id: &str) -> Result<Option<Vec<u8>>> {
        let tree = self.tree(name)?;
        Ok(tree
            .get(thumbnail_key(id))
            .map_err(sled_err)?
            .map(|v| v.to_vec()))
    }
}

/// The metadata store in memory, for tests: [`SledMetaStore`]'s twin
/// (same keys and encodings, same batch and undo semantics) that can be
/// told to fail its next `apply`, `flush` or `revert`, and that keeps what
/// the last successful flush made durable apart from what is applied.
#[cfg(test)]
#[derive(Default)]
pub struct MemMetaStore {
    state: parking_lot::Mutex<MemState>,
}

/// A [`MemMetaStore`] operation that can be made to fail.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemFault {
    Apply,
    Flush,
    Revert,
}

#[cfg(test)]
#[derive(Default)]
struct MemState {
    /// What reads see: every applied batch.
    applied: MemTrees,
    /// What the last successful flush made durable (what a crash leaves).
    durable: MemTrees,
    flushes: usize,
    fail_next: Vec<MemFault>,
    before_next_flush: Option<Box<dyn FnOnce() + Send>>,
}

#[cfg(test)]
#[derive(Default, Clone)]
struct MemTrees {
    collections: std::collections::BTreeMap<String, Vec<u8>>,
    trees: HashMap<String, std::collections::BTreeMap<Vec<u8>, Vec<u8>>>,
}

#[cfg(test)]
impl MemTrees {
    fn load(&self, name: &str) -> Result<CollectionMeta> {
        let mut meta = CollectionMeta::default();
        for (k, v) in self.trees.get(name).into_iter().flatten() {
            decode_entry(name, &mut meta, k, v)?;
        }
        meta.segments.sort_by_key(|s| s.id);
        Ok(meta)
    }
}

#[cfg(test)]
impl MemMetaStore {
    pub fn new() -> MemMetaStore {
        MemMetaStore::default()
    }

    /// Makes the next call of `op` fail with an I/O error (EIO), changing
    /// nothing.
    pub fn fail_next(&self, op: MemFault) {
        self.state.lock().fail_next.push(op);
    }

    /// Runs `f` at the start of the next flush (whether or not it fails).
    pub fn before_next_flush(&self, f: impl FnOnce() + Send + 'static) {
        self.state.lock().before_next_flush = Some(Box::new(f));
    }

    /// Successful flushes so far.
    pub fn flushes(&self) -> usize {
        self.state.lock().flushes
    }

    /// What the last successful flush made durable of a collection.
    pub fn load_durable(&self, name: &str) -> Result<CollectionMeta> {
        self.state.lock().durable.load(name)
    }

    fn injected(&self, op: MemFault) -> Result<()> {
        let mut state = self.state.lock();
        match state.fail_next.iter().position(|f| *f == op) {
            Some(i) => {
                state.fail_next.remove(i);
                Err(super::injected_fault(Path::new("meta"), None))
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
impl MetaStore for MemMetaStore {
    fn put_collection(&self, name: &str, config: &[u8]) -> Result<()> {
        self.state
            .lock()
            .applied
            .collections
            .insert(name.to_string(), config.to_vec());
        self.flush()
    }

    fn remove_collection(&self, name: &str) -> Result<()> {
        {
            let applied = &mut self.state.lock().applied;
            applied.collections.remove(name);
            applied.trees.remove(name);
        }
        self.flush()
    }

    fn collections(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let state = self.state.lock();
        Ok(state
            .applied
            .collections
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn load(&self, name: &str) -> Result<CollectionMeta> {
        self.state.lock().applied.load(name)
    }

    fn apply(&self, name: &str, batch: MetaBatch) -> Result<MetaUndo> {
        self.injected(MemFault::Apply)?;
        let mut state = self.state.lock();
        let tree = state.applied.trees.entry(name.to_string()).or_default();
        let mut undo = MetaUndo {
            collection: name.to_string(),
            previous: Vec::new(),
        };
        for (key, value) in batch.encode() {
            if !undo.previous.iter().any(|(k, _)| *k == key) {
                undo.previous.push((key.clone(), tree.get(&key).cloned()));
            }
            match value {
                Some(v) => tree.insert(key, v),
                None => tree.remove(&key),
            };
        }
        Ok(undo)
    }

    fn revert(&self, undo: MetaUndo) -> Result<()> {
        self.injected(MemFault::Revert)?;
        let mut state = self.state.lock();
        let tree = state.applied.trees.entry(undo.collection).or_default();
        for (key, old) in undo.previous {
            match old {
                Some(v) => tree.insert(key, v),
                None => tree.remove(&key),
            };
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        let hook = self.state.lock().before_next_flush.take();
        if let Some(f) = hook {
            f();
        }
        self.injected(MemFault::Flush)?;
        let mut state = self.state.lock();
        state.durable = state.applied.clone();
        state.flushes += 1;
        Ok(())
    }

    fn thumbnail(&self, name: &str, id: &str) -> Result<Option<Vec<u8>>> {
        let state = self.state.lock();
        Ok(state
            .applied
            .trees
            .get(name)
            .and_then(|t| t.get(&thumbnail_key(id)))
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handle released while another open waits is not reported as a
    /// directory in use (`clipdb snapshot restore` failed this way under
    /// load); one that stays open still is, after the wait.
    #[test]
    fn reopening_waits_for_the_lock_then_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let first = SledMetaStore::open(dir.path()).unwrap();
        let held = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(first);
        });
        let second = SledMetaStore::open(dir.path());
        held.join().unwrap();
        let second = second.expect("opens once the first handle is gone");
        let err = SledMetaStore::open(dir.path()).err().expect("still held");
        let pid = format!("pid {}", std::process::id());
        assert!(matches!(err, StorageError::InUse { .. }), "{err}");
        assert!(err.to_string().contains(&pid), "{err}");
        drop(second);
    }

    #[test]
    fn batches_persist_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledMetaStore::open(dir.path()).unwrap();
            store.put_collection("a", b"{}").unwrap();
            let mut b = MetaBatch::default();
            b.put_segment(SegmentMeta {
                id: 1,
                capacity: 10,
                sealed: false,
            });
            let rec = RecordMeta {
                id: "x".into(),
                spaces: 1,
                payload: Some(b"{\"k\":1}".to_vec()),
            };
            b.put_record(
                Loc {
                    segment: 1,
                    record: 0,
                },
                rec.clone(),
            );
            b.put_record(
                Loc {
                    segment: 1,
                    record: 1,
                },
                RecordMeta {
                    id: "y".into(),
                    spaces: 3,
                    payload: None,
                },
            );
            b.remove_record(Loc {
                segment: 1,
                record: 1,
            });
            b.put_value("model", b"abc".to_vec());
            store.apply("a", b).unwrap();
            store.flush().unwrap();
        }
        let store = SledMetaStore::open(dir.path()).unwrap();
        assert_eq!(
            store.collections().unwrap(),
            vec![("a".to_string(), b"{}".to_vec())]
        );
        let meta = store.load("a").unwrap();
        assert_eq!(meta.segments.len(), 1);
        assert_eq!(meta.records.len(), 1);
        assert_eq!(meta.records[0].1.id, "x");
        assert_eq!(
            meta.records[0].1.payload.as_deref(),
            Some(&b"{\"k\":1}"[..])
        );
        assert_eq!(meta.values["model"], b"abc");
        store.remove_collection("a").unwrap();
        assert!(store.collections().unwrap().is_empty());
        assert!(store.load("a").unwrap().records.is_empty());
    }

    /// Thumbnails live beside records in the same batch, are read one by
    /// one, survive a reopen, and stay out of what `load` returns.
    #[test]
    fn thumbnails_are_written_with_batches_and_kept_out_of_load() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledMetaStore::open(dir.path()).unwrap();
            let mut b = MetaBatch::default();
            b.put_value("model", b"m".to_vec());
            b.put_thumbnail("x", vec![0xff, 0xd8, 1]);
            b.put_thumbnail("y", vec![0xff, 0xd8, 2]);
            store.apply("a", b).unwrap();
            let mut b = MetaBatch::default();
            b.remove_thumbnail("y");
            let undo = store.apply("a", b).unwrap();
            assert_eq!(store.thumbnail("a", "y").unwrap(), None);
            store.revert(undo).unwrap();
            assert_eq!(
                store.thumbnail("a", "y").unwrap(),
                Some(vec![0xff, 0xd8, 2])
            );
            store.flush().unwrap();
        }
        let store = SledMetaStore::open(dir.path()).unwrap();
        assert_eq!(
            store.thumbnail("a", "x").unwrap(),
            Some(vec![0xff, 0xd8, 1])
        );
        assert_eq!(store.thumbnail("a", "z").unwrap(), None);
        let meta = store.load("a").unwrap();
        assert!(meta.records.is_empty());
        assert_eq!(meta.values.len(), 1);
        let mem = MemMetaStore::new();
        let mut b = MetaBatch::default();
        b.put_thumbnail("x", vec![7]);
        mem.apply("a", b).unwrap();
        assert_eq!(mem.thumbnail("a", "x").unwrap(), Some(vec![7]));
        assert!(mem.load("a").unwrap().values.is_empty());
    }

    /// The in-memory twin answers as sled does for the same batches,
    /// reverts included, so tests against it hold for the real store.
    #[test]
    fn mem_store_matches_sled() {
        let dir = tempfile::tempdir().unwrap();
        let sled = SledMetaStore::open(dir.path()).unwrap();
        let mem = MemMetaStore::new();
        let loc = |segment, record| Loc { segment, record };
        let rec = |id: &str, payload: Option<&[u8]>| RecordMeta {
            id: id.into(),
            spaces: 1,
            payload: payload.map(<[u8]>::to_vec),
        };
        let batches = || {
            let mut first = MetaBatch::default();
            first.put_segment(SegmentMeta {
                id: 2,
                capacity: 8,
                sealed: false,
            });
            first.put_segment(SegmentMeta {
                id: 1,
                capacity: 8,
                sealed: true,
            });
            first.put_record(loc(1, 0), rec("a", Some(b"{}")));
            first.put_record(loc(1, 1), rec("b", None));
            first.put_value("model", b"m1".to_vec());
            let mut second = MetaBatch::default();
            second.remove_record(loc(1, 0));
            second.put_record(loc(2, 0), rec("a", None));
            second.put_record(loc(2, 1), rec("c", None));
            second.remove_record(loc(2, 1));
            second.put_value("model", b"m2".to_vec());
            second.remove_segment(1);
            (first, second)
        };
        let summary = |store: &dyn MetaStore| {
            let m = store.load("c").unwrap();
            (m.segments, m.records, {
                let mut v: Vec<_> = m.values.into_iter().collect();
                v.sort();
                v
            })
        };
        for store in [&sled as &dyn MetaStore, &mem] {
            store.put_collection("c", b"{}").unwrap();
            let (first, _) = batches();
            store.apply("c", first).unwrap();
            store.flush().unwrap();
        }
        assert_eq!(summary(&sled), summary(&mem));
        let mut undos = Vec::new();
        for store in [&sled as &dyn MetaStore, &mem] {
            let (_, second) = batches();
            undos.push(store.apply("c", second).unwrap());
        }
        assert_eq!(summary(&sled), summary(&mem));
        let applied = summary(&mem);
        for (store, undo) in [&sled as &dyn MetaStore, &mem].into_iter().zip(undos) {
            store.revert(undo).unwrap();
        }
        assert_eq!(summary(&sled), summary(&mem));
        assert_ne!(summary(&mem), applied);
        assert_eq!(sled.collections().unwrap(), mem.collections().unwrap());
        // Only the flushed state is durable in the twin.
        let (_, second) = batches();
        mem.apply("c", second).unwrap();
        assert_eq!(mem.load_durable("c").unwrap().records.len(), 2);
        assert_eq!(mem.load("c").unwrap().records.len(), 2);
        assert_eq!(mem.load("c").unwrap().segments.len(), 1);
        assert_eq!(mem.load_durable("c").unwrap().segments.len(), 2);
    }

    /// An injected fault fails the next call of that operation only, and
    /// changes nothing.
    #[test]
    fn mem_store_faults_fail_one_call() {
        let mem = MemMetaStore::new();
        let mut batch = MetaBatch::default();
        batch.put_value("k", b"v".to_vec());
        mem.fail_next(MemFault::Apply);
        assert!(mem.apply("c", batch).is_err());
        assert!(mem.load("c").unwrap().values.is_empty());
        let mut batch = MetaBatch::default();
        batch.put_value("k", b"v".to_vec());
        let undo = mem.apply("c", batch).unwrap();
        mem.fail_next(MemFault::Flush);
        assert!(mem.flush().is_err());
        assert_eq!(mem.flushes(), 0);
        assert!(mem.load_durable("c").unwrap().values.is_empty());
        mem.fail_next(MemFault::Revert);
        let undo_again = MetaUndo {
            collection: undo.collection.clone(),
            previous: undo.previous.clone(),
        };
        assert!(mem.revert(undo).is_err());
        assert_eq!(mem.load("c").unwrap().values.len(), 1);
        mem.revert(undo_again).unwrap();
        assert!(mem.load("c").unwrap().values.is_empty());
        mem.flush().unwrap();
        assert_eq!(mem.flushes(), 1);
    }
}
