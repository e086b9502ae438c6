//! Small checksummed JSON documents (segment manifests), written atomically.
//!
//! Format: one header line `CLIPDB-MANIFEST <version> <crc32 hex of body>`,
//! then the JSON body. Written to a temporary file, fsynced and renamed, so a
//! reader sees the old or the new document, never half of one.

use std::io::Write;
use std::path::Path;

use serde::{de::DeserializeOwned, Serialize};

use super::{sync_dir, Result, StorageError};

const MAGIC: &str = "CLIPDB-MANIFEST";
const VERSION: u32 = 1;

pub fn write<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let body = serde_json::to_vec_pretty(value)
        .map_err(|e| StorageError::corrupt(path, format!("cannot encode: {e}")))?;
    let crc = crc32fast::hash(&body);
    let tmp = path.with_extension("tmp");
    let io = |e| StorageError::io(&tmp, e);
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    writeln!(f, "{MAGIC} {VERSION} {crc:08x}").map_err(io)?;
    f.write_all(&body).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| StorageError::io(path, e))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| StorageError::io(path, e))?;
    from_bytes(path, &bytes)
}

/// The bytes [`write`] would put in a file: header line, then the JSON body.
pub fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    let body = serde_json::to_vec_pretty(value).expect("manifest types encode as JSON");
    let crc = crc32fast::hash(&body);
    let mut out = format!("{MAGIC} {VERSION} {crc:08x}\n").into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Decodes and verifies a document read from `path` (named in errors).
pub fn from_bytes<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T> {
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| StorageError::corrupt(path, "missing manifest header"))?;
    let header = std::str::from_utf8(&bytes[..nl])
        .map_err(|_| StorageError::corrupt(path, "manifest header is not text"))?;
    let mut parts = header.split(' ');
    if parts.next() != Some(MAGIC) {
        return Err(StorageError::corrupt(
            path,
            "not a clipdb manifest (bad magic)",
        ));
    }
    let version: u32 = parts
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StorageError::corrupt(path, "bad manifest version"))?;
    if version != VERSION {
        return Err(StorageError::corrupt(
            path,
            format!("unsupported manifest version {version}"),
        ));
    }
    let crc = parts
        .next()
        .and_then(|c| u32::from_str_radix(c, 16).ok())
        .ok_or_else(|| StorageError::corrupt(path, "bad manifest checksum field"))?;
    let body = &bytes[nl + 1..];
    if crc32fast::hash(body) != crc {
        return Err(StorageError::corrupt(path, "manifest checksum mismatch"));
    }
    serde_json::from_slice(body)
        .map_err(|e| StorageError::corrupt(path, format!("bad manifest: {e}")))
}

/// CRC-32 and length of a whole file, streamed.
pub fn file_checksum(path: &Path) -> Result<(u32, u64)> {
    use std::io::Read;
    let io = |e| StorageError::io(path, e);
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((hasher.finalize(), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        write(&p, &vec![1, 2, 3]).unwrap();
        let v: Vec<i32> = read(&p).unwrap();
        assert_eq!(v, vec![1, 2, 3]);
        let mut bytes = std::fs::read(&p).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        std::fs::write(&p, bytes).unwrap();
        let err = read::<Vec<i32>>(&p).unwrap_err().to_string();
        assert!(err.contains("checksum") && err.contains("m.json"), "{err}");
    }
}
