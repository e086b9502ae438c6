//! API keys through a real server on 127.0.0.1: missing or wrong keys are
//! UNAUTHENTICATED, a read-only key cannot write, health needs no key, and
//! keys never reach the log.

use crate::common;

use clipdb::proto::collections_client::CollectionsClient;
use clipdb::proto::points_client::PointsClient;
use clipdb::proto::*;
use common::*;
use tonic::metadata::MetadataValue;
use tonic::Code;

const WRITER: &str = "writer-5ecret-key";
const READER: &str = "reader-5ecret-key";

fn with_header<T>(message: T, name: &'static str, value: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut()
        .insert(name, MetadataValue::try_from(value).unwrap());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_guard_every_rpc_but_health() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(
        &dir.path().join("data"),
        &["--api-key", WRITER, "--read-only-api-key", READER],
    );
    let mut c: CollectionsClient<_> = server.collections().await;
    let mut p: PointsClient<_> = server.points().await;

    // No key, a wrong key, a key that only shares a prefix.
    let (k, m) = code(c.list_collections(ListCollectionsRequest {}).await);
    assert_eq!(k, Code::Unauthenticated);
    assert!(m.contains("x-api-key"), "{m}");
    for wrong in ["nope", "writer-5ecret-key-2", "writer-5ecret-ke"] {
        let (k, _) = code(
            c.list_collections(with_header(ListCollectionsRequest {}, "x-api-key", wrong))
                .await,
        );
        assert_eq!(k, Code::Unauthenticated, "{wrong}");
    }

    // The writer key, as x-api-key or as a bearer token, may do everything.
    c.create_collection(with_header(create_request("k", 4), "x-api-key", WRITER))
        .await
        .unwrap();
    p.upsert(with_header(
        UpsertRequest {
            collection: "k".into(),
            points: vec![vector_point("a", vec![1.0, 0.0, 0.0, 0.0])],
        },
        "authorization",
        &format!("Bearer {WRITER}"),
    ))
    .await
    .unwrap();

    // The reader key reads and searches, and cannot write.
    let hits = p
        .search(with_header(
            search_vector("k", vec![1.0, 0.0, 0.0, 0.0], 1),
            "x-api-key",
            READER,
        ))
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(hits[0].id, "a");
    let batch = p
        .search_batch(with_header(
            SearchBatchRequest {
                searches: vec![search_vector("k", vec![1.0, 0.0, 0.0, 0.0], 1)],
            },
            "x-api-key",
            READER,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.results[0].hits[0].id, "a");
    let (k, m) = code(
        p.upsert(with_header(
            UpsertRequest {
                collection: "k".into(),
                points: vec![vector_point("b", vec![0.0, 1.0, 0.0, 0.0])],
            },
            "x-api-key",
            READER,
        ))
        .await,
    );
    assert_eq!(k, Code::PermissionDenied);
    assert!(m.contains("Upsert"), "{m}");
    let (k, _) = code(
        c.delete_collection(with_header(
            DeleteCollectionRequest { name: "k".into() },
            "x-api-key",
            READER,
        ))
        .await,
    );
    assert_eq!(k, Code::PermissionDenied);
    let count = p
        .count(with_header(
            CountRequest {
                collection: "k".into(),
                ..Default::default()
            },
            "x-api-key",
            READER,
        ))
        .await
        .unwrap()
        .into_inner()
        .count;
    assert_eq!(count, 1, "the denied upsert stored nothing");
    let page = p
        .scroll(with_header(
            ScrollRequest {
                collection: "k".into(),
                limit: 10,
                ..Default::default()
            },
            "x-api-key",
            READER,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.points.len(), 1);
    let recommended = p
        .recommend(with_header(
            RecommendRequest {
                collection: "k".into(),
                positive_ids: vec!["a".into()],
                limit: 1,
                ..Default::default()
            },
            "x-api-key",
            READER,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        recommended.hits.is_empty(),
        "the query point itself is left out"
    );

    // Health checks need no key.
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // The client commands present the key.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args([
            "search",
            "--collection",
            "k",
            "cats",
            "--server",
            &server.url(),
            "--api-key",
            READER,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Authenticated: the request reaches the collection (which has no model).
    assert!(stderr.contains("FailedPrecondition"), "{stderr}");

    drop((c, p, health));
    server.stop();
    let log = server.log();
    assert!(
        !log.contains(WRITER) && !log.contains(READER),
        "keys leaked into the log"
    );
}
