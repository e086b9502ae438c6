//! Snapshot archives: one plain (uncompressed) tar file per snapshot, so a
//! snapshot is also readable with `tar tvf`.
//!
//! Layout, in this order:
//! 1. `snapshot.json`: the header (what the snapshot holds; opaque here),
//!    a checksummed manifest document (see [`super::manifest`]). First, so
//!    listing reads a few hundred bytes, not the whole archive.
//! 2. the data members, named `NAME` or `DIR/NAME` (`[A-Za-z0-9._-]`).
//! 3. `checksums.json`: length and CRC-32 of every member before it, again a
//!    checksummed manifest. Last, so the sums are of what was written; an
//!    archive without it is incomplete.
//!
//! An archive is written to `NAME.snapshot.tmp` (created exclusively, which
//! also reserves the name), fsynced, then renamed to `NAME.snapshot` and the
//! directory fsynced: a crash never leaves a half archive under a final name.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{manifest, sync_dir, Result, StorageError};

pub const EXTENSION: &str = "snapshot";
pub const TMP_SUFFIX: &str = ".snapshot.tmp";
pub const HEADER_MEMBER: &str = "snapshot.json";
pub const CHECKSUMS_MEMBER: &str = "checksums.json";
/// Largest header accepted (it is a small JSON document).
const MAX_HEADER_BYTES: u64 = 16 << 20;

/// Length and CRC-32 of one archive member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSum {
    pub name: String,
    pub len: u64,
    pub crc32: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct Checksums {
    members: Vec<MemberSum>,
}

/// Snapshot names: `[A-Za-z0-9._-]{1,128}`, not starting with a dot (so
/// never `..`, never a path).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// Member names: one or two `/`-separated parts, each a valid name.
fn is_valid_member(name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    parts.len() <= 2 && parts.iter().all(|p| is_valid_name(p))
}

/// The path of snapshot `name` in `dir`.
pub fn path_of(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.{EXTENSION}"))
}

/// Writes one archive; removes its temporary file unless finished.
pub struct ArchiveWriter {
    final_path: PathBuf,
    tmp_path: PathBuf,
    builder: Option<tar::Builder<BufWriter<File>>>,
    sums: Vec<MemberSum>,
    mtime: u64,
}

