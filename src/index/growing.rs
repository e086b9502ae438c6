//! A growing segment's graph: HNSW built by concurrent insertion into flat
//! arrays (hnswlib's algorithm and layout), searched while it grows.
//!
//! Why not hnsw_rs, which built these graphs before: its insert allocates an
//! `Arc` per candidate and reaches every neighbour through two pointers
//! before it can even test whether it was visited, so at 200 000 CLIP-like
//! vectors it built 3x slower than hnswlib; and it keeps reverse edges by
//! distance alone, which leaves clusters poorly linked. Here a node's edges
//! are a row of `u32`s, visits are stamps in a per-thread array, and both
//! new and reverse edges are chosen with hnswlib's diversity heuristic.
//!
//! Concurrency: readers never lock. Every edge list is `[count, ids..]` of
//! atomics, written under a lock (striped by node) with release stores and
//! read with acquire loads, so a reader sees either list (or, while a full list is
//! being re-chosen, a mix of both), always of nodes whose vectors were
//! written before their id was stored anywhere.

use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

use super::distance;
use super::sealed::Adjacency;
use super::walk::{self, Near};
use super::{GraphParams, Metric};

/// Deepest layer a node can get (hnsw_rs's limit too).
const MAX_LEVEL: usize = 15;
/// Vector rows start on 64-byte cache lines: 16 floats.
const ROW_ALIGN: usize = 16;
/// Edge-list writes lock one of these, by node id: a writer holds one lock
/// at a time, so sharing them cannot deadlock, and their memory does not
/// grow with the capacity.
const LOCK_STRIPES: usize = 4096;

pub(crate) struct GrowingGraph {
    metric: Metric,
    dim: usize,
    /// Floats per vector row (dim rounded up to a cache line).
    stride: usize,
    capacity: usize,
    /// Edges per node on layers >= 1; layer 0 takes `2 * m`.
    m: usize,
    ef_construction: usize,
    level_mult: f64,
    /// Vector rows (f32 bits); row `n` starts at `first_row + n * stride`.
    vectors: Box<[AtomicU32]>,
    first_row: usize,
    /// Per node: 0 until inserted, then its level + 1.
    levels: Box<[AtomicU8]>,
    /// Layer 0: per node `[count, up to 2m ids]`.
    base: Box<[AtomicU32]>,
    /// Per node above layer 0: its layers 1..=level, `[count, up to m ids]`
    /// each (`upper_len` u32s, allocated by `zeroed_u32s`); null for nodes
    /// on layer 0 only. Set once, after the node's level; freed on drop.
    upper: Box<[AtomicPtr<AtomicU32>]>,
    /// Guard writes to edge lists (striped by node id).
    locks: Box<[Mutex<()>]>,
    /// Entry node and the top layer.
    entry: RwLock<Option<(u32, usize)>>,
    /// Held by an insert whose node tops the graph, for its whole insert
    /// (hnswlib's global lock): the entry changes only when it finishes.
    new_top: Mutex<()>,
    points: AtomicUsize,
    level_seed: AtomicU64,
    /// Inserts hold it shared for a whole batch; a checkpoint holds it
    /// exclusively while it copies the edges, so it sees only whole inserts.
    insert_gate: RwLock<()>,
    /// Per layer l >= 1 (index l - 1): its inserted members, the search's
    /// landmarks (see [`walk::entries`]). A node joins once inserted.
    members: RwLock<Vec<Vec<u32>>>,
}

/// First bytes of a growing graph's checkpoint file (version 1).
const CHECKPOINT_MAGIC: &[u8; 8] = b"CLIPGCK1";
/// magic, then dim, capacity, m, metric, nodes, points, entry, top (u32 each).
const CHECKPOINT_HEADER: usize = 8 + 8 * 4;

/// `n` zeroed atomics; large ones come from the allocator's zeroed pages,
/// so memory is only committed as nodes are written (an empty collection
/// costs next to nothing whatever its segment capacity).
fn zeroed_u32s(n: usize) -> Box<[AtomicU32]> {
    let v: Box<[u32]> = vec![0u32; n].into_boxed_slice();
    // SAFETY: AtomicU32 has u32's size, alignment and bit validity.
    unsafe { Box::from_raw(Box::into_raw(v) as *mut [AtomicU32]) }
}

