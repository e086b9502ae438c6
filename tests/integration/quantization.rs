//! Int8 quantization end to end: a collection created with
//! `QUANTIZATION_INT8` walks its sealed segments on one byte per dimension,
//! yet answers with exact scores and the exact top hits' recall, honours
//! deletes, keeps its sealed graphs in our own file format across a
//! restart, and refuses an unknown quantization value by name.

use crate::common;

use clipdb::proto::*;
use common::{
    brute_force_top_k, code, random_unit_vectors, search_vector, vector_point, TestServer,
};

const DIM: usize = 32;
const N: usize = 1200;
const CAPACITY: u32 = 500;

async fn search_all(server: &TestServer, queries: &[Vec<f32>]) -> Vec<Vec<(String, f32)>> {
    let mut points = server.points().await;
    let mut out = Vec::new();
    for q in queries {
        let hits = points
            .search(SearchRequest {
                ef: 128,
                ..search_vector("q", q.clone(), 10)
            })
            .await
            .unwrap()
            .into_inner()
            .hits;
        out.push(hits.into_iter().map(|h| (h.id, h.score)).collect());
    }
    out
}

#[tokio::test]
async fn int8_collection_searches_exactly_scored_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = TestServer::start(&data, &[]);
    let mut collections = server.collections().await;

    let err = collections
        .create_collection(CreateCollectionRequest {
            quantization: 7,
            ..common::create_request("bad", DIM as u32)
        })
        .await;
    let (status, message) = code(err);
    assert_eq!(status, tonic::Code::InvalidArgument);
    assert!(message.contains("quantization"), "{message}");

    let info = collections
        .create_collection(CreateCollectionRequest {
            segment_capacity: CAPACITY,
            quantization: Quantization::Int8 as i32,
            ..common::create_request("q", DIM as u32)
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.quantization, Quantization::Int8 as i32);

    let base = random_unit_vectors(N, DIM, 11);
    let mut points = server.points().await;
    for (b, chunk) in base.chunks(200).enumerate() {
        points
            .upsert(UpsertRequest {
                collection: "q".into(),
                points: chunk
                    .iter()
                    .enumerate()
                    .map(|(i, v)| vector_point((b * 200 + i).to_string(), v.clone()))
                    .collect(),
            })
            .await
            .unwrap();
    }
    // Two full segments seal (in the background).
    common::wait_sealed(&mut collections, "q", 2).await;
    let seg1 = data.join("collections/q/seg-000001");
    assert!(seg1.join("graph-0.idx").exists());
    assert!(
        !seg1.join("graph-0.hnsw.graph").exists(),
        "sealed graphs are stored in our format only"
    );

    // Scores are exact (rescored with the f32 vectors) and the top 10 is
    // found: the int8 walk only chooses candidates.
    let queries = random_unit_vectors(40, DIM, 99);
    let results = search_all(&server, &queries).await;
    let mut found = 0;
    for (q, hits) in queries.iter().zip(&results) {
        assert_eq!(hits.len(), 10);
        for (id, score) in hits {
            let v = &base[id.parse::<usize>().unwrap()];
            assert!((score - common::dot(q, v)).abs() < 1e-5, "{id}: {score}");
        }
        let truth = brute_force_top_k(&base, q, 10);
        found += hits
            .iter()
            .filter(|(id, _)| truth.contains(&id.parse().unwrap()))
            .count();
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    assert!(recall >= 0.95, "recall@10 {recall}");

    // Deleting the best hits of sealed segments removes them from answers.
    let deleted: Vec<String> = results.iter().map(|h| h[0].0.clone()).collect();
    points
        .delete(DeleteRequest {
            collection: "q".into(),
            ids: deleted.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let after = search_all(&server, &queries).await;
    for hits in &after {
        assert!(hits.iter().all(|(id, _)| !deleted.contains(id)));
    }

    // A restart maps the sealed files again: the same answers.
    server.stop();
    let server = TestServer::start(&data, &[]);
    let info = server
        .collections()
        .await
        .get_collection(GetCollectionRequest { name: "q".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.quantization, Quantization::Int8 as i32);
    let sealed = info.segments.iter().filter(|s| s.sealed);
    assert!(sealed
        .clone()
        .all(|s| s.graph_source == GraphSource::Loaded as i32));
    assert_eq!(sealed.count(), 2);
    assert_eq!(search_all(&server, &queries).await, after);
}