impl ArchiveWriter {
    /// Starts snapshot `name` in `dir`, or None if that name is taken (by a
    /// finished snapshot or one being written).
    pub fn create(dir: &Path, name: &str, mtime: u64) -> Result<Option<ArchiveWriter>> {
        let final_path = path_of(dir, name);
        let tmp_path = dir.join(format!("{name}{TMP_SUFFIX}"));
        if final_path.exists() {
            return Ok(None);
        }
        let file = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
            Err(e) => return Err(StorageError::io(&tmp_path, e)),
        };
        let mut builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, file));
        builder.mode(tar::HeaderMode::Deterministic);
        Ok(Some(ArchiveWriter {
            final_path,
            tmp_path,
            builder: Some(builder),
            sums: Vec::new(),
            mtime,
        }))
    }

    fn header(&self, len: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_mtime(self.mtime);
        h.set_size(len);
        h
    }

    fn builder(&mut self) -> &mut tar::Builder<BufWriter<File>> {
        self.builder.as_mut().expect("archive is open")
    }

    fn check_member(&self, name: &str) {
        assert!(is_valid_member(name), "bad member name {name}");
    }

    /// Adds a member from memory.
    pub fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.check_member(name);
        let mut header = self.header(bytes.len() as u64);
        let tmp = self.tmp_path.clone();
        self.builder()
            .append_data(&mut header, name, bytes)
            .map_err(|e| StorageError::io(&tmp, e))?;
        self.sums.push(MemberSum {
            name: name.to_string(),
            len: bytes.len() as u64,
            crc32: crc32fast::hash(bytes),
        });
        Ok(())
    }

    /// Adds the first `len` bytes of `source` as a member.
    pub fn add_file_prefix(&mut self, name: &str, source: &Path, len: u64) -> Result<()> {
        self.check_member(name);
        let file = File::open(source).map_err(|e| StorageError::io(source, e))?;
        let mut reader = Exact {
            inner: file,
            remaining: len,
            hasher: crc32fast::Hasher::new(),
            failed: None,
        };
        let mut header = self.header(len);
        let tmp = self.tmp_path.clone();
        let written = self.builder().append_data(&mut header, name, &mut reader);
        if let Some(e) = reader.failed.take() {
            // A read error (or a file shorter than promised) names the source.
            return Err(StorageError::io(source, e));
        }
        written.map_err(|e| StorageError::io(&tmp, e))?;
        self.sums.push(MemberSum {
            name: name.to_string(),
            len,
            crc32: reader.hasher.finalize(),
        });
        Ok(())
    }

    /// Adds a member of unknown length, produced by `write`.
    pub fn add_streamed(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<()> {
        self.check_member(name);
        let mut header = self.header(0);
        let tmp = self.tmp_path.clone();
        let io = |e| StorageError::io(&tmp, e);
        let (len, crc32) = {
            let entry = self
                .builder()
                .append_writer(&mut header, name)
                .map_err(io)?;
            let mut w = Hashing {
                inner: BufWriter::with_capacity(1 << 20, entry),
                hasher: crc32fast::Hasher::new(),
                len: 0,
            };
            write(&mut w).map_err(io)?;
            let Hashing { inner, hasher, len } = w;
            let entry = inner.into_inner().map_err(|e| io(e.into_error()))?;
            entry.finish().map_err(io)?;
            (len, hasher.finalize())
        };
        self.sums.push(MemberSum {
            name: name.to_string(),
            len,
            crc32,
        });
        Ok(())
    }

    /// Appends the checksums, makes the archive durable and gives it its
    /// final name. Returns its path and size in bytes.
    pub fn finish(mut self) -> Result<(PathBuf, u64)> {
        let sums = manifest::to_bytes(&Checksums {
            members: self.sums.clone(),
        });
        let mut header = self.header(sums.len() as u64);
        let tmp = self.tmp_path.clone();
        let io = |e| StorageError::io(&tmp, e);
        let mut builder = self.builder.take().expect("archive is open");
        builder
            .append_data(&mut header, CHECKSUMS_MEMBER, &sums[..])
            .map_err(io)?;
        let file = builder
            .into_inner()
            .map_err(io)?
            .into_inner()
            .map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        drop(file);
        std::fs::rename(&self.tmp_path, &self.final_path)
            .map_err(|e| StorageError::io(&self.final_path, e))?;
        if let Some(dir) = self.final_path.parent() {
            sync_dir(dir)?;
        }
        Ok((self.final_path.clone(), size))
    }
}

impl Drop for ArchiveWriter {
    fn drop(&mut self) {
        if self.builder.is_some() {
            // Not finished: an error or a panic. Leave nothing behind.
            self.builder = None;
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}

/// Reads exactly `remaining` bytes, hashing them; a short source is an error.
struct Exact<R> {
    inner: R,
    remaining: u64,
    hasher: crc32fast::Hasher,
    /// The source's error, kept so the caller can name the source file.
    failed: Option<io::Error>,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let result = match self.inner.read(&mut buf[..max]) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("file ended {} bytes early", self.remaining),
            )),
            other => other,
        };
        match result {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.remaining -= n as u64;
                Ok(n)
            }
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.failed = Some(e);
                Err(copy)
            }
        }
    }
}