fn zeroed_u8s(n: usize) -> Box<[AtomicU8]> {
    let v: Box<[u8]> = vec![0u8; n].into_boxed_slice();
    // SAFETY: AtomicU8 has u8's size, alignment and bit validity.
    unsafe { Box::from_raw(Box::into_raw(v) as *mut [AtomicU8]) }
}

fn null_ptrs(n: usize) -> Box<[AtomicPtr<AtomicU32>]> {
    let v: Box<[usize]> = vec![0usize; n].into_boxed_slice();
    // SAFETY: AtomicPtr has a pointer's size and alignment (usize's), and
    // all-zero bits are the null pointer on every target we build for.
    unsafe { Box::from_raw(Box::into_raw(v) as *mut [AtomicPtr<AtomicU32>]) }
}

impl GrowingGraph {
    pub(crate) fn new(metric: Metric, params: GraphParams, dim: usize, capacity: usize) -> Self {
        let m = params.m.max(2);
        let stride = dim.div_ceil(ROW_ALIGN) * ROW_ALIGN;
        let vectors = zeroed_u32s(capacity * stride + ROW_ALIGN);
        let misalign = (vectors.as_ptr() as usize % 64) / 4;
        let first_row = (ROW_ALIGN - misalign) % ROW_ALIGN;
        GrowingGraph {
            metric,
            dim,
            stride,
            capacity,
            m,
            ef_construction: params.ef_construction.max(1),
            level_mult: 1.0 / (m as f64).ln(),
            vectors,
            first_row,
            levels: zeroed_u8s(capacity),
            base: zeroed_u32s(capacity * (1 + 2 * m)),
            upper: null_ptrs(capacity),
            locks: (0..LOCK_STRIPES.min(capacity.max(1)))
                .map(|_| Mutex::new(()))
                .collect(),
            entry: RwLock::new(None),
            new_top: Mutex::new(()),
            points: AtomicUsize::new(0),
            level_seed: AtomicU64::new(0x5EED_C11B_DB00_0001),
            insert_gate: RwLock::new(()),
            members: RwLock::new(vec![Vec::new(); MAX_LEVEL]),
        }
    }

    pub(crate) fn max_degree(&self) -> usize {
        2 * self.m
    }

    pub(crate) fn len(&self) -> usize {
        self.points.load(Ordering::Acquire)
    }

    fn row_ptr(&self, node: u32) -> *const f32 {
        self.vectors
            .as_ptr()
            .wrapping_add(self.first_row + node as usize * self.stride) as *const f32
    }

    fn row(&self, node: u32) -> &[f32] {
        // SAFETY: the row lies inside `vectors`; it is written once, before
        // the node's id is published (a release store every reader of that
        // id acquired), and never again.
        unsafe { std::slice::from_raw_parts(self.row_ptr(node), self.dim) }
    }

    fn distance(&self, query: &[f32], node: u32) -> f32 {
        match self.metric {
            Metric::Cosine | Metric::Dot => -distance::dot(query, self.row(node)),
            Metric::L2 => distance::l2_squared(query, self.row(node)),
        }
    }

    fn edges(&self, node: u32, layer: usize) -> &[AtomicU32] {
        if layer == 0 {
            let width = 1 + 2 * self.m;
            return &self.base[node as usize * width..][..width];
        }
        let width = 1 + self.m;
        self.upper_lists(node)
            .get((layer - 1) * width..layer * width)
            .unwrap_or(&[])
    }

    /// u32s of a node's upper-layer lists.
    fn upper_len(&self, level: u8) -> usize {
        (level as usize).saturating_sub(1) * (1 + self.m)
    }

    fn upper_lists(&self, node: u32) -> &[AtomicU32] {
        let p = self.upper[node as usize].load(Ordering::Acquire);
        if p.is_null() {
            return &[];
        }
        // Stored before `upper` (see insert_one), so the acquire above sees it.
        let len = self.upper_len(self.levels[node as usize].load(Ordering::Relaxed));
        // SAFETY: `p` came from `zeroed_u32s(len)` for this level and lives
        // until drop.
        unsafe { std::slice::from_raw_parts(p, len) }
    }

