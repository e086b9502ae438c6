//! One HNSW graph over the records of one segment's vector space: built by
//! concurrent insertion while its segment grows ([`super::growing`]), then
//! served from our sealed file format once the segment is full
//! ([`super::sealed`]).

use std::path::{Path, PathBuf};

use parking_lot::RwLock;

use super::growing::GrowingGraph;
use super::sealed::{self, Expected, Quantization, SealedGraph, VectorRows};
use super::Metric;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot write graph {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("cannot load graph {path}: {reason}")]
    Load { path: PathBuf, reason: String },
}

/// Base nodes linked per sampled query when sealing with a query sample
/// (recall@10 is what the queries need; a few more reach past it).
const PROJECTED_NEIGHBOURS: usize = 16;
/// The beam that finds them, on the growing graph.
const PROJECTION_EF: usize = 64;

/// Graph construction parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphParams {
    pub m: usize,
    pub ef_construction: usize,
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
    Sealed(SealedGraph),
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("points", &self.len())
            .finish()
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

    /// A growing graph restored from a checkpoint file written by
    /// [`Graph::write_checkpoint`], each node's vector read through `row`
    /// (the segment's vector file). Records written after the checkpoint are
    /// not in it: the caller inserts them ([`Graph::contains`] tells which).
    pub fn open_checkpoint<'a>(
        metric: Metric,
        params: GraphParams,
        dim: usize,
        capacity: usize,
        path: &Path,
        row: impl Fn(u32) -> &'a [f32],
    ) -> Result<Graph, IndexError> {
        let err = |reason: String| IndexError::Load {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let g = GrowingGraph::from_checkpoint(metric, params, dim, capacity, &bytes, row)
            .map_err(err)?;
        Ok(Graph {
            metric,
            state: RwLock::new(State::Growing(g)),
        })
    }

    /// Writes a growing graph's checkpoint to `path`: written to a temporary
    /// file, fsynced, then renamed over `path`, so `path` always holds a
    /// whole checkpoint (the caller fsyncs the directory). Inserts wait only
    /// while the edges are copied. Returns the points written; None (nothing
    /// written) once sealed.
    pub fn write_checkpoint(&self, path: &Path) -> Result<Option<usize>, IndexError> {
        let err = |reason: String| IndexError::Write {
            path: path.to_path_buf(),
            reason,
        };
        fail::fail_point!("graph-checkpoint", |arg| Err(err(format!(
            "injected fault: {}",
            arg.unwrap_or_default()
        ))));
        let (bytes, points) = {
            let state = self.state.read();
            let State::Growing(g) = &*state else {
                return Ok(None);
            };
            g.checkpoint()
        };
        let tmp = path.with_extension("ckpt.tmp");
        sealed::write_file(&tmp, &bytes).map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))?;
        Ok(Some(points))
    }

    /// Whether record `node` is in the graph (growing graphs; a sealed
    /// graph says false: nothing is inserted into it).
    pub fn contains(&self, node: usize) -> bool {
        match &*self.state.read() {
            State::Growing(g) => g.contains(node),
            State::Sealed(_) => false,
        }
    }

    /// One past the highest record in a growing graph (0 when empty or sealed).
    pub fn node_bound(&self) -> usize {
        match &*self.state.read() {
            State::Growing(g) => g.node_bound(),
            State::Sealed(_) => 0,
        }
    }

    /// Number of points inserted.
    pub fn len(&self) -> usize {
        match &*self.state.read() {
            State::Growing(g) => g.len(),
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
            State::Growing(_) => None,
            State::Sealed(s) => Some(s.quantization()),
        }
    }

    /// Bytes of the sealed graph's mapped file (0 while growing).
    pub fn sealed_file_bytes(&self) -> usize {
        match &*self.state.read() {
            State::Growing(_) => 0,
            State::Sealed(s) => s.file_bytes(),
        }
    }

    /// Inserts points (vector, record number); in parallel when there are
    /// several. A sealed graph takes no more points.
    pub fn insert(&self, items: &[(&[f32], usize)]) {
        match &*self.state.read() {
            State::Growing(g) => g.insert(items),
            State::Sealed(_) => debug_assert!(false, "insert into a sealed graph"),
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
        self.write_sealed_guided(path, rows, quantization, refine, None)
    }

    /// [`Graph::write_sealed_with`], with layer 0 also given edges toward
    /// where `queries` land (a sample of queries of another modality, e.g.
    /// a CLIP collection's caption vectors for its image graph; see
    /// `sealed::project_queries`). Only with `refine`.
    pub fn write_sealed_guided(
        &self,
        path: &Path,
        rows: &VectorRows,
        quantization: Quantization,
        refine: bool,
        queries: Option<&VectorRows>,
    ) -> Result<bool, IndexError> {
        let err = |reason: String| IndexError::Write {
            path: path.to_path_buf(),
            reason,
        };
        fail::fail_point!("graph-seal", |arg| Err(err(format!(
            "injected fault: {}",
            arg.unwrap_or_default()
        ))));
        let bytes = {
            let state = self.state.read();
            let State::Growing(g) = &*state else {
                return Err(err("the graph is already sealed".into()));
            };
            let Some(mut adj) = g.adjacency(rows.len()) else {
                return Ok(false);
            };
            if refine {
                let projected = match queries {
                    Some(q) if q.dim() == rows.dim() && !q.is_empty() => {
                        use rayon::prelude::*;
                        let near: Vec<Vec<u32>> = (0..q.len() as u32)
                            .into_par_iter()
                            .map(|i| {
                                g.search(q.row(i), PROJECTED_NEIGHBOURS, PROJECTION_EF, &|_| true)
                                    .into_iter()
                                    .map(|n| n as u32)
                                    .collect()
                            })
                            .collect();
                        sealed::project_queries(adj.nodes, &near)
                    }
                    _ => Vec::new(),
                };
                sealed::refine_base_layer_guided(
                    &mut adj,
                    rows,
                    self.metric,
                    g.max_degree(),
                    &projected,
                );
            }
            sealed::encode(&adj, rows, quantization)
        };
        sealed::write_file(path, &bytes).map_err(|e| err(e.to_string()))?;
        Ok(true)
    }

    /// Replaces this graph's contents with `other`'s sealed form (the same
    /// points, now read from the sealed file); the growing structures go.
    pub fn switch_to(&self, other: Graph) {
        let state = other.state.into_inner();
        debug_assert!(matches!(state, State::Sealed(_)));
        let growing = std::mem::replace(&mut *self.state.write(), state);
        // Freed once the lock is released: searches need not wait for it.
        drop(growing);
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
        match &*self.state.read() {
            State::Sealed(s) => s.search(query, k, ef, keep),
            State::Growing(g) => g.search(query, k, ef, keep),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::test_vectors::unit;

    /// `n` unit vectors inserted into a growing graph.
    fn build(metric: Metric, n: usize, dim: usize, seed: u64) -> (Graph, Vec<Vec<f32>>) {
        let params = GraphParams {
            m: 16,
            ef_construction: 100,
        };
        let g = Graph::new(metric, params, dim, n);
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
            for q in [Quantization::F32, Quantization::Int8] {
                let path = dir.path().join(format!("g-{q:?}.idx"));
                assert!(g.write_sealed(&path, &rows(&data), q).unwrap());
                let sealed = Graph::open_sealed(metric, &path, rows(&data), n).unwrap();
                assert_eq!(sealed.len(), n);
                assert_eq!(sealed.quantization(), Some(q));
                let all = recall(&sealed, &|_| true);
                assert!(all >= 0.95, "{metric:?} {q:?}: recall {all}");
                let even = |i: usize| i.is_multiple_of(2);
                let filtered = recall(&sealed, &even);
                assert!(
                    filtered >= 0.95,
                    "{metric:?} {q:?}: filtered recall {filtered}"
                );
                assert!(sealed.search(&data[42], 64, 64, &|_| true).contains(&42));
            }
            // The growing graph it came from takes the sealed form in place.
            let path = dir.path().join("g-F32.idx");
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
        let (g, data) = build(Metric::Cosine, 1500, 16, 3);
        let rows = rows(&data);
        let (mut adj, max_degree) = match &*g.state.read() {
            State::Growing(g) => (g.adjacency(rows.len()).unwrap(), g.max_degree()),
            State::Sealed(_) => unreachable!("built, not sealed"),
        };
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
        let unreachable = |adj: &sealed::Adjacency| {
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

    /// Projection links a sample's closest node to the sample's other
    /// neighbours and back, once each.
    #[test]
    fn projected_candidates_link_pivots_both_ways() {
        let near = vec![vec![3, 1, 2], vec![3, 2, 0], vec![], vec![4]];
        let extra = sealed::project_queries(5, &near);
        assert_eq!(extra[3], vec![0, 1, 2]);
        assert_eq!(extra[1], vec![3]);
        assert_eq!(extra[2], vec![3]);
        assert_eq!(extra[0], vec![3]);
        assert!(extra[4].is_empty(), "a lone neighbour links nothing");
    }

    /// Sealing guided by a sample of out-of-distribution queries keeps
    /// layer 0 well-formed and the sealed graph as accurate on them
    /// (rescored, as the engine does) as the unguided one, within noise.
    #[test]
    fn guided_sealing_keeps_rows_well_formed_and_recall() {
        let n = 1500;
        let (g, data) = build(Metric::Cosine, n, 16, 5);
        let rows = rows(&data);
        // "Text" queries: a shifted cone (every vector pulled toward one
        // direction), the sample disjoint from the measured ones.
        let shift = unit(999_999, 16);
        let shifted = |seed: u64| -> Vec<f32> {
            let v: Vec<f32> = unit(seed, 16)
                .iter()
                .zip(&shift)
                .map(|(a, b)| a + 0.8 * b)
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        };
        let sample: Vec<Vec<f32>> = (0..500).map(|i| shifted(50_000 + i)).collect();
        let queries: Vec<Vec<f32>> = (0..100).map(|i| shifted(70_000 + i)).collect();
        let dir = tempfile::tempdir().unwrap();
        let recall = |path: &Path| -> f64 {
            let sealed = Graph::open_sealed(Metric::Cosine, path, rows.clone(), n).unwrap();
            let mut hit = 0;
            for q in &queries {
                let mut exact: Vec<(f32, usize)> = (0..n)
                    .map(|i| (Metric::Cosine.score(q, &data[i]), i))
                    .collect();
                exact.sort_by(|a, b| b.0.total_cmp(&a.0));
                let truth: Vec<usize> = exact.iter().take(10).map(|x| x.1).collect();
                let mut found: Vec<(f32, usize)> = sealed
                    .search(q, 32, 32, &|_| true)
                    .into_iter()
                    .map(|i| (Metric::Cosine.score(q, &data[i]), i))
                    .collect();
                found.sort_by(|a, b| b.0.total_cmp(&a.0));
                hit += found
                    .iter()
                    .take(10)
                    .filter(|x| truth.contains(&x.1))
                    .count();
            }
            hit as f64 / (queries.len() * 10) as f64
        };
        let plain = dir.path().join("plain.idx");
        let guided = dir.path().join("guided.idx");
        let sample_rows = VectorRows::from_vec(sample.concat(), 16);
        g.write_sealed_guided(&plain, &rows, Quantization::Int8, true, None)
            .unwrap();
        g.write_sealed_guided(&guided, &rows, Quantization::Int8, true, Some(&sample_rows))
            .unwrap();
        let (r_plain, r_guided) = (recall(&plain), recall(&guided));
        assert!(r_guided >= 0.95, "guided recall {r_guided}");
        assert!(
            r_guided >= r_plain - 0.02,
            "guided {r_guided} vs plain {r_plain}"
        );
        // Rows as the unguided re-selection leaves them: at most 2M
        // distinct neighbours, never the node itself.
        let (mut adj, max_degree) = match &*g.state.read() {
            State::Growing(gr) => (gr.adjacency(n).unwrap(), gr.max_degree()),
            State::Sealed(_) => unreachable!("built, not sealed"),
        };
        let near: Vec<Vec<u32>> = sample
            .iter()
            .map(|q| {
                g.search(q, 16, 64, &|_| true)
                    .into_iter()
                    .map(|x| x as u32)
                    .collect()
            })
            .collect();
        let projected = sealed::project_queries(n, &near);
        sealed::refine_base_layer_guided(&mut adj, &rows, Metric::Cosine, max_degree, &projected);
        let mut gained = 0;
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
            gained += row.iter().filter(|v| projected[u].contains(v)).count();
        }
        assert!(gained > 0, "no projected edge was kept");
        // Every node but the entry point keeps a way in.
        let mut linked = vec![false; n];
        adj.base
            .iter()
            .flatten()
            .for_each(|&v| linked[v as usize] = true);
        let orphans: Vec<usize> = (0..n)
            .filter(|&u| !linked[u] && u as u32 != adj.entry)
            .collect();
        assert!(orphans.is_empty(), "nothing links to {orphans:?}");
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

    /// Sealing into a directory that is gone is an error, not a panic.
    #[test]
    fn sealing_into_a_missing_directory_is_an_error() {
        let params = GraphParams {
            m: 8,
            ef_construction: 32,
        };
        let g = Graph::new(Metric::Dot, params, 2, 4);
        g.insert(&[(&[1.0, 0.0][..], 0), (&[0.0, 1.0][..], 1)]);
        let dir = tempfile::tempdir().unwrap();
        let rows = VectorRows::from_vec(vec![1.0, 0.0, 0.0, 1.0], 2);
        let err = g
            .write_sealed(
                &dir.path().join("gone").join("g.idx"),
                &rows,
                Quantization::F32,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot write graph"), "{err}");
    }
}
