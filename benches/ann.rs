//! ANN harness: clipdb's index (src/index, the graphs the server's segments
//! use) in-process: build time and throughput, recall@10, QPS on one thread
//! and on all threads, p50/p99 latency, memory, file size. JSON lines out,
//! plus an SVG plot of recall against single-thread QPS per query set.
//!
//! ```sh
//! python3 ../shared/tools/gen_ann_data.py /tmp/clip20k 20000 1000 512 42
//! cargo bench --bench ann -- --data /tmp/clip20k --m 16 --ef-construction 200 \
//!     --ef 32,64,128,256 --out ann.jsonl --plot ann.svg
//! python3 benches/hnswlib_reference.py --data /tmp/clip20k --out hnswlib.jsonl
//! cargo bench --bench ann -- --plot-only --compare ann.jsonl --compare hnswlib.jsonl --plot ann.svg
//! ```
//!
//! Without `--data`, `--generate N` makes a synthetic CLIP-like set in-process
//! (a Rust port of gen_ann_data.py; `--save DIR` writes it as TEXMEX files).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use clipdb::bench::{self, inproc, synth, Dataset, Record};
use clipdb::index::Quantization;

/// Counts live heap bytes, so the index's memory is measured exactly rather
/// than from resident memory (which keeps freed pages).
struct Counting;

static LIVE: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as u64, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as u64, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as u64, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// hnsw_rs as it is (`--unfiltered-baseline`, with the `hnsw-baseline`
/// feature): its own parallel build (which built clipdb's graphs until our
/// own insertion replaced it) and its search without a filter, the fastest
/// way it can be searched (hnsw_rs 0.3 only stops a layer search early when
/// no filter is given).
#[cfg(feature = "hnsw-baseline")]
mod baseline {
    use clipdb::bench::inproc::AnnIndex;
    use clipdb::index::{distance, GraphParams};
    use hnsw_rs::prelude::{Distance, Hnsw};

    /// `1 - cos` on L2-normalised vectors: non-negative, as hnsw_rs asserts.
    #[derive(Default, Clone, Copy)]
    pub struct CosineDistance;

    impl Distance<f32> for CosineDistance {
        fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
            (1.0 - distance::dot(a, b)).max(0.0)
        }
    }

    pub struct Unfiltered(Hnsw<'static, f32, CosineDistance>);

    impl AnnIndex for Unfiltered {
        fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<usize> {
            self.0
                .search_filter(query, k, ef.max(k), None)
                .into_iter()
                .map(|n| n.d_id)
                .collect()
        }
    }

    pub fn build(params: GraphParams, items: &[(&[f32], usize)]) -> Unfiltered {
        let hnsw = Hnsw::new(
            params.m,
            items.len().max(1),
            16,
            params.ef_construction,
            CosineDistance,
        );
        hnsw.parallel_insert_slice(&items.to_vec());
        Unfiltered(hnsw)
    }
}

const USAGE: &str = "usage: cargo bench --bench ann -- (--data DIR | --generate N [--dim 512] [--seed 42] [--save DIR])
       [--queries 1000] [--m 16] [--ef-construction 200] [--ef 32,64,128,256] [--threads T]
       [--out results.jsonl] [--plot recall_qps.svg] [--compare FILE.jsonl]... [--plot-only]
       [--unfiltered-baseline] [--growing] [--quantization f32,int8] [--unrefined] [--insert-batch N] [--file-rows]
       [--captions FILE.fvecs] [--build-seed S]
