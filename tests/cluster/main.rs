//! Cluster mode against real processes: three clustered `nats-server`s with
//! JetStream and several `clipdb serve --nats ...` nodes on loopback;
//! nothing mocked. A binary of its own (`cargo test --test cluster`): each
//! test runs a whole cluster, so they take a lock and run one at a time.
//!
//! nats-server comes from `bash tests/setup/nats.sh` (tests/all.sh runs it).

#[path = "../common/mod.rs"]
mod common;

mod api_coverage;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use clipdb::cluster::meta::shard_of;
use clipdb::proto::cluster_client::ClusterClient;
use clipdb::proto::*;
use common::{
    code, http_get, payload, random_unit_vectors, search_vector, vector_point, SplitMix64,
    TestServer,
};
use tonic::transport::Channel;

mod collection_snapshots;
mod nats_tls;
mod search_page;
mod snapshots;

/// One cluster at a time: each runs 3 NATS servers and 2-3 clipdb nodes.
static CLUSTER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn nats_server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CLIPDB_NATS_SERVER") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/.tools/nats/bin/nats-server");
    assert!(
        p.exists(),
        "nats-server not found at {} (nor $CLIPDB_NATS_SERVER); run: bash tests/setup/nats.sh",
        p.display()
    );
    p
}

fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct free ports: all held open until all are chosen (one at a
/// time, the system may hand out the same port twice).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Three NATS servers in one cluster, JetStream on, stores in a temp dir.
struct Nats {
    dir: PathBuf,
    client_ports: Vec<u16>,
    route_ports: Vec<u16>,
    procs: Vec<Option<Child>>,
    /// Clients must use TLS and present a certificate: (CA, cert, key).
    tls: Option<(PathBuf, PathBuf, PathBuf)>,
}

impl Nats {
    fn start(dir: &Path) -> Nats {
        Nats::start_with_tls(dir, None)
    }

    /// As [`Nats::start`]; with `tls` (CA, cert, key) clients must connect
    /// over TLS with a certificate the CA signed (routes stay plaintext).
    fn start_with_tls(dir: &Path, tls: Option<(PathBuf, PathBuf, PathBuf)>) -> Nats {
        let ports = free_ports(6);
        let mut nats = Nats {
            dir: dir.to_path_buf(),
            client_ports: ports[..3].to_vec(),
            route_ports: ports[3..].to_vec(),
            procs: vec![None, None, None],
            tls,
        };
        for i in 0..3 {
            nats.start_server(i);
        }
        nats.wait_for_metadata_leader();
        nats
    }

    /// Waits until every server knows the JetStream metadata leader, i.e.
    /// the three have formed one cluster (else clipdb nodes see "no
    /// suitable peers for placement" for as long as they wait); the
    /// servers' logs otherwise vanish with the test's temp dir.
    fn wait_for_metadata_leader(&self) {
        let logs = || -> Vec<String> {
            (0..3)
                .map(|i| {
                    std::fs::read_to_string(self.dir.join(format!("nats-{i}.log")))
                        .unwrap_or_default()
                })
                .collect()
        };
        for _ in 0..1200 {
            if logs().iter().all(|l| l.contains("metadata leader")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the NATS servers formed no JetStream cluster in 60 s; their logs:\n{}",
            logs().join("\n----\n")
        );
    }

    fn start_server(&mut self, i: usize) {
        let routes: Vec<String> = (0..3)
            .filter(|&j| j != i)
            .map(|j| format!("nats://127.0.0.1:{}", self.route_ports[j]))
            .collect();
        let log = std::fs::File::create(self.dir.join(format!("nats-{i}.log"))).unwrap();
        let mut command = Command::new(nats_server_binary());
        if let Some((ca, cert, key)) = &self.tls {
            command
                .args(["--tls", "--tlsverify", "--tlscert"])
                .arg(cert)
                .arg("--tlskey")
                .arg(key)
                .arg("--tlscacert")
                .arg(ca);
        }
        let child = command
            .args(["-a", "127.0.0.1", "-p", &self.client_ports[i].to_string()])
            .args(["-js", "-sd"])
            .arg(self.dir.join(format!("nats-store-{i}")))
            .args(["-n", &format!("ns{i}"), "--cluster_name", "clipdb-test"])
            .args([
                "--cluster",
                &format!("nats://127.0.0.1:{}", self.route_ports[i]),
            ])
            .args(["--routes", &routes.join(",")])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start nats-server");
        self.procs[i] = Some(child);
        // Its client port answers once it runs (JetStream elects a leader
        // later; clipdb nodes wait for it).
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.client_ports[i])).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("nats-server {i} did not listen");
    }

    fn urls(&self) -> String {
        self.client_ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// SIGKILL one server.
    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        for i in 0..3 {
            self.kill(i);
        }
    }
}

