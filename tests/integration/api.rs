//! The v1 API surface through a real server on 127.0.0.1: happy paths and
//! every documented error.

use crate::common;

use clipdb::proto::*;
use common::*;
use serde_json::json;
use tonic::Code;

#[tokio::test]
async fn collection_create_list_get_delete_and_reuse_of_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    let mut c = server.collections().await;

    let info = c
        .create_collection(CreateCollectionRequest {
            name: "images".into(),
            dimension: 4,
            metric: Metric::L2 as i32,
            hnsw: Some(HnswConfig {
                m: 8,
                ef_construction: 0,
                ef_search: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.name, "images");
    assert_eq!(info.dimension, 4);
    assert_eq!(info.metric, Metric::L2 as i32);
    let hnsw = info.hnsw.unwrap();
    assert_eq!(
        (hnsw.m, hnsw.ef_construction, hnsw.ef_search),
        (8, 200, 64),
        "defaults filled in"
    );
    assert_eq!(info.point_count, 0);
    assert_eq!(info.segment_count, 1);

    c.create_collection(create_request("b-2_x", 3))
        .await
        .unwrap();
    let list = c
        .list_collections(ListCollectionsRequest {})
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = list.collections.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["b-2_x", "images"]);

    let (code_, msg) = code(
        c.get_collection(GetCollectionRequest {
            name: "nope".into(),
        })
        .await,
    );
    assert_eq!(code_, Code::NotFound);
    assert!(msg.contains("nope"), "{msg}");

    c.delete_collection(DeleteCollectionRequest {
        name: "images".into(),
    })
    .await
    .unwrap();
    let (code_, _) = code(
        c.get_collection(GetCollectionRequest {
            name: "images".into(),
        })
        .await,
    );
    assert_eq!(code_, Code::NotFound);
    let (code_, _) = code(
        c.delete_collection(DeleteCollectionRequest {
            name: "images".into(),
        })
        .await,
    );
    assert_eq!(code_, Code::NotFound);
    // The name can be reused, and the new collection starts empty.
    let info = c
        .create_collection(create_request("images", 2))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((info.dimension, info.point_count), (2, 0));
}

#[tokio::test]
async fn create_collection_with_a_taken_name_is_already_exists() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    let mut c = server.collections().await;
    c.create_collection(create_request("images", 4))
        .await
        .unwrap();

    let (code_, msg) = code(c.create_collection(create_request("images", 4)).await);
    assert_eq!(code_, Code::AlreadyExists);
    assert!(msg.contains("images"), "{msg}");
}

#[tokio::test]
async fn create_collection_rejects_invalid_specs() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    let mut c = server.collections().await;

    for bad in ["", "has space", "slash/name", &"x".repeat(65)] {
        let (code_, msg) = code(c.create_collection(create_request(bad, 4)).await);
        assert_eq!(code_, Code::InvalidArgument, "name {bad:?}");
        assert!(msg.contains("name"), "{msg}");
    }
    let (code_, msg) = code(c.create_collection(create_request("nodim", 0)).await);
    assert_eq!(code_, Code::InvalidArgument);
    assert!(msg.contains("dimension"), "{msg}");
    let (code_, msg) = code(
        c.create_collection(CreateCollectionRequest {
            metric: 42,
            ..create_request("m", 4)
        })
        .await,
    );
    assert_eq!(code_, Code::InvalidArgument);
    assert!(msg.contains("metric"), "{msg}");
    let (code_, _) = code(
        c.create_collection(CreateCollectionRequest {
            vectorizer: 9,
            ..create_request("v", 4)
        })
        .await,
    );
    assert_eq!(code_, Code::InvalidArgument);
    let (code_, msg) = code(
        c.create_collection(CreateCollectionRequest {
            vectorizer: Vectorizer::Clip as i32,
            ..create_request("clip", 0)
        })
        .await,
    );
    assert_eq!(code_, Code::FailedPrecondition);
    assert!(msg.contains("model"), "{msg}");
    let (code_, msg) = code(
        c.create_collection(CreateCollectionRequest {
            hnsw: Some(HnswConfig {
                m: 1000,
                ..Default::default()
            }),
            ..create_request("bigm", 4)
        })
        .await,
    );
    assert_eq!(code_, Code::InvalidArgument);
    assert!(msg.contains("hnsw.m"), "{msg}");

    // None of them was created.
    let list = c
        .list_collections(ListCollectionsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(list.collections.is_empty(), "{list:?}");
}

