//! The index in-process: builds clipdb's own [`Graph`] (the code the server's
//! segments use) over a data set, seals it into its file as a full segment
//! does, and measures build time, open time, recall@10, QPS on one thread
//! and on a pool, latency percentiles, memory and file size.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::{
    host_description, percentile_ms, proc_status_bytes, recall_at_10, utc_now, Dataset, Record, K,
};
use crate::index::{distance, Graph, GraphParams, Metric, Quantization, VectorRows};

/// What to build and how to search it: every (m, ef_construction) pair is
/// built once and searched at every ef.
#[derive(Debug, Clone)]
pub struct Settings {
    pub m: Vec<usize>,
    pub ef_construction: Vec<usize>,
    pub ef: Vec<usize>,
    /// Threads for the build and the concurrent search run.
    pub threads: usize,
    /// Also measure the sealed graph with its layer-0 edges as built
    /// (engine "clipdb-unrefined"), beside the re-selected ones.
    pub unrefined: bool,
    /// Insert in parallel batches of this many points, as the server does
    /// per write request, instead of all at once.
    pub insert_batch: Option<usize>,
    /// Folder the sealed graph files are written to (and deleted from
    /// again); None: the temporary folder.
    pub sealed_dir: Option<PathBuf>,
    /// A sample of text queries (caption vectors, never the measured
    /// queries): each sealed form is also measured with layer-0 edges
    /// projected from them (engines "...-guided"), from the same build.
    pub captions: Option<VectorRows>,
    /// Insert the points in an order shuffled with this seed (another build
    /// of the same data); None: in file order.
    pub build_seed: Option<u64>,
    /// Also measure each sealed form reading its f32 rows (rescoring, and
    /// the f32 walk) laid out as a segment's vector file lays them out
    /// (engines "...-file-rows"), from the same build.
    pub file_rows: bool,
}

/// `data` laid out as a segment's vector file: a 64-byte header, then
/// records of `dim` floats and a 4-byte checksum, so row `i` starts at
/// byte `64 + i * (4 * dim + 4)`: 4-byte aligned, on a cache line only
/// every 16th row at 512-d (the rows the in-memory matrix gives are all
/// on one when 4 * dim is a multiple of 64).
fn file_layout_rows(data: &[f32], dim: usize) -> VectorRows {
    const HEADER_WORDS: usize = 16;
    let count = data.len() / dim.max(1);
    let stride = dim + 1;
    let mut words = vec![0u32; HEADER_WORDS + count * stride];
    for (i, row) in data.chunks_exact(dim).enumerate() {
        let at = HEADER_WORDS + i * stride;
        for (w, x) in words[at..at + dim].iter_mut().zip(row) {
            *w = x.to_bits();
        }
    }
    let words = std::sync::Arc::new(words);
    let base = words.as_ptr().wrapping_add(HEADER_WORDS) as *const u8;
    // SAFETY: `count` rows of `dim` f32 (as their bits) at `base + i *
    // stride * 4`, 4-byte aligned, owned by the Arc and never written again.
    unsafe { VectorRows::new(words, base, stride * 4, dim, count) }
}

/// `items` in an order shuffled with `seed` (Fisher-Yates over xorshift).
fn shuffled<T>(mut items: Vec<T>, seed: u64) -> Vec<T> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        items.swap(i, (x % (i as u64 + 1)) as usize);
    }
    items
}

/// Live heap bytes, from a counting global allocator where the caller has
/// one; without it memory is estimated from the growth of resident memory.
pub type HeapProbe<'a> = &'a dyn Fn() -> u64;

/// An index under test: built from all points at once, searched for the ids
/// of the `k` closest.
pub trait AnnIndex: Send + Sync {
    fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<usize>;
}

/// A growing segment's graph, searched exactly as a segment
/// searches it (with the record filter the engine always passes; here it
/// keeps every record).
impl AnnIndex for Graph {
    fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<usize> {
        Graph::search(self, query, k, ef, &|_| true)
    }
}

/// A sealed segment's graph, opened from its file, searched as the engine
/// searches a segment: the walk returns `ef` candidates (by the walk's
/// distance, approximate when quantized), which are rescored exactly with
/// the f32 vectors.
pub struct SealedIndex {
    graph: Graph,
    rows: VectorRows,
}

impl AnnIndex for SealedIndex {
    fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<usize> {
        let ef = ef.max(k);
        let mut scored: Vec<(f32, usize)> = self
            .graph
            .search(query, ef, ef, &|_| true)
            .into_iter()
            .map(|r| (-distance::dot(query, self.rows.row(r as u32)), r))
            .collect();
        scored.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        scored.truncate(k);
        scored.into_iter().map(|(_, r)| r).collect()
    }
}

