//! The search page's JSON API (`/api/` on `--http-listen`) on cluster
//! nodes: searches go through the cluster as gRPC Search does, so any node
//! answers with the whole collection; cluster mode keeps no thumbnails, so
//! hits have none and the thumbnail endpoint is NOT_FOUND.

use super::*;

/// POST `body` (JSON) to `path` on an operations port: (status, body).
fn http_post(addr: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the operations port");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().expect("an HTTP status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// (id, score) of the hits of an /api/ search answer.
fn api_hits(body: &str) -> Vec<(String, f32)> {
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON answer");
    v["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("no hits in {body}"))
        .iter()
        .map(|h| {
            assert!(h["thumbnail"].is_null(), "a thumbnail in cluster mode: {h}");
            (
                h["id"].as_str().unwrap().to_string(),
                h["score"].as_f64().unwrap() as f32,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_api_through_any_node_equals_the_grpc_search() {
    let _one = CLUSTER_LOCK.lock().await;
    let cluster = Cluster::start_with_args(3, &["--model", "demo"]);
    collections_client(&cluster.url(0))
        .await
        .create_collection(CreateCollectionRequest {
            name: "shapes".into(),
            vectorizer: Vectorizer::Clip as i32,
            shards: 2,
            replication_factor: 2,
            ..Default::default()
        })
        .await
        .expect("create CLIP collection");
    let colours = ["red", "green", "blue", "yellow", "purple"];
    let shapes = ["circle", "square", "star", "triangle"];
    // Distinct captions: equal scores would tie.
    let points: Vec<Point> = (0..20)
        .map(|i| Point {
            id: format!("s{i}"),
            text: format!("a {} {}", colours[i % 5], shapes[i / 5]),
            payload: Some(payload(serde_json::json!({"group": i % 3, "caption": format!("{} {}", colours[i % 5], shapes[i / 5])}))),
            ..Default::default()
        })
        .collect();
    cluster
        .points(0)
        .await
        .upsert(UpsertRequest {
            collection: "shapes".into(),
            points,
        })
        .await
        .expect("upsert");

    let group_one = Filter {
        must: vec![Condition {
            key: "group".into(),
            r#match: Some(condition::Match::Equals(prost_types::Value {
                kind: Some(prost_types::value::Kind::NumberValue(1.0)),
            })),
        }],
        ..Default::default()
    };
    // (the /api/ body, the same search over gRPC)
    let cases = vec![
        (
            r#"{"text": "a red circle", "limit": 6}"#,
            SearchRequest {
                query: Some(search_request::Query::Text("a red circle".into())),
                limit: 6,
                ..Default::default()
            },
        ),
        (
            r#"{"text": "a blue star", "limit": 5, "offset": 2, "filter": "group=1"}"#,
            SearchRequest {
                query: Some(search_request::Query::Text("a blue star".into())),
                limit: 5,
                offset: 2,
                filter: Some(group_one.clone()),
                ..Default::default()
            },
        ),
        (
            r#"{"id": "s7", "limit": 4}"#,
            SearchRequest {
                query: Some(search_request::Query::Id("s7".into())),
                limit: 4,
                ..Default::default()
            },
        ),
    ];
    let mut grpc = cluster.points(0).await;
    for i in 0..3 {
        let http = cluster.node(i).http_addr.clone().expect("operations port");
        let (status, body) = http_get(&http, "/api/collections");
        assert_eq!(status, 200, "node {i}: {body}");
        let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
        let shapes = &listed["collections"][0];
        assert_eq!(shapes["name"], "shapes", "{body}");
        assert_eq!(shapes["point_count"], 20, "{body}");
        assert_eq!(shapes["vectorizer"], "clip", "{body}");
        assert_eq!(shapes["thumbnails"], false, "{body}");
        for (api_body, request) in &cases {
            let (status, body) = http_post(&http, "/api/collections/shapes/search", api_body);
            assert_eq!(status, 200, "node {i}, {api_body}: {body}");
            let got = api_hits(&body);
            let want = hits(
                &grpc
                    .search(SearchRequest {
                        collection: "shapes".into(),
                        ..request.clone()
                    })
                    .await
                    .expect("gRPC search")
                    .into_inner(),
            );
            assert!(!want.is_empty(), "{api_body}: no hits to compare");
            assert_eq!(got, want, "node {i}, {api_body}");
        }
        // The payload comes back as JSON, and the page has the page.
        let (_, body) = http_post(
            &http,
            "/api/collections/shapes/search",
            r#"{"text": "a red circle", "limit": 1, "filter": "caption~red"}"#,
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(
            v["hits"][0]["payload"]["caption"]
                .as_str()
                .is_some_and(|c| c.contains("red")),
            "{body}"
        );
        let (status, page) = http_get(&http, "/");
        assert_eq!(status, 200);
        assert!(page.contains("<html"), "{page}");
        // No thumbnails in cluster mode: NOT_FOUND saying so.
        let (status, body) = http_get(&http, "/api/collections/shapes/points/s1/thumbnail");
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("cluster mode keeps no thumbnails"), "{body}");
        // Bad input: the codes and messages of gRPC.
        let (status, body) = http_post(&http, "/api/collections/absent/search", r#"{"text": "x"}"#);
        assert_eq!(status, 404, "{body}");
        assert!(
            body.contains("NOT_FOUND") && body.contains("absent"),
            "{body}"
        );
        let (status, body) = http_post(
            &http,
            "/api/collections/shapes/search",
            r#"{"text": "x", "limit": 100000}"#,
        );
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("limit"), "{body}");
    }
}