--m and --ef-construction take lists too (every pair is built).
--insert-batch N builds with one parallel insert per N points, as the server does per request.
--unrefined also measures the sealed graph with its layer-0 edges as built, not re-selected (\"clipdb-unrefined\").
--file-rows also measures each sealed form reading its f32 rows as laid out in a segment's vector file
(4-byte checksum per record: most rows not on a cache line; engines \"...-file-rows\").
--captions: a sample of text vectors (never the measured queries); each sealed form is also measured with
layer-0 edges toward where they land (engines \"...-guided\"), from the same build.
--build-seed S inserts the points in an order shuffled with S (another build of the same data).
--quantization f32,int8: the sealed forms measured from each build (engines \"clipdb\" and \"clipdb-int8\"; default int8, as a new collection).
--unfiltered-baseline also builds with hnsw_rs (what built clipdb's graphs before) and measures it searched
without a filter (engine \"hnsw_rs-unfiltered\"); needs `--features hnsw-baseline`.
--growing also measures the graph as a growing segment searches it (engine \"clipdb-growing\");
\"clipdb\" is a sealed segment's graph.";

struct Args {
    data: Option<PathBuf>,
    generate: Option<usize>,
    dim: usize,
    seed: u64,
    save: Option<PathBuf>,
    queries: Option<usize>,
    m: Vec<usize>,
    ef_construction: Vec<usize>,
    ef: Vec<usize>,
    threads: usize,
    out: Option<PathBuf>,
    plot: Option<PathBuf>,
    compare: Vec<PathBuf>,
    plot_only: bool,
    unfiltered: bool,
    growing: bool,
    unrefined: bool,
    file_rows: bool,
    insert_batch: Option<usize>,
    quantization: Vec<Quantization>,
    captions: Option<PathBuf>,
    build_seed: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        data: None,
        generate: None,
        dim: 512,
        seed: 42,
        save: None,
        queries: None,
        m: vec![16],
        ef_construction: vec![200],
        ef: vec![32, 64, 128, 256],
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        out: None,
        plot: None,
        compare: Vec::new(),
        plot_only: false,
        unfiltered: false,
        growing: false,
        unrefined: false,
        file_rows: false,
        insert_batch: None,
        // What a collection created with defaults walks on.
        quantization: vec![Quantization::Int8],
        captions: None,
        build_seed: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |s: String| s.parse::<usize>().map_err(|_| format!("not a number: {s}"));
        match flag.as_str() {
            "--data" => a.data = Some(val()?.into()),
            "--generate" => a.generate = Some(num(val()?)?),
            "--dim" => a.dim = num(val()?)?,
            "--seed" => a.seed = num(val()?)? as u64,
            "--save" => a.save = Some(val()?.into()),
            "--queries" => a.queries = Some(num(val()?)?),
            "--m" => a.m = bench::parse_list(&val()?)?,
            "--ef-construction" => a.ef_construction = bench::parse_list(&val()?)?,
            "--ef" => a.ef = bench::parse_list(&val()?)?,
            "--threads" => a.threads = num(val()?)?.max(1),
            "--out" => a.out = Some(val()?.into()),
            "--plot" => a.plot = Some(val()?.into()),
            "--compare" => a.compare.push(val()?.into()),
            "--plot-only" => a.plot_only = true,
            "--unfiltered-baseline" => a.unfiltered = true,
            "--growing" => a.growing = true,
            "--unrefined" => a.unrefined = true,
            "--file-rows" => a.file_rows = true,
            "--insert-batch" => a.insert_batch = Some(num(val()?)?),
            "--captions" => a.captions = Some(val()?.into()),
            "--build-seed" => a.build_seed = Some(num(val()?)? as u64),
            "--quantization" => {
                a.quantization = val()?
                    .split(',')
                    .map(|q| match q {
                        "f32" | "none" => Ok(Quantization::F32),
                        "int8" => Ok(Quantization::Int8),
                        other => Err(format!("--quantization: unknown {other:?} (f32, int8)")),
                    })
                    .collect::<Result<_, _>>()?
            }
            // cargo bench passes --bench to harness = false targets
            "--bench" => {}
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.unfiltered && cfg!(not(feature = "hnsw-baseline")) {
        return Err("--unfiltered-baseline needs `cargo bench --features hnsw-baseline`".into());
    }
    if !a.plot_only && a.data.is_none() == a.generate.is_none() {
        return Err(format!("give one of --data DIR or --generate N\n{USAGE}"));
    }
    Ok(a)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let mut records: Vec<Record> = Vec::new();
    if !args.plot_only {
        let data = load(args)?;
        let mut out = match &args.out {
            Some(p) => Some(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
            None => None,
        };
        let settings = inproc::Settings {
            m: args.m.clone(),
            ef_construction: args.ef_construction.clone(),
            ef: args.ef.clone(),
            threads: args.threads,
            sealed_dir: None,
            unrefined: args.unrefined,
            file_rows: args.file_rows,
            insert_batch: args.insert_batch,
            captions: match &args.captions {
                Some(path) => {
                    let (dim, values) = bench::texmex::read_fvecs(path)?;
                    if dim != data.dim {
                        return Err(format!(
                            "{}: dimension {dim}, the data has {}",
                            path.display(),
                            data.dim
                        ));
                    }
                    Some(clipdb::index::VectorRows::from_vec(values, dim))
                }
                None => None,
            },
            build_seed: args.build_seed,
        };
        let probe = || LIVE.load(Ordering::Relaxed);
        let mut emit = |r: &Record| {
            let line = serde_json::to_string(r).expect("records serialise");
            println!("{line}");
            eprintln!(
                "  {} {} ef={:<4} recall@10 {:.4}  1 thread {:>7.0} QPS (p50 {:.3} ms, p99 {:.3} ms)  {} threads {:>7.0} QPS",
                r.engine,
                r.query_set,
                r.ef,
                r.recall_at_10,
                r.qps_1t,
                r.p50_ms_1t.unwrap_or(f64::NAN),
                r.p99_ms_1t.unwrap_or(f64::NAN),
                r.threads,
                r.qps
            );
            if let Some(f) = out.as_mut() {
                writeln!(f, "{line}").expect("write --out");
            }
        };
        records = inproc::run(&data, &settings, &args.quantization, &mut emit)?;
        if args.growing {
            records.extend(inproc::run_with(
                &data,
                &settings,
                Some(&probe),
                "clipdb-growing",
                inproc::build_graph_unfrozen,
                &mut emit,
            )?);
        }
        #[cfg(feature = "hnsw-baseline")]
        if args.unfiltered {
            records.extend(inproc::run_with(
                &data,
                &settings,
                Some(&probe),
                "hnsw_rs-unfiltered",
                baseline::build,
                &mut emit,
            )?);
        }
    }
    for path in &args.compare {
        records.extend(bench::read_records(path)?);
    }
    if let Some(path) = &args.plot {
        plot(&records, path)?;
        eprintln!("plot written to {}", path.display());
    }
    Ok(())
}

fn load(args: &Args) -> Result<Dataset, String> {
    let data = match (&args.data, args.generate) {
        (Some(dir), _) => Dataset::load(dir, args.queries)?,
        (None, Some(n)) => {
            let started = std::time::Instant::now();
            let d = synth::generate(n, args.queries.unwrap_or(1000), args.dim, args.seed);
            eprintln!(
                "generated {n} x {} and ground truth in {:.1} s",
                args.dim,
                started.elapsed().as_secs_f64()
            );
            d
        }
        (None, None) => unreachable!("checked by parse_args"),
    };
    if let Some(dir) = &args.save {
        data.save(dir)?;
        eprintln!("data written to {}", dir.display());
    }
    eprintln!(
        "data {}: {} x {}, query sets {}",
        data.name,
        data.n(),
        data.dim,
        data.query_sets
            .iter()
            .map(|s| format!("{} ({})", s.name, s.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(data)
}

/// Recall@10 (x) against single-thread QPS (y, log) for each query set, one
/// line per (engine, mode, dataset, m, ef_construction), points by ef.
fn plot(records: &[Record], path: &std::path::Path) -> Result<(), String> {
    use plotters::prelude::*;

    let mut sets: Vec<&str> = Vec::new();
    for r in records {
        if !sets.contains(&r.query_set.as_str()) {
            sets.push(&r.query_set);
        }
    }
    if sets.is_empty() {
        return Err("nothing to plot".into());
    }
    let err = |e: &dyn std::fmt::Display| format!("plot: {e}");
    let root = SVGBackend::new(path, (640 * sets.len() as u32, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let panels = root.split_evenly((1, sets.len()));
    let series_key = |r: &Record| {
        format!(
            "{} {} {} m={} efc={}",
            r.engine, r.mode, r.dataset, r.m, r.ef_construction
        )
    };
    let mut keys: Vec<String> = Vec::new();
    for r in records {
        let k = series_key(r);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for (panel, set) in panels.iter().zip(&sets) {
        let rows: Vec<&Record> = records.iter().filter(|r| r.query_set == *set).collect();
        let rmin = rows.iter().map(|r| r.recall_at_10).fold(1.0, f64::min);
        let qmax = rows.iter().map(|r| r.qps_1t).fold(1.0, f64::max);
        let qmin = rows.iter().map(|r| r.qps_1t).fold(qmax, f64::min);
        let x0 = ((rmin - 0.02) * 50.0).floor() / 50.0;
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{set}: recall@10 vs QPS (1 thread)"), 18)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0.max(0.0)..1.0, ((qmin * 0.7)..(qmax * 1.4)).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("recall@10")
            .y_desc("queries/s, one thread (log)")
            .draw()
            .map_err(|e| err(&e))?;
        for (i, key) in keys.iter().enumerate() {
            let mut pts: Vec<(f64, f64, usize)> = rows
                .iter()
                .filter(|r| series_key(r) == *key)
                .map(|r| (r.recall_at_10, r.qps_1t, r.ef))
                .collect();
            if pts.is_empty() {
                continue;
            }
            pts.sort_by_key(|p| p.2);
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.0, p.1)),
                    color.stroke_width(2),
                ))
                .map_err(|e| err(&e))?
                .label(key.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    pts.iter()
                        .map(|p| Circle::new((p.0, p.1), 3, color.filled())),
                )
                .map_err(|e| err(&e))?;
            chart
                .draw_series(pts.iter().map(|p| {
                    Text::new(
                        format!("ef {}", p.2),
                        (p.0, p.1),
                        ("sans-serif", 11).into_font().color(&color),
                    )
                }))
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
