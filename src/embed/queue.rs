//! Batching queue: concurrent embedding requests become single forward passes.
//!
//! Callers (async) tokenize their texts or decode/preprocess their images first
//! (images on tokio's blocking pool, in parallel with rayon), so a bad image fails
//! only its own request. The prepared items then wait in a bounded queue; one
//! dedicated worker thread gathers requests of the same kind until `max_batch`
//! items are pending or the oldest has waited `max_wait`, runs ONE forward pass
//! and routes each request its rows through a oneshot channel. Requests whose
//! caller went away (receiver dropped) are skipped before the pass.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{EmbedError, Embedder};

/// Batching parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    /// Most items (texts or images) in one forward pass. A single request larger
    /// than this runs as its own batch (it is not split).
    pub max_batch: usize,
    /// Longest time the oldest waiting request is held to gather a batch.
    pub max_wait: Duration,
    /// Most items waiting (accepted but not yet in a forward pass); past it,
    /// requests fail fast with [`EmbedError::QueueFull`].
    pub queue_capacity: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_batch: 32,
            max_wait: Duration::from_millis(5),
            queue_capacity: 1024,
        }
    }
}

/// Counters for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Forward passes run.
    pub forward_passes: u64,
    /// Items embedded in those passes.
    pub items: u64,
    /// Largest batch so far (items).
    pub largest_batch: u64,
    /// Requests skipped because their caller had gone.
    pub cancelled: u64,
    /// Items currently waiting.
    pub pending: usize,
}

type Reply = oneshot::Sender<Result<Vec<Vec<f32>>, EmbedError>>;

enum Items {
    Texts(Vec<Vec<u32>>),
    Images(Vec<Vec<f32>>),
}

impl Items {
    fn len(&self) -> usize {
        match self {
            Items::Texts(v) => v.len(),
            Items::Images(v) => v.len(),
        }
    }
    fn is_text(&self) -> bool {
        matches!(self, Items::Texts(_))
    }
}

struct Job {
    items: Items,
    reply: Reply,
    arrived: Instant,
}

#[derive(Default)]
struct Counters {
    forward_passes: AtomicU64,
    items: AtomicU64,
    largest_batch: AtomicU64,
    cancelled: AtomicU64,
    pending: AtomicUsize,
}

struct Shared {
    embedder: Arc<Embedder>,
    config: BatchConfig,
    counters: Counters,
}

/// Handle to the batching queue. Cheap to clone; the worker thread stops when
/// the last handle is dropped.
#[derive(Clone)]
pub struct EmbedQueue {
    tx: mpsc::Sender<Job>,
    shared: Arc<Shared>,
}

impl EmbedQueue {
    /// Starts the worker thread.
    pub fn new(embedder: Arc<Embedder>, config: BatchConfig) -> EmbedQueue {
        let config = BatchConfig {
            max_batch: config.max_batch.max(1),
            ..config
        };
        let shared = Arc::new(Shared {
            embedder,
            config,
            counters: Counters::default(),
        });
        let (tx, rx) = mpsc::channel();
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("clip-embed".into())
            .spawn(move || run_worker(&worker, rx))
            .expect("spawn embedding worker thread");
        EmbedQueue { tx, shared }
    }

    pub fn embedder(&self) -> &Arc<Embedder> {
        &self.shared.embedder
    }

    pub fn config(&self) -> BatchConfig {
        self.shared.config
    }

    pub fn stats(&self) -> QueueStats {
        let c = &self.shared.counters;
        QueueStats {
            forward_passes: c.forward_passes.load(Ordering::Relaxed),
            items: c.items.load(Ordering::Relaxed),
            largest_batch: c.largest_batch.load(Ordering::Relaxed),
            cancelled: c.cancelled.load(Ordering::Relaxed),
            pending: c.pending.load(Ordering::Relaxed),
        }
    }

    /// L2-normalised embeddings of `texts`, in order.
    pub async fn embed_texts(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let ids = self.shared.embedder.tokenizer().encode(&refs)?;
        self.submit(Items::Texts(ids)).await
    }

