//! Restart time at any fill level: a real `clipdb serve` process (the
//! release binary) is loaded, stopped (SIGTERM, or SIGKILL) and started
//! again; the figure is the time from the new process's start to its first
//! answered search.
//!
//!   cargo build --release --bin clipdb
//!   cargo bench --bench restart -- [--sizes 10000,50000,100000] [--dim 512]
//!
//! Per size N (CLIP-like synthetic vectors, one growing segment: capacity 2N):
//! 1. kill -9 after the load, once the periodic checkpoint has run: the
//!    graph comes from the checkpoint plus the tail written after it; then
//!    kill -9 right after 4 999 more points (just under the default
//!    --graph-checkpoint-points: the most a restart re-inserts, give or take
//!    one maintenance interval's writes);
//! 2. graceful stop (a checkpoint at shutdown): nothing to re-insert;
//! 3. the same, its checkpoint deleted: the graph rebuilt from the vectors
//!    (what every restart cost before checkpoints);
//!
//! and a sealed-only collection of the largest N (segments of N/2; the
//! growing segment empty), graceful and kill -9.
//!
//! CLIPDB_BIN=PATH uses another binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clipdb::proto::collections_client::CollectionsClient;
use clipdb::proto::points_client::PointsClient;
use clipdb::proto::*;
use tonic::transport::Channel;

struct Server {
    child: Child,
    url: String,
}

fn binary() -> PathBuf {
    std::env::var_os("CLIPDB_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/clipdb"))
}

