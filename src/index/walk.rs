//! The HNSW search loop both graph forms share (growing and sealed): greedy
//! descent through the upper layers, a beam search on a layer (hnswlib's
//! `searchBaseLayer`), and the diversity heuristic that chooses edges.
//!
//! Distances are "lower is closer" (`-dot` for cosine and dot, squared L2).

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// A node's distance to the query, ordered by `f32::total_cmp`.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) struct Near(pub f32, pub u32);

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

thread_local! {
    /// Per thread: visit stamps per node and the current stamp.
    static VISITED: RefCell<(Vec<u32>, u32)> = const { RefCell::new((Vec::new(), 0)) };
}

/// Landmarks are the members of the largest upper layer with at most this
/// many (each layer holds ~1/16 of the one below: 64-1 024 of them in any
/// graph of more than ~1 000 nodes, ~390 in a 100 000-point segment).
/// Every search scores them all: ~5 us on int8 codes at 512-d.
pub(crate) const MAX_LANDMARKS: usize = 1024;
/// Closest landmarks that seed the layer-0 beam beside the greedy descent's
/// node (on the CLIP-like bench data one did as well as sixteen).
const LANDMARK_SEEDS: usize = 4;

/// The entries of the layer-0 beam: the greedy descent's node `ep` and the
/// landmarks closest to the query. A query unlike the indexed vectors (a
/// text on an image graph) is often led by the descent into a region it
/// cannot walk out of: at 100 000 CLIP-like vectors 5-7 % of text queries
/// found none of their 10 nearest at ef 64 that way, 0.5-1.5 % with the
/// landmarks (docs/benchmarks.md).
pub(crate) fn entries(ep: Near, landmarks: &[u32], distance: impl Fn(u32) -> f32) -> Vec<Near> {
    let mut out = Vec::with_capacity(1 + LANDMARK_SEEDS);
    out.push(ep);
    if !landmarks.is_empty() {
        let mut scored: Vec<Near> = landmarks.iter().map(|&n| Near(distance(n), n)).collect();
        let seeds = LANDMARK_SEEDS.min(scored.len());
        scored.select_nth_unstable(seeds - 1);
        out.extend_from_slice(&scored[..seeds]);
    }
    out
}

/// Moves from `ep` to ever closer neighbours until none is closer.
pub(crate) fn greedy(
    mut ep: Near,
    mut neighbours: impl FnMut(u32, &mut Vec<u32>),
    distance: impl Fn(u32) -> f32,
) -> Near {
    let mut buf = Vec::with_capacity(64);
    loop {
        let mut moved = false;
        neighbours(ep.1, &mut buf);
        for &n in &buf {
            let d = distance(n);
            if d < ep.0 {
                ep = Near(d, n);
                moved = true;
            }
        }
        if !moved {
            return ep;
        }
    }
}

/// Beam search from `entries` over nodes below `nodes`: up to `ef` nodes
/// accepted by `keep` (all when None), worst on top of the heap. Rejected
/// nodes are still walked through, so a filter narrows the answer, not the
/// paths to it.
pub(crate) fn beam(
    nodes: usize,
    entries: &[Near],
    ef: usize,
    mut neighbours: impl FnMut(u32, &mut Vec<u32>),
    distance: impl Fn(u32) -> f32,
    prefetch: impl Fn(u32),
    keep: Option<&dyn Fn(usize) -> bool>,
) -> BinaryHeap<Near> {
    let ef = ef.max(1);
    let kept = |n: u32| keep.is_none_or(|k| k(n as usize));
    VISITED.with(|cell| {
        let (stamps, stamp) = &mut *cell.borrow_mut();
        if stamps.len() < nodes {
            stamps.resize(nodes, 0);
        }
        *stamp = stamp.wrapping_add(1);
        if *stamp == 0 {
            stamps.fill(0);
            *stamp = 1;
        }
        let stamp = *stamp;
        let mut buf = Vec::with_capacity(64);
        let mut candidates: BinaryHeap<Reverse<Near>> = BinaryHeap::with_capacity(ef * 4);
        let mut results: BinaryHeap<Near> = BinaryHeap::with_capacity(ef + 1);
        for &entry in entries {
            if stamps[entry.1 as usize] == stamp {
                continue;
            }
            stamps[entry.1 as usize] = stamp;
            candidates.push(Reverse(entry));
            if kept(entry.1) {
                results.push(entry);
                if results.len() > ef {
                    results.pop();
                }
            }
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
            neighbours(node, &mut buf);
            // Start fetching the unvisited neighbours' vectors before the
            // first distance needs one (hnswlib does the same): at 200k
            // vectors they are far out of cache.
            for &n in &buf {
                if stamps[n as usize] != stamp {
                    prefetch(n);
                }
            }
            for &n in &buf {
                let seen = &mut stamps[n as usize];
                if *seen == stamp {
                    continue;
                }
                *seen = stamp;
                let nd = distance(n);
                if results.len() < ef || nd < bound {
                    candidates.push(Reverse(Near(nd, n)));
                    if kept(n) {
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
        results
    })
}

/// hnswlib's neighbour heuristic: from `scored` (distance to the base node,
/// closest first) keep a candidate only when it is closer to the base than
/// to every candidate kept before it, up to `max`; the kept edges point in
/// different directions, which keeps clusters linked. With `fill`, the
/// closest of the pruned ones top the list up to `max`.
pub(crate) fn select_diverse(
    scored: &[Near],
    max: usize,
    fill: bool,
    between: impl Fn(u32, u32) -> f32,
) -> Vec<u32> {
    let mut kept: Vec<u32> = Vec::with_capacity(max);
    let mut pruned: Vec<u32> = Vec::new();
    for &Near(d, c) in scored {
        if kept.len() >= max {
            break;
        }
        if kept.iter().all(|&s| between(c, s) >= d) {
            kept.push(c);
        } else if fill {
            pruned.push(c);
        }
    }
    for c in pruned {
        if kept.len() >= max {
            break;
        }
        kept.push(c);
    }
    kept
}

/// Asks the CPU to start loading the first cache lines of a vector.
#[inline(always)]
pub(crate) fn prefetch(p: *const u8) {
    prefetch_lines(p, 2);
}

/// Asks the CPU to start loading `lines` cache lines from `p`: a whole int8
/// code (8 lines at 512 dimensions) is cheap to fetch in full, where a
/// 2 KiB f32 row is left to the hardware prefetcher after its first lines.
#[inline(always)]
pub(crate) fn prefetch_lines(p: *const u8, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    for line in 0..lines {
        // SAFETY: prefetching is a hint; it never faults, even on a bad address.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch(p.wrapping_add(line * 64) as *const i8, _MM_HINT_T0);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, lines);
}