/// The graph as a growing segment has it (cosine), built from `items` on
/// the current rayon pool.
pub fn build_graph_unfrozen(params: GraphParams, items: &[(&[f32], usize)]) -> Graph {
    let dim = items.first().map_or(1, |(v, _)| v.len());
    let graph = Graph::new(Metric::Cosine, params, dim, items.len());
    graph.insert(items);
    graph
}

/// What one build measured, for the records of every index made from it.
struct Built<'a> {
    engine: &'a str,
    m: usize,
    ef_construction: usize,
    build_s: f64,
    index_ram: Option<f64>,
    ram_method: Option<&'a str>,
    disk: Option<u64>,
    open_s: Option<f64>,
    quantization: Option<&'a str>,
}

/// Runs every setting on clipdb's sealed graphs: each (m, ef_construction)
/// is built once as a growing segment builds it, then sealed with each of `quantizations` into
/// a file under `settings.sealed_dir` (the temporary folder without one),
/// opened (timed: a segment's restart) and searched as the engine searches
/// a sealed segment. `emit` sees each record as soon as it is measured.
pub fn run(
    data: &Dataset,
    settings: &Settings,
    quantizations: &[Quantization],
    mut emit: impl FnMut(&Record),
) -> Result<Vec<Record>, String> {
    let n = data.n();
    let pool = pool(settings)?;
    let rows = VectorRows::from_vec(data.base.clone(), data.dim);
    let dir = settings
        .sealed_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir);
    let mut out = Vec::new();
    for &m in &settings.m {
        for &ef_construction in &settings.ef_construction {
            let items: Vec<(&[f32], usize)> = (0..n).map(|i| (data.vector(i), i)).collect();
            let items = match settings.build_seed {
                Some(seed) => shuffled(items, seed),
                None => items,
            };
            let params = GraphParams { m, ef_construction };
            let started = Instant::now();
            let growing = pool.install(|| match settings.insert_batch {
                // As the server builds a growing segment: one parallel
                // insert per write request.
                Some(batch) => {
                    let graph = Graph::new(Metric::Cosine, params, data.dim, items.len());
                    items.chunks(batch.max(1)).for_each(|c| graph.insert(c));
                    graph
                }
                None => build_graph_unfrozen(params, &items),
            });
            let build_s = started.elapsed().as_secs_f64();
            eprintln!(
                "built m={m} ef_construction={ef_construction}: {n} x {} in {build_s:.2} s \
                 ({:.0} vectors/s, {} threads)",
                data.dim,
                n as f64 / build_s,
                settings.threads
            );
            let variants = quantizations
                .iter()
                .flat_map(|&q| {
                    std::iter::once((q, true, false))
                        .chain(settings.captions.is_some().then_some((q, true, true)))
                })
                .chain(
                    settings
                        .unrefined
                        .then_some((Quantization::F32, false, false)),
                );
            for (q, refine, guided) in variants {
                let path = dir.join(format!(
                    "clipdb-ann-{}-m{m}-efc{ef_construction}-{q:?}-{refine}-{guided}.idx",
                    std::process::id()
                ));
                let started = Instant::now();
                let captions = settings.captions.as_ref().filter(|_| guided);
                growing
                    .write_sealed_guided(&path, &rows, q, refine, captions)
                    .map_err(|e| e.to_string())?;
                let seal_s = started.elapsed().as_secs_f64();
                let started = Instant::now();
                let graph = Graph::open_sealed(Metric::Cosine, &path, rows.clone(), n)
                    .map_err(|e| e.to_string())?;
                let open_s = started.elapsed().as_secs_f64();
                let _ = std::fs::remove_file(&path);
                let file = graph.sealed_file_bytes() as f64;
                // What the walk keeps resident: the mapped graph file, plus
                // every f32 vector when it walks on them (quantized, only
                // the candidates it rescores are read).
                let (ram, method, engine) = match (q, guided) {
                    (Quantization::F32, _) if !refine => (
                        file + (n * data.dim * 4) as f64,
                        "mapped: graph file + f32 vectors",
                        "clipdb-unrefined",
                    ),
                    (Quantization::F32, false) => (
                        file + (n * data.dim * 4) as f64,
                        "mapped: graph file + f32 vectors",
                        "clipdb",
                    ),
                    (Quantization::F32, true) => (
                        file + (n * data.dim * 4) as f64,
                        "mapped: graph file + f32 vectors",
                        "clipdb-guided",
                    ),
                    (Quantization::Int8, false) => {
                        (file, "mapped: graph file with int8 codes", "clipdb-int8")
                    }
                    (Quantization::Int8, true) => (
                        file,
                        "mapped: graph file with int8 codes",
                        "clipdb-int8-guided",
                    ),
                };
                eprintln!(
                    "  sealed {engine}: written in {seal_s:.2} s, opened in {:.1} ms, {:.0} bytes/vector",
                    open_s * 1e3,
                    file / n as f64
                );
                let built = Built {
                    engine,
                    m,
                    ef_construction,
                    build_s,
                    index_ram: Some(ram / n as f64),
                    ram_method: Some(method),
                    disk: Some(file as u64 + (n * (data.dim * 4 + 4)) as u64),
                    open_s: Some(open_s),
                    quantization: Some(match q {
                        Quantization::F32 => "none",
                        Quantization::Int8 => "int8",
                    }),
                };
                let index = SealedIndex {
                    graph,
                    rows: rows.clone(),
                };
                measure(data, settings, &pool, &built, &index, &mut out, &mut emit);
                if settings.file_rows {
                    let file_rows = file_layout_rows(&data.base, data.dim);
                    growing
                        .write_sealed_guided(&path, &rows, q, refine, captions)
                        .map_err(|e| e.to_string())?;
                    let graph = Graph::open_sealed(Metric::Cosine, &path, file_rows.clone(), n)
                        .map_err(|e| e.to_string())?;
                    let _ = std::fs::remove_file(&path);
                    let engine = format!("{engine}-file-rows");
                    let built = Built {
                        engine: &engine,
                        ..built
                    };
                    let index = SealedIndex {
                        graph,
                        rows: file_rows,
                    };
                    measure(data, settings, &pool, &built, &index, &mut out, &mut emit);
                }
            }
        }
    }
    Ok(out)
}

