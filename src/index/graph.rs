//! One HNSW graph (hnsw_rs) over the records of one segment's vector space.

use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hnsw_rs::prelude::{AnnT, Hnsw, HnswIo, ReloadOptions};

use hnsw_rs::prelude::Distance;

use super::distance::{CosineDistance, DotDistance, L2Distance};
use super::dump_check;
use super::frozen::Frozen;
use super::Metric;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot dump graph to {path}: {reason}")]
    Dump { path: PathBuf, reason: String },
    #[error("cannot load graph {path}: {reason}")]
    Load { path: PathBuf, reason: String },
}

/// Graph construction parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphParams {
    pub m: usize,
    pub ef_construction: usize,
}

/// hnsw_rs caps layers at 16; with m >= 4 the top layers are empty anyway.
const MAX_LAYERS: usize = 16;

/// A graph reloaded from a dump borrows its `HnswIo` (which may own the
/// memory map of the dumped vectors). Both live here and drop in order:
/// graph first, then its loader.
struct Loaded<D: hnsw_rs::prelude::Distance<f32> + Send + Sync + 'static> {
    hnsw: ManuallyDrop<Hnsw<'static, f32, D>>,
    io: *mut HnswIo,
}

impl<D: hnsw_rs::prelude::Distance<f32> + Send + Sync + 'static> Drop for Loaded<D> {
    fn drop(&mut self) {
        // SAFETY: `hnsw` borrows from `*io`; it is dropped first, and `io`
        // came from Box::into_raw in `load_typed` and is freed exactly once.
        unsafe {
            ManuallyDrop::drop(&mut self.hnsw);
            drop(Box::from_raw(self.io));
        }
    }
}

// SAFETY: the HnswIo is only touched again by Drop; Hnsw is Send + Sync.
unsafe impl<D: hnsw_rs::prelude::Distance<f32> + Send + Sync + 'static> Send for Loaded<D> {}
unsafe impl<D: hnsw_rs::prelude::Distance<f32> + Send + Sync + 'static> Sync for Loaded<D> {}

enum Typed<D: hnsw_rs::prelude::Distance<f32> + Send + Sync + 'static> {
    Built(Hnsw<'static, f32, D>),
    Loaded(Loaded<D>),
}

impl<D: hnsw_rs::prelude::Distance<f32> + Send + Sync + Default + 'static> Typed<D> {
    fn hnsw(&self) -> &Hnsw<'static, f32, D> {
        match self {
            Typed::Built(h) => h,
            Typed::Loaded(l) => &l.hnsw,
        }
    }
}

enum Inner {
    Cosine(Typed<CosineDistance>),
    Dot(Typed<DotDistance>),
    L2(Typed<L2Distance>),
}

macro_rules! with_hnsw {
    ($inner:expr, $h:ident => $body:expr) => {
        match $inner {
            Inner::Cosine(t) => {
                let $h = t.hnsw();
                $body
            }
            Inner::Dot(t) => {
                let $h = t.hnsw();
                $body
            }
            Inner::L2(t) => {
                let $h = t.hnsw();
                $body
            }
        }
    };
}

pub struct Graph {
    inner: Inner,
    /// Set once the graph stops changing (its segment is sealed): searched
    /// with our own loop (see [`super::frozen`]).
    frozen: OnceLock<Frozen>,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("points", &self.len())
            .finish()
    }
}

fn new_typed<D: hnsw_rs::prelude::Distance<f32> + Send + Sync + Default + 'static>(
    params: GraphParams,
    capacity: usize,
) -> Typed<D> {
    Typed::Built(Hnsw::new(
        params.m,
        capacity.max(1),
        MAX_LAYERS,
        params.ef_construction,
        D::default(),
    ))
}

fn load_typed<D>(
    dir: &Path,
    basename: &str,
    dim: usize,
    id_bound: usize,
) -> Result<Typed<D>, IndexError>
where
    D: hnsw_rs::prelude::Distance<f32> + Send + Sync + Default + 'static,
{
    // hnsw_rs's loader is not safe on malformed files (huge allocations,
    // process::exit, reads past a short record): check their structure first.
    let type_name = std::any::type_name::<D>();
    let expected = dump_check::Expected {
        dim,
        id_bound,
        distance: type_name.rsplit("::").next().unwrap_or(type_name),
    };
    let [graph_file, data_file] = Graph::dump_files(dir, basename);
    dump_check::check(&graph_file, &data_file, expected).map_err(|reason| IndexError::Load {
        path: dir.join(basename),
        reason,
    })?;
    let io = Box::into_raw(Box::new(HnswIo::new_with_options(
        dir,
        basename,
        // Map the dumped vectors instead of copying them into memory.
        ReloadOptions::default().set_mmap(true),
    )));
    // hnsw_rs asserts on malformed input; callers verify checksums first, and
    // a panic here is still turned into an error rather than a crash.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `io` stays alive until the returned graph is dropped (see `Loaded`).
        unsafe { (*io).load_hnsw::<f32, D>() }
    }));
    match result {
        Ok(Ok(hnsw)) => Ok(Typed::Loaded(Loaded {
            hnsw: ManuallyDrop::new(hnsw),
            io,
        })),
        other => {
            // SAFETY: no graph borrows `io` any more.
            unsafe { drop(Box::from_raw(io)) };
            let reason = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "malformed graph file".to_string(),
            };
            Err(IndexError::Load {
                path: dir.join(basename),
                reason,
            })
        }
    }
}

