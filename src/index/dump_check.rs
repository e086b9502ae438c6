//! Structural check of an hnsw_rs dump (`<base>.hnsw.graph`, `<base>.hnsw.data`)
//! before hnsw_rs reads it.
//!
//! hnsw_rs trusts its files: lengths and counts read from them size
//! allocations (a garbage count aborts the process on allocation failure),
//! some inconsistencies end in `assert!`, `unwrap()` or `process::exit`, and a
//! short vector record is read past its end. Segment files are checksummed,
//! so this only matters for files that are wrong yet carry a matching
//! checksum (a bug, or a hand-edited data directory), but opening a
//! collection must then fail with an error, never take the server down.
//! This walks both files exactly the way hnsw_rs 0.3.5's loader will, with
//! every count bounded by the bytes left, and refuses anything the loader
//! would not survive or that would hand record numbers outside the segment
//! to searches.
//!
//! Layout (native endianness; clipdb runs on little-endian targets only):
//! graph: description (magic, dump mode, max connections, [level scale],
//! layers, ef, points, dimension, distance name, type name), then the number
//! of layers and per layer a magic, a point count and per point a magic, its
//! data id, layer, rank and, for each of the description's layers, a
//! neighbour count and neighbours (data id, layer, rank, distance); then the
//! entry point (data id, layer, rank). data: a magic and the dimension, then
//! per point in graph order a magic, its data id, the byte length and the
//! vector.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

const MAGICDESCR_3: u32 = 0x002a_6771;
const MAGICDESCR_4: u32 = 0x002a_6779;
const MAGICLAYER: u32 = 0x000a_676f;
const MAGICPOINT: u32 = 0x000a_678f;
const MAGICDATAP: u32 = 0xa67f_0000;
const NB_LAYER_MAX: usize = 16;
/// Full dump mode: neighbours carry their layer and rank (what `Graph::dump` writes).
const DUMP_FULL: u8 = 1;
/// Bytes of one neighbour in a full dump: data id, layer, rank, distance.
const NEIGHBOUR_LEN: u64 = 8 + 1 + 4 + 4;

/// What the dump must agree with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected<'a> {
    /// Vector dimension.
    pub dim: usize,
    /// Data ids (record numbers) must be below this: the segment's capacity.
    pub id_bound: usize,
    /// Last path component of the distance's Rust type name.
    pub distance: &'a str,
}

/// A file read with the number of bytes left known, so that no count read
/// from it can ask for more than the file holds.
struct Input {
    r: BufReader<File>,
    left: u64,
    what: &'static str,
}

impl Input {
    fn open(path: &Path, what: &'static str) -> Result<Input, String> {
        let f = File::open(path).map_err(|e| format!("{what} file: {e}"))?;
        let left = f.metadata().map_err(|e| format!("{what} file: {e}"))?.len();
        Ok(Input {
            r: BufReader::new(f),
            left,
            what,
        })
    }

    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], String> {
        if self.left < N as u64 {
            return Err(format!("{} file is truncated", self.what));
        }
        let mut b = [0u8; N];
        self.r
            .read_exact(&mut b)
            .map_err(|e| format!("{} file: {e}", self.what))?;
        self.left -= N as u64;
        Ok(b)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_ne_bytes(self.bytes()?))
    }

    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_ne_bytes(self.bytes()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_ne_bytes(self.bytes()?))
    }

    fn f64(&mut self) -> Result<f64, String> {
        Ok(f64::from_ne_bytes(self.bytes()?))
    }

    /// A count of items of at least `item_len` bytes each, bounded by the bytes left.
    fn count(&mut self, item_len: u64) -> Result<u64, String> {
        let n = self.u64()?;
        if n > self.left / item_len.max(1) {
            return Err(format!(
                "{} file: count {n} exceeds what its {} remaining bytes can hold",
                self.what, self.left
            ));
        }
        Ok(n)
    }

    fn name(&mut self) -> Result<String, String> {
        let len = self.u64()?;
        if len > 256 || len > self.left {
            return Err(format!("{} file: bad name length {len}", self.what));
        }
        let mut b = vec![0u8; len as usize];
        self.r
            .read_exact(&mut b)
            .map_err(|e| format!("{} file: {e}", self.what))?;
        self.left -= len;
        String::from_utf8(b).map_err(|_| format!("{} file: name is not UTF-8", self.what))
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        if self.left < n {
            return Err(format!("{} file is truncated", self.what));
        }
        let copied = std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink())
            .map_err(|e| format!("{} file: {e}", self.what))?;
        if copied != n {
            return Err(format!("{} file is truncated", self.what));
        }
        self.left -= n;
        Ok(())
    }
}