/// A NATS cluster and clipdb nodes `n0`, `n1`, ... on it.
struct Cluster {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    nats: Nats,
    nodes: Vec<Option<TestServer>>,
    /// Each node's gRPC address, kept across restarts.
    addrs: Vec<String>,
    /// Arguments every node gets besides its address and ids.
    extra_args: Vec<String>,
}

impl Cluster {
    fn start(nodes: usize) -> Cluster {
        Cluster::start_with(nodes, Vec::new())
    }

    /// As [`Cluster::start`], each node started with `extra_args` too.
    fn start_with_args(nodes: usize, extra_args: &[&str]) -> Cluster {
        Cluster::start_with(nodes, extra_args.iter().map(|a| a.to_string()).collect())
    }

    fn start_with(nodes: usize, extra_args: Vec<String>) -> Cluster {
        Cluster::start_on(nodes, extra_args, Nats::start)
    }

    /// As [`Cluster::start_with`], on the NATS servers `nats` starts in the
    /// cluster's directory.
    fn start_on(
        nodes: usize,
        extra_args: Vec<String>,
        nats: impl FnOnce(&Path) -> Nats,
    ) -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let nats = nats(&dir);
        let mut cluster = Cluster {
            _tmp: tmp,
            dir,
            nats,
            nodes: Vec::new(),
            addrs: Vec::new(),
            extra_args,
        };
        for i in 0..nodes {
            let addr = format!("127.0.0.1:{}", free_port());
            cluster.addrs.push(addr);
            cluster.nodes.push(None);
            cluster.start_node(i);
        }
        cluster
    }

    fn node_args(&self, i: usize) -> Vec<String> {
        let mut args = vec![
            "--listen".into(),
            self.addrs[i].clone(),
            "--nats".into(),
            self.nats.urls(),
            "--node-id".into(),
            format!("n{i}"),
        ];
        args.extend(self.extra_args.iter().cloned());
        args
    }

    fn start_node(&mut self, i: usize) {
        let args = self.node_args(i);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = TestServer::start(&self.dir.join(format!("node-{i}")), &args);
        self.nodes[i] = Some(server);
    }

    fn node(&self, i: usize) -> &TestServer {
        self.nodes[i].as_ref().expect("node running")
    }

    fn kill_node(&mut self, i: usize) {
        if let Some(mut n) = self.nodes[i].take() {
            n.kill();
        }
    }

    fn url(&self, i: usize) -> String {
        format!("http://{}", self.addrs[i])
    }

    async fn points(&self, i: usize) -> PointsClient {
        points_client(&self.url(i)).await
    }

    async fn cluster_client(&self, i: usize) -> ClusterClient<Channel> {
        ClusterClient::new(channel(&self.url(i)).await).max_decoding_message_size(usize::MAX)
    }

    async fn status(&self, i: usize) -> GetClusterResponse {
        self.cluster_client(i)
            .await
            .get_cluster(GetClusterRequest {})
            .await
            .expect("GetCluster")
            .into_inner()
    }

    /// Waits until node `i` sees every replica of every shard live and at
    /// its log's last sequence.
    async fn wait_caught_up(&self, i: usize) {
        let mut last = None;
        for _ in 0..600 {
            let s = self.status(i).await;
            let done = s.collections.iter().all(|c| {
                c.shard_details.iter().all(|sh| {
                    sh.replicas.iter().all(|r| {
                        r.state == ReplicaState::Active as i32
                            && r.applied_sequence == sh.last_sequence
                    })
                })
            });
            if done {
                return;
            }
            last = Some(s);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("replicas did not catch up: {last:#?}");
    }
}

type PointsClient = points_client::PointsClient<Channel>;

async fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_string())
        .unwrap()
        .connect_lazy()
}

async fn points_client(url: &str) -> PointsClient {
    PointsClient::new(channel(url).await)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX)
}

async fn collections_client(url: &str) -> collections_client::CollectionsClient<Channel> {
    collections_client::CollectionsClient::new(channel(url).await)
}

fn sharded(
    name: &str,
    dimension: u32,
    shards: u32,
    replication_factor: u32,
) -> CreateCollectionRequest {
    CreateCollectionRequest {
        name: name.into(),
        dimension,
        shards,
        replication_factor,
        ..Default::default()
    }
}

fn point_with(id: &str, v: Vec<f32>, group: u64, n: u64) -> Point {
    Point {
        payload: Some(payload(serde_json::json!({"group": group, "n": n}))),
        ..vector_point(id, v)
    }
}

fn filters() -> Vec<Option<Filter>> {
    let group = |g: f64| Condition {
        key: "group".into(),
        r#match: Some(condition::Match::Equals(prost_types::Value {
            kind: Some(prost_types::value::Kind::NumberValue(g)),
        })),
    };
    let range = Condition {
        key: "n".into(),
        r#match: Some(condition::Match::Range(Range {
            gte: Some(100.0),
            lt: Some(400.0),
            ..Default::default()
        })),
    };
    vec![
        None,
        Some(Filter {
            must: vec![group(2.0)],
            ..Default::default()
        }),
        Some(Filter {
            must: vec![range],
            must_not: vec![group(1.0)],
            ..Default::default()
        }),
    ]
}

