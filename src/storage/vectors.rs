//! Fixed-size vector records in a memory-mapped file.
//!
//! Layout: a 64-byte header (magic, format version, dimension, capacity,
//! CRC-32 of the header), then `capacity` records of `dim` little-endian f32
//! followed by the CRC-32 of those bytes. The file is sized for its capacity
//! up front (sparse), mapped once, and written with positioned writes, which
//! the shared mapping sees at once. A record is trusted only if its checksum
//! matches, so a torn or never-completed write is detected, not misread.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use super::{Result, StorageError};

const MAGIC: &[u8; 8] = b"CLIPVEC\0";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 64;

pub struct VectorFile {
    path: PathBuf,
    file: File,
    map: Arc<Mmap>,
    dim: usize,
    capacity: u32,
}

impl std::fmt::Debug for VectorFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorFile")
            .field("path", &self.path)
            .field("dim", &self.dim)
            .field("capacity", &self.capacity)
            .finish()
    }
}

fn record_len(dim: usize) -> usize {
    dim * 4 + 4
}

fn encode_header(dim: u32, capacity: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&dim.to_le_bytes());
    h[16..20].copy_from_slice(&capacity.to_le_bytes());
    let crc = crc32fast::hash(&h[0..60]);
    h[60..64].copy_from_slice(&crc.to_le_bytes());
    h
}

