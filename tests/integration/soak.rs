//! Soak: 16 concurrent clients mix searches, upserts and deletes against a
//! real server for a bounded time; at the end the collection must equal the
//! client-side model, no request may have failed, and the server's memory is
//! reported (and must stay bounded).
//!
//! CI runs 10 seconds; `CLIPDB_SOAK_SECS=180 cargo test --release --test soak
//! -- --nocapture` is the measured run (docs/reliability.md).

use crate::common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use clipdb::proto::*;
use common::*;
use serde_json::json;

const CLIENTS: u64 = 16;
const IDS_PER_CLIENT: u64 = 500;
const DIM: usize = 32;

use common::SplitMix64 as Rng;

impl Rng {
    fn unit_vector(&mut self) -> Vec<f32> {
        let v: Vec<f32> = (0..DIM)
            .map(|_| (self.below(2001) as f32 - 1000.0) / 1000.0 + 0.001)
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }
}

/// The vector stored for (id, version).
fn vector_of(id: u64, version: u64) -> Vec<f32> {
    Rng(id.wrapping_mul(1_000_003) ^ (version << 32)).unit_vector()
}

/// One client's run: its own ids, so its model is exact. Returns the model
/// (id -> version of the live points), latencies and unexpected errors.
async fn client(
    url: String,
    c: u64,
    until: Instant,
) -> (HashMap<u64, u64>, Vec<Duration>, Vec<String>) {
    let channel = tonic::transport::Channel::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut p = points_client::PointsClient::new(channel);
    let mut rng = Rng(c + 1);
    let mut model = HashMap::new();
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    let base = c * IDS_PER_CLIENT;
    let mut version = 0u64;
    while Instant::now() < until {
        let op = rng.below(100);
        let started = Instant::now();
        let result = if op < 50 {
            let q = rng.unit_vector();
            p.search(search_vector("soak", q, 10)).await.map(|r| {
                let hits = r.into_inner().hits;
                assert!(hits.len() <= 10);
                assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
            })
        } else if op < 85 {
            version += 1;
            let ids: Vec<u64> = (0..8).map(|_| base + rng.below(IDS_PER_CLIENT)).collect();
            let points = ids
                .iter()
                .map(|&id| Point {
                    id: id.to_string(),
                    vector: vector_of(id, version),
                    payload: Some(payload(json!({"version": version, "client": c}))),
                    ..Default::default()
                })
                .collect();
            let r = p
                .upsert(UpsertRequest {
                    collection: "soak".into(),
                    points,
                })
                .await;
            if r.is_ok() {
                for id in ids {
                    model.insert(id, version);
                }
            }
            r.map(|_| ())
        } else {
            let ids: Vec<u64> = (0..4).map(|_| base + rng.below(IDS_PER_CLIENT)).collect();
            let r = p
                .delete(DeleteRequest {
                    collection: "soak".into(),
                    ids: ids.iter().map(u64::to_string).collect(),
                    ..Default::default()
                })
                .await;
            if r.is_ok() {
                for id in ids {
                    model.remove(&id);
                }
            }
            r.map(|_| ())
        };
        latencies.push(started.elapsed());
        if let Err(s) = result {
            errors.push(format!("client {c}: {:?} {}", s.code(), s.message()));
        }
    }
    (model, latencies, errors)
}

fn rss_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_clients_mixed_load_ends_equal_to_the_model() {
    let secs: u64 = std::env::var("CLIPDB_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    // Small segments, so sealing happens during the run.
    let server = TestServer::start(&dir.path().join("data"), &["--segment-capacity", "2000"]);
    server
        .collections()
        .await
        .create_collection(create_request("soak", DIM as u32))
        .await
        .unwrap();
    let pid = server.pid();
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| tokio::spawn(client(server.url(), c, until)))
        .collect();
    // Sample the server's resident memory while the clients run.
    let mut rss_samples = Vec::new();
    while Instant::now() < until {
        rss_samples.push(rss_bytes(pid, "VmRSS"));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut model = HashMap::new();
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    for t in tasks {
        let (m, l, e) = t.await.unwrap();
        model.extend(m);
        latencies.extend(l);
        errors.extend(e);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    let peak = rss_bytes(pid, "VmHWM");
    println!(
        "soak: {CLIENTS} clients, {secs} s: {} requests, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms; server peak RSS {:.0} MiB; {} live points; {} unexpected errors",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99),
        peak as f64 / (1 << 20) as f64,
        model.len(),
        errors.len()
    );
    assert!(errors.is_empty(), "{:?}", &errors[..errors.len().min(5)]);

    // The collection equals the model: every live id with its last
    // acknowledged version and vector, nothing else.
    let mut p = server.points().await;
    let all_ids: Vec<String> = (0..CLIENTS * IDS_PER_CLIENT)
        .map(|i| i.to_string())
        .collect();
    let mut stored = HashMap::new();
    for chunk in all_ids.chunks(1000) {
        let got = p
            .get(GetRequest {
                collection: "soak".into(),
                ids: chunk.to_vec(),
                with_vector: true,
            })
            .await
            .unwrap()
            .into_inner()
            .points;
        for point in got {
            let version = match point.payload.as_ref().unwrap().fields["version"].kind {
                Some(prost_types::value::Kind::NumberValue(v)) => v as u64,
                ref other => panic!("bad payload {other:?}"),
            };
            stored.insert(point.id.parse::<u64>().unwrap(), (version, point.vector));
        }
    }
    assert_eq!(
        stored.len(),
        model.len(),
        "live points differ from the model"
    );
    for (id, version) in &model {
        let (v, vector) = &stored[id];
        assert_eq!(v, version, "point {id}");
        assert!(
            max_abs_diff(vector, &vector_of(*id, *version)) < 1e-6,
            "point {id}"
        );
    }
    let count = server.count("soak").await;
    assert_eq!(count, model.len() as u64);
    // Bounded memory: 8 000 ids of 32 floats are a few MiB of data.
    assert!(peak < 1 << 30, "server peak RSS {peak} bytes");
    assert!(rss_samples.iter().all(|&r| r < 1 << 30));
}
