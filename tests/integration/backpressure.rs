//! Load limits through a real server: the write path is bounded and answers
//! RESOURCE_EXHAUSTED at once past the bound (never loses what it
//! acknowledged), and client deadlines are honoured.

use crate::common;

use std::time::Duration;

use clipdb::proto::*;
use common::*;
use tonic::Code;

const DIM: usize = 64;

fn batch(prefix: &str, n: usize, seed: u64) -> Vec<Point> {
    random_unit_vectors(n, DIM, seed)
        .into_iter()
        .enumerate()
        .map(|(i, v)| vector_point(format!("{prefix}-{i}"), v))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_past_the_bound_fail_fast_and_acknowledged_ones_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &["--max-pending-writes", "1"]);
    server
        .collections()
        .await
        .create_collection(create_request("c", DIM as u32))
        .await
        .unwrap();

    // 16 writers at once, each a batch that takes a while to index: with one
    // write admitted at a time, the others must be turned away immediately.
    let mut tasks = Vec::new();
    for w in 0..16u64 {
        let mut p = server.points().await;
        tasks.push(tokio::spawn(async move {
            let points = batch(&format!("w{w}"), 400, w);
            let r = p
                .upsert(UpsertRequest {
                    collection: "c".into(),
                    points,
                })
                .await;
            let outcome = match r {
                Ok(_) => (Code::Ok, String::new()),
                Err(s) => (s.code(), s.message().to_string()),
            };
            (w, outcome)
        }));
    }
    let mut acknowledged = Vec::new();
    let mut rejected = 0;
    for t in tasks {
        let (w, (c, message)) = t.await.unwrap();
        match c {
            Code::Ok => acknowledged.push(w),
            Code::ResourceExhausted => {
                assert!(message.contains("--max-pending-writes"), "{message}");
                rejected += 1;
            }
            other => panic!("writer {w}: unexpected {other:?}: {message}"),
        }
    }
    assert!(!acknowledged.is_empty(), "no write got through");
    assert!(rejected > 0, "no write was turned away");

    // Exactly the acknowledged batches are stored, each whole.
    let mut p = server.points().await;
    let count = server.count("c").await;
    assert_eq!(count, acknowledged.len() as u64 * 400);
    for w in &acknowledged {
        let ids: Vec<String> = (0..400).map(|i| format!("w{w}-{i}")).collect();
        let got = p
            .get(GetRequest {
                collection: "c".into(),
                ids,
                with_vector: false,
            })
            .await
            .unwrap()
            .into_inner()
            .points;
        assert_eq!(got.len(), 400, "writer {w}");
    }

    // The bound frees up: a write afterwards succeeds.
    let r = p
        .upsert(UpsertRequest {
            collection: "c".into(),
            points: batch("after", 10, 99),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.upserted, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_deadlines_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    server
        .collections()
        .await
        .create_collection(create_request("c", DIM as u32))
        .await
        .unwrap();
    let mut p = server.points().await;

    // A large batch with a 1 ms deadline: the server gives up on it. tonic's
    // server stops the request at the deadline and answers CANCELLED "Timeout
    // expired" (tonic's mapping); the client itself does not time out.
    let mut request = tonic::Request::new(UpsertRequest {
        collection: "c".into(),
        points: batch("slow", 3000, 1),
    });
    request.set_timeout(Duration::from_millis(1));
    let (c, message) = code(p.upsert(request).await);
    assert_eq!(c, Code::Cancelled, "{message}");
    assert!(message.contains("Timeout expired"), "{message}");

    // The server keeps serving; the timed-out batch is either wholly stored
    // (it was committed before the deadline cut the answer) or not at all.
    let r = p
        .upsert(UpsertRequest {
            collection: "c".into(),
            points: batch("next", 10, 2),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.upserted, 10);
    let count = server.count("c").await;
    assert!(count == 10 || count == 3010, "count {count}");

    // A search within a generous deadline is answered.
    let query = random_unit_vectors(1, DIM, 3).remove(0);
    let mut request = tonic::Request::new(search_vector("c", query, 5));
    request.set_timeout(Duration::from_secs(30));
    let hits = p.search(request).await.unwrap().into_inner().hits;
    assert_eq!(hits.len(), 5);
}
