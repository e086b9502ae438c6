//! The TEXMEX vector formats (http://corpus-texmex.irisa.fr/): each record
//! is a little-endian `i32` dimension followed by that many `f32` (`.fvecs`)
//! or `i32` (`.ivecs`) values.

use std::io::Write;
use std::path::Path;

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn records(path: &Path, bytes: &[u8]) -> Result<usize, String> {
    if bytes.len() < 4 {
        return Err(format!("{}: empty or truncated", path.display()));
    }
    let dim = u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    if dim == 0 || !bytes.len().is_multiple_of(4 + 4 * dim) {
        return Err(format!(
            "{}: not a TEXMEX file of dimension {dim} ({} bytes)",
            path.display(),
            bytes.len()
        ));
    }
    Ok(dim)
}

/// (dimension, row-major values) of an `.fvecs` file.
pub fn read_fvecs(path: &Path) -> Result<(usize, Vec<f32>), String> {
    let bytes = read(path)?;
    let dim = records(path, &bytes)?;
    let mut out = Vec::with_capacity(bytes.len() / (4 + 4 * dim) * dim);
    for rec in bytes.chunks_exact(4 + 4 * dim) {
        if u32::from_le_bytes(rec[0..4].try_into().unwrap()) as usize != dim {
            return Err(format!("{}: records of mixed dimension", path.display()));
        }
        out.extend(
            rec[4..]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap())),
        );
    }
    Ok((dim, out))
}

/// The rows of an `.ivecs` file.
pub fn read_ivecs(path: &Path) -> Result<Vec<Vec<u32>>, String> {
    let bytes = read(path)?;
    let dim = records(path, &bytes)?;
    Ok(bytes
        .chunks_exact(4 + 4 * dim)
        .map(|rec| {
            rec[4..]
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                .collect()
        })
        .collect())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| format!("{}: {e}", path.display()))
}

pub fn write_fvecs(path: &Path, dim: usize, values: &[f32]) -> Result<(), String> {
    let mut bytes = Vec::with_capacity(values.len() / dim * (4 + 4 * dim));
    for row in values.chunks_exact(dim) {
        bytes.extend_from_slice(&(dim as u32).to_le_bytes());
        row.iter()
            .for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
    }
    write(path, &bytes)
}

pub fn write_ivecs(path: &Path, rows: &[Vec<u32>]) -> Result<(), String> {
    let mut bytes = Vec::new();
    for row in rows {
        bytes.extend_from_slice(&(row.len() as u32).to_le_bytes());
        row.iter()
            .for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
    }
    write(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("clipdb-texmex-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let v: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        write_fvecs(&dir.join("a.fvecs"), 3, &v).unwrap();
        assert_eq!(read_fvecs(&dir.join("a.fvecs")).unwrap(), (3, v));
        let rows = vec![vec![1, 2], vec![3, 4]];
        write_ivecs(&dir.join("a.ivecs"), &rows).unwrap();
        assert_eq!(read_ivecs(&dir.join("a.ivecs")).unwrap(), rows);
        std::fs::write(dir.join("bad.fvecs"), [3, 0, 0, 0, 1]).unwrap();
        assert!(read_fvecs(&dir.join("bad.fvecs")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
