//! End-to-end server benchmark: bulk load through UpsertStream, search QPS and
//! recall@10 through gRPC on loopback, and restart time.
//!
//!   cargo bench --bench server -- [--n 100000] [--dim 512] [--queries 500] [--data DIR]
//!       [--segment-capacity 100000] [--quantization f32|int8] [--ef 64,128] [--clients 1,8]
//!       [--no-metrics]
//!
//! `--no-metrics` runs the server without its metrics recorder (every
//! `metrics` call a no-op, the RPC layer timing nothing): run it with and
//! without to see what metrics cost on the search path. `--metrics-compare`
//! does both on the same graph: the first server without metrics, then after
//! the restart (the sealed segments reloaded from their files, so the very
//! same graphs) the same searches with metrics recorded.
//!
//! Searches start once every full segment is sealed (as a collection that
//! has finished loading is searched), so they measure sealed segments.
//!
//! With `--data DIR` it reads TEXMEX files written by
//! `../shared/tools/gen_ann_data.py DIR N` (base.fvecs, queries_txt.fvecs,
//! queries_img.fvecs, gt_*.ivecs); otherwise it generates clustered unit
//! vectors (a shared mean direction plus skewed clusters) and computes the
//! ground truth by brute force.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clipdb::engine::DatabaseOptions;
use clipdb::proto::collections_client::CollectionsClient;
use clipdb::proto::points_client::PointsClient;
use clipdb::proto::*;
use clipdb::server::{serve, ServerOptions};
use tonic::transport::Channel;

/// A named query set with its ground-truth neighbour ids.
type QuerySet = (&'static str, Vec<Vec<f32>>, Vec<Vec<u32>>);

struct Args {
    n: usize,
    dim: usize,
    queries: usize,
    data: Option<PathBuf>,
    segment_capacity: u32,
    quantization: Quantization,
    ef: Vec<u32>,
    clients: Vec<usize>,
    record_metrics: bool,
    metrics_compare: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        n: 100_000,
        dim: 512,
        queries: 500,
        data: None,
        segment_capacity: 100_000,
        // The server's default for new collections.
        quantization: Quantization::Int8,
        ef: vec![64, 128],
        clients: vec![1, 8],
        record_metrics: true,
        metrics_compare: false,
    };
    let list = |v: String| -> Vec<String> { v.split(',').map(String::from).collect() };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let val = || argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--n" => a.n = val().parse().unwrap(),
            "--dim" => a.dim = val().parse().unwrap(),
            "--queries" => a.queries = val().parse().unwrap(),
            "--data" => a.data = Some(PathBuf::from(val())),
            "--segment-capacity" => a.segment_capacity = val().parse().unwrap(),
            "--quantization" => {
                a.quantization = match val().as_str() {
                    "f32" | "none" => Quantization::F32,
                    "int8" => Quantization::Int8,
                    other => panic!("--quantization: unknown {other:?} (f32, int8)"),
                }
            }
            "--ef" => a.ef = list(val()).iter().map(|x| x.parse().unwrap()).collect(),
            "--clients" => a.clients = list(val()).iter().map(|x| x.parse().unwrap()).collect(),
            "--no-metrics" => {
                a.record_metrics = false;
                i += 1;
                continue;
            }
            "--metrics-compare" => {
                a.record_metrics = false;
                a.metrics_compare = true;
                i += 1;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

fn read_fvecs(path: &Path) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dim = u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    bytes
        .chunks_exact(4 + 4 * dim)
        .map(|rec| {
            rec[4..]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect()
        })
        .collect()
}

fn read_ivecs(path: &Path) -> Vec<Vec<u32>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let k = u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    bytes
        .chunks_exact(4 + 4 * k)
        .map(|rec| {
            rec[4..]
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                .collect()
        })
        .collect()
}

/// splitmix64-based Gaussian-ish generator (sum of uniforms), deterministic.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn normal(&mut self) -> f32 {
        (0..4).map(|_| self.uniform()).sum::<f32>() * 1.732 - 3.464
    }
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

/// CLIP-like: a shared mean direction, many clusters of skewed popularity.
fn synthetic(n: usize, nq: usize, dim: usize) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let mut rng = Rng(42);
    let clusters = (n / 100).max(16);
    let mean = unit((0..dim).map(|_| rng.normal()).collect());
    let centers: Vec<Vec<f32>> = (0..clusters)
        .map(|_| unit((0..dim).map(|_| rng.normal()).collect()))
        .collect();
    let sample = |rng: &mut Rng| {
        // Skew: cluster index drawn from a power law.
        let c = ((rng.uniform().powf(3.0)) * clusters as f32) as usize % clusters;
        unit(
            (0..dim)
                .map(|j| {
                    0.6 * mean[j] + centers[c][j] + 0.6 * rng.normal() / (dim as f32).sqrt() * 4.0
                })
                .collect(),
        )
    };
    let base = (0..n).map(|_| sample(&mut rng)).collect();
    let queries = (0..nq).map(|_| sample(&mut rng)).collect();
    (base, queries)
}

