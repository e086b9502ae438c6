//! A sealed segment's graph: our own file format, memory-mapped, searched
//! with our own loop.
//!
//! Once a segment is full its graph never changes, so its adjacency is
//! written once into one flat file (`graph-N.idx`) and from then on the
//! graph is only ever read from that file's memory map: a restart maps it
//! instead of rebuilding or parsing anything (hnsw_rs's reload, which parses
//! every node into heap objects, took 4.4 s at 100 000 points). Vectors are
//! read where the segment keeps them (its memory-mapped vector file), never
//! copied; with scalar quantization the walk reads one byte per dimension
//! from the graph file instead, and the caller rescores the candidates with
//! the f32 vectors.
//!
//! The search is the standard HNSW algorithm the way hnswlib runs it: a
//! generation-stamped visited array, plain `(distance, node)` heaps, software
//! prefetch of the neighbours' vectors, and a filter applied to the result
//! set only, so tombstones do not stop the walk from ending early.
//!
//! File layout (little-endian; every section starts 64-byte aligned):
//! a 64-byte header (magic, version, dimension, node bound, points, entry
//! node, top layer, quantization, section count, CRC-32 of the header), a
//! table of `(offset, length)` per section, then the sections: layer 0's row
//! offsets (`nodes + 1` u32) and targets (u32); per upper layer its member
//! nodes (sorted u32), row offsets and targets; with quantization the
//! per-dimension minimum and step (f32) and the codes (`nodes x dim` u8).
//! Everything is checked when the file is opened (bounds, monotone offsets,
//! targets below the node bound), so a damaged file is refused, not walked.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;

use super::distance;
use super::walk::{self, Near};
use super::Metric;

const MAGIC: &[u8; 8] = b"CLIPGRPH";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 64;
const ALIGN: usize = 64;

/// How a sealed graph keeps the vectors its walk reads.
/// New collections get int8 unless the server's operator chose otherwise;
/// a stored config's `"none"` (the only form before int8 existed) is f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantization {
    /// The walk reads the f32 vectors from the segment's vector file.
    /// Stored as "none", its name before f32 stopped being the default, so
    /// configs written by any version read the same.
    #[serde(rename = "none", alias = "f32")]
    F32,
    /// Scalar quantization: one byte per dimension (per-dimension minimum
    /// and step over the segment's vectors), kept in the graph file; 4x less
    /// memory traffic and RAM for the walk, exact rescoring afterwards.
    Int8,
}

/// Fixed-size f32 records in memory owned by someone else (a segment's
/// memory-mapped vector file): record `i` starts at `base + i * stride`.
#[derive(Clone)]
pub struct VectorRows {
    /// Keeps the memory alive.
    _owner: Arc<dyn std::any::Any + Send + Sync>,
    base: *const u8,
    stride: usize,
    dim: usize,
    count: usize,
}

impl std::fmt::Debug for VectorRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorRows")
            .field("dim", &self.dim)
            .field("count", &self.count)
            .finish()
    }
}

// SAFETY: the rows are immutable memory kept alive by `_owner`.
unsafe impl Send for VectorRows {}
unsafe impl Sync for VectorRows {}

impl VectorRows {
    /// # Safety
    /// `base + i * stride` must point to `dim` readable, 4-byte aligned f32
    /// for every `i < count`, valid (and not written) while `owner` lives.
    pub unsafe fn new(
        owner: Arc<dyn std::any::Any + Send + Sync>,
        base: *const u8,
        stride: usize,
        dim: usize,
        count: usize,
    ) -> VectorRows {
        VectorRows {
            _owner: owner,
            base,
            stride,
            dim,
            count,
        }
    }