impl Graph {
    /// An empty graph sized for `capacity` points.
    pub fn new(metric: Metric, params: GraphParams, capacity: usize) -> Graph {
        let inner = match metric {
            Metric::Cosine => Inner::Cosine(new_typed(params, capacity)),
            Metric::Dot => Inner::Dot(new_typed(params, capacity)),
            Metric::L2 => Inner::L2(new_typed(params, capacity)),
        };
        Graph {
            inner,
            frozen: OnceLock::new(),
        }
    }

    /// Reloads a graph dumped with [`Graph::dump`] under `dir/basename.*`:
    /// vectors of dimension `dim`, data ids (record numbers) below `id_bound`.
    /// Files that do not have exactly that structure are refused before
    /// hnsw_rs reads them.
    pub fn load(
        metric: Metric,
        dir: &Path,
        basename: &str,
        dim: usize,
        id_bound: usize,
    ) -> Result<Graph, IndexError> {
        let inner = match metric {
            Metric::Cosine => Inner::Cosine(load_typed(dir, basename, dim, id_bound)?),
            Metric::Dot => Inner::Dot(load_typed(dir, basename, dim, id_bound)?),
            Metric::L2 => Inner::L2(load_typed(dir, basename, dim, id_bound)?),
        };
        Ok(Graph {
            inner,
            frozen: OnceLock::new(),
        })
    }

    /// The files a dump under `basename` consists of.
    pub fn dump_files(dir: &Path, basename: &str) -> [PathBuf; 2] {
        [
            dir.join(format!("{basename}.hnsw.graph")),
            dir.join(format!("{basename}.hnsw.data")),
        ]
    }

    /// Number of points inserted.
    pub fn len(&self) -> usize {
        with_hnsw!(&self.inner, h => h.get_nb_point())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts points (vector, record number); in parallel when there are several.
    pub fn insert(&self, items: &[(&[f32], usize)]) {
        match items {
            [] => {}
            [one] => with_hnsw!(&self.inner, h => h.insert_slice(*one)),
            _ => {
                let items = items.to_vec();
                with_hnsw!(&self.inner, h => h.parallel_insert_slice(&items))
            }
        }
    }

    /// Declares the graph final (no more inserts) and switches its searches
    /// to our own loop over a flat copy of its adjacency. Idempotent.
    pub fn freeze(&self) {
        if self.frozen.get().is_some() {
            return;
        }
        if let Some(f) = with_hnsw!(&self.inner, h => Frozen::build(h)) {
            let _ = self.frozen.set(f);
        }
    }

    /// Memory held by the frozen adjacency copy (0 if not frozen).
    pub fn frozen_bytes(&self) -> usize {
        self.frozen.get().map_or(0, |f| f.heap_bytes())
    }

    /// Up to `k` records accepted by `keep`, closest first.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: &(dyn Fn(usize) -> bool + Sync),
    ) -> Vec<usize> {
        if let Some(f) = self.frozen.get() {
            return match &self.inner {
                Inner::Cosine(_) => f.search(query, k, ef, |a, b| CosineDistance.eval(a, b), keep),
                Inner::Dot(_) => f.search(query, k, ef, |a, b| DotDistance.eval(a, b), keep),
                Inner::L2(_) => f.search(query, k, ef, |a, b| L2Distance.eval(a, b), keep),
            };
        }
        if self.is_empty() {
            return Vec::new();
        }
        // hnsw_rs stops a walk early only without a filter. Most nodes pass
        // ours (it drops tombstones, uncommitted records and payload
        // mismatches), so walk unfiltered, keep the whole candidate list and
        // filter it; only when too few pass, walk again with the filter.
        let ef = ef.max(k);
        let found = with_hnsw!(&self.inner, h => h.search_filter(query, ef, ef, None));
        let total = found.len();
        let kept: Vec<usize> = found
            .into_iter()
            .map(|n| n.d_id)
            .filter(|&id| keep(id))
            .take(k)
            .collect();
        if kept.len() == k || kept.len() == total {
            return kept;
        }
        let filter = |id: &usize| keep(*id);
        let found =
            with_hnsw!(&self.inner, h => h.search_filter(query, k, ef.max(k), Some(&filter)));
        found.into_iter().map(|n| n.d_id).collect()
    }