/// A server with collection "docs" (dimension 3, cosine) holding three
/// points: "a" and "b" with payloads, "c" without.
async fn docs_server() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    let mut c = server.collections().await;
    let mut p = server.points().await;
    c.create_collection(create_request("docs", 3))
        .await
        .unwrap();

    let points = vec![
        Point {
            payload: Some(payload(json!({"color": "red", "n": 1}))),
            ..vector_point("a", vec![1.0, 0.0, 0.0])
        },
        Point {
            payload: Some(payload(json!({"color": "blue", "n": 2}))),
            ..vector_point("b", vec![0.0, 1.0, 0.0])
        },
        vector_point("c", vec![0.0, 0.0, 2.0]),
    ];
    let r = p
        .upsert(UpsertRequest {
            collection: "docs".into(),
            points,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.upserted, 3);
    (dir, server)
}

async fn count_docs(p: &mut points_client::PointsClient<tonic::transport::Channel>) -> u64 {
    p.count(CountRequest {
        collection: "docs".into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .count
}

#[tokio::test]
async fn upserted_points_are_counted_and_got_in_request_order() {
    let (_dir, server) = docs_server().await;
    let mut p = server.points().await;
    assert_eq!(count_docs(&mut p).await, 3);

    // Get: order of request, missing ids absent, vectors normalised for cosine.
    let got = p
        .get(GetRequest {
            collection: "docs".into(),
            ids: vec!["c".into(), "zz".into(), "a".into()],
            with_vector: true,
        })
        .await
        .unwrap()
        .into_inner()
        .points;
    assert_eq!(
        got.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec!["c", "a"]
    );
    assert_eq!(got[0].vector, vec![0.0, 0.0, 1.0]);
    assert!(got[0].payload.is_none());
    assert_eq!(
        got[1].payload,
        Some(payload(json!({"color": "red", "n": 1})))
    );
}

#[tokio::test]
async fn search_ranks_by_cosine_score_best_first_with_payloads() {
    let (_dir, server) = docs_server().await;
    let mut p = server.points().await;

    // Search: best first, cosine scores.
    let hits = p
        .search(SearchRequest {
            with_payload: true,
            ..search_vector("docs", vec![0.9, 0.1, 0.0], 2)
        })
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].id, "a");
    assert_eq!(hits[1].id, "b");
    let expected = 0.9 / (0.82f32).sqrt();
    assert!((hits[0].score - expected).abs() < 1e-5, "{}", hits[0].score);
    assert_eq!(
        hits[0].payload,
        Some(payload(json!({"color": "red", "n": 1})))
    );
}

