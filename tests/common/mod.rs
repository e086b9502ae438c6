//! Test harness: runs the real `clipdb` binary on a loopback port and talks
//! to it with the generated gRPC clients.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clipdb::proto::collections_client::CollectionsClient;
use clipdb::proto::points_client::PointsClient;
use clipdb::proto::*;
use tonic::transport::Channel;

pub struct TestServer {
    child: Option<Child>,
    pub addr: String,
    /// Where /metrics, /healthz and /readyz answer.
    pub http_addr: Option<String>,
    pub data_dir: PathBuf,
    pub stderr_log: PathBuf,
}

impl TestServer {
    /// Starts `clipdb serve` on 127.0.0.1 with a free port; without a
    /// `--model` in `extra_args` it serves raw vectors only (`--model none`),
    /// not the bundled demo model.
    pub fn start(data_dir: &Path, extra_args: &[&str]) -> TestServer {
        TestServer::start_with_env(data_dir, extra_args, &[])
    }

    /// As [`TestServer::start`], with extra environment variables for the
    /// server process only (the tests share one process: never `set_var`).
    pub fn start_with_env(
        data_dir: &Path,
        extra_args: &[&str],
        env: &[(&str, &Path)],
    ) -> TestServer {
        let model_none: &[&str] = if extra_args.contains(&"--model") {
            &[]
        } else {
            &["--model", "none"]
        };
        let stderr_log = data_dir.with_extension(format!("log-{}", std::process::id()));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_log)
            .unwrap();
        // Many servers run at once: a free port for the operations endpoints
        // too, unless the test picks one.
        let http_listen: &[&str] = if extra_args.contains(&"--http-listen") {
            &[]
        } else {
            &["--http-listen", "127.0.0.1:0"]
        };
        // A test may pick the port (a restarted cluster node keeps its
        // address).
        let listen: &[&str] = if extra_args.contains(&"--listen") {
            &[]
        } else {
            &["--listen", "127.0.0.1:0"]
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_clipdb"))
            .arg("serve")
            .args(listen)
            .arg("--data-dir")
            .arg(data_dir)
            .args(model_none)
            .args(http_listen)
            .args(extra_args)
            .env("CLIPDB_LOG", "info")
            // A blocking `stop()` on a current-thread test runtime keeps the
            // client's connection tasks from answering the server's GOAWAY,
            // so the server would wait out the whole grace period.
            .env("CLIPDB_SHUTDOWN_GRACE_SECS", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start clipdb");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut http_addr = None;
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(a) = line.strip_prefix("clipdb http listening on ") {
                        http_addr = Some(a.trim().to_string());
                    }
                    if let Some(a) = line.strip_prefix("clipdb listening on ") {
                        break a.trim().to_string();
                    }
                }
                _ => {
                    let log = std::fs::read_to_string(&stderr_log).unwrap_or_default();
                    panic!("clipdb exited before listening; log:\n{log}");
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        TestServer {
            child: Some(child),
            addr,
            http_addr,
            data_dir: data_dir.to_path_buf(),
            stderr_log,
        }
    }

    /// Number of points in `collection`.
    pub async fn count(&self, collection: &str) -> u64 {
        self.points()
            .await
            .count(CountRequest {
                collection: collection.into(),
                ..Default::default()
            })
            .await
            .expect("count")
            .into_inner()
            .count
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .expect("connect")
    }

    pub async fn collections(&self) -> CollectionsClient<Channel> {
        CollectionsClient::new(self.channel().await).max_decoding_message_size(usize::MAX)
    }

    pub async fn points(&self) -> PointsClient<Channel> {
        PointsClient::new(self.channel().await)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX)
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a graceful exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            send_sigterm(c.id());
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(status)) = c.try_wait() {
                    assert!(status.success(), "clipdb exited with {status}");
                    return;
                }
                if std::time::Instant::now() > deadline {
                    let _ = c.kill();
                    panic!(
                        "clipdb did not stop within 30 s of SIGTERM; log:\n{}",
                        self.log()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }
}

/// Sends SIGTERM (a graceful shutdown) to process `pid`.
pub fn send_sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.stderr_log);
    }
}

