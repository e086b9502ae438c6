//! Filtered search through the real `Database` (issue 15, "Filtered search
//! that stays fast"): QPS and recall@10 of filters matching 0.1 %, 1 %, 10 %
//! and 50 % of the points, without and then with payload indexes, beside
//! unfiltered search, in one run. See docs/benchmarks.md, "Filtered search".
//!
//! ```sh
//! cargo bench --bench filtered -- --n 200000 --out filtered-200k.jsonl
//! ```
//!
//! N synthetic CLIP-like 512-d vectors (`clipdb::bench::synth`, the ANN
//! harness's generator) go into a plain cosine collection with the default
//! settings (m 16, ef_construction 200, ef_search 64, segment capacity
//! 100 000) through `Database::upsert`, 1 000 points a request, each with
//! the payload `{"tag": "tNN", "n": I}`: `tag` one of 100 values drawn
//! uniformly (each ~1 % of the points), `n` a uniform random integer in
//! `0..1 000 000`. Full segments are sealed before anything is measured.
//!
//! The filters (every one a single `must` condition):
//! - 0.1 %: `n < 1000` (a range on the integer field);
//! - 1 %, 10 %, 50 %: `tag` is `any` of the first 1, 10 or 50 tags.
//!
//! Queries are the generator's image queries, one at a time from one thread
//! (`Database::search` runs each on the search pool; a collection of several
//! segments is searched on them in parallel). Ground truth: the exact top 10
//! among the matching points, by brute force. Each filter is measured
//! without payload indexes, then `tag` (keyword) and `n` (integer) are
//! indexed and, once the indexes are ready, measured again; unfiltered
//! search is measured before and after.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use clipdb::bench::{self, synth, Dataset, K};
use clipdb::engine::payload_index::{PayloadIndexSpec, PayloadIndexType};
use clipdb::engine::{
    CollectionSpec, Condition, Database, DatabaseOptions, Filter, Match, Metric, PointData,
    PointInput, Query, Range, SearchParams, Vectorizer,
};
use clipdb::index::distance::dot;

const USAGE: &str =
    "usage: cargo bench --bench filtered -- [--n 200000] [--queries 1000] [--seed 42]
       [--ef 0] [--batch 1000] [--dir DIR] [--out results.jsonl] [--indexed-only]
--ef: a list; 0 is the collection's default (64).
--dir DIR keeps the data directory there, and reuses it when it already holds
the collection with --n points (payload indexes are dropped first, so the
unindexed figures stay unindexed). Without --dir a temporary one is used.
--indexed-only skips the runs without payload indexes.";

const COLLECTION: &str = "bench";
const TAGS: usize = 100;
const N_RANGE: u64 = 1_000_000;

