//! The operations endpoints of a real server (`--http-listen`): /healthz,
//! /readyz and a Prometheus /metrics whose series exist and move with the
//! requests made; and the gRPC health service going NOT_SERVING on shutdown.

use clipdb::proto::embeddings_client::EmbeddingsClient;
use clipdb::proto::*;
use tonic::Code;

use crate::common::*;

/// The value of the series `name{labels}` (labels as rendered, in order),
/// summed over matching lines; None when absent.
fn value(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut total = None;
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, v)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
        if series_name != name {
            continue;
        }
        if labels
            .iter()
            .all(|(k, val)| series_labels.contains(&format!("{k}=\"{val}\"")))
        {
            *total.get_or_insert(0.0) += v.parse::<f64>().unwrap();
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_health_and_readiness_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model();
    let mut server = TestServer::start(
        &dir.path().join("data"),
        &["--model", &model, "--compaction-interval-ms", "50"],
    );
    let http = server
        .http_addr
        .clone()
        .expect("the operations port is printed");
    assert_eq!(http_get(&http, "/healthz"), (200, "ok\n".into()));
    assert_eq!(http_get(&http, "/readyz"), (200, "ready\n".into()));

    let mut c = server.collections().await;
    create_with_segment_capacity(&mut c, "m", 16, 20).await;
    let mut p = server.points().await;
    p.upsert(UpsertRequest {
        collection: "m".into(),
        points: random_unit_vectors(50, 16, 1)
            .into_iter()
            .enumerate()
            .map(|(i, v)| vector_point(format!("p{i}"), v))
            .collect(),
    })
    .await
    .unwrap();
    wait_sealed(&mut c, "m", 2).await;
    // 15 of segment 1's 20 points deleted: compacted away; 5 of segment 2's
    // deleted: dead records that stay.
    p.delete(DeleteRequest {
        collection: "m".into(),
        ids: (0..15).chain(20..25).map(|i| format!("p{i}")).collect(),
        ..Default::default()
    })
    .await
    .unwrap();
    for attempt in 0.. {
        if !segment_ids(&mut c, "m").await.contains(&1) {
            break;
        }
        assert!(attempt < 300, "segment 1 was not compacted");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for _ in 0..3 {
        p.search(search_vector("m", vec![1.0; 16], 5))
            .await
            .unwrap();
    }
    let (code, _) = code(p.search(search_vector("m", vec![1.0; 3], 5)).await);
    assert_eq!(code, Code::InvalidArgument);
    EmbeddingsClient::new(server.channel().await)
        .embed_text(EmbedTextRequest {
            texts: vec!["a photo of a cat".into(), "a dog".into()],
        })
        .await
        .unwrap();
    c.create_snapshot(CreateSnapshotRequest {
        collection: "m".into(),
    })
    .await
    .unwrap();

    let (status, metrics) = http_get(&http, "/metrics");
    assert_eq!(status, 200);
    let search = [("method", "clipdb.v1.Points/Search")];
    assert_eq!(
        value(
            &metrics,
            "clipdb_grpc_requests_total",
            &[search[0], ("code", "OK")]
        ),
        Some(3.0),
        "{metrics}"
    );
    assert_eq!(
        value(
            &metrics,
            "clipdb_grpc_requests_total",
            &[search[0], ("code", "InvalidArgument")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &metrics,
            "clipdb_grpc_request_duration_seconds_count",
            &search
        ),
        Some(4.0)
    );
    let collection = [("collection", "m")];
    assert_eq!(
        value(&metrics, "clipdb_collection_points", &collection),
        Some(30.0)
    );
    assert_eq!(
        value(
            &metrics,
            "clipdb_collection_segments",
            &[("collection", "m"), ("state", "sealed")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &metrics,
            "clipdb_collection_segments",
            &[("collection", "m"), ("state", "growing")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&metrics, "clipdb_collection_dead_records", &collection),
        Some(5.0)
    );
    assert!(value(&metrics, "clipdb_collection_disk_bytes", &collection).unwrap() > 50.0 * 64.0);
    assert_eq!(
        value(&metrics, "clipdb_embed_items_total", &[("kind", "text")]),
        Some(2.0)
    );
    assert_eq!(
        value(&metrics, "clipdb_embed_batch_size_count", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &metrics,
            "clipdb_embed_duration_seconds_count",
            &[("kind", "text")]
        ),
        Some(1.0)
    );
    assert_eq!(value(&metrics, "clipdb_embed_queue_depth", &[]), Some(0.0));
    assert!(value(&metrics, "clipdb_commit_duration_seconds_count", &[]).unwrap() >= 2.0);
    assert_eq!(
        value(
            &metrics,
            "clipdb_search_duration_seconds_count",
            &collection
        ),
        Some(3.0)
    );
    assert!(value(&metrics, "clipdb_seals_total", &[]).unwrap() >= 2.0);
    assert_eq!(
        value(&metrics, "clipdb_snapshot_duration_seconds_count", &[]),
        Some(1.0)
    );
    assert!(value(&metrics, "clipdb_compactions_total", &[]).unwrap() >= 1.0);
    assert_eq!(
        value(
            &metrics,
            "clipdb_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    assert!(value(&metrics, "process_resident_memory_bytes", &[]).unwrap() > 1e6);
    assert!(value(&metrics, "process_open_fds", &[]).unwrap() > 3.0);
    assert!(value(&metrics, "process_cpu_seconds_total", &[]).is_some());

    // Counters move.
    p.search(search_vector("m", vec![1.0; 16], 5))
        .await
        .unwrap();
    let (_, again) = http_get(&http, "/metrics");
    assert_eq!(
        value(
            &again,
            "clipdb_grpc_requests_total",
            &[search[0], ("code", "OK")]
        ),
        Some(4.0)
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operations_port_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &["--http-listen", "off"]);
    assert!(server.http_addr.is_none());
    assert!(server.log().contains("clipdb listening"));
}

/// On SIGTERM the server says it is going before it goes: a gRPC health
/// watcher sees NOT_SERVING (overall and per service) while in-flight
/// requests still have their grace, and /readyz answers 503 with the reason
/// while /healthz stays 200, so gRPC and HTTP probes agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_turns_health_not_serving_and_readyz_503() {
    use tokio_stream::StreamExt;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(
        &dir.path().join("data"),
        &["--model", "none", "--shutdown-grace-secs", "30"],
    );
    let http = server.http_addr.clone().unwrap();
    let mut health = HealthClient::new(server.channel().await);
    let mut watches = Vec::new();
    for service in ["", "clipdb.v1.Points"] {
        let mut stream = health
            .watch(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        let first = stream.next().await.unwrap().unwrap();
        assert_eq!(first.status, ServingStatus::Serving as i32, "{service:?}");
        watches.push((service, stream));
    }
    assert_eq!(http_get(&http, "/readyz").0, 200);

    // SIGTERM: the open watches are in-flight requests, so the server waits
    // (up to the grace) and they see the change.
    send_sigterm(server.pid());
    for (service, stream) in &mut watches {
        let next = stream.next().await.unwrap().unwrap();
        assert_eq!(
            next.status,
            ServingStatus::NotServing as i32,
            "health of {service:?} after SIGTERM"
        );
    }
    assert_eq!(
        http_get(&http, "/readyz"),
        (503, "not ready: shutting down\n".into())
    );
    assert_eq!(http_get(&http, "/healthz"), (200, "ok\n".into()));
    drop(watches);
    server.stop();
}