struct Hashing<W> {
    inner: W,
    hasher: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn member_name(path: &Path, entry: &tar::Entry<'_, File>) -> Result<String> {
    if entry.header().entry_type() != tar::EntryType::Regular {
        return Err(StorageError::corrupt(
            path,
            "archive holds something other than regular files",
        ));
    }
    let name = entry
        .path()
        .ok()
        .and_then(|p| p.to_str().map(str::to_string))
        .filter(|n| is_valid_member(n))
        .ok_or_else(|| StorageError::corrupt(path, "archive member with a disallowed name"))?;
    Ok(name)
}

/// The header of the snapshot at `path` (checked by its own checksum),
/// reading only the start of the archive.
pub fn read_header<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let file = File::open(path).map_err(|e| StorageError::io(path, e))?;
    let mut archive = tar::Archive::new(file);
    let io = |e| StorageError::io(path, e);
    let mut entry = archive
        .entries()
        .map_err(io)?
        .next()
        .ok_or_else(|| StorageError::corrupt(path, "empty archive"))?
        .map_err(io)?;
    let name = member_name(path, &entry)?;
    if name != HEADER_MEMBER || entry.size() > MAX_HEADER_BYTES {
        return Err(StorageError::corrupt(
            path,
            format!("not a clipdb snapshot (first member is not {HEADER_MEMBER})"),
        ));
    }
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).map_err(io)?;
    manifest::from_bytes(&path.join(HEADER_MEMBER), &bytes)
}