#[tokio::test]
async fn upsert_of_an_existing_id_replaces_its_vector() {
    let (_dir, server) = docs_server().await;
    let mut p = server.points().await;

    // Replace: the old vector never comes back.
    p.upsert(UpsertRequest {
        collection: "docs".into(),
        points: vec![vector_point("a", vec![0.0, -1.0, 0.0])],
    })
    .await
    .unwrap();
    assert_eq!(
        p.count(CountRequest {
            collection: "docs".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .count,
        3
    );
    let hits = p
        .search(search_vector("docs", vec![1.0, 0.0, 0.0], 3))
        .await
        .unwrap()
        .into_inner()
        .hits;
    let a = hits.iter().find(|h| h.id == "a").unwrap();
    assert!(
        a.score.abs() < 1e-6,
        "replaced vector must be the new one: {}",
        a.score
    );
    assert_eq!(hits.len(), 3);
}

#[tokio::test]
async fn search_by_id_leaves_the_point_itself_out() {
    let (_dir, server) = docs_server().await;
    let mut p = server.points().await;

    // More like this: the point itself is left out.
    let hits = p
        .search(SearchRequest {
            collection: "docs".into(),
            query: Some(search_request::Query::Id("b".into())),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h.id != "b"));
}

#[tokio::test]
async fn deleted_points_are_gone_at_once_from_get_count_and_search() {
    let (_dir, server) = docs_server().await;
    let mut p = server.points().await;

    // Delete: gone at once from get, count and search.
    let d = p
        .delete(DeleteRequest {
            collection: "docs".into(),
            ids: vec!["b".into(), "missing".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(d.deleted, 1);
    let hits = p
        .search(search_vector("docs", vec![0.0, 1.0, 0.0], 10))
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(
        hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>().len(),
        2
    );
    assert!(hits.iter().all(|h| h.id != "b"));
    assert_eq!(
        p.count(CountRequest {
            collection: "docs".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .count,
        2
    );

    let got = p
        .get(GetRequest {
            collection: "docs".into(),
            ids: vec!["b".into()],
            with_vector: false,
        })
        .await
        .unwrap()
        .into_inner()
        .points;
    assert!(got.is_empty(), "{got:?}");
}

#[tokio::test]
async fn upsert_rejects_invalid_points_with_clear_errors() {
    let (_dir, server) = docs_server().await;
    let mut p = server.points().await;

    let up = |points: Vec<Point>| UpsertRequest {
        collection: "docs".into(),
        points,
    };
    let (k, m) = code(p.upsert(up(vec![vector_point("x", vec![1.0, 2.0])])).await);
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("point `x`") && m.contains("dimension"), "{m}");
    let (k, m) = code(
        p.upsert(up(vec![vector_point("nan", vec![1.0, f32::NAN, 0.0])]))
            .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("point `nan`") && m.contains("finite"), "{m}");
    let (k, m) = code(
        p.upsert(up(vec![vector_point("inf", vec![f32::INFINITY, 0.0, 0.0])]))
            .await,
    );
    assert_eq!(k, Code::InvalidArgument, "{m}");
    let (k, m) = code(
        p.upsert(up(vec![vector_point("", vec![1.0, 0.0, 0.0])]))
            .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("points[0]"), "{m}");
    let (k, m) = code(
        p.upsert(up(vec![vector_point("y".repeat(257), vec![1.0, 0.0, 0.0])]))
            .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("256"), "{m}");
    let (k, m) = code(
        p.upsert(up(vec![vector_point("zero", vec![0.0, 0.0, 0.0])]))
            .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("zero"), "{m}");
    let (k, m) = code(
        p.upsert(up(vec![Point {
            text: "a cat".into(),
            ..vector_point("both", vec![1.0, 0.0, 0.0])
        }]))
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("point `both`"), "{m}");
    let (k, m) = code(
        p.upsert(up(vec![Point {
            id: "none".into(),
            ..Default::default()
        }]))
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("point `none`"), "{m}");
    let (k, m) = code(
        p.upsert(up(vec![Point {
            id: "t".into(),
            text: "a cat".into(),
            ..Default::default()
        }]))
        .await,
    );
    assert_eq!(k, Code::FailedPrecondition);
    assert!(m.contains("model"), "{m}");
    let (k, _) = code(
        p.upsert(up(vec![Point {
            id: "i".into(),
            image: vec![1, 2, 3],
            ..Default::default()
        }]))
        .await,
    );
    assert_eq!(k, Code::FailedPrecondition);
    let (k, m) = code(
        p.upsert(UpsertRequest {
            collection: "nope".into(),
            points: vec![vector_point("q", vec![1.0, 0.0, 0.0])],
        })
        .await,
    );
    assert_eq!(k, Code::NotFound);
    assert!(m.contains("nope"), "{m}");
    let nan_payload = prost_types::Struct {
        fields: [(
            "x".to_string(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::NumberValue(f64::NAN)),
            },
        )]
        .into_iter()
        .collect(),
    };
    let (k, m) = code(
        p.upsert(up(vec![Point {
            payload: Some(nan_payload),
            ..vector_point("pn", vec![1.0, 0.0, 0.0])
        }]))
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("point `pn`.payload"), "{m}");

    assert_eq!(count_docs(&mut p).await, 3, "nothing stored");
}

#[tokio::test]
async fn upsert_with_one_bad_point_stores_nothing() {
    let (_dir, server) = docs_server().await;
    let mut p = server.points().await;
    let up = |points: Vec<Point>| UpsertRequest {
        collection: "docs".into(),
        points,
    };

    // All or nothing: one bad point stores nothing.
    let (k, _) = code(
        p.upsert(up(vec![
            vector_point("good1", vec![1.0, 1.0, 0.0]),
            vector_point("bad", vec![1.0]),
        ]))
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    let got = p
        .get(GetRequest {
            collection: "docs".into(),
            ids: vec!["good1".into()],
            with_vector: false,
        })
        .await
        .unwrap();
    assert!(
        got.into_inner().points.is_empty(),
        "a failed batch must store nothing"
    );
    assert_eq!(count_docs(&mut p).await, 3, "only the three stored before");
}

#[tokio::test]
async fn search_rejects_invalid_requests_with_clear_errors() {
    let (_dir, server) = docs_server().await;
    let mut p = server.points().await;

    // Search errors.
    for limit in [10_001u32] {
        let (k, m) = code(
            p.search(search_vector("docs", vec![1.0, 0.0, 0.0], limit))
                .await,
        );
        assert_eq!(k, Code::InvalidArgument);
        assert!(m.contains("limit"), "{m}");
    }
    let (k, m) = code(p.search(search_vector("docs", vec![1.0, 0.0], 3)).await);
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("query.vector"), "{m}");
    let (k, m) = code(
        p.search(SearchRequest {
            collection: "docs".into(),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("query"), "{m}");
    let (k, _) = code(
        p.search(SearchRequest {
            collection: "docs".into(),
            query: Some(search_request::Query::Text("a red cat".into())),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(k, Code::FailedPrecondition);
    let (k, m) = code(
        p.search(SearchRequest {
            collection: "docs".into(),
            query: Some(search_request::Query::Id("ghost".into())),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("ghost"), "{m}");
    let (k, m) = code(
        p.search(SearchRequest {
            filter: Some(Filter {
                must: vec![Condition {
                    key: "n".into(),
                    r#match: None,
                }],
                ..Default::default()
            }),
            ..search_vector("docs", vec![1.0, 0.0, 0.0], 3)
        })
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("filter.must[0]"), "{m}");
}

#[tokio::test]
async fn search_limit_zero_means_the_default_of_ten() {
    let (_dir, server) = docs_server().await;
    let mut p = server.points().await;
    // Twelve points: more than the default.
    let more = (0..9)
        .map(|i| vector_point(format!("more{i}"), vec![1.0, i as f32 + 1.0, 0.5]))
        .collect();
    p.upsert(UpsertRequest {
        collection: "docs".into(),
        points: more,
    })
    .await
    .unwrap();
    assert_eq!(count_docs(&mut p).await, 12);

    // limit 0 means the default of 10.
    let hits = p
        .search(search_vector("docs", vec![1.0, 0.0, 0.0], 0))
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(hits.len(), 10);
}

#[tokio::test]
async fn embeddings_need_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);

    let mut e = clipdb::proto::embeddings_client::EmbeddingsClient::new(server.channel().await);
    let (k, _) = code(
        e.embed_text(EmbedTextRequest {
            texts: vec!["x".into()],
        })
        .await,
    );
    assert_eq!(k, Code::FailedPrecondition);
}

#[tokio::test]
async fn metrics_order_hits_best_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    let mut c = server.collections().await;
    let mut p = server.points().await;
    for (name, metric) in [("dot", Metric::Dot), ("l2", Metric::L2)] {
        c.create_collection(CreateCollectionRequest {
            metric: metric as i32,
            ..create_request(name, 2)
        })
        .await
        .unwrap();
        let points = vec![
            vector_point("small", vec![1.0, 0.0]),
            vector_point("big", vec![10.0, 0.0]),
            vector_point("neg", vec![-3.0, 0.0]),
        ];
        p.upsert(UpsertRequest {
            collection: name.into(),
            points,
        })
        .await
        .unwrap();
        let hits = p
            .search(search_vector(name, vec![1.0, 0.0], 3))
            .await
            .unwrap()
            .into_inner()
            .hits;
        let ids: Vec<_> = hits.iter().map(|h| h.id.as_str()).collect();
        let scores: Vec<_> = hits.iter().map(|h| h.score).collect();
        match metric {
            Metric::Dot => {
                assert_eq!(ids, vec!["big", "small", "neg"]);
                assert_eq!(scores, vec![10.0, 1.0, -3.0]);
            }
            _ => {
                assert_eq!(ids, vec!["small", "neg", "big"]);
                assert_eq!(scores, vec![0.0, 4.0, 9.0]);
            }
        }
    }
}

#[tokio::test]
async fn filters_equality_range_and_selective() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    let mut c = server.collections().await;
    let mut p = server.points().await;
    c.create_collection(create_request("f", 16)).await.unwrap();
    let vectors = random_unit_vectors(3000, 16, 7);
    let points: Vec<Point> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| Point {
            payload: Some(payload(json!({
                "kind": if i % 100 == 0 { "rare" } else { "common" },
                "i": i,
                "meta": {"even": i % 2 == 0},
            }))),
            ..vector_point(format!("p{i}"), v.clone())
        })
        .collect();
    for chunk in points.chunks(1000) {
        p.upsert(UpsertRequest {
            collection: "f".into(),
            points: chunk.to_vec(),
        })
        .await
        .unwrap();
    }
    let eq = |key: &str, v: serde_json::Value| Condition {
        key: key.into(),
        r#match: Some(condition::Match::Equals(
            payload(json!({"v": v})).fields.remove("v").unwrap(),
        )),
    };
    let query = vectors[5].clone();

    // Selective: 30 of 3000 match; all 20 asked for must come back, and be the true top 20.
    let r = p
        .search(SearchRequest {
            filter: Some(Filter {
                must: vec![eq("kind", json!("rare"))],
                ..Default::default()
            }),
            with_payload: true,
            ..search_vector("f", query.clone(), 20)
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.hits.len(), 20);
    let rare: Vec<Vec<f32>> = (0..3000).step_by(100).map(|i| vectors[i].clone()).collect();
    let want: Vec<String> = brute_force_top_k(&rare, &query, 20)
        .into_iter()
        .map(|j| format!("p{}", j * 100))
        .collect();
    assert_eq!(
        r.hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>(),
        want
    );

    // Range on a number, combined with a nested equality and must_not.
    let r = p
        .search(SearchRequest {
            filter: Some(Filter {
                must: vec![
                    Condition {
                        key: "i".into(),
                        r#match: Some(condition::Match::Range(Range {
                            gte: Some(100.0),
                            lt: Some(200.0),
                            ..Default::default()
                        })),
                    },
                    eq("meta.even", json!(true)),
                ],
                must_not: vec![eq("kind", json!("rare"))],
                ..Default::default()
            }),
            with_payload: true,
            ..search_vector("f", query.clone(), 100)
        })
        .await
        .unwrap()
        .into_inner();
    // 100..200 even, minus 100 (rare): 49 points.
    assert_eq!(r.hits.len(), 49);
    for h in &r.hits {
        let i: usize = h.id[1..].parse().unwrap();
        assert!((101..200).contains(&i) && i.is_multiple_of(2), "{}", h.id);
    }
    for w in r.hits.windows(2) {
        assert!(w[0].score >= w[1].score);
    }

    // A broad filter (half the points) still returns `limit` matching hits.
    let r = p
        .search(SearchRequest {
            filter: Some(Filter {
                should: vec![eq("meta.even", json!(false))],
                ..Default::default()
            }),
            ..search_vector("f", query.clone(), 50)
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.hits.len(), 50);
    assert!(r
        .hits
        .iter()
        .all(|h| h.id[1..].parse::<usize>().unwrap() % 2 == 1));
}

#[tokio::test]
async fn oversized_message_is_resource_exhausted() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &["--max-message-bytes", "10000"]);
    let mut c = server.collections().await;
    let mut p = server.points().await;
    c.create_collection(create_request("big", 512))
        .await
        .unwrap();
    let points: Vec<Point> = random_unit_vectors(10, 512, 1)
        .into_iter()
        .enumerate()
        .map(|(i, v)| vector_point(i.to_string(), v))
        .collect();
    let (k, m) = code(
        p.upsert(UpsertRequest {
            collection: "big".into(),
            points: points.clone(),
        })
        .await,
    );
    assert_eq!(k, Code::ResourceExhausted, "{m}");
    // Streaming too.
    let stream = tokio_stream::iter(vec![UpsertRequest {
        collection: "big".into(),
        points,
    }]);
    let (k, m) = code(p.upsert_stream(stream).await);
    assert_eq!(k, Code::ResourceExhausted, "{m}");
    // A small request still works.
    let ok = p
        .upsert(UpsertRequest {
            collection: "big".into(),
            points: vec![vector_point(
                "one",
                random_unit_vectors(1, 512, 2).remove(0),
            )],
        })
        .await;
    assert!(ok.is_ok());
}

#[tokio::test]
async fn health_and_reflection_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let r = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "clipdb.v1.Points".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        r.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let mut refl = ServerReflectionClient::new(server.channel().await);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut resp = refl
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let msg = resp.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = msg.message_response else {
        panic!("unexpected reflection reply")
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    for want in [
        "clipdb.v1.Collections",
        "clipdb.v1.Points",
        "clipdb.v1.Embeddings",
        "grpc.health.v1.Health",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
}

#[tokio::test]
async fn request_limits_are_enforced_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(
        &dir.path().join("data"),
        &[
            "--max-points-per-request",
            "3",
            "--max-ids-per-request",
            "2",
            "--max-payload-bytes",
            "100",
        ],
    );
    server
        .collections()
        .await
        .create_collection(create_request("l", 2))
        .await
        .unwrap();
    let mut p = server.points().await;
    let points = |n: usize| UpsertRequest {
        collection: "l".into(),
        points: (0..n)
            .map(|i| vector_point(i.to_string(), vec![1.0, i as f32]))
            .collect(),
    };
    p.upsert(points(3)).await.unwrap();
    let (k, m) = code(p.upsert(points(4)).await);
    assert_eq!(k, Code::InvalidArgument);
    assert!(
        m.contains("points") && m.contains("--max-points-per-request"),
        "{m}"
    );

    let ids = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
    let (k, m) = code(
        p.get(GetRequest {
            collection: "l".into(),
            ids: ids(3),
            with_vector: false,
        })
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("--max-ids-per-request"), "{m}");
    let (k, _) = code(
        p.delete(DeleteRequest {
            collection: "l".into(),
            ids: ids(3),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);

    let (k, m) = code(
        p.upsert(UpsertRequest {
            collection: "l".into(),
            points: vec![Point {
                payload: Some(payload(json!({"text": "x".repeat(200)}))),
                ..vector_point("big", vec![1.0, 0.0])
            }],
        })
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(
        m.contains("point `big`.payload") && m.contains("--max-payload-bytes"),
        "{m}"
    );

    // Nothing of the refused requests was stored or deleted.
    let count = p
        .count(CountRequest {
            collection: "l".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .count;
    assert_eq!(count, 3);
}

/// `SearchBatch` answers each search exactly as `Search` would, in order,
/// across collections; a bad search fails the call naming its position.
#[tokio::test]
async fn search_batch_equals_single_searches() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    let mut c = server.collections().await;
    let mut p = server.points().await;
    let vectors = random_unit_vectors(300, 8, 21);
    for name in ["a", "b"] {
        c.create_collection(create_request(name, 8)).await.unwrap();
        p.upsert(UpsertRequest {
            collection: name.into(),
            points: vectors
                .iter()
                .enumerate()
                .map(|(i, v)| Point {
                    payload: Some(payload(json!({"even": i % 2 == 0}))),
                    ..vector_point(format!("{name}{i}"), v.clone())
                })
                .collect(),
        })
        .await
        .unwrap();
    }
    let even = Filter {
        must: vec![Condition {
            key: "even".into(),
            r#match: Some(condition::Match::Equals(prost_types::Value {
                kind: Some(prost_types::value::Kind::BoolValue(true)),
            })),
        }],
        ..Default::default()
    };
    let queries = random_unit_vectors(6, 8, 22);
    let searches: Vec<SearchRequest> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| SearchRequest {
            filter: (i % 3 == 0).then(|| even.clone()),
            with_payload: i % 2 == 0,
            ..search_vector(if i < 3 { "a" } else { "b" }, q.clone(), 5)
        })
        .collect();
    let batch = p
        .search_batch(SearchBatchRequest {
            searches: searches.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(batch.len(), searches.len());
    for (s, got) in searches.into_iter().zip(batch) {
        let single = p.search(s).await.unwrap().into_inner();
        assert_eq!(got, single, "batch result equals the single search");
        assert_eq!(got.hits.len(), 5);
    }

    let mut bad = vec![
        search_vector("a", queries[0].clone(), 5),
        search_vector("a", vec![1.0; 3], 5),
    ];
    let (code, message) = common::code(
        p.search_batch(SearchBatchRequest {
            searches: bad.clone(),
        })
        .await,
    );
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.starts_with("searches[1]: "), "{message}");
    bad[1] = search_vector("missing", queries[0].clone(), 5);
    let (code, message) = common::code(p.search_batch(SearchBatchRequest { searches: bad }).await);
    assert_eq!(code, Code::NotFound, "{message}");
    let empty = p
        .search_batch(SearchBatchRequest { searches: vec![] })
        .await
        .unwrap()
        .into_inner();
    assert!(empty.results.is_empty());
}

#[tokio::test]
async fn reflection_v1alpha_lists_the_services_for_older_tools() {
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    let mut refl = ServerReflectionClient::new(server.channel().await);
    let requests = vec![
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "clipdb.v1.Points".into(),
            )),
        },
    ];
    let mut replies = refl
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .expect("v1alpha reflection is served")
        .into_inner();
    let listed = replies.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
        panic!("unexpected reflection reply: {listed:?}")
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    for want in [
        "clipdb.v1.Collections",
        "clipdb.v1.Points",
        "clipdb.v1.Embeddings",
        "grpc.health.v1.Health",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let described = replies.message().await.unwrap().unwrap();
    let Some(MessageResponse::FileDescriptorResponse(files)) = described.message_response else {
        panic!("unexpected reflection reply: {described:?}")
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

/// The server's log, as `clipdb serve` writes it to stderr when stderr is a
/// terminal (a pseudo-terminal from `script`), with `extra_env` set. The
/// server stops at once: its listen address cannot be bound.
fn log_on_a_terminal(extra_env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let command = format!(
        "{} serve --listen 127.0.0.1:99999 --model none --data-dir {}",
        env!("CARGO_BIN_EXE_clipdb"),
        dir.path().join("data").display()
    );
    let out = std::process::Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        .envs(extra_env.iter().copied())
        .output()
        .expect("run `script` (util-linux; apt-get install bsdutils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn log_colours_only_on_a_terminal_and_never_with_no_color() {
    const ESC: &str = "\x1b[";
    // Written to a file (TestServer sends stderr to one): no escape codes.
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(&dir.path().join("data"), &[]);
    server.stop();
    let log = server.log();
    assert!(log.contains("clipdb listening"), "{log}");
    assert!(!log.contains(ESC), "colour codes in a log file:\n{log:?}");

    let terminal = log_on_a_terminal(&[]);
    assert!(terminal.contains("database open"), "{terminal}");
    assert!(
        terminal.contains(ESC),
        "a terminal gets colours: {terminal:?}"
    );
    let no_color = log_on_a_terminal(&[("NO_COLOR", "1")]);
    assert!(no_color.contains("database open"), "{no_color}");
    assert!(
        !no_color.contains(ESC),
        "NO_COLOR is honoured: {no_color:?}"
    );
}