    fn read_edges(&self, node: u32, layer: usize, out: &mut Vec<u32>) {
        out.clear();
        let e = self.edges(node, layer);
        if let Some((count, ids)) = e.split_first() {
            let n = (count.load(Ordering::Acquire) as usize).min(ids.len());
            out.extend(ids[..n].iter().map(|a| a.load(Ordering::Acquire)));
        }
    }

    /// Replaces a node's list; the caller holds the node's stripe lock.
    fn write_edges(&self, node: u32, layer: usize, ids: &[u32]) {
        let e = self.edges(node, layer);
        for (slot, &id) in e[1..].iter().zip(ids) {
            slot.store(id, Ordering::Release);
        }
        e[0].store(ids.len().min(e.len() - 1) as u32, Ordering::Release);
    }

    fn random_level(&self) -> usize {
        // splitmix64 over a shared counter: cheap, and reproducible for a
        // sequential insert.
        let mut z = self
            .level_seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        ((-u.ln() * self.level_mult) as usize).min(MAX_LEVEL)
    }

    /// Inserts points (vector, node id below the capacity), in parallel on
    /// rayon's pool when there are several. Each id is inserted once.
    pub(crate) fn insert(&self, items: &[(&[f32], usize)]) {
        use rayon::prelude::*;
        let _gate = self.insert_gate.read();
        match items {
            [] => {}
            [(v, id)] => self.insert_one(v, *id),
            _ => items.par_iter().for_each(|(v, id)| self.insert_one(v, *id)),
        }
    }

    fn insert_one(&self, vector: &[f32], node: usize) {
        assert!(
            node < self.capacity && vector.len() == self.dim,
            "graph insert out of bounds: node {node} of {}, dim {} of {}",
            self.capacity,
            vector.len(),
            self.dim
        );
        if self.levels[node].load(Ordering::Acquire) != 0 {
            debug_assert!(false, "node {node} inserted twice");
            return;
        }
        let id = node as u32;
        let level = self.random_level();
        // SAFETY: this row is not published yet: nobody else reads it.
        unsafe {
            std::ptr::copy_nonoverlapping(vector.as_ptr(), self.row_ptr(id) as *mut f32, self.dim)
        };
        self.levels[node].store(level as u8 + 1, Ordering::Release);
        if level > 0 {
            let lists = zeroed_u32s(self.upper_len(level as u8 + 1));
            let p = Box::into_raw(lists) as *mut AtomicU32;
            self.upper[node].store(p, Ordering::Release);
        }

        let mut entry = *self.entry.read();
        let _top = if entry.is_none_or(|(_, top)| level > top) {
            let guard = self.new_top.lock();
            entry = *self.entry.read();
            Some(guard)
        } else {
            None
        };
        let Some((entry_node, top)) = entry else {
            *self.entry.write() = Some((id, level));
            self.join_layers(id, level);
            self.points.fetch_add(1, Ordering::Release);
            return;
        };

        let query = self.row(id);
        let dist = |n: u32| self.distance(query, n);
        let mut ep = Near(dist(entry_node), entry_node);
        for layer in (level + 1..=top).rev() {
            ep = walk::greedy(ep, |n, out| self.read_edges(n, layer, out), dist);
        }
        for layer in (0..=level.min(top)).rev() {
            let found = walk::beam(
                self.capacity,
                &[ep],
                self.ef_construction,
                |n, out| self.read_edges(n, layer, out),
                dist,
                |n| walk::prefetch(self.row_ptr(n) as *const u8),
                None,
            );
            let mut sorted = found.into_sorted_vec();
            sorted.retain(|c| c.1 != id);
            let Some(&closest) = sorted.first() else {
                continue;
            };
            // hnswlib links a new node to m nodes on every layer; layer 0
            // lists reach 2m through the reverse edges.
            let chosen =
                walk::select_diverse(&sorted, self.m, false, |a, b| self.distance(self.row(a), b));
            self.merge_edges(id, layer, &chosen);
            for &n in &chosen {
                self.merge_edges(n, layer, &[id]);
            }
            ep = closest;
        }
        if level > top {
            *self.entry.write() = Some((id, level));
        }
        self.join_layers(id, level);
        self.points.fetch_add(1, Ordering::Release);
    }