fn start(data: &Path, segment_capacity: usize) -> Server {
    let bin = binary();
    assert!(
        bin.exists(),
        "no {}: build it with cargo build --release --bin clipdb",
        bin.display()
    );
    let mut child = Command::new(&bin)
        .args(["serve", "--model", "none", "--listen", "127.0.0.1:0"])
        .args(["--http-listen", "off", "--data-dir"])
        .arg(data)
        .args(["--segment-capacity", &segment_capacity.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn clipdb");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("clipdb exited").unwrap();
        if let Some(addr) = line.strip_prefix("clipdb listening on ") {
            break format!("http://{}", addr.trim());
        }
    };
    // Keep draining stdout so the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    Server { child, url }
}

fn sigterm(child: &mut Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
}

async fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Seconds from spawning the server to its first answered search.
async fn timed_start(data: &Path, segment_capacity: usize, query: &[f32]) -> (f64, Server) {
    let started = Instant::now();
    let server = start(data, segment_capacity);
    let mut points =
        PointsClient::new(channel(&server.url).await).max_decoding_message_size(64 << 20);
    let hits = points
        .search(SearchRequest {
            collection: "bench".into(),
            query: Some(search_request::Query::Vector(Vector {
                values: query.to_vec(),
            })),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .hits;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(hits.len(), 10);
    (secs, server)
}

async fn source(url: &str) -> String {
    let info = CollectionsClient::new(channel(url).await)
        .get_collection(GetCollectionRequest {
            name: "bench".into(),
        })
        .await
        .unwrap()
        .into_inner();
    info.segments
        .iter()
        .map(|s| {
            let g = GraphSource::try_from(s.graph_source)
                .map(|g| {
                    g.as_str_name()
                        .trim_start_matches("GRAPH_SOURCE_")
                        .to_lowercase()
                })
                .unwrap_or_default();
            format!("{}:{g}", if s.sealed { "sealed" } else { "growing" })
        })
        .collect::<Vec<_>>()
        .join(",")
}

async fn load(url: &str, vectors: &[Vec<f32>], segment_capacity: usize) {
    CollectionsClient::new(channel(url).await)
        .create_collection(CreateCollectionRequest {
            name: "bench".into(),
            dimension: vectors[0].len() as u32,
            segment_capacity: segment_capacity as u32,
            ..Default::default()
        })
        .await
        .unwrap();
    let requests: Vec<UpsertRequest> = vectors
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
    PointsClient::new(channel(url).await)
        .upsert_stream(tokio_stream::iter(requests))
        .await
        .unwrap();
}

/// Points in a growing segment's checkpoint of space 0 (its header's
/// sixth word; see index/growing.rs), or None.
fn checkpointed_points(data: &Path) -> Option<u32> {
    let dir = data.join("collections/bench");
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let bytes = std::fs::read(e.path().join("graph-0.ckpt")).ok();
        if let Some(b) = bytes.filter(|b| b.len() >= 32) {
            return Some(u32::from_le_bytes(b[28..32].try_into().unwrap()));
        }
    }
    None
}

fn remove_checkpoints(data: &Path) {
    let dir = data.join("collections/bench");
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let _ = std::fs::remove_file(e.path().join("graph-0.ckpt"));
    }
}

#[tokio::main]
async fn main() {
    let mut sizes = vec![10_000usize, 50_000, 100_000];
    let mut dim = 512;
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let val = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--sizes" => sizes = val.split(',').map(|s| s.parse().unwrap()).collect(),
            "--dim" => dim = val.parse().unwrap(),
            "--bench" => {
                i += 1;
                continue;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    let largest = *sizes.iter().max().unwrap();
    const TAIL: usize = 4_999;
    let set = clipdb::bench::synth::generate(largest + TAIL, 1, dim, 2026);
    let vectors: Vec<Vec<f32>> = (0..largest + TAIL)
        .map(|i| set.vector(i).to_vec())
        .collect();
    let query = vectors[7].clone();
    println!("| points | segments | stop | graph source | re-inserted | restart to first search |");
    println!("|---|---|---|---|---|---|");
    for &n in &sizes {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let capacity = 2 * n;
        let mut server = start(&data, capacity);
        load(&server.url, &vectors[..n], capacity).await;
        // The periodic checkpoint looks every second.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let tail = n as u32 - checkpointed_points(&data).unwrap_or(0);
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        let (secs, mut server) = timed_start(&data, capacity, &query).await;
        let src = source(&server.url).await;
        println!("| {n} | 1 growing | kill -9 | {src} | {tail} | {secs:.2} s |");
        // The worst case: a tail just under the checkpoint threshold.
        let extra: Vec<Point> = (n..n + TAIL)
            .map(|i| Point {
                id: i.to_string(),
                vector: vectors[i].clone(),
                ..Default::default()
            })
            .collect();
        let before = checkpointed_points(&data).unwrap_or(0);
        for chunk in extra.chunks(1000) {
            PointsClient::new(channel(&server.url).await)
                .upsert(UpsertRequest {
                    collection: "bench".into(),
                    points: chunk.to_vec(),
                })
                .await
                .unwrap();
        }
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        let tail = (n + TAIL) as u32 - checkpointed_points(&data).unwrap_or(before);
        let (secs, mut server) = timed_start(&data, capacity, &query).await;
        let src = source(&server.url).await;
        println!(
            "| {} | 1 growing | kill -9 after {TAIL} more | {src} | {tail} | {secs:.2} s |",
            n + TAIL
        );
        sigterm(&mut server.child);
        let (secs, mut server) = timed_start(&data, capacity, &query).await;
        let src = source(&server.url).await;
        println!(
            "| {} | 1 growing | graceful | {src} | 0 | {secs:.2} s |",
            n + TAIL
        );
        sigterm(&mut server.child);
        remove_checkpoints(&data);
        let (secs, mut server) = timed_start(&data, capacity, &query).await;
        let src = source(&server.url).await;
        println!(
            "| {0} | 1 growing | graceful, checkpoint deleted | {src} | {0} | {secs:.2} s |",
            n + TAIL
        );
        sigterm(&mut server.child);
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let capacity = largest / 2;
    let mut server = start(&data, capacity);
    load(&server.url, &vectors[..largest], capacity).await;
    // Both full segments sealed (their graph files written).
    for _ in 0..600 {
        if source(&server.url).await.matches("sealed:").count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    sigterm(&mut server.child);
    let (secs, mut server) = timed_start(&data, capacity, &query).await;
    let src = source(&server.url).await;
    println!("| {largest} | 2 sealed + empty growing | graceful | {src} | 0 | {secs:.2} s |");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let (secs, mut server) = timed_start(&data, capacity, &query).await;
    let src = source(&server.url).await;
    println!("| {largest} | 2 sealed + empty growing | kill -9 | {src} | 0 | {secs:.2} s |");
    sigterm(&mut server.child);
}
