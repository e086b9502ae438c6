//! The Rust SDK (`crates/clipdb-client`) against the real server: its
//! typed calls, errors with the server's status and message, API keys.

use clipdb_client::{proto, Client, ClientOptions};
use tonic::Code;

use crate::common::{payload, random_unit_vectors, TestServer};

fn points(n: usize) -> Vec<proto::Point> {
    random_unit_vectors(n, 4, 9)
        .into_iter()
        .enumerate()
        .map(|(i, v)| proto::Point {
            id: format!("p{i:02}"),
            vector: v,
            payload: Some(payload(serde_json::json!({"even": i % 2 == 0}))),
            ..Default::default()
        })
        .collect()
}

#[tokio::test]
async fn the_rust_client_creates_writes_reads_searches_and_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    let mut db = Client::connect(ClientOptions::new(server.url()))
        .await
        .unwrap();
    let info = db
        .create_collection(proto::CreateCollectionRequest {
            name: "rs".into(),
            dimension: 4,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(info.dimension, 4);
    assert_eq!(db.upsert("rs", points(30)).await.unwrap(), 30);
    let query = points(30)[7].vector.clone();
    let hits = db.search_vector("rs", query, 3).await.unwrap();
    assert_eq!(hits[0].id, "p07");
    assert!(hits[0].payload.is_some());
    let even = proto::Filter {
        must: vec![proto::Condition {
            key: "even".into(),
            r#match: Some(proto::condition::Match::Equals(prost_types::Value {
                kind: Some(prost_types::value::Kind::BoolValue(true)),
            })),
        }],
        ..Default::default()
    };
    assert_eq!(db.count("rs", Some(even.clone())).await.unwrap(), 15);
    let all = db.scroll_all("rs", None, false).await.unwrap();
    assert_eq!(all.len(), 30);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        db.get("rs", vec!["p01".into(), "nope".into()])
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(db.delete("rs", vec!["p01".into()]).await.unwrap(), 1);
    assert_eq!(db.count("rs", None).await.unwrap(), 29);
    assert_eq!(db.list_collections().await.unwrap().len(), 1);

    // A wrong dimension: the server's status and message come through.
    let err = db.search_vector("rs", vec![1.0; 3], 3).await.unwrap_err();
    assert_eq!(err.code(), Some(Code::InvalidArgument));
    assert!(err.to_string().contains("dimension"), "{err}");
    let err = db.get_collection("missing").await.unwrap_err();
    assert_eq!(err.code(), Some(Code::NotFound));
    db.delete_collection("rs").await.unwrap();
}

#[tokio::test]
async fn the_rust_client_sends_its_api_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &["--api-key", "secret-key"]);
    let mut anonymous = Client::connect(ClientOptions::new(server.url()))
        .await
        .unwrap();
    let err = anonymous.list_collections().await.unwrap_err();
    assert_eq!(err.code(), Some(Code::Unauthenticated));
    let mut keyed = Client::connect(ClientOptions::new(server.url()).api_key("secret-key"))
        .await
        .unwrap();
    assert!(keyed.list_collections().await.unwrap().is_empty());
}
