//! Fault injection in the write path (the `fail` crate's failpoints, which
//! test builds compile in): an I/O error or a full disk while appending
//! vectors, fsyncing them, writing or flushing sled, creating a segment or
//! sealing a graph gives the client a clear status, reads keep working,
//! nothing acknowledged is lost, and writes resume once the fault clears.
//!
//! Failpoints live in one process, so these tests run the real server
//! in-process (`clipdb::server::serve`, real gRPC on 127.0.0.1) instead of
//! as a child process. `fail::FailScenario` serialises the tests that use
//! them and clears every failpoint between tests.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clipdb::api::auth::ApiKeys;
use clipdb::engine::DatabaseOptions;
use clipdb::proto::collections_client::CollectionsClient;
use clipdb::proto::points_client::PointsClient;
use clipdb::proto::*;
use clipdb::server::{serve, ServerOptions};
use common::{create_request, random_unit_vectors, search_vector, vector_point};
use tonic::transport::Channel;
use tonic::Code;

const DIM: usize = 16;

/// The real server running on a task of this test's runtime.
struct InProcessServer {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl InProcessServer {
    async fn start(data_dir: &Path) -> InProcessServer {
        let database = DatabaseOptions {
            compaction_interval: Duration::from_millis(50),
            ..DatabaseOptions::default()
        };
        let options = ServerOptions {
            cluster: None,
            listen: "127.0.0.1:0".into(),
            data_dir: data_dir.to_path_buf(),
            max_message_bytes: 64 << 20,
            database,
            model: None,
            shutdown_grace: Duration::from_secs(1),
            api_keys: ApiKeys::default(),
            tls: None,
            http_listen: None,
            record_metrics: true,
        };
        let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let on_bound = move |bound: clipdb::server::BoundAddrs| {
                let _ = bound_tx.send(bound.grpc);
            };
            if let Err(e) = serve(options, on_bound, async {
                let _ = stopped.await;
            })
            .await
            {
                panic!("server failed: {e}");
            }
        });
        let addr = bound_rx.await.expect("server bound");
        InProcessServer {
            url: format!("http://{addr}"),
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(self.url.clone())
            .unwrap()
            .connect()
            .await
            .expect("connect")
    }

    async fn points(&self) -> PointsClient<Channel> {
        PointsClient::new(self.channel().await)
    }

    async fn collections(&self) -> CollectionsClient<Channel> {
        CollectionsClient::new(self.channel().await)
    }

    /// Graceful stop; returns once the database is flushed and closed.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.expect("server task");
    }
}