struct Args {
    n: usize,
    queries: usize,
    seed: u64,
    ef: Vec<usize>,
    batch: usize,
    dir: Option<PathBuf>,
    out: Option<PathBuf>,
    indexed_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        n: 200_000,
        queries: 1000,
        seed: 42,
        ef: vec![0],
        batch: 1000,
        dir: None,
        out: None,
        indexed_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |s: String| s.parse::<usize>().map_err(|_| format!("not a number: {s}"));
        match flag.as_str() {
            "--n" => a.n = num(val()?)?,
            "--queries" => a.queries = num(val()?)?,
            "--seed" => a.seed = num(val()?)? as u64,
            "--ef" => a.ef = bench::parse_list(&val()?)?,
            "--batch" => a.batch = num(val()?)?.max(1),
            "--dir" => a.dir = Some(val()?.into()),
            "--out" => a.out = Some(val()?.into()),
            "--indexed-only" => a.indexed_only = true,
            // cargo bench passes --bench to harness = false targets
            "--bench" => {}
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.n == 0 || a.queries == 0 || a.ef.is_empty() {
        return Err(format!(
            "--n, --queries and --ef must not be empty\n{USAGE}"
        ));
    }
    Ok(a)
}

/// The payload values of point `i`: its tag (0..100) and `n`.
fn payload_values(seed: u64, n: usize) -> Vec<(usize, u64)> {
    let mut rng = synth::Rng::new(seed ^ 0x5EED_F11E);
    (0..n)
        .map(|_| (rng.below(TAGS), rng.next_u64() % N_RANGE))
        .collect()
}

fn tag(t: usize) -> String {
    format!("t{t:02}")
}

/// A filter of the benchmark: its name, what it says, the request filter
/// and the same test on the generated values (for the ground truth).
struct FilterCase {
    name: &'static str,
    describe: String,
    filter: Filter,
    test: Box<dyn Fn(usize, u64) -> bool + Sync>,
}

fn filter_cases() -> Vec<FilterCase> {
    let any_tags = |k: usize, name: &'static str| FilterCase {
        name,
        describe: format!(
            "tag any of {k} tag{} (t00..t{:02})",
            if k == 1 { "" } else { "s" },
            k - 1
        ),
        filter: Filter {
            must: vec![Condition {
                key: "tag".into(),
                matches: Match::Any((0..k).map(|t| Value::String(tag(t))).collect()),
            }],
            ..Default::default()
        },
        test: Box::new(move |t, _| t < k),
    };
    vec![
        FilterCase {
            name: "0.1%",
            describe: "n < 1000 (range, n uniform in 0..1e6)".into(),
            filter: Filter {
                must: vec![Condition {
                    key: "n".into(),
                    matches: Match::Range(Range {
                        lt: Some(1000.0),
                        ..Default::default()
                    }),
                }],
                ..Default::default()
            },
            test: Box::new(|_, n| n < 1000),
        },
        any_tags(1, "1%"),
        any_tags(10, "10%"),
        any_tags(50, "50%"),
    ]
}