fn brute_force(base: &[Vec<f32>], queries: &[Vec<f32>], k: usize) -> Vec<Vec<u32>> {
    use rayon::prelude::*;
    queries
        .par_iter()
        .map(|q| {
            let mut s: Vec<(f32, u32)> = base
                .iter()
                .enumerate()
                .map(|(i, v)| (clipdb::index::distance::dot(q, v), i as u32))
                .collect();
            s.select_nth_unstable_by(k, |a, b| b.0.total_cmp(&a.0));
            s.truncate(k);
            s.sort_by(|a, b| b.0.total_cmp(&a.0));
            s.into_iter().map(|(_, i)| i).collect()
        })
        .collect()
}

async fn start(
    dir: &Path,
    record_metrics: bool,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let options = ServerOptions {
        cluster: None,
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        max_message_bytes: 64 << 20,
        database: DatabaseOptions::default(),
        model: None,
        shutdown_grace: Duration::from_secs(10),
        api_keys: Default::default(),
        tls: None,
        http_listen: None,
        record_metrics,
    };
    let handle = tokio::spawn(async move {
        serve(options, |a| addr_tx.send(a.grpc).unwrap(), async {
            let _ = stop_rx.await;
        })
        .await
        .unwrap();
    });
    let addr = addr_rx.await.unwrap();
    (format!("http://{addr}"), stop_tx, handle)
}

async fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn recall(hits: &[Vec<u32>], truth: &[Vec<u32>]) -> f64 {
    let found: usize = hits
        .iter()
        .zip(truth)
        .map(|(h, t)| h.iter().filter(|x| t[..10].contains(x)).count())
        .sum();
    found as f64 / (hits.len() * 10) as f64
}

