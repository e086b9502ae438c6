//! The batching queue: concurrent requests share forward passes, errors stay per
//! request, the queue is bounded, cancelled requests are skipped.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clipdb::embed::{BatchConfig, DeviceKind, EmbedError, EmbedQueue, Embedder, ImageLimits};

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/clip"
    ))
}

fn embedder() -> Arc<Embedder> {
    static E: OnceLock<Arc<Embedder>> = OnceLock::new();
    E.get_or_init(|| {
        Arc::new(
            Embedder::load(
                fixtures().join("tiny").to_str().unwrap(),
                DeviceKind::Cpu,
                ImageLimits::default(),
            )
            .unwrap(),
        )
    })
    .clone()
}

fn image(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("images").join(name)).unwrap()
}

fn close(a: &[Vec<f32>], b: &[Vec<f32>]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.iter().zip(y).all(|(p, q)| (p - q).abs() < 1e-5))
}

/// Longer than any test runs: a batch that is not full never runs early.
const NEVER: Duration = Duration::from_secs(600);

/// Only guards against hanging: a test that waits this long has failed.
const HANG: Duration = Duration::from_secs(120);

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: still waiting after {HANG:?}"))
}

/// Waits until `pending` items wait in the queue.
async fn until_pending(q: &EmbedQueue, pending: usize) {
    within("pending items", async {
        while q.stats().pending != pending {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_text_requests_share_forward_passes() {
    let e = embedder();
    let q = EmbedQueue::new(
        e.clone(),
        BatchConfig {
            // Exactly the 20 texts below: their batch runs once all have
            // arrived, however slowly they do.
            max_batch: 20,
            max_wait: NEVER,
            queue_capacity: 1024,
        },
    );
    let texts: Vec<Vec<String>> = (0..10)
        .map(|i| {
            vec![
                format!("a photo of {i} cats"),
                format!("a drawing of {i} dogs"),
            ]
        })
        .collect();
    let handles: Vec<_> = texts
        .iter()
        .cloned()
        .map(|t| {
            let q = q.clone();
            tokio::spawn(async move { q.embed_texts(t).await })
        })
        .collect();
    for (h, t) in handles.into_iter().zip(&texts) {
        let got = within("a request", h).await.unwrap().unwrap();
        let refs: Vec<&str> = t.iter().map(String::as_str).collect();
        assert!(close(&got, &e.embed_texts(&refs).unwrap()));
    }
    let s = q.stats();
    eprintln!("{s:?}");
    assert_eq!(s.items, 20);
    assert_eq!(s.forward_passes, 1, "no batching: {s:?}");
    assert_eq!(s.largest_batch, 20, "{s:?}");
    assert_eq!(s.pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_respect_max_batch_and_mixed_kinds() {
    let e = embedder();
    let q = EmbedQueue::new(
        e.clone(),
        BatchConfig {
            max_batch: 4,
            // Batches run only when full: two texts (2 items each) fill
            // one, the four images another, in whatever order they come.
            max_wait: NEVER,
            queue_capacity: 1024,
        },
    );
    let img = image("tiny_31x17.png");
    let mut handles = Vec::new();
    for i in 0..8 {
        let q = q.clone();
        let img = img.clone();
        handles.push(tokio::spawn(async move {
            if i % 2 == 0 {
                q.embed_texts(vec![format!("text {i}"), "another".into()])
                    .await
            } else {
                q.embed_images(vec![img]).await
            }
        }));
    }
    let want_img = e.embed_images(&[&img]).unwrap();
    for (i, h) in handles.into_iter().enumerate() {
        let got = within("a request", h).await.unwrap().unwrap();
        if i % 2 == 0 {
            let t = format!("text {i}");
            assert!(close(&got, &e.embed_texts(&[&t, "another"]).unwrap()));
        } else {
            assert!(close(&got, &want_img));
        }
    }
    let s = q.stats();
    eprintln!("{s:?}");
    assert_eq!(s.largest_batch, 4, "{s:?}");
    assert_eq!(s.items, 12, "{s:?}");
    assert_eq!(
        s.forward_passes, 3,
        "two text batches and one of images: {s:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_image_fails_only_its_own_request() {
    let q = EmbedQueue::new(
        embedder(),
        BatchConfig {
            max_batch: 32,
            max_wait: Duration::from_millis(200),
            queue_capacity: 1024,
        },
    );
    let good = image("square_224x224.png");
    let q1 = q.clone();
    let g = good.clone();
    let ok = tokio::spawn(async move { q1.embed_images(vec![g.clone(), g]).await });
    let q2 = q.clone();
    let bad = tokio::spawn(async move { q2.embed_images(vec![good, b"garbage".to_vec()]).await });
    assert_eq!(ok.await.unwrap().unwrap().len(), 2);
    match bad.await.unwrap() {
        Err(EmbedError::InvalidImage { index: 1, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_fails_fast() {
    let q = EmbedQueue::new(
        embedder(),
        BatchConfig {
            // The batch runs only once it is full (4 items).
            max_batch: 4,
            max_wait: NEVER,
            queue_capacity: 4,
        },
    );
    // Larger than the whole queue.
    let five: Vec<String> = (0..5).map(|i| i.to_string()).collect();
    assert!(matches!(
        within("a request larger than the queue", q.embed_texts(five)).await,
        Err(EmbedError::QueueFull { capacity: 4 })
    ));
    // Three items wait for a fourth; two more do not fit.
    let q1 = q.clone();
    let first = tokio::spawn(async move {
        q1.embed_texts(vec!["a".into(), "b".into(), "c".into()])
            .await
    });
    until_pending(&q, 3).await;
    // Refused while the three still wait: the call did not wait for room
    // (none comes before a fourth item arrives).
    assert!(matches!(
        within(
            "a request to a full queue",
            q.embed_texts(vec!["d".into(), "e".into()])
        )
        .await,
        Err(EmbedError::QueueFull { .. })
    ));
    assert!(matches!(
        within(
            "a request to a full queue",
            q.embed_images(vec![image("tiny_31x17.png"); 2])
        )
        .await,
        Err(EmbedError::QueueFull { .. })
    ));
    assert!(!first.is_finished());
    assert_eq!(q.stats().pending, 3);
    assert_eq!(q.stats().forward_passes, 0);
    // One more still fits, and fills the batch.
    let fourth = within("the fourth item", q.embed_texts(vec!["d".into()])).await;
    assert_eq!(fourth.unwrap().len(), 1);
    assert_eq!(
        within("the first three", first)
            .await
            .unwrap()
            .unwrap()
            .len(),
        3
    );
    let s = q.stats();
    assert_eq!((s.forward_passes, s.items, s.pending), (1, 4, 0), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_requests_are_skipped() {
    let q = EmbedQueue::new(
        embedder(),
        BatchConfig {
            // The batch runs once a second item joins the cancelled one.
            max_batch: 2,
            max_wait: NEVER,
            queue_capacity: 64,
        },
    );
    let q1 = q.clone();
    let h = tokio::spawn(async move { q1.embed_texts(vec!["never mind".into()]).await });
    until_pending(&q, 1).await;
    h.abort();
    // The aborted task's future, and with it the request's reply channel,
    // is dropped by the time the join handle reports the cancellation.
    assert!(h.await.unwrap_err().is_cancelled());
    assert_eq!(q.stats().forward_passes, 0);
    // The next request fills the batch; only its own item is embedded.
    let got = within(
        "a request after a cancelled one",
        q.embed_texts(vec!["still here".into()]),
    )
    .await;
    assert_eq!(got.unwrap().len(), 1);
    let s = q.stats();
    assert_eq!(s.cancelled, 1, "{s:?}");
    assert_eq!((s.forward_passes, s.items), (1, 1), "{s:?}");
    assert_eq!(s.pending, 0);
}