/// Starts the server again on `dir`, waiting for the previous instance's
/// background threads to release the metadata store's lock.
async fn restart(dir: &Path) -> InProcessServer {
    for _ in 0..100 {
        let probe = sled::Config::new().path(dir.join("meta")).open();
        if probe.is_ok() {
            drop(probe);
            return InProcessServer::start(dir).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the stopped server still holds {}", dir.display());
}

/// What the client knows is stored: id -> vector.
type Model = HashMap<String, Vec<f32>>;

fn batch(prefix: &str, range: std::ops::Range<usize>, seed: u64) -> Vec<(String, Vec<f32>)> {
    let vectors = random_unit_vectors(range.len(), DIM, seed);
    range
        .zip(vectors)
        .map(|(i, v)| (format!("{prefix}{i}"), v))
        .collect()
}

async fn upsert(
    points: &mut PointsClient<Channel>,
    collection: &str,
    batch: &[(String, Vec<f32>)],
) -> Result<u64, tonic::Status> {
    points
        .upsert(UpsertRequest {
            collection: collection.into(),
            points: batch
                .iter()
                .map(|(id, v)| vector_point(id.clone(), v.clone()))
                .collect(),
        })
        .await
        .map(|r| r.into_inner().upserted)
}

/// Every point of the model is stored with its vector, and nothing else.
async fn assert_matches_model(server: &InProcessServer, collection: &str, model: &Model) {
    let mut points = server.points().await;
    let count = points
        .count(CountRequest {
            collection: collection.into(),
            ..Default::default()
        })
        .await
        .expect("count")
        .into_inner()
        .count;
    assert_eq!(count as usize, model.len(), "{collection}: point count");
    let ids: Vec<String> = model.keys().cloned().collect();
    let got = points
        .get(GetRequest {
            collection: collection.into(),
            ids: ids.clone(),
            with_vector: true,
        })
        .await
        .expect("get")
        .into_inner()
        .points;
    assert_eq!(got.len(), ids.len(), "{collection}: every id readable");
    for p in got {
        // Stored vectors are re-normalised (cosine): equal up to rounding.
        let diff = common::max_abs_diff(&p.vector, &model[&p.id]);
        assert!(
            diff < 1e-6,
            "{collection}: vector of {} differs by {diff}",
            p.id
        );
    }
    // A stored vector finds itself.
    let (id, v) = model.iter().next().unwrap();
    let hits = points
        .search(search_vector(collection, v.clone(), 3))
        .await
        .expect("search")
        .into_inner()
        .hits;
    assert_eq!(&hits[0].id, id, "{collection}: search finds {id}");
}

/// For each failpoint on the upsert path and each kind of fault: the write
/// fails with the status that kind maps to and a message naming the cause,
/// reads go on, the failed write left nothing behind, and the same write
/// succeeds once the fault is cleared; after a restart the collection is
/// exactly what was acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn write_faults_fail_cleanly_and_writes_resume_after() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let server = InProcessServer::start(&data).await;
    let cases = [
        (
            "vectors-write",
            "enospc",
            Code::ResourceExhausted,
            "No space left",
        ),
        (
            "vectors-write",
            "eio",
            Code::Unavailable,
            "Input/output error",
        ),
        (
            "vectors-sync",
            "enospc",
            Code::ResourceExhausted,
            "No space left",
        ),
        (
            "vectors-sync",
            "eio",
            Code::Unavailable,
            "Input/output error",
        ),
        (
            "meta-apply",
            "enospc",
            Code::ResourceExhausted,
            "No space left",
        ),
        ("meta-apply", "eio", Code::Unavailable, "Input/output error"),
        (
            "meta-flush",
            "enospc",
            Code::ResourceExhausted,
            "No space left",
        ),
        ("meta-flush", "eio", Code::Unavailable, "Input/output error"),
    ];
    let mut models: Vec<(String, Model)> = Vec::new();
    for (i, (failpoint, fault, code, message)) in cases.iter().enumerate() {
        let name = format!("c{i}");
        let seed = 100 * i as u64;
        server
            .collections()
            .await
            .create_collection(create_request(&name, DIM as u32))
            .await
            .unwrap();
        let mut points = server.points().await;
        let first = batch("p", 0..40, seed);
        assert_eq!(upsert(&mut points, &name, &first).await.unwrap(), 40);
        let mut model: Model = first.into_iter().collect();

        // New points and replacements of acknowledged ones, under the fault.
        let second = batch("p", 20..60, seed + 1);
        fail::cfg(*failpoint, &format!("return({fault})")).unwrap();
        let err = upsert(&mut points, &name, &second)
            .await
            .expect_err("write under a fault");
        assert_eq!(err.code(), *code, "{failpoint}/{fault}: {err:?}");
        assert!(
            err.message().contains(message),
            "{failpoint}/{fault}: message names the cause: {}",
            err.message()
        );
        // Reads keep working and see only acknowledged writes.
        assert_matches_model(&server, &name, &model).await;
        if failpoint.starts_with("meta") {
            // Deletes write metadata too.
            let err = points
                .delete(DeleteRequest {
                    collection: name.clone(),
                    ids: vec!["p0".into()],
                    ..Default::default()
                })
                .await
                .expect_err("delete under a metadata fault");
            assert_eq!(err.code(), *code, "{failpoint}/{fault}: delete");
            assert_matches_model(&server, &name, &model).await;
        }

        // The fault clears: the same write goes through.
        fail::remove(*failpoint);
        assert_eq!(upsert(&mut points, &name, &second).await.unwrap(), 40);
        model.extend(second);
        points
            .delete(DeleteRequest {
                collection: name.clone(),
                ids: vec!["p0".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        model.remove("p0");
        assert_matches_model(&server, &name, &model).await;
        models.push((name, model));
    }

    // Nothing the failed writes touched comes back after a restart (a failed
    // metadata flush is taken back, not left for the next flush to persist).
    server.stop().await;
    let server = restart(&data).await;
    for (name, model) in &models {
        assert_matches_model(&server, name, model).await;
    }
    server.stop().await;
    scenario.teardown();
}

/// A segment that cannot be created fails the write that needed it; a
/// sealed graph file that cannot be written delays sealing (retried in the
/// background) but loses nothing, and the sealed segment's graph is
/// reloaded after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn segment_and_graph_faults_delay_but_lose_nothing() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let server = InProcessServer::start(&data).await;
    let name = "sealing";
    common::create_with_segment_capacity(&mut server.collections().await, name, DIM as u32, 50)
        .await;
    let mut points = server.points().await;

    // The first 50 fill segment 1; the next write needs segment 2.
    let first = batch("s", 0..50, 7);
    fail::cfg("graph-seal", "2*return(eio)").unwrap();
    upsert(&mut points, name, &first).await.unwrap();
    let mut model: Model = first.into_iter().collect();
    fail::cfg("segment-create", "return(enospc)").unwrap();
    let more = batch("s", 50..80, 8);
    let err = upsert(&mut points, name, &more)
        .await
        .expect_err("no room for a new segment");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("seg-000002"), "{}", err.message());
    assert_matches_model(&server, name, &model).await;
    fail::remove("segment-create");
    upsert(&mut points, name, &more).await.unwrap();
    model.extend(more);
    assert_matches_model(&server, name, &model).await;

    // Segment 1 gets sealed once the injected write failures run out.
    let mut sealed = false;
    for _ in 0..100 {
        let info = server
            .collections()
            .await
            .get_collection(GetCollectionRequest { name: name.into() })
            .await
            .unwrap()
            .into_inner();
        if info.segments.first().is_some_and(|s| s.sealed) {
            sealed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sealed, "segment 1 sealed after the write faults cleared");
    server.stop().await;

    let server = restart(&data).await;
    let info = server
        .collections()
        .await
        .get_collection(GetCollectionRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner();
    assert!(info.segments[0].sealed);
    assert_eq!(
        info.segments[0].graph_source,
        GraphSource::Loaded as i32,
        "sealed graph reloaded from its file"
    );
    assert_matches_model(&server, name, &model).await;
    server.stop().await;
    scenario.teardown();
}

/// A compaction that fails (here: moving points) changes nothing visible;
/// it is retried and completes once the fault clears.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compaction_faults_lose_nothing_and_compaction_resumes() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let server = InProcessServer::start(&data).await;
    let name = "compacting";
    common::create_with_segment_capacity(&mut server.collections().await, name, DIM as u32, 50)
        .await;
    let mut points = server.points().await;
    fail::cfg("compaction-move", "return(eio)").unwrap();
    let all = batch("k", 0..110, 11);
    upsert(&mut points, name, &all).await.unwrap();
    let mut model: Model = all.into_iter().collect();
    let deleted: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
    points
        .delete(DeleteRequest {
            collection: name.into(),
            ids: deleted.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    for id in &deleted {
        model.remove(id);
    }
    // Several compaction attempts fail meanwhile.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(common::segment_ids(&mut server.collections().await, name)
        .await
        .contains(&1));
    assert_matches_model(&server, name, &model).await;

    fail::remove("compaction-move");
    let mut compacted = false;
    for _ in 0..100 {
        if !common::segment_ids(&mut server.collections().await, name)
            .await
            .contains(&1)
        {
            compacted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(compacted, "segment 1 compacted once the fault cleared");
    assert_matches_model(&server, name, &model).await;
    server.stop().await;
    let server = restart(&data).await;
    assert_matches_model(&server, name, &model).await;
    server.stop().await;
    scenario.teardown();
}
