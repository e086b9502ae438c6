//! The index in-process: builds clipdb's own [`Graph`] (the code the server's
//! segments use) over a data set and measures build time, recall@10, QPS on
//! one thread and on a pool, latency percentiles, memory and dump size.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::{
    disk_usage, host_description, percentile_ms, proc_status_bytes, recall_at_10, reset_peak_rss,
    utc_now, Dataset, Record, K,
};
use crate::index::{Graph, GraphParams, Metric};

/// What to build and how to search it: every (m, ef_construction) pair is
/// built once and searched at every ef.
#[derive(Debug, Clone)]
pub struct Settings {
    pub m: Vec<usize>,
    pub ef_construction: Vec<usize>,
    pub ef: Vec<usize>,
    /// Threads for the build and the concurrent search run.
    pub threads: usize,
    /// Dump each graph under this folder to measure its size on disk (and
    /// delete it again); None skips the dump.
    pub dump_dir: Option<PathBuf>,
}

/// Live heap bytes, from a counting global allocator where the caller has
/// one; without it memory is estimated from the growth of resident memory.
pub type HeapProbe<'a> = &'a dyn Fn() -> u64;

/// An index under test: built from all points at once, searched for the ids
/// of the `k` closest.
pub trait AnnIndex: Send + Sync {
    fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<usize>;
    /// Bytes of its dump under `dir` (deleted again), if it has one.
    fn dump_bytes(&self, dir: &Path) -> Result<Option<u64>, String>;
}

/// clipdb's [`Graph`], searched exactly as a segment searches it (with the
/// record filter the engine always passes; here it keeps every record).
impl AnnIndex for Graph {
    fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<usize> {
        Graph::search(self, query, k, ef, &|_| true)
    }

    fn dump_bytes(&self, dir: &Path) -> Result<Option<u64>, String> {
        let files = self.dump(dir, "graph").map_err(|e| e.to_string())?;
        Ok(Some(files.iter().map(|f| disk_usage(f)).sum()))
    }
}

/// Builds clipdb's graph (cosine) from `items` on the current rayon pool
/// and freezes it, as sealing a segment does: searches run our own loop.
pub fn build_graph(params: GraphParams, items: &[(&[f32], usize)]) -> Graph {
    let graph = build_graph_unfrozen(params, items);
    graph.freeze();
    graph
}

/// The graph as a growing segment has it: searched by hnsw_rs itself.
pub fn build_graph_unfrozen(params: GraphParams, items: &[(&[f32], usize)]) -> Graph {
    let graph = Graph::new(Metric::Cosine, params, items.len());
    graph.insert(items);
    graph
}

/// Runs every setting on clipdb's graph; `emit` sees each record as soon
/// as it is measured.
pub fn run(
    data: &Dataset,
    settings: &Settings,
    heap: Option<HeapProbe>,
    emit: impl FnMut(&Record),
) -> Result<Vec<Record>, String> {
    run_with(data, settings, heap, "clipdb", build_graph, emit)
}

