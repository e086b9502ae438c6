//! Payload indexes through the real server: filtered searches through an
//! index return what an exact scan of the client-side model says, the index
//! follows every write, survives restarts, kill -9 and snapshots, and bad
//! requests are refused.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use clipdb::proto::*;
use serde_json::json;
use tonic::Code;

use crate::common::*;

const DIM: usize = 16;
const N: usize = 6_000;
/// Sealed segments of 2 500: filters matching more than 16 x ef of a
/// segment's records walk its graph through the index's bitset.
const CAPACITY: u32 = 2_500;

fn tag_of(i: usize) -> String {
    format!("tag{}", i % 50)
}

/// Point i: {tag: tag(i % 50), n: i, half: i % 2 == 0}, and every 7th a
/// string where the integer index expects a number (a mixed-type key).
fn point(i: usize, v: Vec<f32>) -> Point {
    let n = if i.is_multiple_of(7) {
        json!(format!("n{i}"))
    } else {
        json!(i)
    };
    Point {
        payload: Some(payload(
            json!({"tag": tag_of(i), "n": n, "half": i.is_multiple_of(2)}),
        )),
        ..vector_point(format!("p{i}"), v)
    }
}

fn equals(key: &str, v: serde_json::Value) -> Condition {
    Condition {
        key: key.into(),
        r#match: Some(condition::Match::Equals(
            payload(json!({ "v": v })).fields.remove("v").unwrap(),
        )),
    }
}

fn range(key: &str, gte: f64, lt: f64) -> Condition {
    Condition {
        key: key.into(),
        r#match: Some(condition::Match::Range(Range {
            gte: Some(gte),
            lt: Some(lt),
            ..Default::default()
        })),
    }
}

async fn create_index(server: &TestServer, key: &str, t: PayloadIndexType) -> PayloadIndexInfo {
    server
        .collections()
        .await
        .create_payload_index(CreatePayloadIndexRequest {
            collection: "c".into(),
            key: key.into(),
            r#type: t as i32,
        })
        .await
        .expect("create payload index")
        .into_inner()
}