    /// L2-normalised embeddings of encoded images, in order. A bad image fails
    /// this request only, with its index in `images`.
    pub async fn embed_images(&self, images: Vec<Vec<u8>>) -> Result<Vec<Vec<f32>>, EmbedError> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        // Fail fast before spending CPU on decoding when the queue is already full.
        self.check_capacity(images.len())?;
        let embedder = Arc::clone(&self.shared.embedder);
        let pixels = tokio::task::spawn_blocking(move || {
            let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
            embedder.preprocessor().preprocess_many(&refs)
        })
        .await
        .map_err(|e| EmbedError::Inference(format!("image preprocessing task failed: {e}")))??;
        self.submit(Items::Images(pixels)).await
    }

    fn check_capacity(&self, n: usize) -> Result<(), EmbedError> {
        let cap = self.shared.config.queue_capacity;
        if n > cap || self.shared.counters.pending.load(Ordering::Relaxed) + n > cap {
            return Err(EmbedError::QueueFull { capacity: cap });
        }
        Ok(())
    }

    async fn submit(&self, items: Items) -> Result<Vec<Vec<f32>>, EmbedError> {
        let n = items.len();
        let cap = self.shared.config.queue_capacity;
        let pending = &self.shared.counters.pending;
        // Reserve room atomically.
        pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                (p + n <= cap).then_some(p + n)
            })
            .map_err(|_| EmbedError::QueueFull { capacity: cap })?;
        metrics::gauge!("clipdb_embed_queue_depth").increment(n as f64);
        let (reply, rx) = oneshot::channel();
        let job = Job {
            items,
            reply,
            arrived: Instant::now(),
        };
        let sent = self.tx.send(job);
        if sent.is_err() {
            pending.fetch_sub(n, Ordering::AcqRel);
            return Err(EmbedError::WorkerStopped);
        }
        rx.await.map_err(|_| EmbedError::WorkerStopped)?
    }
}

fn run_worker(shared: &Shared, rx: mpsc::Receiver<Job>) {
    let cfg = shared.config;
    // Jobs of the other kind met while gathering a batch wait here, in order.
    let mut carry: VecDeque<Job> = VecDeque::new();
    loop {
        let first = match carry.pop_front() {
            Some(j) => j,
            None => match rx.recv() {
                Ok(j) => j,
                Err(_) => return, // all handles dropped
            },
        };
        let text = first.items.is_text();
        let deadline = first.arrived + cfg.max_wait;
        let mut count = first.items.len();
        let mut batch = vec![first];
        // Same-kind jobs already carried over join first.
        let mut i = 0;
        while i < carry.len() && count < cfg.max_batch {
            if carry[i].items.is_text() == text && count + carry[i].items.len() <= cfg.max_batch {
                let j = carry.remove(i).expect("index checked");
                count += j.items.len();
                batch.push(j);
            } else {
                i += 1;
            }
        }
        while count < cfg.max_batch {
            let now = Instant::now();
            let job = if now >= deadline {
                match rx.try_recv() {
                    Ok(j) => j,
                    Err(_) => break,
                }
            } else {
                match rx.recv_timeout(deadline - now) {
                    Ok(j) => j,
                    // Timeout, or every handle dropped: run what we have; an empty,
                    // disconnected channel ends the loop at the next `recv`.
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            };
            if job.items.is_text() == text && count + job.items.len() <= cfg.max_batch {
                count += job.items.len();
                batch.push(job);
            } else {
                let full = job.items.is_text() == text;
                carry.push_back(job);
                if full {
                    break; // the next same-kind job does not fit: run now
                }
            }
        }
        run_batch(shared, batch);
    }
}

fn run_batch(shared: &Shared, batch: Vec<Job>) {
    let c = &shared.counters;
    let total: usize = batch.iter().map(|j| j.items.len()).sum();
    c.pending.fetch_sub(total, Ordering::AcqRel);
    metrics::gauge!("clipdb_embed_queue_depth").decrement(total as f64);
    let (live, gone): (Vec<Job>, Vec<Job>) = batch.into_iter().partition(|j| !j.reply.is_closed());
    c.cancelled.fetch_add(gone.len() as u64, Ordering::Relaxed);
    if live.is_empty() {
        return;
    }
    let sizes: Vec<usize> = live.iter().map(|j| j.items.len()).collect();
    let n: usize = sizes.iter().sum();
    let mut replies = Vec::with_capacity(live.len());
    let kind = if live[0].items.is_text() {
        "text"
    } else {
        "image"
    };
    let started = Instant::now();
    let result = if live[0].items.is_text() {
        let mut rows = Vec::with_capacity(n);
        for j in live {
            if let Items::Texts(t) = j.items {
                rows.extend(t);
            }
            replies.push(j.reply);
        }
        shared.embedder.embed_token_ids(&rows, true)
    } else {
        let mut rows = Vec::with_capacity(n);
        for j in live {
            if let Items::Images(p) = j.items {
                rows.extend(p);
            }
            replies.push(j.reply);
        }
        shared.embedder.embed_pixel_values(&rows, true)
    };
    c.forward_passes.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("clipdb_embed_items_total", "kind" => kind).increment(n as u64);
    metrics::histogram!("clipdb_embed_batch_size").record(n as f64);
    metrics::histogram!("clipdb_embed_duration_seconds", "kind" => kind)
        .record(started.elapsed().as_secs_f64());
    c.items.fetch_add(n as u64, Ordering::Relaxed);
    c.largest_batch.fetch_max(n as u64, Ordering::Relaxed);
    match result {
        Ok(vectors) => {
            let mut it = vectors.into_iter();
            for (reply, k) in replies.into_iter().zip(sizes) {
                let _ = reply.send(Ok(it.by_ref().take(k).collect()));
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}
