//! Prometheus metrics: the recorder, the tower layer that counts and times
//! every RPC, and the gauges read from the database at each scrape.
//!
//! Code everywhere records through the `metrics` facade (a counter is an
//! atomic add); this module installs the Prometheus recorder once per
//! process and renders its text at `GET /metrics` (`api::http`).

use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body, Frame};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::engine::Database;

/// Histogram buckets (seconds) for RPCs, searches, commits and embedding:
/// 100 µs to 30 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];
/// Buckets for the embedding batch size.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The process's Prometheus recorder, installed on first use. One per
/// process: several in-process servers (tests) share it.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                SECONDS_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full("clipdb_embed_batch_size".into()),
                    BATCH_BUCKETS,
                )
            })
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "a metrics recorder was already installed; /metrics shows only this one's"
            );
        }
        handle
    })
}

/// The metrics text: everything recorded, plus the gauges of `db`'s
/// collections and of the process, read now.
pub fn render(db: &Database, model: &str) -> String {
    let handle = handle();
    metrics::gauge!("clipdb_build_info", "version" => env!("CARGO_PKG_VERSION"), "model" => model.to_string())
        .set(1.0);
    for info in db.list_collections() {
        let name = info.config.name.clone();
        metrics::gauge!("clipdb_collection_points", "collection" => name.clone())
            .set(info.point_count as f64);
        let sealed = info.segments.iter().filter(|s| s.sealed).count();
        metrics::gauge!("clipdb_collection_segments", "collection" => name.clone(), "state" => "sealed")
            .set(sealed as f64);
        metrics::gauge!("clipdb_collection_segments", "collection" => name.clone(), "state" => "growing")
            .set((info.segments.len() - sealed) as f64);
        let dead: u64 = info
            .segments
            .iter()
            .map(|s| s.records.saturating_sub(s.live_points))
            .sum();
        metrics::gauge!("clipdb_collection_dead_records", "collection" => name.clone())
            .set(dead as f64);
        if let Ok(c) = db.collection(&name) {
            metrics::gauge!("clipdb_collection_disk_bytes", "collection" => name)
                .set(dir_bytes(c.dir()) as f64);
        }
    }
    if let Some(p) = ProcessStats::read() {
        metrics::gauge!("process_resident_memory_bytes").set(p.resident_bytes as f64);
        metrics::gauge!("process_open_fds").set(p.open_fds as f64);
        metrics::counter!("process_cpu_seconds_total").absolute(p.cpu_seconds as u64);
    }
    handle.render()
}

/// Bytes of the files under `dir` (allocated blocks: vector files are sparse).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// Resident memory, open files and CPU time of this process, from /proc.
struct ProcessStats {
    resident_bytes: u64,
    open_fds: u64,
    cpu_seconds: f64,
}

impl ProcessStats {
    fn read() -> Option<ProcessStats> {
        let page = 4096u64;
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may hold spaces): utime and
        // stime are the 12th and 13th, in clock ticks (100 per second on
        // Linux).
        let after = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
        Some(ProcessStats {
            resident_bytes: resident_pages * page,
            open_fds,
            cpu_seconds: ticks / 100.0,
        })
    }
}

/// gRPC code names as Prometheus users know them (go-grpc-prometheus).
fn code_name(code: &str) -> &'static str {
    match code {
        "0" => "OK",
        "1" => "Canceled",
        "2" => "Unknown",
        "3" => "InvalidArgument",
        "4" => "DeadlineExceeded",
        "5" => "NotFound",
        "6" => "AlreadyExists",
        "7" => "PermissionDenied",
        "8" => "ResourceExhausted",
        "9" => "FailedPrecondition",
        "10" => "Aborted",
        "11" => "OutOfRange",
        "12" => "Unimplemented",
        "13" => "Internal",
        "14" => "Unavailable",
        "15" => "DataLoss",
        "16" => "Unauthenticated",
        _ => "Unknown",
    }
}

/// Counts and times every RPC (`clipdb_grpc_requests_total{method,code}`,
/// `clipdb_grpc_request_duration_seconds{method}`): the code comes from the
/// response headers (errors answered at once) or from the trailers at the
/// end of the body; a body dropped before its end counts as `Canceled`.
#[derive(Clone, Debug)]
pub struct MetricsLayer {
    record: bool,
}

impl MetricsLayer {
    /// `record` false measures nothing (calls still pass through the
    /// layer): what `benches/server.rs --no-metrics` compares against.
    pub fn new(record: bool) -> MetricsLayer {
        MetricsLayer { record }
    }
}

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;
    fn layer(&self, inner: S) -> MetricsService<S> {
        MetricsService {
            inner,
            record: self.record,
        }
    }
}

#[derive(Clone, Debug)]
pub struct MetricsService<S> {
    inner: S,
    record: bool,
}

/// The measurement of one call, recorded once.
struct Call {
    method: String,
    started: Instant,
}

impl Call {
    fn finish(self, code: &str) {
        metrics::counter!("clipdb_grpc_requests_total", "method" => self.method.clone(), "code" => code_name(code))
            .increment(1);
        metrics::histogram!("clipdb_grpc_request_duration_seconds", "method" => self.method)
            .record(self.started.elapsed().as_secs_f64());
    }
}

type BoxFuture<T, E> = Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for MetricsService<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Body + Unpin + Send + 'static,
{
    type Response = http::Response<MetricsBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        if !self.record {
            let response = self.inner.call(request);
            return Box::pin(async move {
                Ok(response
                    .await?
                    .map(|inner| MetricsBody { inner, call: None }))
            });
        }
        let call = Call {
            method: request.uri().path().trim_start_matches('/').to_string(),
            started: Instant::now(),
        };
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let call = match code {
                // Trailers-only: the status is known now.
                Some(code) => {
                    call.finish(&code);
                    None
                }
                None => Some(call),
            };
            Ok(response.map(|inner| MetricsBody { inner, call }))
        })
    }
}

/// A response body that records its call when the trailers pass.
pub struct MetricsBody<B> {
    inner: B,
    call: Option<Call>,
}

impl<B: Body + Unpin> Body for MetricsBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = trailers
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("2")
                        .to_string();
                    if let Some(call) = self.call.take() {
                        call.finish(&code);
                    }
                }
            }
            Poll::Ready(None) => {
                if let Some(call) = self.call.take() {
                    call.finish("0");
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for MetricsBody<B> {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.finish("1");
        }
    }
}
