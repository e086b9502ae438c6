//! Compaction: sealed segments that are mostly dead (replaced or deleted
//! points) are emptied into the growing segment and deleted, while the
//! collection keeps answering with exactly the acknowledged points.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use clipdb::proto::*;
use common::{random_unit_vectors, search_vector, vector_point, TestServer};

const DIM: usize = 16;

/// Acknowledged state: id -> (vector, payload number).
type Model = HashMap<String, (Vec<f32>, f64)>;

async fn upsert(server: &TestServer, model: &mut Model, ids: &[usize], seed: u64, tag: f64) {
    let vectors = random_unit_vectors(ids.len(), DIM, seed);
    let points = ids
        .iter()
        .zip(&vectors)
        .map(|(i, v)| Point {
            payload: Some(common::payload(serde_json::json!({ "n": tag }))),
            ..vector_point(format!("p{i}"), v.clone())
        })
        .collect();
    server
        .points()
        .await
        .upsert(UpsertRequest {
            collection: "c".into(),
            points,
        })
        .await
        .unwrap();
    for (i, v) in ids.iter().zip(vectors) {
        model.insert(format!("p{i}"), (v, tag));
    }
}

async fn assert_matches(server: &TestServer, model: &Model) {
    assert_eq!(server.count("c").await as usize, model.len());
    let mut points = server.points().await;
    let got = points
        .get(GetRequest {
            collection: "c".into(),
            ids: (0..400).map(|i| format!("p{i}")).collect(),
            with_vector: true,
        })
        .await
        .unwrap()
        .into_inner()
        .points;
    assert_eq!(got.len(), model.len(), "exactly the acknowledged points");
    for p in &got {
        let (v, tag) = &model[&p.id];
        assert!(common::max_abs_diff(&p.vector, v) < 1e-6, "{}", p.id);
        let n = &p.payload.as_ref().unwrap().fields["n"];
        assert_eq!(n.kind, Some(prost_types::value::Kind::NumberValue(*tag)));
    }
    for (id, (v, _)) in model.iter().take(40) {
        let hits = points
            .search(search_vector("c", v.clone(), 1))
            .await
            .unwrap()
            .into_inner()
            .hits;
        assert_eq!(&hits[0].id, id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mostly_dead_segments_are_compacted_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["--compaction-interval-ms", "50"];
    let mut server = TestServer::start(&data, &args);
    common::create_with_segment_capacity(&mut server.collections().await, "c", DIM as u32, 50)
        .await;
    let mut model = Model::new();
    // Segments 1-4 full, 5 growing.
    let all: Vec<usize> = (0..210).collect();
    upsert(&server, &mut model, &all[..100], 1, 1.0).await;
    upsert(&server, &mut model, &all[100..], 2, 1.0).await;
    // Segment 1: 40 of 50 deleted. Segment 2: 30 of 50 replaced. Segment
    // 3: 10 replaced (20 % dead: stays).
    let deleted: Vec<String> = (0..40).map(|i| format!("p{i}")).collect();
    server
        .points()
        .await
        .delete(DeleteRequest {
            collection: "c".into(),
            ids: deleted.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    for id in &deleted {
        model.remove(id);
    }
    let replaced: Vec<usize> = (50..80).chain(100..110).collect();
    upsert(&server, &mut model, &replaced, 3, 2.0).await;

    let seg_dir = |n: u32| data.join(format!("collections/c/seg-{n:06}"));
    let mut segments = Vec::new();
    for attempt in 0.. {
        segments = common::segment_ids(&mut server.collections().await, "c").await;
        // The compactor drops a segment from the metadata first, then
        // deletes its files: wait for both.
        let gone = |n: u32| !segments.contains(&n) && !seg_dir(n).exists();
        if gone(1) && gone(2) {
            break;
        }
        assert!(
            attempt < 200,
            "segments 1 and 2 compacted away and their files deleted: {segments:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        segments.contains(&3),
        "a segment 20 % dead stays: {segments:?}"
    );
    assert_matches(&server, &model).await;

    // Writes and deletes go on over the compacted collection, and it all
    // survives a restart.
    upsert(&server, &mut model, &(300..360).collect::<Vec<_>>(), 4, 3.0).await;
    assert_matches(&server, &model).await;
    server.stop();
    let mut server = TestServer::start(&data, &args);
    let after = common::segment_ids(&mut server.collections().await, "c").await;
    assert!(!after.contains(&1) && !after.contains(&2), "{after:?}");
    assert_matches(&server, &model).await;
    server.stop();
}