fn hits(r: &SearchResponse) -> Vec<(String, f32)> {
    r.hits.iter().map(|h| (h.id.clone(), h.score)).collect()
}

#[tokio::test]
async fn merged_top_k_through_any_node_equals_a_single_node() {
    let _one = CLUSTER_LOCK.lock().await;
    let cluster = Cluster::start(3);
    let single_dir = tempfile::tempdir().unwrap();
    let single = TestServer::start(single_dir.path(), &[]);
    let dim = 24;
    let vectors = random_unit_vectors(600, dim, 7);
    let points: Vec<Point> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| point_with(&format!("p{i}"), v.clone(), (i % 5) as u64, i as u64))
        .collect();
    let mut cc = collections_client(&cluster.url(0)).await;
    let info = cc
        .create_collection(sharded("photos", dim as u32, 4, 2))
        .await
        .expect("create sharded")
        .into_inner();
    assert_eq!((info.shards, info.replication_factor), (4, 2));
    assert_eq!(info.shard_details.len(), 4);
    for s in &info.shard_details {
        assert_eq!(s.replicas.len(), 2);
        assert_ne!(s.replicas[0].node, s.replicas[1].node);
    }
    single
        .collections()
        .await
        .create_collection(common::create_request("photos", dim as u32))
        .await
        .unwrap();
    // Writes through different nodes, in batches spanning every shard.
    for (b, batch) in points.chunks(100).enumerate() {
        let mut p = cluster.points(b % 3).await;
        let upserted = p
            .upsert(UpsertRequest {
                collection: "photos".into(),
                points: batch.to_vec(),
            })
            .await
            .expect("cluster upsert")
            .into_inner()
            .upserted;
        assert_eq!(upserted, batch.len() as u64);
        single
            .points()
            .await
            .upsert(UpsertRequest {
                collection: "photos".into(),
                points: batch.to_vec(),
            })
            .await
            .unwrap();
    }
    // Deletes, routed by id.
    let deleted: Vec<String> = (0..600).step_by(7).map(|i| format!("p{i}")).collect();
    let n = cluster
        .points(1)
        .await
        .delete(DeleteRequest {
            collection: "photos".into(),
            ids: deleted.clone(),
            ..Default::default()
        })
        .await
        .expect("cluster delete")
        .into_inner()
        .deleted;
    assert_eq!(n, deleted.len() as u64);
    single
        .points()
        .await
        .delete(DeleteRequest {
            collection: "photos".into(),
            ids: deleted,
            ..Default::default()
        })
        .await
        .unwrap();

    let mut single_points = single.points().await;
    let queries = random_unit_vectors(12, dim, 99);
    let mut compared = 0;
    for node in 0..3 {
        let mut p = cluster.points(node).await;
        for (q, query) in queries.iter().enumerate() {
            for filter in filters() {
                let request = SearchRequest {
                    filter: filter.clone(),
                    with_payload: true,
                    offset: (q % 3) as u32,
                    ..search_vector("photos", query.clone(), 10)
                };
                let expected = single_points
                    .search(request.clone())
                    .await
                    .unwrap()
                    .into_inner();
                let got = p
                    .search(request)
                    .await
                    .expect("cluster search")
                    .into_inner();
                assert!(!expected.hits.is_empty());
                assert_eq!(
                    hits(&got),
                    hits(&expected),
                    "node {node}, query {q}, filter {filter:?}"
                );
                assert_eq!(
                    got.hits
                        .iter()
                        .map(|h| h.payload.clone())
                        .collect::<Vec<_>>(),
                    expected
                        .hits
                        .iter()
                        .map(|h| h.payload.clone())
                        .collect::<Vec<_>>()
                );
                assert!(got.missing_shards.is_empty());
                compared += 1;
            }
        }
        for filter in filters() {
            let count = |filter: Option<Filter>| CountRequest {
                collection: "photos".into(),
                filter,
                ..Default::default()
            };
            let expected = single_points
                .count(count(filter.clone()))
                .await
                .unwrap()
                .into_inner()
                .count;
            let got = p.count(count(filter)).await.unwrap().into_inner().count;
            assert_eq!(got, expected);
        }
        let ids: Vec<String> = (0..40).map(|i| format!("p{}", i * 13 % 600)).collect();
        let get = GetRequest {
            collection: "photos".into(),
            ids,
            with_vector: true,
        };
        let expected = single_points.get(get.clone()).await.unwrap().into_inner();
        let got = p.get(get).await.unwrap().into_inner();
        assert_eq!(got.points, expected.points);
    }
    assert_eq!(compared, 3 * 12 * 3);
    let info = cc
        .get_collection(GetCollectionRequest {
            name: "photos".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.point_count, single.count("photos").await);
}