fn pool(settings: &Settings) -> Result<rayon::ThreadPool, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(settings.threads.max(1))
        .build()
        .map_err(|e| e.to_string())
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
    let pool = pool(settings)?;
    let mut out = Vec::new();
    for &m in &settings.m {
        for &ef_construction in &settings.ef_construction {
            let items: Vec<(&[f32], usize)> = (0..n).map(|i| (data.vector(i), i)).collect();
            let rss0 = proc_status_bytes("VmRSS");
            let heap0 = heap.map(|h| h());
            let params = GraphParams { m, ef_construction };
            let started = Instant::now();
            let graph = pool.install(|| build(params, &items));
            let build_s = started.elapsed().as_secs_f64();
            drop(items);
            let (index_ram, ram_method) = match (heap0, heap.map(|h| h())) {
                (Some(a), Some(b)) => (Some(b.saturating_sub(a) as f64 / n as f64), Some("heap")),
                _ => match (rss0, proc_status_bytes("VmRSS")) {
                    (Some(a), Some(b)) => {
                        (Some(b.saturating_sub(a) as f64 / n as f64), Some("rss"))
                    }
                    _ => (None, None),
                },
            };
            eprintln!(
                "built {engine} m={m} ef_construction={ef_construction}: {n} x {dim} in {build_s:.2} s \
                 ({:.0} vectors/s, {} threads)",
                n as f64 / build_s,
                settings.threads
            );
            let built = Built {
                engine,
                m,
                ef_construction,
                build_s,
                index_ram,
                ram_method,
                disk: None,
                open_s: None,
                quantization: None,
            };
            measure(data, settings, &pool, &built, &graph, &mut out, &mut emit);
        }
    }
    Ok(out)
}

/// Searches every query set at every ef on one thread and on the pool.
fn measure(
    data: &Dataset,
    settings: &Settings,
    pool: &rayon::ThreadPool,
    built: &Built,
    index: &dyn AnnIndex,
    out: &mut Vec<Record>,
    emit: &mut dyn FnMut(&Record),
) {
    let n = data.n();
    let dim = data.dim;
    let host = host_description();
    // Warm caches and the pool once, untimed.
    if let (Some(set), Some(&ef)) = (data.query_sets.first(), settings.ef.first()) {
        for i in 0..set.len().min(200) {
            index.search(set.query(i, dim), K, ef);
        }
    }
    for set in &data.query_sets {
        for &ef in &settings.ef {
            let search = |i: usize| {
                let t = Instant::now();
                let hits = index.search(set.query(i, dim), K, ef);
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
                engine: built.engine.into(),
                mode: "inproc".into(),
                dataset: data.name.clone(),
                n,
                dim,
                metric: "cosine".into(),
                m: built.m,
                ef_construction: built.ef_construction,
                build_s: built.build_s,
                build_vectors_per_s: n as f64 / built.build_s,
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
                peak_rss_mib: proc_status_bytes("VmHWM").map(|b| b as f64 / (1 << 20) as f64),
                index_ram_bytes_per_vector: built.index_ram,
                ram_method: built.ram_method.map(String::from),
                disk_bytes: built.disk,
                disk_bytes_per_vector: built.disk.map(|b| b as f64 / n as f64),
                open_s: built.open_s,
                quantization: built.quantization.map(String::from),
                date: utc_now(),
                host: host.clone(),
            };
            emit(&record);
            out.push(record);
        }
    }
}