/// One line of `--out`.
#[derive(Serialize)]
struct Row {
    bench: &'static str,
    command: String,
    host: String,
    date: String,
    /// /proc/loadavg when the row was measured (the machine is shared).
    loadavg: String,
    n: usize,
    dim: usize,
    /// Segments holding points (an empty growing one is not searched).
    segments: usize,
    queries: usize,
    ef: usize,
    /// "unfiltered" or the share of points the filter is meant to match.
    filter: String,
    filter_desc: String,
    /// Points the filter matches, and their share of all points.
    matching: usize,
    selectivity: f64,
    /// Whether `tag` and `n` had ready payload indexes.
    indexed: bool,
    recall_at_10: f64,
    qps_1t: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Seconds to load the points (upserts until sealed); null when reused.
    load_s: Option<f64>,
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

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn run(args: &Args) -> Result<(), String> {
    let command = format!(
        "cargo bench --bench filtered -- {}",
        std::env::args()
            .skip(1)
            .filter(|a| a != "--bench")
            .collect::<Vec<_>>()
            .join(" ")
    );
    let host = bench::host_description();
    let started = Instant::now();
    let data = synth::generate(args.n, args.queries, 512, args.seed);
    let values = payload_values(args.seed, args.n);
    eprintln!(
        "generated {} x {} and unfiltered ground truth in {:.1} s",
        data.n(),
        data.dim,
        started.elapsed().as_secs_f64()
    );
    let queries = &data.query_sets[0];
    assert_eq!(queries.name, "image->image");

    let cases = filter_cases();
    let started = Instant::now();
    let truths: Vec<(Vec<Vec<u32>>, usize)> = cases
        .iter()
        .map(|c| filtered_truth(&data, &values, &*c.test))
        .collect();
    eprintln!(
        "filtered ground truth in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
            tmp.path().to_path_buf()
        }
    };
    let db = Database::open(&dir, DatabaseOptions::default(), None).map_err(|e| e.to_string())?;
    let reused = db
        .collection(COLLECTION)
        .map(|c| c.info().point_count as usize == args.n)
        .unwrap_or(false);
    let load_s = if reused {
        eprintln!("reusing the collection in {}", dir.display());
        for key in ["tag", "n"] {
            let _ = rt.block_on(db.drop_payload_index(COLLECTION, key));
        }
        None
    } else {
        let _ = db.drop_collection(COLLECTION);
        Some(load(&rt, &db, &data, &values, args.batch)?)
    };
    wait_sealed(&db, args.n)?;
    let info = db.collection(COLLECTION).map_err(|e| e.to_string())?.info();
    let default_ef = info.config.ef_search as usize;
    eprintln!(
        "collection: {} points, {} segments ({}), ef_search {default_ef}",
        info.point_count,
        info.segments.len(),
        info.segments
            .iter()
            .map(|s| format!(
                "{} {}",
                s.records,
                if s.sealed { "sealed" } else { "growing" }
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut out = match &args.out {
        Some(p) => Some(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    let mut rows: Vec<Row> = Vec::new();
    let unfiltered_truth: Vec<Vec<u32>> = queries
        .ground_truth
        .iter()
        .map(|t| t[..K].to_vec())
        .collect();
    let mut record = |filter: Option<&FilterCase>,
                      truth: &[Vec<u32>],
                      matching: usize,
                      indexed: bool,
                      ef: usize|
     -> Result<(), String> {
        let (recall, qps, p50, p99) =
            measure(&rt, &db, &data, filter.map(|c| &c.filter), truth, ef)?;
        let row = Row {
            bench: "filtered",
            command: command.clone(),
            host: host.clone(),
            date: bench::utc_now(),
            loadavg: loadavg(),
            n: args.n,
            dim: data.dim,
            segments: info.segments.iter().filter(|s| s.records > 0).count(),
            queries: queries.len(),
            ef: if ef == 0 { default_ef } else { ef },
            filter: filter.map_or("unfiltered".into(), |c| c.name.to_string()),
            filter_desc: filter.map_or(String::new(), |c| c.describe.clone()),
            matching,
            selectivity: matching as f64 / args.n as f64,
            indexed,
            recall_at_10: recall,
            qps_1t: qps,
            p50_ms: p50,
            p99_ms: p99,
            load_s,
        };
        eprintln!(
            "  ef {:<4} {:<10} {:>7} matching  index {:<3}  recall@10 {:.4}  {:>7.0} QPS  p50 {:.3} ms  p99 {:.3} ms  (load {})",
            row.ef,
            row.filter,
            row.matching,
            if indexed { "yes" } else { "no" },
            recall,
            qps,
            p50,
            p99,
            row.loadavg
        );
        let line = serde_json::to_string(&row).expect("rows serialise");
        println!("{line}");
        if let Some(f) = out.as_mut() {
            writeln!(f, "{line}").map_err(|e| format!("--out: {e}"))?;
        }
        rows.push(row);
        Ok(())
    };

    for &ef in &args.ef {
        record(None, &unfiltered_truth, args.n, false, ef)?;
        if !args.indexed_only {
            for (c, (truth, matching)) in cases.iter().zip(&truths) {
                record(Some(c), truth, *matching, false, ef)?;
            }
        }
    }
    let started = Instant::now();
    for (key, kind) in [
        ("tag", PayloadIndexType::Keyword),
        ("n", PayloadIndexType::Integer),
    ] {
        rt.block_on(db.create_payload_index(
            COLLECTION,
            PayloadIndexSpec {
                key: key.into(),
                kind,
            },
        ))
        .map_err(|e| format!("create_payload_index {key}: {e}"))?;
    }
    loop {
        let c = db.collection(COLLECTION).map_err(|e| e.to_string())?;
        let ix = c.info().payload_indexes;
        if ix.len() == 2 && ix.iter().all(|s| s.ready) {
            eprintln!(
                "payload indexes ready in {:.2} s: {}",
                started.elapsed().as_secs_f64(),
                ix.iter()
                    .map(|s| format!("{} {} points", s.spec.key, s.indexed_points))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for &ef in &args.ef {
        for (c, (truth, matching)) in cases.iter().zip(&truths) {
            record(Some(c), truth, *matching, true, ef)?;
        }
        record(None, &unfiltered_truth, args.n, true, ef)?;
    }
    print_table(&rows, &command, &host);
    Ok(())
}

/// Upserts every point, `batch` a request, and waits for full segments to
/// be sealed. Returns the seconds it took.
fn load(
    rt: &tokio::runtime::Runtime,
    db: &Arc<Database>,
    data: &Dataset,
    values: &[(usize, u64)],
    batch: usize,
) -> Result<f64, String> {
    db.create_collection(CollectionSpec {
        name: COLLECTION.into(),
        dimension: data.dim as u32,
        metric: Metric::Cosine,
        vectorizer: Vectorizer::None,
        m: 0,
        ef_construction: 0,
        ef_search: 0,
        fusion: None,
        segment_capacity: 0,
        // Defaults throughout, as a user's collection (int8 walk).
        quantization: None,
        thumbnails: Default::default(),
    })
    .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut last_report = Instant::now();
    for start in (0..data.n()).step_by(batch) {
        let end = (start + batch).min(data.n());
        let points: Vec<PointInput> = (start..end)
            .map(|i| {
                let (t, n) = values[i];
                PointInput {
                    id: i.to_string(),
                    data: PointData::vector(data.vector(i).to_vec()),
                    payload: json!({ "tag": tag(t), "n": n }).as_object().cloned(),
                }
            })
            .collect();
        rt.block_on(db.upsert(COLLECTION, points))
            .map_err(|e| format!("upsert {start}..{end}: {e}"))?;
        if last_report.elapsed() > Duration::from_secs(15) {
            eprintln!(
                "  loaded {end} points in {:.0} s",
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    wait_sealed(db, data.n())?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "loaded {} points in {secs:.1} s ({:.0} points/s, sealing included)",
        data.n(),
        data.n() as f64 / secs
    );
    Ok(secs)
}

/// Waits until every full segment is sealed (a partly filled last segment
/// stays growing).
fn wait_sealed(db: &Database, n: usize) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let info = db.collection(COLLECTION).map_err(|e| e.to_string())?.info();
        let capacity = info.config.segment_capacity as u64;
        if info.point_count as usize == n
            && info
                .segments
                .iter()
                .all(|s| s.sealed || s.records < capacity)
        {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(1800) {
            return Err("segments not sealed after 30 minutes".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The exact top 10 among the points `test` accepts, per image query, and
/// how many points it accepts.
fn filtered_truth(
    data: &Dataset,
    values: &[(usize, u64)],
    test: &(dyn Fn(usize, u64) -> bool + Sync),
) -> (Vec<Vec<u32>>, usize) {
    let matching: Vec<u32> = (0..data.n())
        .filter(|&i| test(values[i].0, values[i].1))
        .map(|i| i as u32)
        .collect();
    let queries = &data.query_sets[0];
    let truth = (0..queries.len())
        .into_par_iter()
        .map(|q| {
            let query = queries.query(q, data.dim);
            let mut scored: Vec<(f32, u32)> = matching
                .iter()
                .map(|&i| (dot(query, data.vector(i as usize)), i))
                .collect();
            scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            scored.truncate(K);
            scored.into_iter().map(|(_, i)| i).collect()
        })
        .collect();
    (truth, matching.len())
}

/// Recall@10 against `truth` (fewer than 10 true neighbours: the share of
/// them found), single-thread QPS, p50 and p99 latency in ms.
fn measure(
    rt: &tokio::runtime::Runtime,
    db: &Database,
    data: &Dataset,
    filter: Option<&Filter>,
    truth: &[Vec<u32>],
    ef: usize,
) -> Result<(f64, f64, f64, f64), String> {
    let queries = &data.query_sets[0];
    let search = |q: usize| -> Result<Vec<u32>, String> {
        let hits = rt
            .block_on(db.search(
                COLLECTION,
                Query::Vector(queries.query(q, data.dim).to_vec()),
                SearchParams {
                    limit: K,
                    ef,
                    filter: filter.cloned(),
                    with_payload: false,
                    with_vector: false,
                    fusion: None,
                    offset: 0,
                    score_threshold: None,
                },
            ))
            .map_err(|e| format!("search: {e}"))?;
        Ok(hits
            .iter()
            .map(|h| h.id.parse().expect("numeric ids"))
            .collect())
    };
    // Warm up: page in what the first queries touch.
    for q in 0..queries.len().min(50) {
        search(q)?;
    }
    let mut latencies = Vec::with_capacity(queries.len());
    let mut found = 0usize;
    let mut expected = 0usize;
    let started = Instant::now();
    for (q, t) in truth.iter().enumerate().take(queries.len()) {
        let t0 = Instant::now();
        let hits = search(q)?;
        latencies.push(t0.elapsed());
        found += hits.iter().take(K).filter(|h| t.contains(h)).count();
        expected += t.len().min(K);
    }
    let secs = started.elapsed().as_secs_f64();
    let qps = queries.len() as f64 / secs;
    let recall = if expected == 0 {
        1.0
    } else {
        found as f64 / expected as f64
    };
    let p50 = bench::percentile_ms(&mut latencies, 0.5).unwrap_or(f64::NAN);
    let p99 = bench::percentile_ms(&mut latencies, 0.99).unwrap_or(f64::NAN);
    Ok((recall, qps, p50, p99))
}

/// The table for docs/benchmarks.md: per ef, one line per filter with and
/// without indexes, QPS also as a share of unfiltered QPS (the later
/// unfiltered run, with indexes present).
fn print_table(rows: &[Row], command: &str, host: &str) {
    let Some(first) = rows.first() else { return };
    println!();
    println!(
        "`{command}`: {} x {}, {} segments, {} queries, {host}, {}",
        first.n, first.dim, first.segments, first.queries, first.date
    );
    let mut efs: Vec<usize> = rows.iter().map(|r| r.ef).collect();
    efs.dedup();
    for ef in efs {
        let at: Vec<&Row> = rows.iter().filter(|r| r.ef == ef).collect();
        let unfiltered = at
            .iter()
            .rev()
            .find(|r| r.filter == "unfiltered")
            .map_or(f64::NAN, |r| r.qps_1t);
        println!();
        println!("ef {ef}:");
        println!();
        println!("| filter | matching | no index: recall@10 | no index: QPS | index: recall@10 | index: QPS | index: QPS / unfiltered |");
        println!("|---|---|---|---|---|---|---|");
        for r in at.iter().filter(|r| r.filter == "unfiltered") {
            println!(
                "| unfiltered ({}) | {} | {:.4} | {:.0} | | | |",
                if r.indexed {
                    "after indexing"
                } else {
                    "before"
                },
                r.matching,
                r.recall_at_10,
                r.qps_1t
            );
        }
        let mut names: Vec<&str> = at
            .iter()
            .filter(|r| r.filter != "unfiltered")
            .map(|r| r.filter.as_str())
            .collect();
        names.dedup();
        let mut seen: Vec<&str> = Vec::new();
        for name in names {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            let find = |indexed: bool| at.iter().find(|r| r.filter == name && r.indexed == indexed);
            let cell = |r: Option<&&Row>| {
                r.map_or(("-".to_string(), "-".to_string()), |r| {
                    (format!("{:.4}", r.recall_at_10), format!("{:.0}", r.qps_1t))
                })
            };
            let (nr, nq) = cell(find(false));
            let (ir, iq) = cell(find(true));
            let share = find(true).map_or("-".to_string(), |r| {
                format!("{:.0} %", 100.0 * r.qps_1t / unfiltered)
            });
            let r = find(true).or(find(false)).expect("a row of this filter");
            println!(
                "| {} `{}` | {} ({:.2} %) | {nr} | {nq} | {ir} | {iq} | {share} |",
                name,
                r.filter_desc,
                r.matching,
                100.0 * r.selectivity
            );
        }
    }
}
