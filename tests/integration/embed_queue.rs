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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_text_requests_share_forward_passes() {
    let e = embedder();
    let q = EmbedQueue::new(
        e.clone(),
        BatchConfig {
            max_batch: 64,
            max_wait: Duration::from_millis(300),
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
        let got = h.await.unwrap().unwrap();
        let refs: Vec<&str> = t.iter().map(String::as_str).collect();
        assert!(close(&got, &e.embed_texts(&refs).unwrap()));
    }
    let s = q.stats();
    eprintln!("{s:?}");
    assert_eq!(s.items, 20);
    assert!(s.forward_passes < 10, "no batching: {s:?}");
    assert!(s.largest_batch >= 4, "{s:?}");
    assert_eq!(s.pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_respect_max_batch_and_mixed_kinds() {
    let e = embedder();
    let q = EmbedQueue::new(
        e.clone(),
        BatchConfig {
            max_batch: 4,
            max_wait: Duration::from_millis(100),
            queue_capacity: 1024,
        },
    );
    let img = image("tiny_31x17.png");
    let mut handles = Vec::new();
    for i in 0..6 {
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
        let got = h.await.unwrap().unwrap();
        if i % 2 == 0 {
            let t = format!("text {i}");
            assert!(close(&got, &e.embed_texts(&[&t, "another"]).unwrap()));
        } else {
            assert!(close(&got, &want_img));
        }
    }
    let s = q.stats();
    eprintln!("{s:?}");
    assert!(s.largest_batch <= 4);
    assert_eq!(s.items, 9);
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
            max_batch: 64,
            max_wait: Duration::from_millis(500),
            queue_capacity: 4,
        },
    );
    // Larger than the whole queue.
    let five: Vec<String> = (0..5).map(|i| i.to_string()).collect();
    assert!(matches!(
        q.embed_texts(five).await,
        Err(EmbedError::QueueFull { capacity: 4 })
    ));
    // Three items wait for max_wait; two more do not fit.
    let q1 = q.clone();
    let first = tokio::spawn(async move {
        q1.embed_texts(vec!["a".into(), "b".into(), "c".into()])
            .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(q.stats().pending, 3);
    let t = std::time::Instant::now();
    assert!(matches!(
        q.embed_texts(vec!["d".into(), "e".into()]).await,
        Err(EmbedError::QueueFull { .. })
    ));
    assert!(t.elapsed() < Duration::from_millis(100), "must fail fast");
    assert!(matches!(
        q.embed_images(vec![image("tiny_31x17.png"); 2]).await,
        Err(EmbedError::QueueFull { .. })
    ));
    // One more still fits.
    assert_eq!(q.embed_texts(vec!["d".into()]).await.unwrap().len(), 1);
    assert_eq!(first.await.unwrap().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_requests_are_skipped() {
    let q = EmbedQueue::new(
        embedder(),
        BatchConfig {
            max_batch: 64,
            max_wait: Duration::from_millis(300),
            queue_capacity: 64,
        },
    );
    let q1 = q.clone();
    let h = tokio::spawn(async move { q1.embed_texts(vec!["never mind".into()]).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    h.abort();
    tokio::time::sleep(Duration::from_millis(450)).await;
    let s = q.stats();
    assert_eq!(s.cancelled, 1, "{s:?}");
    assert_eq!(s.forward_passes, 0, "{s:?}");
    assert_eq!(s.pending, 0);
    // The queue still works.
    assert_eq!(
        q.embed_texts(vec!["still here".into()])
            .await
            .unwrap()
            .len(),
        1
    );
}