    /// Rows of a plain in-memory matrix (`count x dim`, row-major).
    pub fn from_vec(data: Vec<f32>, dim: usize) -> VectorRows {
        let count = data.len() / dim.max(1);
        let data = Arc::new(data);
        let base = data.as_ptr() as *const u8;
        // SAFETY: the Vec is owned by the Arc and never written again.
        unsafe { VectorRows::new(data, base, dim * 4, dim, count) }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    #[inline]
    fn ptr(&self, row: u32) -> *const u8 {
        // Callers only pass rows below `count` (node ids are checked
        // against it when the graph is opened).
        self.base.wrapping_add(row as usize * self.stride)
    }

    #[inline]
    pub fn row(&self, row: u32) -> &[f32] {
        assert!((row as usize) < self.count);
        // SAFETY: see `new`.
        unsafe { std::slice::from_raw_parts(self.ptr(row) as *const f32, self.dim) }
    }
}

/// A graph's adjacency as gathered from the builder, ready to be written.
pub(crate) struct Adjacency {
    /// Node ids (record numbers) are below this.
    pub nodes: usize,
    /// Nodes inserted.
    pub points: usize,
    pub entry: u32,
    /// Layer 0: neighbours per node (`nodes` rows).
    pub base: Vec<Vec<u32>>,
    /// Layers 1..: (node, neighbours), sorted by node.
    pub upper: Vec<Vec<(u32, Vec<u32>)>>,
    /// Whether each node id was inserted (for quantization's statistics).
    pub inserted: Vec<bool>,
}

/// Re-selects every inserted node's layer-0 neighbours, once, when its
/// segment is sealed: from its own edges and its reverse edges (nodes that
/// link to it), with HNSW's diversity heuristic (a candidate is kept when it
/// is closer to the node than to every neighbour kept before it), then
/// filled up to `max_degree` with the closest of the rest.
///
/// Why: hnsw_rs adds reverse edges by keeping the closest `2M` only, which
/// on clustered data leaves nodes that nothing links to and clusters joined
/// by few edges; how many depends on the parallel insert's interleaving (at
/// 200 000 CLIP-like vectors, builds of the same data reached text->image
/// recall@10 of 0.977 and 0.948 at ef 256). Considering
/// the reverse edges gives every node that has neighbours a way back in,
/// and the heuristic keeps the long edges between clusters.
#[cfg(test)]
pub(crate) fn refine_base_layer(
    adj: &mut Adjacency,
    rows: &VectorRows,
    metric: Metric,
    max_degree: usize,
) {
    refine_base_layer_guided(adj, rows, metric, max_degree, &[])
}

/// Edges toward where queries of another modality land, from a sample of
/// such queries (a light form of RoarGraph, Chen et al., PVLDB 2024): for
/// each sample, `near` are the base nodes closest to it, closest first.
/// The closest becomes a pivot linked to the others, so a walk that reaches
/// one of a query's neighbours reaches the rest in one hop, even when they
/// lie in clusters the image graph links poorly (text queries fall between
/// image clusters: CLIP's modality gap). Returns per node its projected
/// candidates, deduplicated.
pub(crate) fn project_queries(nodes: usize, near: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let mut extra: Vec<Vec<u32>> = vec![Vec::new(); nodes];
    for list in near {
        let Some((&pivot, rest)) = list.split_first() else {
            continue;
        };
        extra[pivot as usize].extend_from_slice(rest);
        // And back, so the pivot is reachable from every other neighbour.
        for &other in rest {
            extra[other as usize].push(pivot);
        }
    }
    for e in &mut extra {
        e.sort_unstable();
        e.dedup();
    }
    extra
}

/// [`refine_base_layer`] with projected candidates per node (see
/// [`project_queries`]; empty: none): up to half of a node's slots go to
/// the projected edges first (chosen with the same heuristic among
/// them), the rest as without them, diverse from those too.
pub(crate) fn refine_base_layer_guided(
    adj: &mut Adjacency,
    rows: &VectorRows,
    metric: Metric,
    max_degree: usize,
    projected: &[Vec<u32>],
) {
    use rayon::prelude::*;
    let d = |a: u32, b: u32| -> f32 {
        match metric {
            Metric::Cosine | Metric::Dot => -distance::dot(rows.row(a), rows.row(b)),
            Metric::L2 => distance::l2_squared(rows.row(a), rows.row(b)),
        }
    };
    let mut reverse: Vec<Vec<u32>> = vec![Vec::new(); adj.nodes];
    for (u, row) in adj.base.iter().enumerate() {
        for &v in row {
            reverse[v as usize].push(u as u32);
        }
    }
    let refined: Vec<Vec<u32>> = (0..adj.nodes)
        .into_par_iter()
        .map(|u| {
            let own = &adj.base[u];
            if !adj.inserted[u] {
                return own.clone();
            }
            let mut candidates: Vec<u32> = own.iter().chain(&reverse[u]).copied().collect();
            candidates.sort_unstable();
            candidates.dedup();
            candidates.retain(|&c| c as usize != u);
            let score = |cs: &mut dyn Iterator<Item = u32>| {
                let mut scored: Vec<Near> = cs.map(|c| Near(d(u as u32, c), c)).collect();
                scored.sort_unstable();
                scored
            };
            let scored = score(&mut candidates.iter().copied());
            let extra = projected.get(u).map_or(&[][..], |e| &e[..]);
            if extra.is_empty() {
                return walk::select_diverse(&scored, max_degree, true, d);
            }
            let extra = score(&mut extra.iter().copied().filter(|&c| c as usize != u));
            let mut kept = walk::select_diverse(&extra, max_degree / 2, false, d);
            let before = kept.len();
            let rest: Vec<Near> = scored
                .into_iter()
                .filter(|n| !kept[..before].contains(&n.1))
                .collect();
            let mut pruned = Vec::new();
            for &Near(dist, c) in &rest {
                if kept.len() >= max_degree {
                    break;
                }
                if kept.iter().all(|&s| d(c, s) >= dist) {
                    kept.push(c);
                } else {
                    pruned.push(c);
                }
            }
            for c in pruned {
                if kept.len() >= max_degree {
                    break;
                }
                kept.push(c);
            }
            kept
        })
        .collect();
    adj.base = refined;
    link_unreachable(adj, max_degree, d);
}

/// Gives every inserted node that no other node links to after the
/// re-selection an edge in. Each node picks its own neighbours, and with
/// half of the slots going to projected edges a node every neighbour
/// dropped could never be found by any search: a 300-node guided graph left
/// one image unreachable in about 6 % of builds. The edge comes from the
/// node's closest neighbour: appended when that row has room, else in place
/// of the row's farthest node that other nodes still link to.
fn link_unreachable(adj: &mut Adjacency, max_degree: usize, d: impl Fn(u32, u32) -> f32) {
    let mut in_degree = vec![0u32; adj.nodes];
    for row in &adj.base {
        for &v in row {
            in_degree[v as usize] += 1;
        }
    }
    for u in 0..adj.nodes {
        if !adj.inserted[u] || in_degree[u] > 0 || u as u32 == adj.entry {
            continue;
        }
        let mut own: Vec<u32> = adj.base[u].clone();
        own.sort_by(|&a, &b| d(u as u32, a).total_cmp(&d(u as u32, b)));
        for v in own {
            let row = &mut adj.base[v as usize];
            if row.len() < max_degree {
                row.push(u as u32);
            } else {
                // The farthest node of v's row that stays linked without it.
                let Some(slot) = (0..row.len())
                    .filter(|&i| in_degree[row[i] as usize] > 1)
                    .max_by(|&i, &j| d(v, row[i]).total_cmp(&d(v, row[j])))
                else {
                    continue;
                };
                in_degree[row[slot] as usize] -= 1;
                row[slot] = u as u32;
            }
            in_degree[u] += 1;
            break;
        }
    }
}

fn align(buf: &mut Vec<u8>) {
    while !buf.len().is_multiple_of(ALIGN) {
        buf.push(0);
    }
}

/// The sealed graph file for `adj` over `rows`.
pub(crate) fn encode(adj: &Adjacency, rows: &VectorRows, quantization: Quantization) -> Vec<u8> {
    let dim = rows.dim();
    let mut sections: Vec<Vec<u8>> = Vec::new();
    let u32s = |xs: &mut dyn Iterator<Item = u32>| -> Vec<u8> {
        xs.flat_map(|x| x.to_le_bytes()).collect()
    };
    let csr = |rows: &mut dyn Iterator<Item = &Vec<u32>>| -> (Vec<u8>, Vec<u8>) {
        let mut offsets = vec![0u32];
        let mut targets = Vec::new();
        for r in rows {
            targets.extend_from_slice(r);
            offsets.push(targets.len() as u32);
        }
        (
            u32s(&mut offsets.into_iter()),
            u32s(&mut targets.into_iter()),
        )
    };
    let (o, t) = csr(&mut adj.base.iter());
    sections.push(o);
    sections.push(t);
    for layer in &adj.upper {
        sections.push(u32s(&mut layer.iter().map(|(n, _)| *n)));
        let (o, t) = csr(&mut layer.iter().map(|(_, r)| r));
        sections.push(o);
        sections.push(t);
    }
    if quantization == Quantization::Int8 {
        let (min, step) = int8_ranges(adj, rows);
        let mut codes = vec![0u8; adj.nodes * dim];
        for (node, inserted) in adj.inserted.iter().enumerate() {
            if *inserted {
                encode_int8(
                    rows.row(node as u32),
                    &min,
                    &step,
                    &mut codes[node * dim..][..dim],
                );
            }
        }
        sections.push(min.iter().flat_map(|x| x.to_le_bytes()).collect());
        sections.push(step.iter().flat_map(|x| x.to_le_bytes()).collect());
        sections.push(codes);
    }
    let mut header = [0u8; HEADER_LEN];
    header[0..8].copy_from_slice(MAGIC);
    let fields = [
        VERSION,
        dim as u32,
        adj.nodes as u32,
        adj.points as u32,
        adj.entry,
        adj.upper.len() as u32,
        match quantization {
            Quantization::F32 => 0,
            Quantization::Int8 => 1,
        },
        sections.len() as u32,
    ];
    for (i, f) in fields.iter().enumerate() {
        header[8 + i * 4..12 + i * 4].copy_from_slice(&f.to_le_bytes());
    }
    let crc = crc32fast::hash(&header[..60]);
    header[60..64].copy_from_slice(&crc.to_le_bytes());

    let mut out = header.to_vec();
    let table_at = out.len();
    out.resize(table_at + sections.len() * 16, 0);
    align(&mut out);
    for (i, s) in sections.iter().enumerate() {
        let at = out.len() as u64;
        out[table_at + i * 16..table_at + i * 16 + 8].copy_from_slice(&at.to_le_bytes());
        out[table_at + i * 16 + 8..table_at + i * 16 + 16]
            .copy_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s);
        align(&mut out);
    }
    out
}