async fn run_queries(
    url: &str,
    queries: &[Vec<f32>],
    ef: u32,
    clients: usize,
) -> (Vec<Vec<u32>>, f64, Vec<Duration>) {
    let chunks: Vec<(usize, Vec<Vec<f32>>)> = queries
        .chunks(queries.len().div_ceil(clients))
        .enumerate()
        .map(|(i, c)| (i, c.to_vec()))
        .collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, chunk) in chunks {
        let ch = channel(url).await;
        tasks.push(tokio::spawn(async move {
            let mut p = PointsClient::new(ch);
            let mut out = Vec::new();
            let mut lat = Vec::new();
            for q in chunk {
                let t = Instant::now();
                let hits = p
                    .search(SearchRequest {
                        collection: "bench".into(),
                        query: Some(search_request::Query::Vector(Vector { values: q })),
                        limit: 10,
                        ef,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .hits;
                lat.push(t.elapsed());
                out.push(
                    hits.iter()
                        .map(|h| h.id.parse::<u32>().unwrap())
                        .collect::<Vec<u32>>(),
                );
            }
            (i, out, lat)
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    results.sort_by_key(|r| r.0);
    let mut hits = Vec::new();
    let mut lat = Vec::new();
    for (_, h, l) in results {
        hits.extend(h);
        lat.extend(l);
    }
    lat.sort();
    (hits, queries.len() as f64 / secs, lat)
}

fn pct(lat: &[Duration], p: f64) -> f64 {
    lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let (base, query_sets): (Vec<Vec<f32>>, Vec<QuerySet>) = match &args.data {
        Some(dir) => {
            let base = read_fvecs(&dir.join("base.fvecs"));
            let mut sets = Vec::new();
            for (name, q, gt) in [
                ("image->image", "queries_img.fvecs", "gt_img.ivecs"),
                ("text->image", "queries_txt.fvecs", "gt_txt.ivecs"),
            ] {
                let mut qs = read_fvecs(&dir.join(q));
                let mut g = read_ivecs(&dir.join(gt));
                qs.truncate(args.queries);
                g.truncate(args.queries);
                sets.push((name, qs, g));
            }
            (base, sets)
        }
        None => {
            let (base, queries) = synthetic(args.n, args.queries, args.dim);
            let gt = brute_force(&base, &queries, 10);
            (base, vec![("synthetic", queries, gt)])
        }
    };
    let (n, dim) = (base.len(), base[0].len());
    eprintln!("data: {n} x {dim}, {} query sets", query_sets.len());
    println!(
        "metrics: {}",
        if args.record_metrics {
            "recorded (as the server runs)"
        } else {
            "off (--no-metrics)"
        }
    );
    let dir = tempfile::tempdir().unwrap();
    let (url, stop, handle) = start(dir.path(), args.record_metrics).await;
    let mut collections = CollectionsClient::new(channel(&url).await);
    collections
        .create_collection(CreateCollectionRequest {
            name: "bench".into(),
            dimension: dim as u32,
            segment_capacity: args.segment_capacity,
            quantization: args.quantization as i32,
            ..Default::default()
        })
        .await
        .unwrap();

    // Bulk load: one stream of 1000-point batches.
    let started = Instant::now();
    let requests: Vec<UpsertRequest> = base
        .chunks(1000)
        .enumerate()
        .map(|(b, chunk)| UpsertRequest {
            collection: "bench".into(),
            points: chunk
                .iter()
                .enumerate()
                .map(|(i, v)| Point {
                    id: (b * 1000 + i).to_string(),
                    vector: v.clone(),
                    ..Default::default()
                })
                .collect(),
        })
        .collect();
    let mut points = PointsClient::new(channel(&url).await).max_encoding_message_size(usize::MAX);
    points
        .upsert_stream(tokio_stream::iter(requests))
        .await
        .unwrap();
    let load_secs = started.elapsed().as_secs_f64();
    println!(
        "insert: {n} points in {load_secs:.1} s = {:.0} points/s (UpsertStream, durable acks)",
        n as f64 / load_secs
    );

    // Wait until every full segment is sealed.
    let started = Instant::now();
    let full = n as u64 / args.segment_capacity as u64;
    loop {
        let info = collections
            .get_collection(GetCollectionRequest {
                name: "bench".into(),
            })
            .await
            .unwrap()
            .into_inner();
        if info.segments.iter().filter(|s| s.sealed).count() as u64 >= full {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "sealed {full} full segments {:.1} s after the last ack",
        started.elapsed().as_secs_f64()
    );

    let searches = |url: String, label: &'static str| {
        let (query_sets, args_ef, args_clients) = (&query_sets, &args.ef, &args.clients);
        async move {
            for (name, queries, gt) in query_sets {
                for &ef in args_ef {
                    for &clients in args_clients {
                        let (hits, qps, lat) = run_queries(&url, queries, ef, clients).await;
                        println!(
                            "search{label} {name} ef={ef} clients={clients}: recall@10 {:.3}, {qps:.0} QPS, p50 {:.2} ms, p99 {:.2} ms",
                            recall(&hits, gt),
                            pct(&lat, 0.5),
                            pct(&lat, 0.99)
                        );
                    }
                }
            }
        }
    };
    searches(
        url.clone(),
        if args.metrics_compare {
            " (metrics off)"
        } else {
            ""
        },
    )
    .await;

    // Restart: stop gracefully, reopen, time to the first answered search.
    let _ = stop.send(());
    handle.await.unwrap();
    let started = Instant::now();
    let (url, stop, handle) = start(dir.path(), args.record_metrics || args.metrics_compare).await;
    let (hits, _, _) = run_queries(&url, &query_sets[0].1[..1], 64, 1).await;
    let restart = started.elapsed().as_secs_f64();
    assert_eq!(hits[0].len(), 10);
    let info = CollectionsClient::new(channel(&url).await)
        .get_collection(GetCollectionRequest {
            name: "bench".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let loaded = info
        .segments
        .iter()
        .filter(|s| s.graph_source == GraphSource::Loaded as i32)
        .count();
    println!("restart: {restart:.2} s to the first answered search ({loaded}/{} segments reloaded from graph files)", info.segments.len());
    if args.metrics_compare {
        // The same graphs (reloaded), now with the recorder installed.
        searches(url.clone(), " (metrics on)").await;
        searches(url.clone(), " (metrics on, again)").await;
    }
    let bytes: u64 = walk(dir.path());
    println!(
        "disk: {:.1} MiB ({:.0} bytes per vector)",
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / n as f64
    );
    let _ = stop.send(());
    handle.await.unwrap();
}

fn walk(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let m = e.metadata().unwrap();
                    if m.is_dir() {
                        walk(&e.path())
                    } else {
                        // Allocated bytes: vector files are sparse up to capacity.
                        use std::os::unix::fs::MetadataExt;
                        m.blocks() * 512
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