/// The collection's indexes once all are ready.
async fn ready_indexes(server: &TestServer) -> BTreeMap<String, PayloadIndexInfo> {
    for _ in 0..600 {
        let info = server
            .collections()
            .await
            .get_collection(GetCollectionRequest { name: "c".into() })
            .await
            .unwrap()
            .into_inner();
        if info
            .payload_indexes
            .iter()
            .all(|ix| ix.state == PayloadIndexState::Ready as i32)
        {
            return info
                .payload_indexes
                .into_iter()
                .map(|ix| (ix.key.clone(), ix))
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("payload indexes never became ready");
}

struct Model {
    vectors: BTreeMap<usize, Vec<f32>>,
}

impl Model {
    /// Exact top 10 among the points passing `keep`, by cosine with `q`.
    fn top(&self, q: &[f32], keep: impl Fn(usize) -> bool) -> Vec<String> {
        let mut scored: Vec<(f32, usize)> = self
            .vectors
            .iter()
            .filter(|(i, _)| keep(**i))
            .map(|(i, v)| (dot(q, v), *i))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored
            .into_iter()
            .take(10)
            .map(|(_, i)| format!("p{i}"))
            .collect()
    }
}

/// Recall@10 of filtered searches against the model, over 20 queries.
async fn filtered_recall(
    server: &TestServer,
    model: &Model,
    filter: Filter,
    keep: impl Fn(usize) -> bool,
) -> f64 {
    let mut p = server.points().await;
    let mut found = 0;
    let mut wanted = 0;
    for q in random_unit_vectors(20, DIM, 99) {
        let want = model.top(&q, &keep);
        let hits = p
            .search(SearchRequest {
                filter: Some(filter.clone()),
                ..search_vector("c", q, 10)
            })
            .await
            .unwrap()
            .into_inner()
            .hits;
        for h in &hits {
            let i: usize = h.id[1..].parse().unwrap();
            assert!(keep(i), "{} does not match the filter", h.id);
        }
        let got: HashSet<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        wanted += want.len();
        found += want.iter().filter(|id| got.contains(id.as_str())).count();
    }
    found as f64 / wanted as f64
}

async fn count(server: &TestServer, filter: Filter) -> u64 {
    server
        .points()
        .await
        .count(CountRequest {
            collection: "c".into(),
            filter: Some(filter),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .count
}

fn must(c: Vec<Condition>) -> Filter {
    Filter {
        must: c,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_filters_agree_with_an_exact_scan_and_follow_writes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = TestServer::start(&data, &[]);
    create_with_segment_capacity(&mut server.collections().await, "c", DIM as u32, CAPACITY).await;
    let vectors = random_unit_vectors(N, DIM, 5);
    let mut model = Model {
        vectors: vectors.iter().cloned().enumerate().collect(),
    };
    let mut p = server.points().await;
    for chunk in vectors.chunks(500).enumerate() {
        let (c, vs) = chunk;
        p.upsert(UpsertRequest {
            collection: "c".into(),
            points: vs
                .iter()
                .enumerate()
                .map(|(j, v)| point(c * 500 + j, v.clone()))
                .collect(),
        })
        .await
        .unwrap();
    }
    wait_sealed(&mut server.collections().await, "c", 2).await;
    create_index(&server, "tag", PayloadIndexType::PayloadIndexKeyword).await;
    create_index(&server, "n", PayloadIndexType::PayloadIndexInteger).await;
    create_index(&server, "half", PayloadIndexType::PayloadIndexBool).await;
    let indexes = ready_indexes(&server).await;
    assert_eq!(indexes["tag"].indexed_points, N as u64);
    let strings = (0..N).filter(|i| i % 7 == 0).count() as u64;
    assert_eq!(indexes["n"].indexed_points, N as u64 - strings);
    assert_eq!(
        indexes["n"].mismatched_points, strings,
        "strings in an integer index"
    );

    // 2 % (exact scan of the candidates), 14 % and 50 % (graph walks
    // through the index's bitset), a mixed-type range (its mismatched
    // records are candidates too), and a conjunction.
    let is_number = |i: usize| !i.is_multiple_of(7);
    type Case = (Filter, Box<dyn Fn(usize) -> bool + Send + Sync>, f64);
    let cases: Vec<Case> = vec![
        (
            must(vec![equals("tag", json!("tag7"))]),
            Box::new(|i| i % 50 == 7),
            1.0,
        ),
        (
            must(vec![range("n", 1000.0, 1850.0)]),
            Box::new(move |i| is_number(i) && (1000..1850).contains(&i)),
            0.9,
        ),
        (
            must(vec![equals("half", json!(true))]),
            Box::new(|i| i % 2 == 0),
            0.9,
        ),
        (
            must(vec![
                equals("half", json!(false)),
                equals("tag", json!("tag3")),
            ]),
            Box::new(|i| i % 2 == 1 && i % 50 == 3),
            1.0,
        ),
    ];
    for (filter, keep, min_recall) in &cases {
        let recall = filtered_recall(&server, &model, filter.clone(), keep).await;
        assert!(recall >= *min_recall, "{filter:?}: recall {recall}");
        // Count answers from the same candidates, exactly.
        let want = model.vectors.keys().filter(|&&i| keep(i)).count() as u64;
        assert_eq!(count(&server, filter.clone()).await, want, "{filter:?}");
    }
    // A condition no index answers, beside one that is answered.
    let unindexed = Condition {
        key: "nope".into(),
        r#match: Some(condition::Match::IsEmpty(IsEmpty {})),
    };
    assert_eq!(
        count(&server, must(vec![equals("tag", json!("tag7")), unindexed])).await,
        (0..N).filter(|i| i % 50 == 7).count() as u64
    );

    // The indexes follow upserts, payload updates and deletes.
    let moved: Vec<usize> = (0..N).filter(|i| i % 50 == 7).take(40).collect();
    p.set_payload(SetPayloadRequest {
        collection: "c".into(),
        ids: moved.iter().map(|i| format!("p{i}")).collect(),
        payload: Some(payload(json!({"tag": "moved"}))),
        ..Default::default()
    })
    .await
    .unwrap();
    let deleted: Vec<usize> = (0..N).filter(|i| i % 50 == 8).take(30).collect();
    p.delete(DeleteRequest {
        collection: "c".into(),
        ids: deleted.iter().map(|i| format!("p{i}")).collect(),
        ..Default::default()
    })
    .await
    .unwrap();
    for i in &deleted {
        model.vectors.remove(i);
    }
    let moved_set: HashSet<usize> = moved.iter().copied().collect();
    let still_7 = |i: usize| i % 50 == 7 && !moved_set.contains(&i);
    let r = filtered_recall(
        &server,
        &model,
        must(vec![equals("tag", json!("tag7"))]),
        still_7,
    )
    .await;
    assert_eq!(r, 1.0);
    let r = filtered_recall(
        &server,
        &model,
        must(vec![equals("tag", json!("moved"))]),
        |i| moved_set.contains(&i),
    )
    .await;
    assert_eq!(r, 1.0);
    let r = filtered_recall(
        &server,
        &model,
        must(vec![equals("tag", json!("tag8"))]),
        |i| i % 50 == 8,
    )
    .await;
    assert_eq!(r, 1.0, "deleted points are gone from the index");
    for (tag, want) in [
        ("tag7", (0..N).filter(|&i| still_7(i)).count()),
        ("moved", moved.len()),
        (
            "tag8",
            (0..N).filter(|i| i % 50 == 8).count() - deleted.len(),
        ),
    ] {
        let filter = must(vec![equals("tag", json!(tag))]);
        assert_eq!(count(&server, filter).await, want as u64, "{tag}");
    }
    // Deleting by filter selects through the indexes too (and `has_id`
    // through the id map), exactly the matching points.
    let before = count(&server, Filter::default()).await;
    let delete_by = |filter: Filter| {
        let mut p = p.clone();
        async move {
            p.delete(DeleteRequest {
                collection: "c".into(),
                filter: Some(filter),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .deleted
        }
    };
    let tag9: Vec<usize> = (0..N).filter(|i| i % 50 == 9).collect();
    let with_ids = Condition {
        key: String::new(),
        r#match: Some(condition::Match::HasId(IdList {
            ids: vec!["p1".into(), "p51".into(), "absent".into()],
        })),
    };
    assert_eq!(
        delete_by(must(vec![equals("tag", json!("tag9"))])).await,
        tag9.len() as u64
    );
    assert_eq!(delete_by(must(vec![with_ids])).await, 2);
    assert_eq!(
        count(&server, must(vec![equals("tag", json!("tag9"))])).await,
        0
    );
    assert_eq!(
        count(&server, Filter::default()).await,
        before - tag9.len() as u64 - 2
    );
    for i in tag9.iter().chain(&[1, 51]) {
        model.vectors.remove(i);
    }

    // Restart and kill -9: the definitions are durable, the contents rebuilt.
    server.stop();
    let mut server = TestServer::start(&data, &[]);
    let after = ready_indexes(&server).await;
    assert_eq!(after.keys().collect::<Vec<_>>(), vec!["half", "n", "tag"]);
    create_index(&server, "missing_key", PayloadIndexType::PayloadIndexFloat).await;
    server.kill();
    let server = TestServer::start(&data, &[]);
    let after = ready_indexes(&server).await;
    assert_eq!(after["missing_key"].indexed_points, 0);
    let r = filtered_recall(
        &server,
        &model,
        must(vec![equals("tag", json!("moved"))]),
        |i| moved_set.contains(&i),
    )
    .await;
    assert_eq!(r, 1.0);

    // Snapshots carry them.
    let snap = server
        .collections()
        .await
        .create_snapshot(CreateSnapshotRequest {
            collection: "c".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let restored = dir.path().join("restored");
    let out = restore(&snap.path, &restored, &[]);
    assert!(out.status.success(), "{out:?}");
    let copy = TestServer::start(&restored, &[]);
    assert_eq!(ready_indexes(&copy).await.len(), 4);
}

#[tokio::test]
async fn payload_index_requests_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    let mut c = server.collections().await;
    c.create_collection(create_request("c", 4)).await.unwrap();
    let create = |key: &str, t: i32| CreatePayloadIndexRequest {
        collection: "c".into(),
        key: key.into(),
        r#type: t,
    };
    let (status, message) = code(c.create_payload_index(create("k", 99)).await);
    assert_eq!(status, Code::InvalidArgument);
    assert!(
        message.contains("unknown payload index type 99"),
        "{message}"
    );
    let (status, _) = code(c.create_payload_index(create("k", 0)).await);
    assert_eq!(status, Code::InvalidArgument);
    let (status, message) = code(
        c.create_payload_index(create("a..b", PayloadIndexType::PayloadIndexKeyword as i32))
            .await,
    );
    assert_eq!(status, Code::InvalidArgument, "{message}");
    let keyword = PayloadIndexType::PayloadIndexKeyword as i32;
    c.create_payload_index(create("k", keyword)).await.unwrap();
    c.create_payload_index(create("k", keyword))
        .await
        .expect("the same index again is a no-op");
    let (status, message) = code(
        c.create_payload_index(create("k", PayloadIndexType::PayloadIndexFloat as i32))
            .await,
    );
    assert_eq!(status, Code::AlreadyExists);
    assert!(message.contains("keyword"), "{message}");
    let (status, _) = code(
        c.create_payload_index(CreatePayloadIndexRequest {
            collection: "nope".into(),
            ..create("k", keyword)
        })
        .await,
    );
    assert_eq!(status, Code::NotFound);
    c.delete_payload_index(DeletePayloadIndexRequest {
        collection: "c".into(),
        key: "k".into(),
    })
    .await
    .unwrap();
    let (status, message) = code(
        c.delete_payload_index(DeletePayloadIndexRequest {
            collection: "c".into(),
            key: "k".into(),
        })
        .await,
    );
    assert_eq!(status, Code::NotFound);
    assert!(message.contains("no payload index on `k`"), "{message}");
    let info = c
        .get_collection(GetCollectionRequest { name: "c".into() })
        .await
        .unwrap()
        .into_inner();
    assert!(info.payload_indexes.is_empty());
}