#[tokio::test]
async fn text_image_and_fused_queries_through_any_node_equal_a_single_node() {
    let _one = CLUSTER_LOCK.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let nats = Nats::start(tmp.path());
    let mut nodes = Vec::new();
    for i in 0..2 {
        let args = [
            "--model",
            "demo",
            "--nats",
            &nats.urls(),
            "--node-id",
            &format!("n{i}"),
        ];
        nodes.push(TestServer::start(
            &tmp.path().join(format!("node-{i}")),
            &args,
        ));
    }
    let single = TestServer::start(&tmp.path().join("single"), &["--model", "demo"]);
    let clip = |shards, rf| CreateCollectionRequest {
        name: "shapes".into(),
        vectorizer: Vectorizer::Clip as i32,
        shards,
        replication_factor: rf,
        ..Default::default()
    };
    collections_client(&nodes[0].url())
        .await
        .create_collection(clip(3, 2))
        .await
        .expect("create CLIP collection");
    single
        .collections()
        .await
        .create_collection(clip(0, 0))
        .await
        .unwrap();
    let colours = ["red", "green", "blue", "yellow", "purple"];
    let shapes = ["circle", "square", "star", "triangle"];
    // Images from the demo generator, embedded by the node that takes the
    // write, for fused (image and caption space) queries.
    let images_dir = tmp.path().join("demo");
    let made = Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(["demo-data", "--count", "20", "--out"])
        .arg(&images_dir)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let mut images: Vec<PathBuf> = std::fs::read_dir(images_dir.join("images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    images.sort();
    assert_eq!(images.len(), 20);
    // Distinct captions: equal scores would tie, and ties may come back in
    // any order. The first ten points have an image too.
    let points: Vec<Point> = (0..20)
        .map(|i| Point {
            id: format!("s{i}"),
            text: format!("a {} {}", colours[i % 5], shapes[i / 5]),
            image: if i < 10 {
                std::fs::read(&images[i]).unwrap()
            } else {
                Vec::new()
            },
            payload: Some(payload(serde_json::json!({"group": i % 3}))),
            ..Default::default()
        })
        .collect();
    let upsert = UpsertRequest {
        collection: "shapes".into(),
        points,
    };
    nodes[1]
        .points()
        .await
        .upsert(upsert.clone())
        .await
        .expect("cluster upsert text");
    single.points().await.upsert(upsert).await.unwrap();
    for node in &nodes {
        let mut p = node.points().await;
        let queries = [
            search_request::Query::Text("a red circle".into()),
            search_request::Query::Text("a blue star".into()),
            search_request::Query::Text("green".into()),
            search_request::Query::Image(std::fs::read(&images[3]).unwrap()),
        ];
        let fusions = [
            None,
            Some(FusionWeights {
                image: 0.8,
                text: 0.2,
            }),
        ];
        for (query, fusion) in queries
            .iter()
            .flat_map(|q| fusions.iter().map(move |f| (q, f)))
        {
            for filter in [None, filters()[1].clone()] {
                let request = SearchRequest {
                    collection: "shapes".into(),
                    query: Some(query.clone()),
                    limit: 8,
                    filter: filter.clone(),
                    fusion: *fusion,
                    with_payload: true,
                    ..Default::default()
                };
                let expected = single
                    .points()
                    .await
                    .search(request.clone())
                    .await
                    .unwrap()
                    .into_inner();
                let got = p
                    .search(request)
                    .await
                    .expect("cluster text search")
                    .into_inner();
                assert!(!expected.hits.is_empty());
                assert_eq!(hits(&got), hits(&expected), "{fusion:?} {filter:?}");
            }
        }
    }
}

/// What the acknowledged writes left: id -> (vector, n).
type Model = BTreeMap<String, Option<(Vec<f32>, u64)>>;

/// A writer doing upserts and deletes over a pool of ids through the nodes
/// in `urls` (round robin); a failed request is retried through the next
/// node until it succeeds, so every request ends acknowledged and the model
/// is exact (a retry writes the same points again; the log orders it after
/// any earlier attempt).
async fn writer(
    urls: Arc<parking_lot::Mutex<Vec<String>>>,
    collection: &'static str,
    dim: usize,
    ops: usize,
    acked: Arc<std::sync::atomic::AtomicUsize>,
    seed: u64,
) -> (Model, usize) {
    let mut rng = SplitMix64(seed);
    let mut model: Model = BTreeMap::new();
    let mut turn = 0usize;
    let mut failures = 0;
    for op in 0..ops {
        let delete = op % 5 == 4;
        let ids: Vec<String> = (0..if delete { 2 } else { 6 })
            .map(|_| format!("w{}", rng.below(300)))
            .collect();
        let mut upserts = Vec::new();
        for id in &ids {
            let v = random_unit_vectors(1, dim, rng.next()).remove(0);
            upserts.push((id.clone(), v, op as u64));
        }
        loop {
            let url = {
                let urls = urls.lock();
                turn += 1;
                urls[turn % urls.len()].clone()
            };
            let mut p = points_client(&url).await;
            let result = if delete {
                p.delete(DeleteRequest {
                    collection: collection.into(),
                    ids: ids.clone(),
                    ..Default::default()
                })
                .await
                .map(|_| ())
            } else {
                p.upsert(UpsertRequest {
                    collection: collection.into(),
                    points: upserts
                        .iter()
                        .map(|(id, v, n)| point_with(id, v.clone(), 0, *n))
                        .collect(),
                })
                .await
                .map(|_| ())
            };
            match result {
                Ok(()) => break,
                Err(_) => {
                    failures += 1;
                    assert!(failures < 400, "writes keep failing");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        if delete {
            for id in ids {
                model.insert(id, None);
            }
        } else {
            // The last write of an id within a request wins.
            for (id, v, n) in upserts {
                model.insert(id, Some((v, n)));
            }
        }
        acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    (model, failures)
}

/// Checks every replica node `i` holds against the model: through the
/// Cluster service's shard calls, which read that node's own copy.
async fn check_replicas_of(cluster: &Cluster, i: usize, collection: &str, model: &Model) {
    let status = cluster.status(i).await;
    let c = status
        .collections
        .iter()
        .find(|c| c.name == collection)
        .expect("collection in status");
    let node = format!("n{i}");
    let mut client = cluster.cluster_client(i).await;
    let mut checked = 0;
    for shard in &c.shard_details {
        if !shard.replicas.iter().any(|r| r.node == node) {
            continue;
        }
        let ids: Vec<String> = model
            .keys()
            .filter(|id| shard_of(id, c.shards) == shard.shard)
            .cloned()
            .collect();
        let got = client
            .shard_get(ShardGetRequest {
                shard: shard.shard,
                get: Some(GetRequest {
                    collection: collection.into(),
                    ids: ids.clone(),
                    with_vector: true,
                }),
            })
            .await
            .expect("ShardGet")
            .into_inner();
        let got: HashMap<String, Point> =
            got.points.into_iter().map(|p| (p.id.clone(), p)).collect();
        for id in &ids {
            match (&model[id], got.get(id)) {
                (None, None) => {}
                (Some((v, n)), Some(p)) => {
                    // Stored normalised (cosine): equal up to rounding.
                    assert!(
                        p.vector.len() == v.len() && common::max_abs_diff(&p.vector, v) < 1e-6,
                        "{node} shard {}: vector of {id}",
                        shard.shard
                    );
                    assert_eq!(
                        p.payload,
                        Some(payload(serde_json::json!({"group": 0, "n": n}))),
                        "{node}: payload of {id}"
                    );
                }
                (want, got) => panic!(
                    "{node} shard {}: {id}: model {:?}, replica {:?}",
                    shard.shard,
                    want.as_ref().map(|w| w.1),
                    got.map(|p| p.payload.clone())
                ),
            }
        }
        let live = ids.iter().filter(|id| model[*id].is_some()).count() as u64;
        let count = client
            .shard_count(ShardCountRequest {
                shard: shard.shard,
                count: Some(CountRequest {
                    collection: collection.into(),
                    ..Default::default()
                }),
            })
            .await
            .expect("ShardCount")
            .into_inner()
            .count;
        assert_eq!(count, live, "{node} shard {}: count", shard.shard);
        checked += 1;
    }
    assert!(checked > 0, "{node} holds no replica");
}

async fn wait_acked(acked: &std::sync::atomic::AtomicUsize, n: usize) {
    while acked.load(std::sync::atomic::Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_replica_catches_up_while_writes_continue() {
    let _one = CLUSTER_LOCK.lock().await;
    let mut cluster = Cluster::start(3);
    let dim = 16;
    collections_client(&cluster.url(0))
        .await
        .create_collection(sharded("crash", dim as u32, 2, 3))
        .await
        .expect("create");
    let urls = Arc::new(parking_lot::Mutex::new(
        (0..3).map(|i| cluster.url(i)).collect::<Vec<_>>(),
    ));
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writing = tokio::spawn(writer(urls.clone(), "crash", dim, 300, acked.clone(), 1));
    wait_acked(&acked, 60).await;
    // kill -9 a replica of both shards; the writer goes on through the others.
    cluster.kill_node(2);
    urls.lock().retain(|u| *u != cluster.url(2));
    let at_kill = acked.load(std::sync::atomic::Ordering::SeqCst);
    wait_acked(&acked, at_kill + 80).await;
    // Reads through the others keep working while it is down.
    let mut p = cluster.points(0).await;
    p.search(search_vector(
        "crash",
        random_unit_vectors(1, dim, 5).remove(0),
        5,
    ))
    .await
    .expect("search with a replica down");
    cluster.start_node(2);
    // Not ready until its replicas reach where the log was when it joined:
    // /readyz says which shard it is catching up (if it is still at it).
    let http = cluster.node(2).http_addr.clone().expect("operations port");
    let (status, body) = http_get(&http, "/readyz");
    assert!(
        status == 200 || (status == 503 && body.starts_with("not ready: catching up")),
        "{status} {body}"
    );
    // It resumed each shard after the entry it had applied last (recorded
    // with the data), not from the start of the log.
    let log = cluster.node(2).log();
    let resumed: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("starting local replica"))
        .filter_map(|l| {
            l.split("applied=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(resumed.len(), 2, "one start per shard: {resumed:?}");
    assert!(
        resumed.iter().all(|&a| a > 0),
        "restart resumed from {resumed:?}"
    );
    urls.lock().push(cluster.url(2));
    let (model, failures) = writing.await.unwrap();
    eprintln!(
        "writer: {} ops acknowledged, {failures} failed attempts retried",
        acked.load(std::sync::atomic::Ordering::SeqCst)
    );
    cluster.wait_caught_up(0).await;
    for i in 0..3 {
        check_replicas_of(&cluster, i, "crash", &model).await;
    }
    // And through the public API of every node.
    let live = model.values().filter(|v| v.is_some()).count() as u64;
    for i in 0..3 {
        assert_eq!(cluster.node(i).count("crash").await, live);
    }
    assert_eq!(http_get(&http, "/readyz"), (200, "ready\n".to_string()));
    assert!(cluster
        .node(2)
        .log()
        .contains("caught up with the cluster's log: ready"));
    // The restarted node's /metrics: three live nodes, and its replica of
    // each shard at the log's end (the gauges refresh every second).
    let http = cluster.node(2).http_addr.clone().expect("operations port");
    let mut text = String::new();
    for _ in 0..100 {
        text = http_get(&http, "/metrics").1;
        let caught_up = (0..2).all(|shard| {
            let labels = format!("{{collection=\"crash\",shard=\"{shard}\"}}");
            let applied = metric(&text, &format!("clipdb_replica_applied_sequence{labels}"));
            metric(&text, &format!("clipdb_replica_lag{labels}")) == Some(0.0)
                && applied.is_some_and(|a| a > 0.0)
        });
        if caught_up && metric(&text, "clipdb_cluster_nodes{state=\"live\"}") == Some(3.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        metric(&text, "clipdb_cluster_nodes{state=\"live\"}"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "clipdb_cluster_nodes{state=\"down\"}"),
        Some(0.0),
        "{text}"
    );
    for shard in 0..2 {
        let labels = format!("{{collection=\"crash\",shard=\"{shard}\"}}");
        assert_eq!(
            metric(&text, &format!("clipdb_replica_lag{labels}")),
            Some(0.0),
            "{text}"
        );
        assert!(
            metric(&text, &format!("clipdb_replica_applied_sequence{labels}")).unwrap_or(0.0) > 0.0,
            "{text}"
        );
    }
}

/// The value of the series written exactly as `series` (name and labels).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_nats_server_under_writes_loses_no_acknowledged_write() {
    let _one = CLUSTER_LOCK.lock().await;
    let mut cluster = Cluster::start(2);
    let dim = 16;
    collections_client(&cluster.url(0))
        .await
        .create_collection(sharded("log", dim as u32, 2, 2))
        .await
        .expect("create");
    let urls = Arc::new(parking_lot::Mutex::new(
        (0..2).map(|i| cluster.url(i)).collect::<Vec<_>>(),
    ));
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writing = tokio::spawn(writer(urls, "log", dim, 250, acked.clone(), 2));
    wait_acked(&acked, 50).await;
    cluster.nats.kill(0);
    let (model, failures) = writing.await.unwrap();
    eprintln!("writer: {failures} failed attempts retried after killing a NATS server");
    cluster.wait_caught_up(1).await;
    for i in 0..2 {
        check_replicas_of(&cluster, i, "log", &model).await;
    }
    // Every acknowledged point, through the API.
    let ids: Vec<String> = model.keys().cloned().collect();
    let got = cluster
        .points(1)
        .await
        .get(GetRequest {
            collection: "log".into(),
            ids,
            with_vector: false,
        })
        .await
        .unwrap()
        .into_inner();
    let live: Vec<&String> = model
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k)
        .collect();
    assert_eq!(got.points.iter().map(|p| &p.id).collect::<Vec<_>>(), live);
}

#[tokio::test]
async fn a_shard_without_live_replica_is_named() {
    let _one = CLUSTER_LOCK.lock().await;
    let mut cluster = Cluster::start(2);
    let dim = 8;
    let info = collections_client(&cluster.url(0))
        .await
        .create_collection(sharded("half", dim as u32, 2, 1))
        .await
        .expect("create")
        .into_inner();
    let points: Vec<Point> = random_unit_vectors(40, dim, 3)
        .into_iter()
        .enumerate()
        .map(|(i, v)| vector_point(format!("h{i}"), v))
        .collect();
    cluster
        .points(0)
        .await
        .upsert(UpsertRequest {
            collection: "half".into(),
            points: points.clone(),
        })
        .await
        .unwrap();
    // The shard node 1 alone holds.
    let lost = info
        .shard_details
        .iter()
        .find(|s| s.replicas[0].node == "n1")
        .expect("a shard on n1")
        .shard;
    cluster.kill_node(1);
    // Until its heartbeat is stale, the node counts as live (and a read
    // tries it, then another replica): wait for "down".
    for _ in 0..200 {
        if cluster
            .status(0)
            .await
            .nodes
            .iter()
            .any(|n| n.id == "n1" && !n.live)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut p = cluster.points(0).await;
    let query = search_vector("half", points[0].vector.clone(), 5);
    let (c, message) = code(p.search(query.clone()).await);
    assert_eq!(c, tonic::Code::Unavailable, "{message}");
    assert!(message.contains(&format!("shard {lost}")), "{message}");
    let partial = p
        .search(SearchRequest {
            allow_partial_results: true,
            ..query
        })
        .await
        .expect("partial search")
        .into_inner();
    assert_eq!(partial.missing_shards, vec![lost]);
    assert!(!partial.hits.is_empty());
    assert!(partial.hits.iter().all(|h| shard_of(&h.id, 2) != lost));
    let (c, message) = code(
        p.count(CountRequest {
            collection: "half".into(),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(c, tonic::Code::Unavailable);
    assert!(message.contains(&format!("shard {lost}")), "{message}");
    let counted = p
        .count(CountRequest {
            collection: "half".into(),
            allow_partial_results: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(counted.missing_shards, vec![lost]);
    let kept = points.iter().filter(|p| shard_of(&p.id, 2) != lost).count() as u64;
    assert_eq!(counted.count, kept);
}

#[tokio::test]
async fn bad_cluster_input_gets_clear_errors_and_changes_nothing() {
    let _one = CLUSTER_LOCK.lock().await;
    let cluster = Cluster::start(2);
    let mut cc = collections_client(&cluster.url(0)).await;
    let (c, message) = code(cc.create_collection(sharded("x", 4, 300, 1)).await);
    assert_eq!(c, tonic::Code::InvalidArgument);
    assert!(
        message.contains("shards") && message.contains("300"),
        "{message}"
    );
    let (c, message) = code(cc.create_collection(sharded("x", 4, 2, 3)).await);
    assert_eq!(c, tonic::Code::InvalidArgument);
    assert!(
        message.contains("replication_factor") && message.contains("2 live nodes"),
        "{message}"
    );
    let (c, message) = code(cc.create_collection(sharded("bad name!", 4, 1, 1)).await);
    assert_eq!(c, tonic::Code::InvalidArgument, "{message}");
    let listed = cc
        .list_collections(ListCollectionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .collections;
    assert!(listed.is_empty(), "{listed:?}");
    // A node id that is live elsewhere: the second process refuses to start.
    let out = Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "off",
            "--model",
            "none",
        ])
        .arg("--data-dir")
        .arg(cluster.dir.join("duplicate"))
        .args(["--nats", &cluster.nats.urls(), "--node-id", "n1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("node id `n1` is already live"), "{stderr}");
    // Node-to-node calls need a read-write key (they present the first):
    // read-only keys alone are refused, not half-working.
    let out = Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "off",
            "--model",
            "none",
        ])
        .arg("--data-dir")
        .arg(cluster.dir.join("keyed"))
        .args([
            "--nats",
            &cluster.nats.urls(),
            "--node-id",
            "n7",
            "--read-only-api-key",
            "k",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs a read-write --api-key"), "{stderr}");
    let status = cluster.status(0).await;
    assert!(!status.nodes.iter().any(|n| n.id == "n7"));
    let n1 = status.nodes.iter().find(|n| n.id == "n1").unwrap();
    assert_eq!(
        n1.address, cluster.addrs[1],
        "the live node keeps its registration"
    );
    // A single server refuses cluster layouts.
    let single_dir = tempfile::tempdir().unwrap();
    let single = TestServer::start(single_dir.path(), &[]);
    let (c, message) = code(
        single
            .collections()
            .await
            .create_collection(sharded("x", 4, 2, 1))
            .await,
    );
    assert_eq!(c, tonic::Code::InvalidArgument);
    assert!(
        message.contains("shards") && message.contains("cluster mode"),
        "{message}"
    );
    let (c, message) = code(
        ClusterClient::new(single.channel().await)
            .get_cluster(GetClusterRequest {})
            .await,
    );
    assert_eq!(c, tonic::Code::Unimplemented);
    assert!(message.contains("not in cluster mode"), "{message}");
    // Cluster status as the command line prints it.
    let out = Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(["cluster", "status", "--server", &cluster.url(1)])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("answered by node n1"), "{text}");
    assert!(
        text.contains(&cluster.addrs[0]) && text.contains(&cluster.addrs[1]),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_replica_is_rebuilt_from_the_log_while_writes_continue() {
    let _one = CLUSTER_LOCK.lock().await;
    let mut cluster = Cluster::start(3);
    let dim = 16;
    collections_client(&cluster.url(0))
        .await
        .create_collection(sharded("wiped", dim as u32, 2, 2))
        .await
        .expect("create");
    let urls = Arc::new(parking_lot::Mutex::new(vec![
        cluster.url(0),
        cluster.url(2),
    ]));
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writing = tokio::spawn(writer(urls, "wiped", dim, 200, acked.clone(), 3));
    wait_acked(&acked, 60).await;
    // Lose node 1's disk: kill -9, delete its data directory, start it again.
    cluster.kill_node(1);
    std::fs::remove_dir_all(cluster.dir.join("node-1")).unwrap();
    cluster.start_node(1);
    let (model, _) = writing.await.unwrap();
    cluster.wait_caught_up(0).await;
    check_replicas_of(&cluster, 1, "wiped", &model).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_moves_to_a_new_node_while_writes_continue() {
    let _one = CLUSTER_LOCK.lock().await;
    let mut cluster = Cluster::start(2);
    let dim = 16;
    collections_client(&cluster.url(0))
        .await
        .create_collection(sharded("moving", dim as u32, 2, 2))
        .await
        .expect("create");
    let urls = Arc::new(parking_lot::Mutex::new(vec![
        cluster.url(0),
        cluster.url(1),
    ]));
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writing = tokio::spawn(writer(urls, "moving", dim, 200, acked.clone(), 4));
    wait_acked(&acked, 50).await;
    // A third node joins; shard 0's replica on n0 moves to it.
    cluster.addrs.push(format!("127.0.0.1:{}", free_port()));
    cluster.nodes.push(None);
    cluster.start_node(2);
    let mut admin = cluster.cluster_client(1).await;
    let before = cluster.status(1).await;
    let (c, message) = code(
        admin
            .move_replica(MoveReplicaRequest {
                collection: "moving".into(),
                shard: 0,
                from_node: "n0".into(),
                to_node: "n9".into(),
                timeout_ms: 0,
            })
            .await,
    );
    assert_eq!(c, tonic::Code::InvalidArgument);
    assert!(
        message.contains("to_node") && message.contains("`n9` is unknown"),
        "{message}"
    );
    let (c, message) = code(
        admin
            .move_replica(MoveReplicaRequest {
                collection: "moving".into(),
                shard: 0,
                from_node: "n2".into(),
                to_node: "n1".into(),
                timeout_ms: 0,
            })
            .await,
    );
    assert_eq!(c, tonic::Code::InvalidArgument);
    assert!(
        message.contains("from_node") && message.contains("holds no replica"),
        "{message}"
    );
    let placement = |s: &GetClusterResponse| {
        s.collections[0]
            .shard_details
            .iter()
            .map(|sh| {
                sh.replicas
                    .iter()
                    .map(|r| r.node.clone())
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        placement(&cluster.status(1).await),
        placement(&before),
        "bad moves change nothing"
    );
    let moved = admin
        .move_replica(MoveReplicaRequest {
            collection: "moving".into(),
            shard: 0,
            from_node: "n0".into(),
            to_node: "n2".into(),
            timeout_ms: 0,
        })
        .await
        .expect("move")
        .into_inner()
        .collection
        .unwrap();
    let shard0: Vec<&str> = moved.shard_details[0]
        .replicas
        .iter()
        .map(|r| r.node.as_str())
        .collect();
    assert!(
        shard0.contains(&"n2") && !shard0.contains(&"n0"),
        "{shard0:?}"
    );
    let (model, _) = writing.await.unwrap();
    cluster.wait_caught_up(1).await;
    check_replicas_of(&cluster, 2, "moving", &model).await;
    check_replicas_of(&cluster, 0, "moving", &model).await;
    // n0 dropped its copy of shard 0.
    let mut n0 = cluster.cluster_client(0).await;
    let (c, message) = code(
        n0.shard_count(ShardCountRequest {
            shard: 0,
            count: Some(CountRequest {
                collection: "moving".into(),
                ..Default::default()
            }),
        })
        .await,
    );
    assert_eq!(c, tonic::Code::Unavailable);
    assert!(message.contains("holds no replica of shard 0"), "{message}");
    let live = model.values().filter(|v| v.is_some()).count() as u64;
    for i in 0..3 {
        assert_eq!(cluster.node(i).count("moving").await, live);
    }
}