/// Writes a file made by [`encode`] and fsyncs it.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Per-dimension minimum and step (range / 255) over the inserted vectors.
fn int8_ranges(adj: &Adjacency, rows: &VectorRows) -> (Vec<f32>, Vec<f32>) {
    let dim = rows.dim();
    let mut min = vec![f32::INFINITY; dim];
    let mut max = vec![f32::NEG_INFINITY; dim];
    for (node, _) in adj.inserted.iter().enumerate().filter(|(_, i)| **i) {
        for (j, &x) in rows.row(node as u32).iter().enumerate() {
            min[j] = min[j].min(x);
            max[j] = max[j].max(x);
        }
    }
    let step = min
        .iter()
        .zip(&max)
        .map(|(lo, hi)| {
            let s = (hi - lo) / 255.0;
            if s.is_finite() && s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect();
    let min = min
        .into_iter()
        .map(|m| if m.is_finite() { m } else { 0.0 })
        .collect();
    (min, step)
}

fn encode_int8(v: &[f32], min: &[f32], step: &[f32], out: &mut [u8]) {
    for j in 0..v.len() {
        out[j] = ((v[j] - min[j]) / step[j]).round().clamp(0.0, 255.0) as u8;
    }
}

/// A byte range of the mapped file.
#[derive(Clone, Copy, Default)]
struct Span {
    at: usize,
    len: usize,
}

/// One upper layer: its members (sorted) and their rows.
struct UpperLayer {
    members: Span,
    offsets: Span,
    targets: Span,
}

struct Int8Codes {
    min: Vec<f32>,
    step: Vec<f32>,
    codes: Span,
}

/// A sealed graph, read from its memory-mapped file.
pub struct SealedGraph {
    map: Mmap,
    metric: Metric,
    dim: usize,
    nodes: usize,
    points: usize,
    entry: u32,
    base_offsets: Span,
    base_targets: Span,
    upper: Vec<UpperLayer>,
    /// See [`walk::MAX_LANDMARKS`]; empty without upper layers.
    landmarks: Vec<u32>,
    int8: Option<Int8Codes>,
    rows: VectorRows,
}

/// What is expected of a sealed graph file.
pub(crate) struct Expected {
    pub dim: usize,
    /// Node ids must be below this (the segment's capacity).
    pub nodes: usize,
}

impl SealedGraph {
    /// Maps and checks a file written by [`write`]; `rows` are the f32
    /// vectors of its nodes (rescoring, and the walk when not quantized).
    pub(crate) fn open(
        path: &Path,
        metric: Metric,
        rows: VectorRows,
        expected: Expected,
    ) -> Result<SealedGraph, String> {
        let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        // SAFETY: sealed files are written once, before they are opened,
        // and never modified afterwards.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| e.to_string())?;
        Self::parse(map, metric, rows, expected)
    }

    fn parse(
        map: Mmap,
        metric: Metric,
        rows: VectorRows,
        expected: Expected,
    ) -> Result<SealedGraph, String> {
        let len = map.len();
        if len < HEADER_LEN || &map[0..8] != MAGIC {
            return Err("not a clipdb graph file (bad magic)".into());
        }
        let field = |i: usize| u32::from_le_bytes(map[8 + i * 4..12 + i * 4].try_into().unwrap());
        if u32::from_le_bytes(map[60..64].try_into().unwrap()) != crc32fast::hash(&map[..60]) {
            return Err("header checksum mismatch".into());
        }
        if field(0) != VERSION {
            return Err(format!(
                "unsupported format version {} (this build reads {VERSION})",
                field(0)
            ));
        }
        let (dim, nodes, points, entry, top) = (
            field(1) as usize,
            field(2) as usize,
            field(3) as usize,
            field(4),
            field(5) as usize,
        );
        let quantization = match field(6) {
            0 => Quantization::F32,
            1 => Quantization::Int8,
            q => return Err(format!("unknown quantization {q}")),
        };
        let n_sections = field(7) as usize;
        if dim != expected.dim || dim != rows.dim() {
            return Err(format!(
                "dimension {dim} in file, {} expected",
                expected.dim
            ));
        }
        if nodes > expected.nodes || nodes > rows.len() {
            return Err(format!(
                "node ids up to {nodes}, the segment holds {}",
                expected.nodes
            ));
        }
        if points > nodes || (points > 0) != ((entry as usize) < nodes) || top > 64 {
            return Err(format!(
                "inconsistent header (points {points}, entry {entry}, layers {top})"
            ));
        }
        let want_sections = 2
            + 3 * top
            + if quantization == Quantization::Int8 {
                3
            } else {
                0
            };
        if n_sections != want_sections {
            return Err(format!("{n_sections} sections, {want_sections} expected"));
        }
        let table_end = HEADER_LEN + n_sections * 16;
        if table_end > len {
            return Err("section table past the end of the file".into());
        }
        let mut spans = Vec::with_capacity(n_sections);
        for i in 0..n_sections {
            let at = HEADER_LEN + i * 16;
            let off = u64::from_le_bytes(map[at..at + 8].try_into().unwrap());
            let n = u64::from_le_bytes(map[at + 8..at + 16].try_into().unwrap());
            let end = off.checked_add(n).filter(|&e| e <= len as u64);
            if end.is_none() || off % ALIGN as u64 != 0 || (off as usize) < table_end {
                return Err(format!("section {i} out of bounds"));
            }
            spans.push(Span {
                at: off as usize,
                len: n as usize,
            });
        }
        let mut graph = SealedGraph {
            map,
            metric,
            dim,
            nodes,
            points,
            entry,
            base_offsets: spans[0],
            base_targets: spans[1],
            upper: Vec::new(),
            landmarks: Vec::new(),
            int8: None,
            rows,
        };
        graph.check_rows(spans[0], spans[1], nodes, nodes)?;
        for l in 0..top {
            let (members, offsets, targets) =
                (spans[2 + 3 * l], spans[3 + 3 * l], spans[4 + 3 * l]);
            if members.len % 4 != 0 {
                return Err(format!("layer {}: bad member list", l + 1));
            }
            let m = graph.u32s(members);
            if m.windows(2).any(|w| w[0] >= w[1]) || m.last().is_some_and(|&x| x as usize >= nodes)
            {
                return Err(format!("layer {}: members not sorted node ids", l + 1));
            }
            graph.check_rows(offsets, targets, m.len(), nodes)?;
            graph.upper.push(UpperLayer {
                members,
                offsets,
                targets,
            });
        }
        if let Some(top_layer) = graph.upper.last() {
            if graph.u32s(top_layer.members).binary_search(&entry).is_err() {
                return Err("the entry node is not in the top layer".into());
            }
        }
        if let Some(layer) = graph
            .upper
            .iter()
            .find(|l| l.members.len / 4 <= walk::MAX_LANDMARKS)
        {
            graph.landmarks = graph.u32s(layer.members).to_vec();
        }
        if quantization == Quantization::Int8 {
            let s = &spans[2 + 3 * top..];
            if s[0].len != dim * 4 || s[1].len != dim * 4 || s[2].len != nodes * dim {
                return Err("quantization sections have the wrong size".into());
            }
            let floats = |s: Span| -> Vec<f32> {
                graph.map[s.at..s.at + s.len]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect()
            };
            let (min, step) = (floats(s[0]), floats(s[1]));
            if min.iter().chain(&step).any(|x| !x.is_finite()) {
                return Err("quantization ranges are not finite".into());
            }
            graph.int8 = Some(Int8Codes {
                min,
                step,
                codes: s[2],
            });
        }
        Ok(graph)
    }

    /// Checks one CSR table: `rows + 1` monotone offsets ending at the
    /// number of targets, every target a node id.
    fn check_rows(
        &self,
        offsets: Span,
        targets: Span,
        rows: usize,
        nodes: usize,
    ) -> Result<(), String> {
        if offsets.len != (rows + 1) * 4 || !targets.len.is_multiple_of(4) {
            return Err("adjacency table has the wrong size".into());
        }
        let o = self.u32s(offsets);
        let t = self.u32s(targets);
        if o[0] != 0 || o.windows(2).any(|w| w[0] > w[1]) || o[rows] as usize != t.len() {
            return Err("adjacency offsets are not monotone".into());
        }
        if t.iter().any(|&x| x as usize >= nodes) {
            return Err("an edge points past the node ids".into());
        }
        Ok(())
    }

    #[inline]
    fn u32s(&self, s: Span) -> &[u32] {
        // SAFETY: spans are inside the map, 64-byte aligned (checked at
        // open) and u32 has no invalid bit patterns; little-endian targets.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(s.at) as *const u32, s.len / 4) }
    }

    /// Nodes inserted.
    pub fn len(&self) -> usize {
        self.points
    }

    pub fn is_empty(&self) -> bool {
        self.points == 0
    }

    pub fn quantization(&self) -> Quantization {
        if self.int8.is_some() {
            Quantization::Int8
        } else {
            Quantization::F32
        }
    }

    /// Bytes of the mapped graph file (adjacency, and codes when quantized).
    pub fn file_bytes(&self) -> usize {
        self.map.len()
    }

    #[inline]
    fn base_row(&self, node: u32) -> &[u32] {
        let o = self.u32s(self.base_offsets);
        let n = node as usize;
        &self.u32s(self.base_targets)[o[n] as usize..o[n + 1] as usize]
    }

    fn upper_row(&self, layer: &UpperLayer, node: u32) -> &[u32] {
        match self.u32s(layer.members).binary_search(&node) {
            Ok(i) => {
                let o = self.u32s(layer.offsets);
                &self.u32s(layer.targets)[o[i] as usize..o[i + 1] as usize]
            }
            Err(_) => &[],
        }
    }

    /// Up to `k` nodes accepted by `keep`, closest first by the walk's
    /// distance (approximate when quantized: rescore them exactly).
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: &dyn Fn(usize) -> bool,
    ) -> Vec<usize> {
        if self.points == 0 {
            return Vec::new();
        }
        match &self.int8 {
            None => {
                let rows = &self.rows;
                match self.metric {
                    Metric::Cosine | Metric::Dot => self.walk(
                        k,
                        ef,
                        |n| -distance::dot(query, rows.row(n)),
                        |n| walk::prefetch(rows.ptr(n)),
                        keep,
                    ),
                    Metric::L2 => self.walk(
                        k,
                        ef,
                        |n| distance::l2_squared(query, rows.row(n)),
                        |n| walk::prefetch(rows.ptr(n)),
                        keep,
                    ),
                }
            }
            Some(q) => {
                let codes = &self.map[q.codes.at..q.codes.at + q.codes.len];
                let dim = self.dim;
                let code = |n: u32| &codes[n as usize * dim..][..dim];
                let lines = dim.div_ceil(64);
                let addr = |n: u32| {
                    walk::prefetch_lines(codes.as_ptr().wrapping_add(n as usize * dim), lines)
                };
                match self.metric {
                    // q . x ~ sum q_j min_j + sum (q_j step_j) c_j; the first
                    // term is the same for every node, and the second is
                    // summed in integers (the walk only orders nodes; the
                    // caller rescores with the f32 vectors).
                    Metric::Cosine | Metric::Dot => {
                        let weights: Vec<f32> =
                            query.iter().zip(&q.step).map(|(a, s)| a * s).collect();
                        let weights = distance::IntWeights::new(&weights);
                        self.walk(k, ef, |n| -weights.dot(code(n)), addr, keep)
                    }
                    // |q - x|^2 ~ sum ((q_j - min_j) - step_j c_j)^2
                    Metric::L2 => {
                        let shifted: Vec<f32> =
                            query.iter().zip(&q.min).map(|(a, m)| a - m).collect();
                        self.walk(
                            k,
                            ef,
                            |n| distance::l2_squared_u8(&shifted, &q.step, code(n)),
                            addr,
                            keep,
                        )
                    }
                }
            }
        }
    }

    fn walk(
        &self,
        k: usize,
        ef: usize,
        distance: impl Fn(u32) -> f32,
        prefetch: impl Fn(u32),
        keep: &dyn Fn(usize) -> bool,
    ) -> Vec<usize> {
        let mut ep = Near(distance(self.entry), self.entry);
        for layer in self.upper.iter().rev() {
            ep = walk::greedy(
                ep,
                |n, out| {
                    out.clear();
                    out.extend_from_slice(self.upper_row(layer, n));
                },
                &distance,
            );
        }
        let entries = walk::entries(ep, &self.landmarks, &distance);
        let found = walk::beam(
            self.nodes,
            &entries,
            ef.max(k),
            |n, out| {
                out.clear();
                out.extend_from_slice(self.base_row(n));
            },
            &distance,
            prefetch,
            Some(keep),
        );
        let mut out = found.into_sorted_vec();
        out.truncate(k);
        out.into_iter().map(|n| n.1 as usize).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query the greedy descent leads into the wrong region still finds
    /// its neighbours: the beam also starts from the closest landmarks.
    /// Two clusters no layer-0 edge joins, the entry in the first, both on
    /// layer 1 without an edge between them; a query at the second cluster
    /// gets the second cluster's nodes (with the entry alone it could only
    /// ever return the first's).
    #[test]
    fn the_beam_starts_from_the_closest_landmark_too() {
        let dim = 4;
        let point = |cluster: usize, i: usize| {
            let mut v = vec![0.02 * i as f32; dim];
            v[cluster] = 1.0;
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / n).collect::<Vec<f32>>()
        };
        // Nodes 0-4 near axis 0, nodes 5-9 near axis 1.
        let data: Vec<f32> = (0..10).flat_map(|n| point(n / 5, n % 5)).collect();
        let rows = VectorRows::from_vec(data, dim);
        let ring = |first: u32| -> Vec<Vec<u32>> {
            (0..5)
                .map(|i| vec![first + (i + 1) % 5, first + (i + 4) % 5])
                .collect()
        };
        let adj = Adjacency {
            nodes: 10,
            points: 10,
            entry: 0,
            base: ring(0).into_iter().chain(ring(5)).collect(),
            upper: vec![vec![(0, Vec::new()), (5, Vec::new())]],
            inserted: vec![true; 10],
        };
        let dir = tempfile::tempdir().unwrap();
        for q in [Quantization::F32, Quantization::Int8] {
            let path = dir.path().join(format!("{q:?}.idx"));
            write_file(&path, &encode(&adj, &rows, q)).unwrap();
            let g = SealedGraph::open(
                &path,
                Metric::Cosine,
                rows.clone(),
                Expected { dim, nodes: 10 },
            )
            .unwrap();
            assert_eq!(g.landmarks, vec![0, 5]);
            let mut found = g.search(&point(1, 2), 5, 8, &|_| true);
            found.sort_unstable();
            assert_eq!(found, vec![5, 6, 7, 8, 9], "{q:?}");
            // And a query at the entry's cluster still gets that cluster.
            let mut found = g.search(&point(0, 2), 5, 8, &|_| true);
            found.sort_unstable();
            assert_eq!(found, vec![0, 1, 2, 3, 4], "{q:?}");
        }
    }

    /// A node nothing links to gets an edge from its closest neighbour: in
    /// place of that row's farthest node when the row is full, and only of
    /// a node that other nodes still link to.
    #[test]
    fn a_node_nothing_links_to_gets_an_edge_in() {
        // Points on a line; node 3 (at 3.1) links out but nothing links to it.
        let xs = [0.0f32, 1.0, 2.0, 3.1, 4.0];
        let mut adj = Adjacency {
            nodes: 5,
            points: 5,
            entry: 0,
            base: vec![vec![1, 2], vec![0, 2], vec![1, 4], vec![2, 4], vec![2, 0]],
            upper: Vec::new(),
            inserted: vec![true; 5],
        };
        let d = |a: u32, b: u32| (xs[a as usize] - xs[b as usize]).abs();
        link_unreachable(&mut adj, 2, d);
        // Its closest neighbour is 4 (0.9 away); 4's row is full, and of
        // its nodes 2 and 0, 0 is the farther, still linked from 1.
        assert_eq!(adj.base[4], vec![2, 3]);
        let linked = |v: u32| adj.base.iter().flatten().any(|&x| x == v);
        assert!((0..5).all(linked), "{:?}", adj.base);
        // Nothing else changed.
        assert_eq!(
            adj.base[0..4],
            [vec![1, 2], vec![0, 2], vec![1, 4], vec![2, 4]]
        );
    }
}