/// Deterministic pseudo-random unit vectors (splitmix64).
pub fn random_unit_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^= z >> 31;
        // uniform in [-1, 1)
        (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    (0..n)
        .map(|_| {
            let v: Vec<f32> = (0..dim).map(|_| next()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

pub fn create_request(name: &str, dimension: u32) -> CreateCollectionRequest {
    CreateCollectionRequest {
        name: name.into(),
        dimension,
        ..Default::default()
    }
}

pub fn vector_point(id: impl Into<String>, vector: Vec<f32>) -> Point {
    Point {
        id: id.into(),
        vector,
        ..Default::default()
    }
}

pub fn search_vector(collection: &str, vector: Vec<f32>, limit: u32) -> SearchRequest {
    SearchRequest {
        collection: collection.into(),
        query: Some(search_request::Query::Vector(Vector { values: vector })),
        limit,
        ..Default::default()
    }
}

/// A payload Struct from JSON.
pub fn payload(json: serde_json::Value) -> prost_types::Struct {
    fn value(v: &serde_json::Value) -> prost_types::Value {
        use prost_types::value::Kind;
        let kind = match v {
            serde_json::Value::Null => Kind::NullValue(0),
            serde_json::Value::Bool(b) => Kind::BoolValue(*b),
            serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap()),
            serde_json::Value::String(s) => Kind::StringValue(s.clone()),
            serde_json::Value::Array(a) => Kind::ListValue(prost_types::ListValue {
                values: a.iter().map(value).collect(),
            }),
            serde_json::Value::Object(_) => Kind::StructValue(payload(v.clone())),
        };
        prost_types::Value { kind: Some(kind) }
    }
    prost_types::Struct {
        fields: v_obj(json)
            .iter()
            .map(|(k, x)| (k.clone(), value(x)))
            .collect(),
    }
}

fn v_obj(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object()
        .expect("payload must be a JSON object")
        .clone()
}

/// Exact top-k by cosine (vectors are unit length), best first.
pub fn brute_force_top_k(base: &[Vec<f32>], query: &[f32], k: usize) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = base
        .iter()
        .enumerate()
        .map(|(i, v)| (v.iter().zip(query).map(|(a, b)| a * b).sum::<f32>(), i))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

/// The shared CLIP fixtures beside the checkout (`../shared/fixtures/clip`).
pub fn clip_fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/clip"
    ))
}

/// The tiny CLIP model of the fixtures, as a `--model` argument.
pub fn tiny_model() -> String {
    clip_fixtures().join("tiny").to_str().unwrap().to_string()
}

/// A vector from the fixtures' `reference.safetensors` (HF outputs).
pub fn reference_vector(name: &str) -> Vec<f32> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static R: OnceLock<HashMap<String, candle_core::Tensor>> = OnceLock::new();
    let r = R.get_or_init(|| {
        candle_core::safetensors::load(
            clip_fixtures().join("reference.safetensors"),
            &candle_core::Device::Cpu,
        )
        .unwrap()
    });
    r.get(name)
        .unwrap_or_else(|| panic!("no reference tensor {name}"))
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
}

/// The text of entry `i` of the fixtures' `tokens.json`.
pub fn reference_text(i: usize) -> String {
    let raw = std::fs::read_to_string(clip_fixtures().join("tokens.json")).unwrap();
    let all: serde_json::Value = serde_json::from_str(&raw).unwrap();
    all[i]["text"].as_str().unwrap().to_string()
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The gRPC status code and message of a failed call (panics on success).
pub fn code<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> (tonic::Code, String) {
    let s = r.expect_err("expected an error status");
    (s.code(), s.message().to_string())
}

/// SplitMix64: a tiny deterministic generator for test workloads.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Creates a raw-vector collection whose segments seal at `capacity` points,
/// so that a test crosses seals (and compactions) with little data.
pub async fn create_with_segment_capacity(
    collections: &mut CollectionsClient<Channel>,
    name: &str,
    dimension: u32,
    capacity: u32,
) {
    collections
        .create_collection(CreateCollectionRequest {
            segment_capacity: capacity,
            ..create_request(name, dimension)
        })
        .await
        .expect("create collection");
}

/// The ids of a collection's segments, oldest first.
pub async fn segment_ids(collections: &mut CollectionsClient<Channel>, name: &str) -> Vec<u32> {
    collections
        .get_collection(GetCollectionRequest { name: name.into() })
        .await
        .expect("get collection")
        .into_inner()
        .segments
        .iter()
        .map(|s| s.id)
        .collect()
}

/// Waits (up to 15 s) until at least `sealed` segments of `name` are sealed.
pub async fn wait_sealed(c: &mut CollectionsClient<Channel>, name: &str, sealed: usize) {
    for _ in 0..300 {
        let info = c
            .get_collection(GetCollectionRequest { name: name.into() })
            .await
            .unwrap()
            .into_inner();
        if info.segments.iter().filter(|s| s.sealed).count() >= sealed {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("segments of {name} were not sealed in time");
}

/// Runs `clipdb snapshot restore FILE --data-dir DATA_DIR EXTRA...`.
pub fn restore(file: &str, data_dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(["snapshot", "restore", file, "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .output()
        .expect("run clipdb snapshot restore")
}

/// GET `path` from an operations port over plain HTTP/1.1: (status, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the operations port");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
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
