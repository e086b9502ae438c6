//! `clipdb check --repair`: damaged graph files and vector-file headers are
//! rebuilt and the collection serves every point again; vectors that are
//! really lost are named, and `--discard-lost-points` drops just those.

use crate::common;

use std::path::Path;
use std::process::Command;

use clipdb::proto::*;
use common::{random_unit_vectors, search_vector, vector_point, TestServer};

const DIM: usize = 16;
const N: usize = 250;

/// Runs `clipdb check` with `extra` flags: (succeeded, stdout).
fn check(data: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(["check", "--data-dir"])
        .arg(data)
        .args(extra)
        .output()
        .expect("run clipdb check");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.success(), format!("{stdout}{stderr}"))
}

fn flip_byte(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

/// Every point but `missing` is stored with its vector and payload, and a
/// stored vector finds its own point first.
async fn assert_served(server: &TestServer, vectors: &[Vec<f32>], missing: &[usize]) {
    let mut points = server.points().await;
    let ids: Vec<String> = (0..N).map(|i| format!("p{i}")).collect();
    let got = points
        .get(GetRequest {
            collection: "r".into(),
            ids: ids.clone(),
            with_vector: true,
        })
        .await
        .expect("get")
        .into_inner()
        .points;
    assert_eq!(got.len(), N - missing.len());
    for p in &got {
        let i: usize = p.id[1..].parse().unwrap();
        assert!(!missing.contains(&i), "{} was discarded", p.id);
        assert!(
            common::max_abs_diff(&p.vector, &vectors[i]) < 1e-6,
            "{}",
            p.id
        );
        let n = &p.payload.as_ref().unwrap().fields["n"];
        assert_eq!(
            n.kind,
            Some(prost_types::value::Kind::NumberValue(i as f64))
        );
    }
    for i in (0..N).step_by(7).filter(|i| !missing.contains(i)) {
        let hits = points
            .search(search_vector("r", vectors[i].clone(), 1))
            .await
            .expect("search")
            .into_inner()
            .hits;
        assert_eq!(hits[0].id, format!("p{i}"), "stored vector finds itself");
    }
}

#[tokio::test]
async fn repair_rebuilds_graphs_and_headers_and_names_lost_points() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let vectors = random_unit_vectors(N, DIM, 5);

    // 250 points in segments of 100: segments 1 and 2 sealed, 3 growing.
    let mut server = TestServer::start(&data, &[]);
    common::create_with_segment_capacity(&mut server.collections().await, "r", DIM as u32, 100)
        .await;
    let mut points = server.points().await;
    for start in (0..N).step_by(50) {
        let batch = (start..start + 50)
            .map(|i| Point {
                payload: Some(common::payload(serde_json::json!({ "n": i }))),
                ..vector_point(format!("p{i}"), vectors[i].clone())
            })
            .collect();
        points
            .upsert(UpsertRequest {
                collection: "r".into(),
                points: batch,
            })
            .await
            .unwrap();
    }
    common::wait_sealed(&mut server.collections().await, "r", 2).await;
    drop(points);
    server.stop();

    // Damage what can be rebuilt: a sealed graph file and a vector-file header.
    let seg = |n: u32| data.join(format!("collections/r/seg-{n:06}"));
    let graph = seg(1).join("graph-0.idx");
    let len = std::fs::metadata(&graph).unwrap().len() as usize;
    flip_byte(&graph, len / 2);
    flip_byte(&seg(2).join("vectors-0.bin"), 2);

    let (ok, report) = check(&data, &[]);
    assert!(!ok, "check finds the damage:\n{report}");
    assert!(report.contains("CORRUPT r"), "{report}");

    let (ok, report) = check(&data, &["--repair"]);
    assert!(ok, "repair fixes it:\n{report}");
    assert!(
        report.contains("repaired     r: rebuilt the graphs of segment 1"),
        "{report}"
    );
    assert!(
        report.contains("seg-000002/vectors-0.bin: rewrote its damaged header"),
        "{report}"
    );
    assert!(
        report.contains(&format!("ok      r: {N} points")),
        "{report}"
    );
    let (ok, report) = check(&data, &["--repair"]);
    assert!(
        ok && !report.contains("repaired "),
        "nothing left to repair:\n{report}"
    );

    let mut server = TestServer::start(&data, &[]);
    assert_served(&server, &vectors, &[]).await;
    let info = server
        .collections()
        .await
        .get_collection(GetCollectionRequest { name: "r".into() })
        .await
        .unwrap()
        .into_inner();
    for s in &info.segments[..2] {
        assert_eq!(
            s.graph_source,
            GraphSource::Loaded as i32,
            "segment {}: the rebuilt graph is reloaded from its file",
            s.id
        );
    }
    server.stop();

    // Lose a vector for real: record 0 of segment 3 holds p200.
    flip_byte(&seg(3).join("vectors-0.bin"), 64 + 3);
    let (ok, report) = check(&data, &["--repair"]);
    assert!(!ok, "a lost vector cannot be rebuilt:\n{report}");
    assert!(
        report.contains("NOT REPAIRED r: 1 points have lost vectors") && report.contains("`p200`"),
        "{report}"
    );
    let (ok, report) = check(&data, &["--repair", "--discard-lost-points"]);
    assert!(ok, "{report}");
    assert!(
        report.contains("discarded 1 points whose vectors are lost: `p200`"),
        "{report}"
    );
    assert!(
        report.contains(&format!("ok      r: {} points", N - 1)),
        "{report}"
    );

    let mut server = TestServer::start(&data, &[]);
    assert_eq!(server.count("r").await, (N - 1) as u64);
    assert_served(&server, &vectors, &[200]).await;
    server.stop();
}