    /// Dumps the graph to `dir/basename.hnsw.{graph,data}` and fsyncs both files.
    pub fn dump(&self, dir: &Path, basename: &str) -> Result<[PathBuf; 2], IndexError> {
        let err = |reason: String| IndexError::Dump {
            path: dir.join(basename),
            reason,
        };
        fail::fail_point!("graph-dump", |arg| Err(err(format!(
            "injected fault: {}",
            arg.unwrap_or_default()
        ))));
        // hnsw_rs panics when it cannot create the files (a missing
        // directory, no file descriptors left): make that an error.
        if !dir.is_dir() {
            return Err(err("the directory does not exist".into()));
        }
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            || with_hnsw!(&self.inner, h => h.file_dump(dir, basename)),
        ))
        .map_err(|_| err("hnsw_rs panicked (cannot create the dump files?)".into()))?
        .map_err(|e| err(e.to_string()))?;
        if written != basename {
            return Err(err(format!("hnsw_rs chose another file name: {written}")));
        }
        let files = Self::dump_files(dir, basename);
        for f in &files {
            std::fs::File::open(f)
                .and_then(|f| f.sync_all())
                .map_err(|e| err(format!("{}: {e}", f.display())))?;
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u64, dim: usize) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        let v: Vec<f32> = (0..dim)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 2000) as f32 / 1000.0 - 1.0
            })
            .collect();
        let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        v.into_iter().map(|a| a / n).collect()
    }

    #[test]
    fn build_search_dump_reload() {
        let params = GraphParams {
            m: 16,
            ef_construction: 100,
        };
        let g = Graph::new(Metric::Cosine, params, 500);
        let data: Vec<Vec<f32>> = (0..500).map(|i| unit(i, 32)).collect();
        let items: Vec<(&[f32], usize)> = data
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_slice(), i))
            .collect();
        g.insert(&items);
        assert_eq!(g.len(), 500);
        let hits = g.search(&data[42], 5, 64, &|_| true);
        assert_eq!(hits[0], 42);
        let hits = g.search(&data[42], 5, 64, &|id| id != 42);
        assert!(!hits.contains(&42));

        let dir = tempfile::tempdir().unwrap();
        g.dump(dir.path(), "graph-0").unwrap();
        let loaded = Graph::load(Metric::Cosine, dir.path(), "graph-0", 32, 500).unwrap();
        assert_eq!(loaded.len(), 500);
        assert_eq!(loaded.search(&data[7], 1, 64, &|_| true), vec![7]);
        assert!(
            Graph::load(Metric::L2, dir.path(), "graph-0", 32, 500).is_err(),
            "distance mismatch is refused"
        );
    }

    /// Our loop over a frozen graph finds what an exact scan finds (high
    /// recall), honours the filter, and agrees with hnsw_rs's own search.
    #[test]
    fn frozen_search_matches_exact_and_filters() {
        let params = GraphParams {
            m: 16,
            ef_construction: 100,
        };
        let n = 2000;
        let data: Vec<Vec<f32>> = (0..n).map(|i| unit(i as u64 + 1, 32)).collect();
        let items: Vec<(&[f32], usize)> = data
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_slice(), i))
            .collect();
        let g = Graph::new(Metric::Cosine, params, n);
        g.insert(&items);
        let queries: Vec<Vec<f32>> = (0..50).map(|i| unit(10_000 + i, 32)).collect();
        let exact = |q: &[f32], keep: &dyn Fn(usize) -> bool| -> Vec<usize> {
            let mut all: Vec<(f32, usize)> = (0..n)
                .filter(|&i| keep(i))
                .map(|i| (1.0 - crate::index::distance::dot(q, &data[i]), i))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0));
            all.into_iter().take(10).map(|x| x.1).collect()
        };
        let recall = |g: &Graph, keep: &(dyn Fn(usize) -> bool + Sync)| -> f64 {
            let mut hit = 0;
            for q in &queries {
                let found = g.search(q, 10, 64, keep);
                assert!(found.iter().all(|&i| keep(i)), "filter honoured");
                let truth = exact(q, keep);
                hit += found.iter().filter(|i| truth.contains(i)).count();
            }
            hit as f64 / (queries.len() * 10) as f64
        };
        let unfrozen = recall(&g, &|_| true);
        g.freeze();
        assert!(g.frozen_bytes() > 0);
        let frozen = recall(&g, &|_| true);
        assert!(
            frozen >= 0.95,
            "frozen recall {frozen} (hnsw_rs: {unfrozen})"
        );
        let even = |i: usize| i % 2 == 0;
        let filtered = recall(&g, &even);
        assert!(filtered >= 0.95, "filtered recall {filtered}");
        assert_eq!(g.search(&data[42], 1, 64, &|_| true), vec![42]);
    }

    /// Dumps that carry a valid checksum but are malformed must come back as
    /// errors: hnsw_rs's loader would allocate what a count says (found by
    /// fuzz/open_files: a neighbour count of 0xdd82dce0000000 aborted the
    /// process), exit, or read past a short record.
    #[test]
    fn malformed_dumps_are_refused_before_hnsw_rs() {
        let params = GraphParams {
            m: 8,
            ef_construction: 32,
        };
        let g = Graph::new(Metric::L2, params, 50);
        let data: Vec<Vec<f32>> = (0..50).map(|i| unit(i, 8)).collect();
        let items: Vec<(&[f32], usize)> = data
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_slice(), i))
            .collect();
        g.insert(&items);
        let dir = tempfile::tempdir().unwrap();
        let [graph_path, data_path] = g.dump(dir.path(), "g").unwrap();
        let graph = std::fs::read(&graph_path).unwrap();
        let datab = std::fs::read(&data_path).unwrap();
        let load = |dim, bound| Graph::load(Metric::L2, dir.path(), "g", dim, bound);
        assert_eq!(load(8, 50).unwrap().len(), 50);
        assert!(load(4, 50).is_err(), "dimension mismatch");
        assert!(load(8, 10).is_err(), "data ids past the segment");

        // Offsets in the graph file (description format 4): the distance
        // name's length is at 39, then the name, the type name ("f32"), the
        // number of layers, the first layer's magic and point count, the
        // first point's magic, id, layer, rank and first neighbour count.
        let name_len = u64::from_ne_bytes(graph[39..47].try_into().unwrap()) as usize;
        let after = 39 + 8 + name_len + 8 + 3;
        let layer0_count = after + 5;
        let first_neighbours = after + 30;
        let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
            (
                "neighbour count",
                {
                    let mut b = graph.clone();
                    b[first_neighbours..first_neighbours + 8]
                        .copy_from_slice(&0x00dd_82dc_e000_0000u64.to_ne_bytes());
                    b
                },
                datab.clone(),
            ),
            (
                "layer point count",
                {
                    let mut b = graph.clone();
                    b[layer0_count..layer0_count + 8]
                        .copy_from_slice(&(u64::MAX / 2).to_ne_bytes());
                    b
                },
                datab.clone(),
            ),
            (
                "format 2 (hnsw_rs exits on it)",
                {
                    let mut b = graph.clone();
                    b[0..4].copy_from_slice(&0x002a_677fu32.to_ne_bytes());
                    b
                },
                datab.clone(),
            ),
            ("garbage graph", vec![0xab; 1000], datab.clone()),
            (
                "truncated graph",
                graph[..graph.len() - 1].to_vec(),
                datab.clone(),
            ),
            (
                "truncated data",
                graph.clone(),
                datab[..datab.len() - 1].to_vec(),
            ),
            ("short vector record", graph.clone(), {
                let mut b = datab.clone();
                b[24..32].copy_from_slice(&4u64.to_ne_bytes());
                b
            }),
            ("empty files", Vec::new(), Vec::new()),
        ];
        for (what, gbytes, dbytes) in cases {
            std::fs::write(&graph_path, &gbytes).unwrap();
            std::fs::write(&data_path, &dbytes).unwrap();
            let err = load(8, 50).expect_err(what).to_string();
            assert!(err.contains("cannot load graph"), "{what}: {err}");
        }
        std::fs::write(&graph_path, &graph).unwrap();
        std::fs::write(&data_path, &datab).unwrap();
        assert_eq!(
            load(8, 50).unwrap().len(),
            50,
            "the intact dump still loads"
        );
    }

    /// hnsw_rs panics when it cannot create its files; dump must return an error.
    #[test]
    fn dump_into_a_missing_directory_is_an_error() {
        let params = GraphParams {
            m: 8,
            ef_construction: 32,
        };
        let g = Graph::new(Metric::Dot, params, 4);
        g.insert(&[(&[1.0, 0.0][..], 0), (&[0.0, 1.0][..], 1)]);
        let dir = tempfile::tempdir().unwrap();
        let err = g
            .dump(&dir.path().join("gone"), "g")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot dump graph"), "{err}");
    }
}