/// Runs every setting on the index `build` makes (called inside the
/// thread pool), reporting it as `engine`.
pub fn run_with<I: AnnIndex>(
    data: &Dataset,
    settings: &Settings,
    heap: Option<HeapProbe>,
    engine: &str,
    build: impl Fn(GraphParams, &[(&[f32], usize)]) -> I + Sync,
    mut emit: impl FnMut(&Record),
) -> Result<Vec<Record>, String> {
    let n = data.n();
    let dim = data.dim;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.threads.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let host = host_description();
    let mut out = Vec::new();
    for &m in &settings.m {
        for &ef_construction in &settings.ef_construction {
            let items: Vec<(&[f32], usize)> = (0..n).map(|i| (data.vector(i), i)).collect();
            let hwm_reset = reset_peak_rss();
            let rss0 = proc_status_bytes("VmRSS");
            let heap0 = heap.map(|h| h());
            let params = GraphParams { m, ef_construction };
            let started = Instant::now();
            let graph = pool.install(|| build(params, &items));
            let build_s = started.elapsed().as_secs_f64();
            drop(items);
            let (index_ram, ram_method) = match (heap0, heap.map(|h| h())) {
                (Some(a), Some(b)) => (Some(b.saturating_sub(a) as f64), Some("heap")),
                _ => match (rss0, proc_status_bytes("VmRSS")) {
                    (Some(a), Some(b)) => (Some(b.saturating_sub(a) as f64), Some("rss")),
                    _ => (None, None),
                },
            };
            let disk = match &settings.dump_dir {
                Some(dir) => dump_size(&graph, dir, m, ef_construction)?,
                None => None,
            };
            eprintln!(
                "built {engine} m={m} ef_construction={ef_construction}: {n} x {dim} in {build_s:.2} s \
                 ({:.0} vectors/s, {} threads)",
                n as f64 / build_s,
                settings.threads
            );
            // Warm caches and the pool once, untimed.
            if let (Some(set), Some(&ef)) = (data.query_sets.first(), settings.ef.first()) {
                for i in 0..set.len().min(200) {
                    graph.search(set.query(i, dim), K, ef);
                }
            }
            for set in &data.query_sets {
                for &ef in &settings.ef {
                    let search = |i: usize| {
                        let t = Instant::now();
                        let hits = graph.search(set.query(i, dim), K, ef);
                        let hits: Vec<u32> = hits.into_iter().map(|h| h as u32).collect();
                        (hits, t.elapsed())
                    };
                    // One thread, one query after another.
                    let started = Instant::now();
                    let (hits, mut lat1): (Vec<Vec<u32>>, Vec<Duration>) =
                        (0..set.len()).map(search).unzip();
                    let qps_1t = set.len() as f64 / started.elapsed().as_secs_f64();
                    // All threads of the pool.
                    let started = Instant::now();
                    let mut lat: Vec<Duration> = pool.install(|| {
                        (0..set.len())
                            .into_par_iter()
                            .map(|i| search(i).1)
                            .collect()
                    });
                    let qps = set.len() as f64 / started.elapsed().as_secs_f64();
                    let record = Record {
                        engine: engine.into(),
                        mode: "inproc".into(),
                        dataset: data.name.clone(),
                        n,
                        dim,
                        metric: "cosine".into(),
                        m,
                        ef_construction,
                        build_s,
                        build_vectors_per_s: n as f64 / build_s,
                        build_threads: Some(settings.threads),
                        query_set: set.name.clone(),
                        queries: set.len(),
                        k: K,
                        ef,
                        recall_at_10: recall_at_10(&hits, &set.ground_truth),
                        qps_1t,
                        p50_ms_1t: percentile_ms(&mut lat1, 0.5),
                        p99_ms_1t: percentile_ms(&mut lat1, 0.99),
                        threads: settings.threads,
                        qps,
                        p50_ms: percentile_ms(&mut lat, 0.5),
                        p99_ms: percentile_ms(&mut lat, 0.99),
                        peak_rss_mib: if hwm_reset || out.is_empty() {
                            proc_status_bytes("VmHWM").map(|b| b as f64 / (1 << 20) as f64)
                        } else {
                            None
                        },
                        index_ram_bytes_per_vector: index_ram.map(|b| b / n as f64),
                        ram_method: ram_method.map(String::from),
                        disk_bytes: disk,
                        disk_bytes_per_vector: disk.map(|b| b as f64 / n as f64),
                        date: utc_now(),
                        host: host.clone(),
                    };
                    emit(&record);
                    out.push(record);
                }
            }
        }
    }
    Ok(out)
}

/// Bytes of the index's dump, written to a fresh folder under `dir` and
/// removed again.
fn dump_size(
    index: &impl AnnIndex,
    dir: &Path,
    m: usize,
    efc: usize,
) -> Result<Option<u64>, String> {
    let sub = dir.join(format!("clipdb-ann-{}-m{m}-efc{efc}", std::process::id()));
    std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
    let bytes = index.dump_bytes(&sub);
    let _ = std::fs::remove_dir_all(&sub);
    bytes
}
