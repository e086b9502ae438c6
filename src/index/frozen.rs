//! Search over a sealed graph with our own loop.
//!
//! Once a segment is sealed its hnsw_rs graph never changes, so its
//! adjacency is copied once into flat arrays (one compressed row per node
//! and layer) and searched with the standard HNSW algorithm the way hnswlib
//! runs it: a generation-stamped visited array instead of a hash map, plain
//! `(distance, node)` heaps instead of reference-counted entries, and a
//! filter that is applied to the result set only, so a walk over a segment
//! with tombstones still stops as soon as the candidates cannot improve the
//! results (hnsw_rs never stops early once any filter is given, and our
//! segments always pass one). Vectors are read where hnsw_rs keeps them
//! (in memory, or the memory-mapped dump), never copied.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use hnsw_rs::prelude::{Distance, Hnsw};

/// A node's distance to the query, ordered by `f32::total_cmp`.
#[derive(Clone, Copy, PartialEq)]
struct Near(f32, u32);

impl Eq for Near {}

impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Near {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// One layer's edges: node `n`'s neighbours are `targets[offsets[n]..offsets[n + 1]]`.
struct Adjacency {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl Adjacency {
    #[inline]
    fn of(&self, node: u32) -> &[u32] {
        let n = node as usize;
        &self.targets[self.offsets[n] as usize..self.offsets[n + 1] as usize]
    }
}

pub(crate) struct Frozen {
    entry: u32,
    /// Layer 0 first.
    layers: Vec<Adjacency>,
    /// Per node (record number): its vector inside the graph's own storage;
    /// null for numbers never inserted.
    vectors: Vec<*const f32>,
    dim: usize,
}

// SAFETY: the pointers refer to vectors owned by the (immutable, sealed)
// hnsw_rs graph that owns this `Frozen`; they are only read.
unsafe impl Send for Frozen {}
unsafe impl Sync for Frozen {}

thread_local! {
    /// Per thread: visit stamps per node and the current stamp.
    static VISITED: RefCell<(Vec<u32>, u32)> = const { RefCell::new((Vec::new(), 0)) };
}

impl Frozen {
    /// Copies the adjacency of `hnsw`, which must not change afterwards. The
    /// returned value must be dropped before `hnsw`. None for an empty graph.
    pub(crate) fn build<D: Distance<f32> + Send + Sync>(
        hnsw: &Hnsw<'static, f32, D>,
    ) -> Option<Frozen> {
        let index = hnsw.get_point_indexation();
        let top = index.get_max_level_observed() as usize;
        let mut points = Vec::new();
        for layer in 0..=top {
            points.extend(index.get_layer_iterator(layer));
        }
        let nodes = points.iter().map(|p| p.get_origin_id() + 1).max()?;
        let entry = index.get_layer_iterator(top).next()?.get_origin_id() as u32;
        let dim = points[0].get_v().len();
        let mut vectors = vec![std::ptr::null::<f32>(); nodes];
        let mut lists: Vec<Vec<Vec<u32>>> = (0..=top).map(|_| vec![Vec::new(); nodes]).collect();
        for p in &points {
            let id = p.get_origin_id();
            vectors[id] = p.get_v().as_ptr();
            for (layer, neighbours) in p.get_neighborhood_id().into_iter().enumerate() {
                if layer <= top {
                    lists[layer][id] = neighbours.iter().map(|n| n.d_id as u32).collect();
                }
            }
        }
        let layers = lists
            .into_iter()
            .map(|per_node| {
                let mut offsets = Vec::with_capacity(nodes + 1);
                let mut targets = Vec::new();
                offsets.push(0);
                for list in per_node {
                    targets.extend(list);
                    offsets.push(targets.len() as u32);
                }
                Adjacency { offsets, targets }
            })
            .collect();
        Some(Frozen {
            entry,
            layers,
            vectors,
            dim,
        })
    }

    /// Bytes held beyond the graph itself (adjacency copy and vector table).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| (l.offsets.len() + l.targets.len()) * 4)
            .sum::<usize>()
            + self.vectors.len() * std::mem::size_of::<*const f32>()
    }

    #[inline]
    fn vector(&self, node: u32) -> &[f32] {
        // SAFETY: see the Send/Sync note; only nodes present in the graph
        // are ever reached (the entry point and listed neighbours).
        unsafe { std::slice::from_raw_parts(self.vectors[node as usize], self.dim) }
    }

    /// Up to `k` nodes accepted by `keep`, closest first, under `distance`
    /// (the graph's own distance, lower is closer).
    pub(crate) fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        distance: impl Fn(&[f32], &[f32]) -> f32,
        keep: &dyn Fn(usize) -> bool,
    ) -> Vec<usize> {
        let ef = ef.max(k).max(1);
        // Greedy descent through the upper layers.
        let mut ep = self.entry;
        let mut ep_dist = distance(query, self.vector(ep));
        for layer in self.layers[1..].iter().rev() {
            loop {
                let mut moved = false;
                for &n in layer.of(ep) {
                    let d = distance(query, self.vector(n));
                    if d < ep_dist {
                        ep = n;
                        ep_dist = d;
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        // Beam search on layer 0 (hnswlib's searchBaseLayerST).
        let base = &self.layers[0];
        VISITED.with(|cell| {
            let (stamps, stamp) = &mut *cell.borrow_mut();
            if stamps.len() < self.vectors.len() {
                stamps.resize(self.vectors.len(), 0);
            }
            *stamp = stamp.wrapping_add(1);
            if *stamp == 0 {
                stamps.fill(0);
                *stamp = 1;
            }
            let stamp = *stamp;
            let mut candidates: BinaryHeap<Reverse<Near>> = BinaryHeap::with_capacity(ef * 4);
            let mut results: BinaryHeap<Near> = BinaryHeap::with_capacity(ef + 1);
            stamps[ep as usize] = stamp;
            candidates.push(Reverse(Near(ep_dist, ep)));
            if keep(ep as usize) {
                results.push(Near(ep_dist, ep));
            }
            let mut bound = if results.len() >= ef {
                results.peek().map_or(f32::INFINITY, |w| w.0)
            } else {
                f32::INFINITY
            };
            while let Some(Reverse(Near(d, node))) = candidates.pop() {
                if d > bound {
                    break;
                }
                let neighbours = base.of(node);
                // Start fetching the unvisited neighbours' vectors before
                // the first distance needs one (hnswlib does the same): at
                // 200k vectors they are far out of cache.
                for &n in neighbours {
                    if stamps[n as usize] != stamp {
                        prefetch(self.vectors[n as usize]);
                    }
                }
                for &n in neighbours {
                    let seen = &mut stamps[n as usize];
                    if *seen == stamp {
                        continue;
                    }
                    *seen = stamp;
                    let nd = distance(query, self.vector(n));
                    if results.len() < ef || nd < bound {
                        candidates.push(Reverse(Near(nd, n)));
                        if keep(n as usize) {
                            results.push(Near(nd, n));
                            if results.len() > ef {
                                results.pop();
                            }
                            if results.len() >= ef {
                                bound = results.peek().map_or(f32::INFINITY, |w| w.0);
                            }
                        }
                    }
                }
            }
            let mut out = results.into_sorted_vec();
            out.truncate(k);
            out.into_iter().map(|n| n.1 as usize).collect()
        })
    }
}

/// Asks the CPU to start loading the first cache lines of a vector.
#[inline(always)]
fn prefetch(p: *const f32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults, even on a bad address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch(p as *const i8, _MM_HINT_T0);
        _mm_prefetch((p as *const i8).wrapping_add(64), _MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