/// Verifies the whole archive at `path` and extracts its members into
/// `dest` (an existing, empty directory), each file fsynced. Returns the
/// header. Nothing in `dest` may be trusted if this fails.
pub fn extract<T: serde::de::DeserializeOwned>(path: &Path, dest: &Path) -> Result<T> {
    let file = File::open(path).map_err(|e| StorageError::io(path, e))?;
    let mut archive = tar::Archive::new(file);
    let io = |e| StorageError::io(path, e);
    let mut seen: Vec<MemberSum> = Vec::new();
    let mut checksums: Option<Checksums> = None;
    let mut header: Option<T> = None;
    for entry in archive.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        let name = member_name(path, &entry)?;
        if checksums.is_some() {
            return Err(StorageError::corrupt(
                path,
                format!("member {name} after {CHECKSUMS_MEMBER}"),
            ));
        }
        if seen.is_empty() && name != HEADER_MEMBER {
            return Err(StorageError::corrupt(
                path,
                format!("not a clipdb snapshot (first member is not {HEADER_MEMBER})"),
            ));
        }
        if name == CHECKSUMS_MEMBER || name == HEADER_MEMBER {
            if entry.size() > MAX_HEADER_BYTES {
                return Err(StorageError::corrupt(path, format!("{name} is too large")));
            }
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(io)?;
            let member_path = path.join(&name);
            if name == CHECKSUMS_MEMBER {
                checksums = Some(manifest::from_bytes(&member_path, &bytes)?);
                continue;
            }
            if header.is_some() {
                return Err(StorageError::corrupt(path, "two headers"));
            }
            header = Some(manifest::from_bytes(&member_path, &bytes)?);
            seen.push(MemberSum {
                name,
                len: bytes.len() as u64,
                crc32: crc32fast::hash(&bytes),
            });
            continue;
        }
        if seen.iter().any(|s| s.name == name) {
            return Err(StorageError::corrupt(
                path,
                format!("member {name} appears twice"),
            ));
        }
        let target = dest.join(&name);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| StorageError::io(parent, e))?;
        }
        let out = File::create(&target).map_err(|e| StorageError::io(&target, e))?;
        let mut w = Hashing {
            inner: BufWriter::with_capacity(1 << 20, out),
            hasher: crc32fast::Hasher::new(),
            len: 0,
        };
        io::copy(&mut entry, &mut w).map_err(io)?;
        let out = w
            .inner
            .into_inner()
            .map_err(|e| StorageError::io(&target, e.into_error()))?;
        out.sync_all().map_err(|e| StorageError::io(&target, e))?;
        seen.push(MemberSum {
            name,
            len: w.len,
            crc32: w.hasher.finalize(),
        });
    }
    let checksums = checksums.ok_or_else(|| {
        StorageError::corrupt(
            path,
            format!("incomplete snapshot: no {CHECKSUMS_MEMBER} at its end"),
        )
    })?;
    for expected in &checksums.members {
        match seen.iter().find(|s| s.name == expected.name) {
            None => {
                return Err(StorageError::corrupt(
                    path,
                    format!("member {} is missing", expected.name),
                ))
            }
            Some(got) if got != expected => {
                return Err(StorageError::corrupt(
                    path,
                    format!(
                        "member {} fails its checksum ({} bytes, crc {:08x}; expected {} bytes, crc {:08x})",
                        expected.name, got.len, got.crc32, expected.len, expected.crc32
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = seen
        .iter()
        .find(|s| !checksums.members.iter().any(|e| e.name == s.name))
    {
        return Err(StorageError::corrupt(
            path,
            format!("member {} is not in {CHECKSUMS_MEMBER}", extra.name),
        ));
    }
    for dir in std::iter::once(dest.to_path_buf()).chain(
        seen.iter()
            .filter_map(|s| s.name.split_once('/').map(|(d, _)| dest.join(d))),
    ) {
        sync_dir(&dir)?;
    }
    header.ok_or_else(|| StorageError::corrupt(path, "no header"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Head {
        n: u32,
    }

    fn write_sample(dir: &Path) -> PathBuf {
        let src = dir.join("src.bin");
        std::fs::write(&src, (0..=255u8).cycle().take(5000).collect::<Vec<_>>()).unwrap();
        let mut w = ArchiveWriter::create(dir, "s1", 1).unwrap().unwrap();
        w.add_bytes(HEADER_MEMBER, &manifest::to_bytes(&Head { n: 7 }))
            .unwrap();
        w.add_streamed("points.jsonl", |out| out.write_all(b"{\"a\":1}\n"))
            .unwrap();
        w.add_file_prefix("seg-000001/v.bin", &src, 1000).unwrap();
        assert!(
            ArchiveWriter::create(dir, "s1", 1).unwrap().is_none(),
            "a name being written is taken"
        );
        let (path, size) = w.finish().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
        assert!(!dir.join(format!("s1{TMP_SUFFIX}")).exists());
        path
    }

    #[test]
    fn round_trip_and_corruption_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sample(dir.path());
        assert!(ArchiveWriter::create(dir.path(), "s1", 1)
            .unwrap()
            .is_none());
        assert_eq!(read_header::<Head>(&path).unwrap(), Head { n: 7 });
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        assert_eq!(extract::<Head>(&path, &out).unwrap(), Head { n: 7 });
        let v = std::fs::read(out.join("seg-000001/v.bin")).unwrap();
        assert_eq!(v.len(), 1000);
        assert_eq!(v[300], (300 % 256) as u8);
        assert_eq!(
            std::fs::read(out.join("points.jsonl")).unwrap(),
            b"{\"a\":1}\n"
        );

        // Flip one byte inside the vector member's data.
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes
            .windows(7)
            .position(|w| w == b"v.bin\0\0")
            .expect("member header");
        // Data starts at the next 512-byte block after the header's block.
        let data = (at / 512 + 1) * 512;
        bytes[data + 10] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let out2 = dir.path().join("out2");
        std::fs::create_dir(&out2).unwrap();
        let err = extract::<Head>(&path, &out2).unwrap_err().to_string();
        assert!(
            err.contains("seg-000001/v.bin") && err.contains("checksum"),
            "{err}"
        );

        // A truncated archive (no checksums member) is refused.
        std::fs::write(&path, &bytes[..data + 1024]).unwrap();
        let out3 = dir.path().join("out3");
        std::fs::create_dir(&out3).unwrap();
        let err = extract::<Head>(&path, &out3).unwrap_err().to_string();
        assert!(err.contains("s1.snapshot"), "{err}");
    }

    #[test]
    fn names() {
        for ok in ["a", "c-20250101T000000.000000Z", "x_y.z"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "..",
            ".x",
            "../x",
            "a/b",
            "a\\b",
            "a b",
            &"x".repeat(129),
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
        assert!(is_valid_member("seg-000001/vectors-0.bin"));
        assert!(!is_valid_member("a/b/c"));
        assert!(!is_valid_member("/a"));
        assert!(!is_valid_member("../a"));
    }

    #[test]
    fn unfinished_archive_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ArchiveWriter::create(dir.path(), "s2", 1).unwrap().unwrap();
        w.add_bytes(HEADER_MEMBER, b"x").unwrap();
        let err = w
            .add_file_prefix("v.bin", &dir.path().join("missing.bin"), 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.bin"), "{err}");
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
