//! One HNSW graph over the records of one segment's vector space: built by
//! concurrent insertion while its segment grows ([`super::growing`]), then
//! served from our sealed file format once the segment is full
//! ([`super::sealed`]). hnsw_rs reads the graphs that earlier versions
//! sealed as hnsw_rs dumps (converted to the sealed form when opened), and
//! still writes such dumps for the tests of that path.

use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};

use hnsw_rs::prelude::{AnnT, Distance, Hnsw, HnswIo, ReloadOptions};
use parking_lot::RwLock;

use super::distance::{CosineDistance, DotDistance, L2Distance};
use super::dump_check;
use super::growing::GrowingGraph;
use super::sealed::{self, Adjacency, Expected, Quantization, SealedGraph, VectorRows};
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

/// A segment's graph for one vector space: built while its segment grows,
/// then sealed into our own file and searched from its memory map (see
/// [`super::sealed`]); the growing structures are dropped then.
pub struct Graph {
    metric: Metric,
    state: RwLock<State>,
}

enum State {
    Growing(GrowingGraph),
    /// Built or reloaded by hnsw_rs: dumps sealed by earlier versions.
    HnswRs(Inner),
    Sealed(SealedGraph),
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("points", &self.len())
            .finish()
    }
}

/// Collects the adjacency of an hnsw_rs graph (data ids below `nodes`).
fn adjacency_of<D: Distance<f32> + Send + Sync>(
    hnsw: &Hnsw<'static, f32, D>,
    nodes: usize,
) -> Option<Adjacency> {
    let index = hnsw.get_point_indexation();
    let top = index.get_max_level_observed() as usize;
    let entry = index.get_layer_iterator(top).next()?.get_origin_id() as u32;
    let mut base = vec![Vec::new(); nodes];
    let mut upper: Vec<Vec<(u32, Vec<u32>)>> = vec![Vec::new(); top];
    let mut inserted = vec![false; nodes];
    let mut points = 0;
    for layer in 0..=top {
        for p in index.get_layer_iterator(layer) {
            let id = p.get_origin_id();
            inserted[id] = true;
            points += 1;
            for (l, neighbours) in p.get_neighborhood_id().into_iter().enumerate() {
                if l > layer {
                    break;
                }
                let ids: Vec<u32> = neighbours.iter().map(|n| n.d_id as u32).collect();
                if l == 0 {
                    base[id] = ids;
                } else {
                    upper[l - 1].push((id as u32, ids));
                }
            }
        }
    }
    for layer in &mut upper {
        layer.sort_unstable_by_key(|(n, _)| *n);
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

/// A growing or hnsw_rs graph's edges (node ids below `nodes`) and its
/// layer-0 degree bound; None when empty or sealed.
fn adjacency(state: &State, nodes: usize) -> Option<(Adjacency, usize)> {
    match state {
        State::Growing(g) => Some((g.adjacency(nodes)?, g.max_degree())),
        State::HnswRs(inner) => Some((
            with_hnsw!(inner, h => adjacency_of(h, nodes))?,
            2 * with_hnsw!(inner, h => h.get_max_nb_connection()) as usize,
        )),
        State::Sealed(_) => None,
    }
}

impl Graph {
    /// An empty graph for `capacity` points (node ids below it) of
    /// dimension `dim`.
    pub fn new(metric: Metric, params: GraphParams, dim: usize, capacity: usize) -> Graph {
        Graph {
            metric,
            state: RwLock::new(State::Growing(GrowingGraph::new(
                metric, params, dim, capacity,
            ))),
        }
    }

    /// An empty graph built by hnsw_rs, as earlier versions built every
    /// graph: only to write hnsw_rs dumps ([`Graph::dump_hnsw_rs`]) for
    /// testing how such segments are read.
    pub fn new_hnsw_rs(metric: Metric, params: GraphParams, capacity: usize) -> Graph {
        let inner = match metric {
            Metric::Cosine => Inner::Cosine(new_typed(params, capacity)),
            Metric::Dot => Inner::Dot(new_typed(params, capacity)),
            Metric::L2 => Inner::L2(new_typed(params, capacity)),
        };
        Graph {
            metric,
            state: RwLock::new(State::HnswRs(inner)),
        }
    }

    /// Reloads a graph dumped by hnsw_rs (how sealed segments were stored
    /// before our own format) under `dir/basename.*`: vectors of dimension
    /// `dim`, data ids (record numbers) below `id_bound`. Files that do not
    /// have exactly that structure are refused before hnsw_rs reads them.
    /// Call [`Graph::seal_in_memory`] to search it with our loop.
    pub fn load_hnsw_rs_dump(
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
            metric,
            state: RwLock::new(State::HnswRs(inner)),
        })
    }

    /// Opens a sealed graph file written by [`Graph::write_sealed`]: node
    /// ids below `id_bound`, vectors read from `rows`.
    pub fn open_sealed(
        metric: Metric,
        path: &Path,
        rows: VectorRows,
        id_bound: usize,
    ) -> Result<Graph, IndexError> {
        let dim = rows.dim();
        let sealed = SealedGraph::open(
            path,
            metric,
            rows,
            Expected {
                dim,
                nodes: id_bound,
            },
        )
        .map_err(|reason| IndexError::Load {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(Graph {
            metric,
            state: RwLock::new(State::Sealed(sealed)),
        })
    }

    /// The files an hnsw_rs dump under `basename` consists of.
    pub fn dump_files(dir: &Path, basename: &str) -> [PathBuf; 2] {
        [
            dir.join(format!("{basename}.hnsw.graph")),
            dir.join(format!("{basename}.hnsw.data")),
        ]
    }

    /// Number of points inserted.
    pub fn len(&self) -> usize {
        match &*self.state.read() {
            State::Growing(g) => g.len(),
            State::HnswRs(inner) => with_hnsw!(inner, h => h.get_nb_point()),
            State::Sealed(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once the graph is searched from its sealed form.
    pub fn is_sealed(&self) -> bool {
        matches!(&*self.state.read(), State::Sealed(_))
    }

    /// How a sealed graph's walk reads vectors (None while growing).
    pub fn quantization(&self) -> Option<Quantization> {
        match &*self.state.read() {
            State::Growing(_) | State::HnswRs(_) => None,
            State::Sealed(s) => Some(s.quantization()),
        }
    }

    /// Bytes of the sealed graph's mapped file (0 while growing).
    pub fn sealed_file_bytes(&self) -> usize {
        match &*self.state.read() {
            State::Growing(_) | State::HnswRs(_) => 0,
            State::Sealed(s) => s.file_bytes(),
        }
    }

    /// Inserts points (vector, record number); in parallel when there are
    /// several. A sealed graph takes no more points.
    pub fn insert(&self, items: &[(&[f32], usize)]) {
        let state = self.state.read();
        let inner = match &*state {
            State::Growing(g) => return g.insert(items),
            State::HnswRs(inner) => inner,
            State::Sealed(_) => {
                debug_assert!(false, "insert into a sealed graph");
                return;
            }
        };
        match items {
            [] => {}
            [one] => with_hnsw!(inner, h => h.insert_slice(*one)),
            _ => {
                let items = items.to_vec();
                with_hnsw!(inner, h => h.parallel_insert_slice(&items))
            }
        }
    }

    /// Writes the graph in its sealed form to `path` (and fsyncs it): its
    /// adjacency, node ids below `rows.len()`, plus int8 codes of `rows`
    /// when quantized. The graph itself is unchanged; see
    /// [`Graph::switch_to`]. Returns false (writing nothing) when empty.
    pub fn write_sealed(
        &self,
        path: &Path,
        rows: &VectorRows,
        quantization: Quantization,
    ) -> Result<bool, IndexError> {
        self.write_sealed_with(path, rows, quantization, true)
    }

    /// [`Graph::write_sealed`], optionally without re-selecting layer 0's
    /// edges (benchmarks compare the two on one build).
    pub fn write_sealed_with(
        &self,
        path: &Path,
        rows: &VectorRows,
        quantization: Quantization,
        refine: bool,
    ) -> Result<bool, IndexError> {
        let err = |reason: String| IndexError::Dump {
            path: path.to_path_buf(),
            reason,
        };
        fail::fail_point!("graph-dump", |arg| Err(err(format!(
            "injected fault: {}",
            arg.unwrap_or_default()
        ))));
        let bytes = {
            let state = self.state.read();
            if let State::Sealed(_) = &*state {
                return Err(err("the graph is already sealed".into()));
            }
            match self.sealed_bytes(&state, rows, quantization, refine) {
                Some(bytes) => bytes,
                None => return Ok(false),
            }
        };
        sealed::write_file(path, &bytes).map_err(|e| err(e.to_string()))?;
        Ok(true)
    }

    /// The sealed file's bytes for a growing or hnsw_rs graph's adjacency
    /// (layer 0 re-selected when `refine`); None for an empty graph.
    fn sealed_bytes(
        &self,
        state: &State,
        rows: &VectorRows,
        quantization: Quantization,
        refine: bool,
    ) -> Option<Vec<u8>> {
        let (mut adj, max_degree) = adjacency(state, rows.len())?;
        if refine {
            sealed::refine_base_layer(&mut adj, rows, self.metric, max_degree);
        }
        Some(sealed::encode(&adj, rows, quantization))
    }

    /// Turns a growing (or hnsw_rs-reloaded) graph into a sealed one held in
    /// anonymous memory, for segments whose sealed form is an hnsw_rs dump.
    pub fn seal_in_memory(
        &self,
        rows: VectorRows,
        quantization: Quantization,
    ) -> Result<(), IndexError> {
        let err = |reason: String| IndexError::Load {
            path: PathBuf::from("(in memory)"),
            reason,
        };
        let sealed = {
            let state = self.state.read();
            if let State::Sealed(_) = &*state {
                return Ok(());
            }
            let Some(bytes) = self.sealed_bytes(&state, &rows, quantization, true) else {
                return Ok(());
            };
            let dim = rows.dim();
            let nodes = rows.len();
            SealedGraph::from_bytes(&bytes, self.metric, rows, Expected { dim, nodes })
                .map_err(err)?
        };
        self.replace_state(State::Sealed(sealed));
        Ok(())
    }

    /// Replaces this graph's contents with `other`'s sealed form (the same
    /// points, now read from the sealed file); the growing structures go.
    pub fn switch_to(&self, other: Graph) {
        let state = other.state.into_inner();
        debug_assert!(matches!(state, State::Sealed(_)));
        self.replace_state(state);
    }

    fn replace_state(&self, new: State) {
        let old = std::mem::replace(&mut *self.state.write(), new);
        // Dropped only after the lock is released: hnsw_rs frees its
        // points on rayon's pool, whose threads may be searches waiting for
        // this very lock (a deadlock, found by the soak test).
        drop(old);
    }

    /// Up to `k` records accepted by `keep`, closest first (by the walk's
    /// distance: approximate on a quantized sealed graph, so callers rescore).
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: &(dyn Fn(usize) -> bool + Sync),
    ) -> Vec<usize> {
        let state = self.state.read();
        let inner = match &*state {
            State::Sealed(s) => return s.search(query, k, ef, keep),
            State::Growing(g) => return g.search(query, k, ef, keep),
            State::HnswRs(inner) => inner,
        };
        if with_hnsw!(inner, h => h.get_nb_point()) == 0 {
            return Vec::new();
        }
        // hnsw_rs stops a walk early only without a filter. Most nodes pass
        // ours (it drops tombstones, uncommitted records and payload
        // mismatches), so walk unfiltered, keep the whole candidate list and
        // filter it; only when too few pass, walk again with the filter.
        let ef = ef.max(k);
        let found = with_hnsw!(inner, h => h.search_filter(query, ef, ef, None));
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
        let found = with_hnsw!(inner, h => h.search_filter(query, k, ef.max(k), Some(&filter)));
        found.into_iter().map(|n| n.d_id).collect()
    }

    /// Dumps the graph in hnsw_rs's format to `dir/basename.hnsw.{graph,data}`
    /// and fsyncs both files (tests and tools: sealed segments are stored
    /// with [`Graph::write_sealed`]).
    pub fn dump_hnsw_rs(&self, dir: &Path, basename: &str) -> Result<[PathBuf; 2], IndexError> {
        let err = |reason: String| IndexError::Dump {
            path: dir.join(basename),
            reason,
        };
        let state = self.state.read();
        let State::HnswRs(inner) = &*state else {
            return Err(err(
                "only a graph built by hnsw_rs has an hnsw_rs form".into()
            ));
        };
        // hnsw_rs panics when it cannot create the files (a missing
        // directory, no file descriptors left): make that an error.
        if !dir.is_dir() {
            return Err(err("the directory does not exist".into()));
        }
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            || with_hnsw!(inner, h => h.file_dump(dir, basename)),
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
    use crate::index::test_vectors::unit;

    fn build(metric: Metric, n: usize, dim: usize, seed: u64) -> (Graph, Vec<Vec<f32>>) {
        build_with(metric, n, dim, seed, false)
    }

    /// `n` unit vectors inserted into a graph built by us, or by hnsw_rs
    /// (`hnsw_rs`) as earlier versions did.
    fn build_with(
        metric: Metric,
        n: usize,
        dim: usize,
        seed: u64,
        hnsw_rs: bool,
    ) -> (Graph, Vec<Vec<f32>>) {
        let params = GraphParams {
            m: 16,
            ef_construction: 100,
        };
        let g = if hnsw_rs {
            Graph::new_hnsw_rs(metric, params, n)
        } else {
            Graph::new(metric, params, dim, n)
        };
        let data: Vec<Vec<f32>> = (0..n as u64).map(|i| unit(i + seed, dim)).collect();
        let items: Vec<(&[f32], usize)> = data
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_slice(), i))
            .collect();
        g.insert(&items);
        (g, data)
    }

    fn rows(data: &[Vec<f32>]) -> VectorRows {
        VectorRows::from_vec(data.concat(), data[0].len())
    }

    #[test]
    fn hnsw_rs_dump_reloads_and_seals_in_memory() {
        let (g, data) = build_with(Metric::Cosine, 500, 32, 0, true);
        assert_eq!(g.len(), 500);
        let hits = g.search(&data[42], 5, 64, &|_| true);
        assert_eq!(hits[0], 42);
        let hits = g.search(&data[42], 5, 64, &|id| id != 42);
        assert!(!hits.contains(&42));

        let dir = tempfile::tempdir().unwrap();
        g.dump_hnsw_rs(dir.path(), "graph-0").unwrap();
        let loaded =
            Graph::load_hnsw_rs_dump(Metric::Cosine, dir.path(), "graph-0", 32, 500).unwrap();
        assert_eq!(loaded.len(), 500);
        assert_eq!(loaded.search(&data[7], 1, 64, &|_| true), vec![7]);
        loaded
            .seal_in_memory(rows(&data), Quantization::None)
            .unwrap();
        assert!(loaded.is_sealed());
        assert_eq!(loaded.len(), 500);
        assert_eq!(loaded.search(&data[7], 1, 64, &|_| true), vec![7]);
        assert!(
            Graph::load_hnsw_rs_dump(Metric::L2, dir.path(), "graph-0", 32, 500).is_err(),
            "distance mismatch is refused"
        );
    }

    /// Sealed graphs (f32 and int8 walks, every metric) find what an exact
    /// scan finds once their candidates are rescored, honour the filter,
    /// and reopen from their file with the same answers.
    #[test]
    fn sealed_search_matches_exact_and_filters() {
        let n = 2000;
        let queries: Vec<Vec<f32>> = (0..50).map(|i| unit(10_000 + i, 32)).collect();
        for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
            let (g, data) = build(metric, n, 32, 1);
            let exact = |q: &[f32], keep: &dyn Fn(usize) -> bool| -> Vec<usize> {
                let mut all: Vec<(f32, usize)> = (0..n)
                    .filter(|&i| keep(i))
                    .map(|i| (metric.score(q, &data[i]), i))
                    .collect();
                all.sort_by(|a, b| metric.cmp_scores(a.0, b.0));
                all.into_iter().take(10).map(|x| x.1).collect()
            };
            let recall = |g: &Graph, keep: &(dyn Fn(usize) -> bool + Sync)| -> f64 {
                let mut hit = 0;
                for q in &queries {
                    let found = g.search(q, 64, 64, keep);
                    assert!(found.iter().all(|&i| keep(i)), "filter honoured");
                    let mut rescored: Vec<(f32, usize)> = found
                        .iter()
                        .map(|&i| (metric.score(q, &data[i]), i))
                        .collect();
                    rescored.sort_by(|a, b| metric.cmp_scores(a.0, b.0));
                    let truth = exact(q, keep);
                    hit += rescored
                        .iter()
                        .take(10)
                        .filter(|(_, i)| truth.contains(i))
                        .count();
                }
                hit as f64 / (queries.len() * 10) as f64
            };
            let dir = tempfile::tempdir().unwrap();
            for q in [Quantization::None, Quantization::Int8] {
                let path = dir.path().join(format!("g-{q:?}.idx"));
                assert!(g.write_sealed(&path, &rows(&data), q).unwrap());
                let sealed = Graph::open_sealed(metric, &path, rows(&data), n).unwrap();
                assert_eq!(sealed.len(), n);
                assert_eq!(sealed.quantization(), Some(q));
                let all = recall(&sealed, &|_| true);
                assert!(all >= 0.95, "{metric:?} {q:?}: recall {all}");
                let even = |i: usize| i % 2 == 0;
                let filtered = recall(&sealed, &even);
                assert!(
                    filtered >= 0.95,
                    "{metric:?} {q:?}: filtered recall {filtered}"
                );
                assert!(sealed.search(&data[42], 64, 64, &|_| true).contains(&42));
            }
            // The growing graph it came from takes the sealed form in place.
            let path = dir.path().join("g-None.idx");
            g.switch_to(Graph::open_sealed(metric, &path, rows(&data), n).unwrap());
            assert!(g.is_sealed());
            assert!(g.search(&data[42], 10, 64, &|_| true).contains(&42));
        }
    }

    /// Re-selecting layer 0 keeps rows well-formed (at most 2M distinct
    /// neighbours, none the node itself), never moves a node's nearest
    /// neighbour farther away, and leaves no more nodes that nothing links
    /// to than before.
    #[test]
    fn layer_zero_reselection_keeps_rows_well_formed() {
        for hnsw_rs in [false, true] {
            reselection_keeps_rows_well_formed(hnsw_rs);
        }
    }

    fn reselection_keeps_rows_well_formed(hnsw_rs: bool) {
        let (g, data) = build_with(Metric::Cosine, 1500, 16, 3, hnsw_rs);
        let rows = rows(&data);
        let (mut adj, max_degree) = adjacency(&g.state.read(), rows.len()).unwrap();
        let nearest = |u: usize, row: &[u32]| {
            row.iter()
                .copied()
                .max_by(|&a, &b| {
                    let da = crate::index::distance::dot(&data[u], &data[a as usize]);
                    let db = crate::index::distance::dot(&data[u], &data[b as usize]);
                    da.total_cmp(&db)
                })
                .unwrap()
        };
        let before: Vec<u32> = (0..1500).map(|u| nearest(u, &adj.base[u])).collect();
        let unreachable = |adj: &Adjacency| {
            let mut linked = vec![false; 1500];
            adj.base
                .iter()
                .flatten()
                .for_each(|&v| linked[v as usize] = true);
            linked.iter().filter(|l| !**l).count()
        };
        let unreachable_before = unreachable(&adj);
        sealed::refine_base_layer(&mut adj, &rows, Metric::Cosine, max_degree);
        for (u, row) in adj.base.iter().enumerate() {
            assert!(
                !row.is_empty() && row.len() <= max_degree,
                "node {u}: {row:?}"
            );
            assert!(!row.contains(&(u as u32)), "node {u} links to itself");
            let mut sorted = row.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), row.len(), "node {u}: duplicate edges");
            let sim = |v: u32| crate::index::distance::dot(&data[u], &data[v as usize]);
            assert!(
                sim(nearest(u, row)) >= sim(before[u]),
                "node {u}: its nearest neighbour got farther"
            );
        }
        assert!(
            unreachable(&adj) <= unreachable_before,
            "more nodes nothing links to: {} (before {unreachable_before})",
            unreachable(&adj)
        );
    }

    /// A damaged sealed graph file is refused with a reason, never walked.
    #[test]
    fn malformed_sealed_files_are_refused() {
        let (g, data) = build(Metric::Cosine, 300, 16, 2);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.idx");
        g.write_sealed(&path, &rows(&data), Quantization::Int8)
            .unwrap();
        let good = std::fs::read(&path).unwrap();
        let open = |bytes: &[u8], n: usize| {
            std::fs::write(&path, bytes).unwrap();
            Graph::open_sealed(Metric::Cosine, &path, rows(&data), n).map(|g| g.len())
        };
        assert_eq!(open(&good, 300).unwrap(), 300);
        assert!(open(&good, 200).is_err(), "node ids past the segment");
        let section = |i: usize| {
            let at = 64 + i * 16;
            u64::from_le_bytes(good[at..at + 8].try_into().unwrap()) as usize
        };
        let mut edge = good.clone();
        let t = section(1);
        edge[t..t + 4].copy_from_slice(&1_000_000u32.to_le_bytes());
        let mut offsets = good.clone();
        let o = section(0) + 4 * 10;
        offsets[o..o + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut header = good.clone();
        header[12] ^= 1;
        let mut table = good.clone();
        table[64..72].copy_from_slice(&(u64::MAX - 3).to_le_bytes());
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("edge past the nodes", edge, "past the node ids"),
            ("offsets", offsets, "not monotone"),
            ("header bit flip", header, "checksum"),
            ("section table", table, "out of bounds"),
            (
                "truncated",
                good[..good.len() - 100].to_vec(),
                "out of bounds",
            ),
            ("garbage", vec![0xab; 4096], "bad magic"),
            ("empty", Vec::new(), "bad magic"),
        ];
        for (what, bytes, reason) in cases {
            let err = open(&bytes, 300).expect_err(what).to_string();
            assert!(
                err.contains(reason) && err.contains("cannot load graph"),
                "{what}: {err}"
            );
        }
        let other_dim = VectorRows::from_vec(vec![0.0; 300 * 8], 8);
        std::fs::write(&path, &good).unwrap();
        let err = Graph::open_sealed(Metric::Cosine, &path, other_dim, 300)
            .unwrap_err()
            .to_string();
        assert!(err.contains("dimension"), "{err}");
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
        let g = Graph::new_hnsw_rs(Metric::L2, params, 50);
        let data: Vec<Vec<f32>> = (0..50).map(|i| unit(i, 8)).collect();
        let items: Vec<(&[f32], usize)> = data
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_slice(), i))
            .collect();
        g.insert(&items);
        let dir = tempfile::tempdir().unwrap();
        let [graph_path, data_path] = g.dump_hnsw_rs(dir.path(), "g").unwrap();
        let graph = std::fs::read(&graph_path).unwrap();
        let datab = std::fs::read(&data_path).unwrap();
        let load = |dim, bound| Graph::load_hnsw_rs_dump(Metric::L2, dir.path(), "g", dim, bound);
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
        let g = Graph::new_hnsw_rs(Metric::Dot, params, 4);
        g.insert(&[(&[1.0, 0.0][..], 0), (&[0.0, 1.0][..], 1)]);
        let dir = tempfile::tempdir().unwrap();
        let err = g
            .dump_hnsw_rs(&dir.path().join("gone"), "g")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot dump graph"), "{err}");
        let rows = VectorRows::from_vec(vec![1.0, 0.0, 0.0, 1.0], 2);
        let err = g
            .write_sealed(
                &dir.path().join("gone").join("g.idx"),
                &rows,
                Quantization::None,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot dump graph"), "{err}");
    }
}