    /// Lists an inserted node as a member of its layers 1..=level.
    fn join_layers(&self, node: u32, level: usize) {
        if level > 0 {
            let mut members = self.members.write();
            for list in &mut members[..level] {
                list.push(node);
            }
        }
    }

    /// Adds `new` to `node`'s list on `layer`; a list that would overflow
    /// is re-chosen with the heuristic from old and new edges.
    fn merge_edges(&self, node: u32, layer: usize, new: &[u32]) {
        let max = if layer == 0 { 2 * self.m } else { self.m };
        if self.edges(node, layer).is_empty() {
            debug_assert!(false, "node {node} has no layer {layer}");
            return;
        }
        let _lock = self.locks[node as usize % self.locks.len()].lock();
        let mut ids = Vec::with_capacity(max + new.len());
        self.read_edges(node, layer, &mut ids);
        let before = ids.len();
        for &n in new {
            if n != node && !ids.contains(&n) {
                ids.push(n);
            }
        }
        if ids.len() == before {
            return;
        }
        if ids.len() > max {
            let base = self.row(node);
            let mut scored: Vec<Near> = ids
                .iter()
                .map(|&n| Near(self.distance(base, n), n))
                .collect();
            scored.sort_unstable();
            ids = walk::select_diverse(&scored, max, false, |a, b| self.distance(self.row(a), b));
        }
        self.write_edges(node, layer, &ids);
    }