impl VectorFile {
    /// Creates a new, empty file for `capacity` records of dimension `dim`.
    pub fn create(path: &Path, dim: usize, capacity: u32) -> Result<VectorFile> {
        let io = |e| StorageError::io(path, e);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io)?;
        file.write_all_at(&encode_header(dim as u32, capacity), 0)
            .map_err(io)?;
        let len = HEADER_LEN as u64 + capacity as u64 * record_len(dim) as u64;
        file.set_len(len).map_err(io)?;
        file.sync_all().map_err(io)?;
        Self::map(path.to_path_buf(), file, dim, capacity)
    }

    /// Opens an existing file, checking its header against the expected dimension.
    pub fn open(path: &Path, dim: usize) -> Result<VectorFile> {
        let io = |e| StorageError::io(path, e);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        let mut h = [0u8; HEADER_LEN];
        file.read_exact_at(&mut h, 0)
            .map_err(|_| StorageError::corrupt(path, "file shorter than its header"))?;
        if &h[0..8] != MAGIC {
            return Err(StorageError::corrupt(
                path,
                "not a clipdb vector file (bad magic)",
            ));
        }
        let crc = u32::from_le_bytes(h[60..64].try_into().unwrap());
        if crc != crc32fast::hash(&h[0..60]) {
            return Err(StorageError::corrupt(path, "header checksum mismatch"));
        }
        let version = u32::from_le_bytes(h[8..12].try_into().unwrap());
        if version != VERSION {
            return Err(StorageError::corrupt(
                path,
                format!("unsupported format version {version} (this build reads {VERSION})"),
            ));
        }
        let file_dim = u32::from_le_bytes(h[12..16].try_into().unwrap()) as usize;
        if file_dim != dim {
            return Err(StorageError::corrupt(
                path,
                format!("dimension {file_dim} in file, {dim} expected"),
            ));
        }
        let capacity = u32::from_le_bytes(h[16..20].try_into().unwrap());
        let expected_len = HEADER_LEN as u64 + capacity as u64 * record_len(dim) as u64;
        let len = file.metadata().map_err(io)?.len();
        if len < expected_len {
            return Err(StorageError::corrupt(
                path,
                format!("truncated: {len} bytes, {expected_len} expected"),
            ));
        }
        Self::map(path.to_path_buf(), file, dim, capacity)
    }

    /// Repairs what can be repaired without the lost data: a damaged header
    /// is rewritten from the collection's dimension and the segment's
    /// capacity, a truncated file is extended to its full length, a missing
    /// one is recreated. Record bytes are left alone; records that were lost
    /// then fail their checksums. Returns what was done (None: nothing
    /// needed). A valid header of another format version or dimension is not
    /// "repaired": that file is not damaged, it is not ours to rewrite.
    pub fn repair(path: &Path, dim: usize, capacity: u32) -> Result<Option<String>> {
        let io = |e| StorageError::io(path, e);
        let expected_len = HEADER_LEN as u64 + capacity as u64 * record_len(dim) as u64;
        let header = encode_header(dim as u32, capacity);
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Self::create(path, dim, capacity)?;
                return Ok(Some(format!(
                    "recreated the missing {} (its records are lost)",
                    path.display()
                )));
            }
            Err(e) => return Err(io(e)),
        };
        let len = file.metadata().map_err(io)?.len();
        let mut h = [0u8; HEADER_LEN];
        let read = len >= HEADER_LEN as u64 && file.read_exact_at(&mut h, 0).is_ok();
        let mut done = Vec::new();
        let intact = read
            && &h[0..8] == MAGIC
            && u32::from_le_bytes(h[60..64].try_into().unwrap()) == crc32fast::hash(&h[0..60]);
        if intact {
            if h != header {
                return Err(StorageError::corrupt(
                    path,
                    "valid header of another format version, dimension or capacity; not rewriting it",
                ));
            }
        } else {
            file.write_all_at(&header, 0).map_err(io)?;
            done.push("rewrote its damaged header");
        }
        if len < expected_len {
            file.set_len(expected_len).map_err(io)?;
            done.push("extended it to its full length (records past the truncation are lost)");
        }
        if done.is_empty() {
            return Ok(None);
        }
        file.sync_all().map_err(io)?;
        Ok(Some(format!("{}: {}", path.display(), done.join(", "))))
    }

    fn map(path: PathBuf, file: File, dim: usize, capacity: u32) -> Result<VectorFile> {
        // SAFETY: the file is owned by this process's data directory; records
        // are only rewritten while no reader can reach them (see module docs).
        let map = unsafe { Mmap::map(&file) }.map_err(|e| StorageError::io(&path, e))?;
        Ok(VectorFile {
            path,
            file,
            map: Arc::new(map),
            dim,
            capacity,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Length of the file's prefix holding the header and the first
    /// `records` records.
    pub fn prefix_len(&self, records: u32) -> u64 {
        HEADER_LEN as u64 + records.min(self.capacity) as u64 * record_len(self.dim) as u64
    }

    /// Length of the whole file (header and every record).
    pub fn full_len(&self) -> u64 {
        self.prefix_len(self.capacity)
    }

    fn offset(&self, record: u32) -> usize {
        HEADER_LEN + record as usize * record_len(self.dim)
    }

    /// Writes one record (not yet durable: see [`VectorFile::sync`]).
    pub fn write(&self, record: u32, vector: &[f32]) -> Result<()> {
        assert!(record < self.capacity, "record {record} past capacity");
        assert_eq!(vector.len(), self.dim);
        fail::fail_point!("vectors-write", |arg| Err(super::injected_fault(
            &self.path, arg
        )));
        let mut buf = Vec::with_capacity(record_len(self.dim));
        for x in vector {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        let crc = crc32fast::hash(&buf);
        buf.extend_from_slice(&crc.to_le_bytes());
        self.file
            .write_all_at(&buf, self.offset(record) as u64)
            .map_err(|e| StorageError::io(&self.path, e))
    }

    /// Makes every write so far durable.
    pub fn sync(&self) -> Result<()> {
        fail::fail_point!("vectors-sync", |arg| Err(super::injected_fault(
            &self.path, arg
        )));
        self.file
            .sync_data()
            .map_err(|e| StorageError::io(&self.path, e))
    }

    /// The mapping shared with readers that outlive a borrow (a sealed
    /// graph's walk): record `i`'s f32 values start at byte
    /// `first + i * stride`, 4-byte aligned.
    pub fn shared_map(&self) -> (Arc<Mmap>, usize, usize) {
        (self.map.clone(), HEADER_LEN, record_len(self.dim))
    }

    /// The stored vector of a record. Only call for records known to be written.
    pub fn get(&self, record: u32) -> &[f32] {
        assert!(record < self.capacity, "record {record} past capacity");
        let off = self.offset(record);
        let bytes = &self.map[off..off + self.dim * 4];
        // SAFETY: the mapping is page aligned, the header and records are
        // multiples of 4 bytes, so every record starts 4-byte aligned; f32 has
        // no invalid bit patterns. Little-endian targets only (x86-64, aarch64).
        unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const f32, self.dim) }
    }

    /// True when the record's checksum matches its contents.
    pub fn verify(&self, record: u32) -> bool {
        if record >= self.capacity {
            return false;
        }
        let off = self.offset(record);
        let data = &self.map[off..off + self.dim * 4];
        let crc = u32::from_le_bytes(
            self.map[off + self.dim * 4..off + self.dim * 4 + 4]
                .try_into()
                .unwrap(),
        );
        crc32fast::hash(data) == crc
    }

    /// Checks every listed record, naming the first bad one.
    pub fn verify_all(&self, records: impl IntoIterator<Item = u32>) -> Result<()> {
        for r in records {
            if !self.verify(r) {
                return Err(StorageError::corrupt(
                    &self.path,
                    format!("record {r} fails its checksum"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_reopen_and_detect_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.bin");
        let f = VectorFile::create(&path, 3, 10).unwrap();
        f.write(0, &[1.0, 2.0, 3.0]).unwrap();
        f.write(4, &[4.0, 5.0, 6.0]).unwrap();
        f.sync().unwrap();
        assert_eq!(f.get(4), &[4.0, 5.0, 6.0]);
        assert!(f.verify(0) && f.verify(4));
        assert!(!f.verify(1), "an unwritten record must not verify");
        drop(f);

        let f = VectorFile::open(&path, 3).unwrap();
        assert_eq!(f.get(0), &[1.0, 2.0, 3.0]);
        assert!(
            VectorFile::open(&path, 4).is_err(),
            "dimension mismatch must be refused"
        );
        drop(f);

        // Flip one byte of record 4.
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(&[0xff], (HEADER_LEN + 4 * record_len(3) + 1) as u64)
            .unwrap();
        let f = VectorFile::open(&path, 3).unwrap();
        let err = f.verify_all([0, 4]).unwrap_err().to_string();
        assert!(err.contains("record 4") && err.contains("v.bin"), "{err}");

        // A foreign file is refused by its magic.
        std::fs::write(&path, vec![7u8; 200]).unwrap();
        let err = VectorFile::open(&path, 3).unwrap_err().to_string();
        assert!(err.contains("bad magic"), "{err}");
    }
}