/// Checks the dump; returns its number of points.
pub(crate) fn check(graph: &Path, data: &Path, want: Expected<'_>) -> Result<usize, String> {
    let mut g = Input::open(graph, "graph")?;
    let version = match g.u32()? {
        MAGICDESCR_3 => 3,
        MAGICDESCR_4 => 4,
        m => return Err(format!("graph file: unsupported description magic {m:#x}")),
    };
    if g.u8()? != DUMP_FULL {
        return Err("graph file: not a full dump".into());
    }
    if g.u8()? == 0 {
        return Err("graph file: zero max connections".into());
    }
    if version == 4 {
        let scale = g.f64()?;
        if !(scale.is_finite() && scale > 0.0) {
            return Err(format!("graph file: bad level scale {scale}"));
        }
    }
    let descr_layers = g.u8()? as usize;
    if descr_layers == 0 || descr_layers > NB_LAYER_MAX {
        return Err(format!("graph file: {descr_layers} layers"));
    }
    let _ef = g.u64()?;
    let nb_point = g.u64()?;
    if nb_point == 0 || nb_point > want.id_bound as u64 {
        return Err(format!(
            "graph file: {nb_point} points (1 to {} possible)",
            want.id_bound
        ));
    }
    let dim = g.u64()?;
    if dim != want.dim as u64 {
        return Err(format!(
            "graph file: dimension {dim}, {} expected",
            want.dim
        ));
    }
    let distance = g.name()?;
    if distance.rsplit("::").next() != Some(want.distance) {
        return Err(format!(
            "graph file: distance {distance}, {} expected",
            want.distance
        ));
    }
    if g.name()? != std::any::type_name::<f32>() {
        return Err("graph file: vectors are not f32".into());
    }

    let nb_layer = g.u8()? as usize;
    if nb_layer == 0 || nb_layer > NB_LAYER_MAX {
        return Err(format!("graph file: {nb_layer} point layers"));
    }
    // Data ids in dump order, points per layer, highest neighbour rank per layer.
    let mut ids: Vec<usize> = Vec::with_capacity(nb_point as usize);
    let mut seen = HashSet::with_capacity(nb_point as usize);
    let mut layer_len = Vec::with_capacity(nb_layer);
    let mut max_rank = [-1i64; 256];
    // Smallest point record: magic, id, layer, rank, a count per layer.
    let point_len = 4 + 8 + 1 + 4 + 8 * descr_layers as u64;
    for l in 0..nb_layer {
        if g.u32()? != MAGICLAYER {
            return Err(format!("graph file: bad magic at layer {l}"));
        }
        let n = g.count(point_len)?;
        if n > nb_point - ids.len() as u64 {
            return Err(format!(
                "graph file: more points than the {nb_point} described"
            ));
        }
        for r in 0..n {
            if g.u32()? != MAGICPOINT {
                return Err(format!("graph file: bad magic at point {r} of layer {l}"));
            }
            let id = g.u64()?;
            if id >= want.id_bound as u64 || !seen.insert(id) {
                return Err(format!("graph file: bad or repeated data id {id}"));
            }
            ids.push(id as usize);
            if g.u8()? as usize != l || g.i32()? as i64 != r as i64 {
                return Err(format!("graph file: point {r} of layer {l} is misplaced"));
            }
            for _ in 0..descr_layers {
                let k = g.count(NEIGHBOUR_LEN)?;
                for _ in 0..k {
                    let nid = g.u64()?;
                    let (nl, nr) = (g.u8()?, g.i32()?);
                    let _distance = g.bytes::<4>()?;
                    if nid >= want.id_bound as u64 || nr < 0 {
                        return Err(format!("graph file: bad neighbour {nid} ({nl}, {nr})"));
                    }
                    let m = &mut max_rank[nl as usize];
                    *m = (*m).max(nr as i64);
                }
            }
        }
        layer_len.push(n as i64);
    }
    if ids.len() as u64 != nb_point {
        return Err(format!(
            "graph file: {} points, {nb_point} described",
            ids.len()
        ));
    }
    for (l, &m) in max_rank.iter().enumerate() {
        if m >= 0 && m >= layer_len.get(l).copied().unwrap_or(0) {
            return Err(format!(
                "graph file: a neighbour refers to a missing point of layer {l}"
            ));
        }
    }
    let _entry_id = g.u64()?;
    let (el, er) = (g.u8()? as usize, g.i32()?);
    if el >= nb_layer || er < 0 || er as i64 >= layer_len[el] {
        return Err(format!("graph file: bad entry point ({el}, {er})"));
    }
    if g.left != 0 {
        return Err(format!(
            "graph file: {} bytes after the entry point",
            g.left
        ));
    }

    let mut d = Input::open(data, "data")?;
    let vec_len = want.dim as u64 * 4;
    let record_len = 4 + 8 + 8 + vec_len;
    if d.u32()? != MAGICDATAP {
        return Err("data file: bad magic".into());
    }
    if d.u64()? != want.dim as u64 {
        return Err("data file: dimension differs from the graph's".into());
    }
    if Some(d.left) != record_len.checked_mul(nb_point) {
        return Err(format!(
            "data file: {} bytes of records, {nb_point} records of {record_len} expected",
            d.left
        ));
    }
    for &id in &ids {
        if d.u32()? != MAGICDATAP || d.u64()? != id as u64 || d.u64()? != vec_len {
            return Err(format!("data file: bad record for data id {id}"));
        }
        d.skip(vec_len)?;
    }
    Ok(ids.len())
}