    /// Up to `k` nodes accepted by `keep`, closest first.
    pub(crate) fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: &dyn Fn(usize) -> bool,
    ) -> Vec<usize> {
        let Some((entry_node, top)) = *self.entry.read() else {
            return Vec::new();
        };
        let dist = |n: u32| self.distance(query, n);
        let mut ep = Near(dist(entry_node), entry_node);
        for layer in (1..=top).rev() {
            ep = walk::greedy(ep, |n, out| self.read_edges(n, layer, out), dist);
        }
        // A copy (at most 4 KiB), so inserts never wait for the scoring.
        let landmarks: Vec<u32> = self
            .members
            .read()
            .iter()
            .find(|l| l.len() <= walk::MAX_LANDMARKS)
            .cloned()
            .unwrap_or_default();
        let entries = walk::entries(ep, &landmarks, dist);
        let found = walk::beam(
            self.capacity,
            &entries,
            ef.max(k),
            |n, out| self.read_edges(n, 0, out),
            dist,
            |n| walk::prefetch(self.row_ptr(n) as *const u8),
            Some(keep),
        );
        let mut out = found.into_sorted_vec();
        out.truncate(k);
        out.into_iter().map(|n| n.1 as usize).collect()
    }

    /// Whether `node` has been inserted.
    pub(crate) fn contains(&self, node: usize) -> bool {
        self.levels
            .get(node)
            .is_some_and(|l| l.load(Ordering::Acquire) != 0)
    }

    /// One past the highest node inserted (0 when empty).
    pub(crate) fn node_bound(&self) -> usize {
        (0..self.capacity)
            .rev()
            .find(|&n| self.contains(n))
            .map_or(0, |n| n + 1)
    }

    /// The graph's structure as a checkpoint file's bytes (see
    /// [`GrowingGraph::from_checkpoint`]): its levels and edge lists, not its
    /// vectors, which the segment's vector files hold. Inserts wait while
    /// the edges are copied (a memcpy's time), so the copy holds only whole
    /// inserts. Returns the bytes and the points they hold.
    pub(crate) fn checkpoint(&self) -> (Vec<u8>, usize) {
        let _gate = self.insert_gate.write();
        let nodes = self.node_bound();
        let points = self.len();
        let (entry, top) = self
            .entry
            .read()
            .map_or((u32::MAX, u32::MAX), |(e, t)| (e, t as u32));
        let width = 1 + 2 * self.m;
        let mut out = Vec::with_capacity(CHECKPOINT_HEADER + nodes * (1 + 4 * width) + 4);
        out.extend_from_slice(CHECKPOINT_MAGIC);
        let metric = match self.metric {
            Metric::Cosine => 0u32,
            Metric::Dot => 1,
            Metric::L2 => 2,
        };
        for v in [
            self.dim as u32,
            self.capacity as u32,
            self.m as u32,
            metric,
            nodes as u32,
            points as u32,
            entry,
            top,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend(
            self.levels[..nodes]
                .iter()
                .map(|l| l.load(Ordering::Acquire)),
        );
        while out.len() % 4 != 0 {
            out.push(0);
        }
        for a in &self.base[..nodes * width] {
            out.extend_from_slice(&a.load(Ordering::Acquire).to_le_bytes());
        }
        for n in 0..nodes as u32 {
            for a in self.upper_lists(n) {
                out.extend_from_slice(&a.load(Ordering::Acquire).to_le_bytes());
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        (out, points)
    }

    /// Rebuilds a graph from [`GrowingGraph::checkpoint`]'s bytes, taking
    /// each inserted node's vector from `row`. Fails, naming the problem, on
    /// a torn or foreign file (checksum, parameters, an edge to a node that
    /// is not in it), so the caller can rebuild from the vectors instead.
    pub(crate) fn from_checkpoint<'a>(
        metric: Metric,
        params: GraphParams,
        dim: usize,
        capacity: usize,
        bytes: &[u8],
        row: impl Fn(u32) -> &'a [f32],
    ) -> Result<GrowingGraph, String> {
        if bytes.len() < CHECKPOINT_HEADER + 4 || &bytes[..8] != CHECKPOINT_MAGIC {
            return Err("not a graph checkpoint (bad magic or too short)".into());
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().unwrap()) {
            return Err("checksum mismatch (torn or damaged file)".into());
        }
        let word = |i: usize| u32::from_le_bytes(body[8 + 4 * i..12 + 4 * i].try_into().unwrap());
        let g = GrowingGraph::new(metric, params, dim, capacity);
        let metric_code = match metric {
            Metric::Cosine => 0u32,
            Metric::Dot => 1,
            Metric::L2 => 2,
        };
        let (nodes, points, entry, top) = (word(4) as usize, word(5) as usize, word(6), word(7));
        if (word(0), word(1), word(2), word(3))
            != (dim as u32, capacity as u32, g.m as u32, metric_code)
        {
            return Err(format!(
                "written for dim {} capacity {} m {} metric {}, not dim {dim} capacity {capacity} m {} metric {metric_code}",
                word(0), word(1), word(2), word(3), g.m
            ));
        }
        if nodes > capacity {
            return Err(format!("{nodes} nodes past capacity {capacity}"));
        }
        let width = 1 + 2 * g.m;
        let mut at = CHECKPOINT_HEADER;
        let take = |at: &mut usize, n: usize| -> Result<&[u8], String> {
            let s = body
                .get(*at..*at + n)
                .ok_or_else(|| "truncated".to_string())?;
            *at += n;
            Ok(s)
        };
        let levels = take(&mut at, nodes)?;
        at = at.div_ceil(4) * 4;
        let u32s = |b: &[u8]| -> Vec<u32> {
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                .collect()
        };
        let base = u32s(take(&mut at, nodes * width * 4)?);
        let mut inserted = 0;
        for (n, &level) in levels.iter().enumerate() {
            if level == 0 {
                continue;
            }
            if level as usize > MAX_LEVEL + 1 {
                return Err(format!("node {n} has level {level}"));
            }
            inserted += 1;
            let v = row(n as u32);
            if v.len() != dim {
                return Err(format!("node {n}: vector of {} floats, not {dim}", v.len()));
            }
            // SAFETY: not shared yet: `g` is ours alone until returned.
            unsafe {
                std::ptr::copy_nonoverlapping(v.as_ptr(), g.row_ptr(n as u32) as *mut f32, dim)
            };
            g.levels[n].store(level, Ordering::Relaxed);
            g.join_layers(n as u32, level as usize - 1);
            if level > 1 {
                let len = g.upper_len(level);
                let lists = zeroed_u32s(len);
                for (slot, v) in lists.iter().zip(u32s(take(&mut at, len * 4)?)) {
                    slot.store(v, Ordering::Relaxed);
                }
                g.upper[n].store(Box::into_raw(lists) as *mut AtomicU32, Ordering::Relaxed);
            }
        }
        if at != body.len() {
            return Err(format!("{} bytes past the last edge list", body.len() - at));
        }
        if inserted != points {
            return Err(format!(
                "{inserted} nodes but {points} points in the header"
            ));
        }
        for (slot, v) in g.base.iter().zip(&base) {
            slot.store(*v, Ordering::Relaxed);
        }
        // Every list within its bound, every edge to an inserted node.
        let inserted_node = |e: u32| (e as usize) < nodes && levels[e as usize] != 0;
        let mut buf = Vec::new();
        for n in (0..nodes as u32).filter(|&n| levels[n as usize] != 0) {
            for layer in 0..levels[n as usize] as usize {
                let list = g.edges(n, layer);
                let count = list[0].load(Ordering::Relaxed) as usize;
                if count >= list.len() {
                    return Err(format!("node {n} layer {layer}: {count} edges"));
                }
                g.read_edges(n, layer, &mut buf);
                if let Some(e) = buf.iter().find(|&&e| !inserted_node(e) || e == n) {
                    return Err(format!("node {n} layer {layer}: edge to {e}, not a node"));
                }
            }
        }
        if points > 0 {
            if !inserted_node(entry) || top as usize + 1 != levels[entry as usize] as usize {
                return Err(format!(
                    "entry {entry} at layer {top} is not a node of that level"
                ));
            }
            *g.entry.write() = Some((entry, top as usize));
        }
        g.points.store(points, Ordering::Release);
        Ok(g)
    }

    /// The graph's edges (node ids below `nodes`), for sealing; None when
    /// empty. Call it once inserts have stopped.
    pub(crate) fn adjacency(&self, nodes: usize) -> Option<Adjacency> {
        let (entry, top) = (*self.entry.read())?;
        let nodes = nodes.min(self.capacity);
        let mut base = vec![Vec::new(); nodes];
        let mut upper: Vec<Vec<(u32, Vec<u32>)>> = vec![Vec::new(); top];
        let mut inserted = vec![false; nodes];
        let mut points = 0;
        let mut buf = Vec::new();
        for n in 0..nodes {
            let level = self.levels[n].load(Ordering::Acquire);
            if level == 0 {
                continue;
            }
            inserted[n] = true;
            points += 1;
            self.read_edges(n as u32, 0, &mut buf);
            base[n] = buf.clone();
            for layer in 1..level as usize {
                self.read_edges(n as u32, layer, &mut buf);
                upper[layer - 1].push((n as u32, buf.clone()));
            }
        }
        Some(Adjacency {
            nodes,
            points,
            entry,
            base,
            upper,
            inserted,
        })
    }
}

impl Drop for GrowingGraph {
    fn drop(&mut self) {
        for (node, p) in self.upper.iter().enumerate() {
            let p = p.load(Ordering::Acquire);
            if !p.is_null() {
                let len = self.upper_len(self.levels[node].load(Ordering::Acquire));
                // SAFETY: allocated in insert_one as a boxed slice of `len`.
                drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, len)) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::test_vectors::unit;

    fn exact(data: &[Vec<f32>], q: &[f32], k: usize) -> Vec<usize> {
        let mut all: Vec<(f32, usize)> = data
            .iter()
            .enumerate()
            .map(|(i, v)| (-distance::dot(q, v), i))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        all.into_iter().take(k).map(|x| x.1).collect()
    }

    /// Built in parallel batches (as the server inserts), the graph finds
    /// the exact neighbours, honours filters, keeps every list within its
    /// bound and every edge pointing at an inserted node.
    #[test]
    fn parallel_build_is_accurate_and_well_formed() {
        let (n, dim) = (3000, 24);
        let params = GraphParams {
            m: 8,
            ef_construction: 64,
        };
        // Room for more than is inserted; ids need not be dense.
        let g = GrowingGraph::new(Metric::Cosine, params, dim, n + 10);
        let data: Vec<Vec<f32>> = (0..n as u64).map(|i| unit(i, dim)).collect();
        let items: Vec<(&[f32], usize)> = data
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_slice(), i))
            .collect();
        for chunk in items.chunks(500) {
            g.insert(chunk);
        }
        assert_eq!(g.len(), n);

        let mut hits = 0;
        for qi in 0..100u64 {
            let q = unit(1_000_000 + qi, dim);
            let want = exact(&data, &q, 10);
            let got = g.search(&q, 10, 64, &|_| true);
            hits += got.iter().filter(|x| want.contains(x)).count();
            let odd = g.search(&q, 10, 64, &|id| id % 2 == 1);
            assert_eq!(odd.len(), 10);
            assert!(odd.iter().all(|id| id % 2 == 1));
        }
        let recall = hits as f64 / 1000.0;
        assert!(recall > 0.95, "recall@10 {recall}");

        let adj = g.adjacency(n + 10).unwrap();
        assert_eq!(adj.points, n);
        assert!(adj.inserted[..n].iter().all(|&x| x) && !adj.inserted[n]);
        for (node, edges) in adj.base.iter().enumerate() {
            assert!(edges.len() <= 2 * params.m);
            if node < n {
                assert!(!edges.is_empty(), "node {node} has no edges");
            }
            for &e in edges {
                assert!((e as usize) < n && e as usize != node);
            }
        }
        for layer in &adj.upper {
            for (node, edges) in layer {
                assert!(edges.len() <= params.m);
                assert!(edges.iter().all(|&e| e != *node && (e as usize) < n));
            }
        }
    }

    #[test]
    fn searches_while_inserts_run() {
        let (n, dim) = (2000, 16);
        let params = GraphParams {
            m: 8,
            ef_construction: 32,
        };
        let g = GrowingGraph::new(Metric::L2, params, dim, n);
        let data: Vec<Vec<f32>> = (0..n as u64).map(|i| unit(i + 7, dim)).collect();
        let items: Vec<(&[f32], usize)> = data
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_slice(), i))
            .collect();
        std::thread::scope(|s| {
            s.spawn(|| {
                for chunk in items.chunks(100) {
                    g.insert(chunk);
                }
            });
            s.spawn(|| {
                for i in 0..2000 {
                    let found = g.search(&data[i % n], 5, 16, &|_| true);
                    assert!(found.len() <= 5);
                }
            });
        });
        // Every vector finds itself once the build is done.
        for (i, v) in data.iter().enumerate().step_by(37) {
            assert_eq!(g.search(v, 1, 32, &|_| true), vec![i]);
        }
    }

    /// A checkpoint restores the same graph (same answers), takes more
    /// inserts afterwards, and any damage to it is refused, not loaded.
    #[test]
    fn checkpoint_restores_the_same_graph_and_refuses_damage() {
        let (n, dim) = (1500, 16);
        let params = GraphParams {
            m: 6,
            ef_construction: 40,
        };
        let data: Vec<Vec<f32>> = (0..n as u64 + 200).map(|i| unit(i + 3, dim)).collect();
        let g = GrowingGraph::new(Metric::Cosine, params, dim, n + 200);
        // Sparse ids: every third record is never inserted.
        let items: Vec<(&[f32], usize)> = (0..n)
            .filter(|i| i % 3 != 1)
            .map(|i| (data[i].as_slice(), i))
            .collect();
        g.insert(&items);
        let (bytes, points) = g.checkpoint();
        assert_eq!(points, items.len());
        let row = |r: u32| data[r as usize].as_slice();
        let back = GrowingGraph::from_checkpoint(Metric::Cosine, params, dim, n + 200, &bytes, row)
            .unwrap();
        assert_eq!(back.len(), g.len());
        assert_eq!(back.node_bound(), g.node_bound());
        for i in 0..n {
            assert_eq!(back.contains(i), i % 3 != 1);
        }
        // The same layer members (the searches' landmarks).
        let sorted = |g: &GrowingGraph| -> Vec<Vec<u32>> {
            let mut m = g.members.read().clone();
            m.iter_mut().for_each(|l| l.sort_unstable());
            m
        };
        assert_eq!(sorted(&back), sorted(&g));
        assert!(!sorted(&g)[0].is_empty());
        for qi in 0..50u64 {
            let q = unit(9_000 + qi, dim);
            assert_eq!(
                back.search(&q, 10, 32, &|_| true),
                g.search(&q, 10, 32, &|_| true)
            );
        }
        // A checkpoint of the restored graph is the same bytes.
        assert_eq!(back.checkpoint().0, bytes);
        // More inserts after a restore: found like any other.
        let more: Vec<(&[f32], usize)> = (n..n + 200).map(|i| (data[i].as_slice(), i)).collect();
        back.insert(&more);
        for i in (n..n + 200).step_by(7) {
            assert_eq!(back.search(&data[i], 1, 32, &|_| true), vec![i]);
        }

        let load = |b: &[u8], p: GraphParams, cap: usize| {
            GrowingGraph::from_checkpoint(Metric::Cosine, p, dim, cap, b, row).map(|_| ())
        };
        let flipped = {
            let mut b = bytes.clone();
            b[bytes.len() / 2] ^= 0x10;
            b
        };
        assert!(load(&flipped, params, n + 200)
            .unwrap_err()
            .contains("checksum"));
        assert!(load(&bytes[..bytes.len() - 9], params, n + 200).is_err());
        assert!(load(&bytes[..20], params, n + 200).is_err());
        let other_m = GraphParams { m: 8, ..params };
        assert!(load(&bytes, other_m, n + 200).unwrap_err().contains("m 6"));
        assert!(load(&bytes, params, n + 100)
            .unwrap_err()
            .contains("capacity"));
        // An empty graph round-trips too.
        let empty = GrowingGraph::new(Metric::L2, params, dim, 10);
        let (b, p) = empty.checkpoint();
        assert_eq!(p, 0);
        let e = GrowingGraph::from_checkpoint(Metric::L2, params, dim, 10, &b, row).unwrap();
        assert!(e.search(&data[0], 3, 10, &|_| true).is_empty());
        assert!(GrowingGraph::from_checkpoint(Metric::Cosine, params, dim, 10, &b, row).is_err());
    }

    /// Damaged checkpoints whose checksum was recomputed (what the fuzz
    /// target `open_files` does at scale): the structure checks refuse them
    /// or the graph they load is safe to search and extend; nothing panics.
    #[test]
    fn checkpoint_structure_checks_hold_against_mutations() {
        let (n, dim) = (300, 8);
        let params = GraphParams {
            m: 4,
            ef_construction: 20,
        };
        let data: Vec<Vec<f32>> = (0..n as u64 + 1).map(|i| unit(i + 11, dim)).collect();
        let g = GrowingGraph::new(Metric::Cosine, params, dim, n + 1);
        let items: Vec<(&[f32], usize)> = (0..n).map(|i| (data[i].as_slice(), i)).collect();
        g.insert(&items);
        let (bytes, _) = g.checkpoint();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut loaded = 0;
        for _ in 0..3000 {
            let mut b = bytes[..bytes.len() - 4].to_vec();
            for _ in 0..1 + next() % 4 {
                let at = next() as usize % b.len();
                match next() % 3 {
                    0 => b[at] ^= 1 << (next() % 8),
                    1 => b[at] = next() as u8,
                    _ => b.truncate(at.max(1)),
                }
            }
            let crc = crc32fast::hash(&b);
            b.extend_from_slice(&crc.to_le_bytes());
            let row = |r: u32| data[r as usize].as_slice();
            if let Ok(back) =
                GrowingGraph::from_checkpoint(Metric::Cosine, params, dim, n + 1, &b, row)
            {
                loaded += 1;
                let _ = back.search(&data[0], 5, 16, &|_| true);
                if !back.contains(n) {
                    back.insert(&[(data[n].as_slice(), n)]);
                }
            }
        }
        // Some mutations leave a valid graph (an edge to another node).
        assert!(loaded > 0 && loaded < 3000, "{loaded} of 3000 loaded");
    }

    #[test]
    fn empty_and_single_point() {
        let params = GraphParams {
            m: 16,
            ef_construction: 100,
        };
        let g = GrowingGraph::new(Metric::Dot, params, 4, 8);
        assert!(g.search(&[1.0, 0.0, 0.0, 0.0], 3, 10, &|_| true).is_empty());
        assert!(g.adjacency(8).is_none());
        g.insert(&[(&[0.0, 1.0, 0.0, 0.0][..], 5)]);
        assert_eq!(g.search(&[1.0, 0.0, 0.0, 0.0], 3, 10, &|_| true), vec![5]);
        assert!(g
            .search(&[1.0, 0.0, 0.0, 0.0], 3, 10, &|id| id != 5)
            .is_empty());
        let adj = g.adjacency(8).unwrap();
        assert_eq!((adj.points, adj.entry), (1, 5));
    }
}
