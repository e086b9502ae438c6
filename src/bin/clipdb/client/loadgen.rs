//! `clipdb loadgen`: the ANN harness end to end. Creates a collection on a
//! running server, bulk-loads a data set through `UpsertStream`, then runs
//! its query sets through `Points/Search` from one client and from N
//! concurrent clients (each on its own connection), and reports recall@10,
//! QPS and p50/p99 latency per (query set, ef) as JSON lines in the schema
//! of `cargo bench --bench ann` (mode "grpc").

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{ClientError, Clients};
use crate::config::ServerAddress;
use clipdb::bench::{
    disk_usage, host_description, percentile_ms, pid_status_bytes, recall_at_10, utc_now, Dataset,
    Record, K,
};
use clipdb_client::proto;

#[derive(Debug, Clone)]
pub struct LoadgenOptions {
    pub collection: String,
    pub m: usize,
    pub ef_construction: usize,
    pub ef: Vec<usize>,
    pub clients: usize,
    /// Points per UpsertStream message.
    pub batch_size: usize,
    /// Shards and replicas per shard of the collection (cluster mode).
    pub shards: u32,
    pub replication_factor: u32,
    /// Delete an existing collection of that name first.
    pub replace: bool,
    /// Search the existing collection as it is (no create, no load).
    pub skip_load: bool,
    /// Leave the collection on the server afterwards.
    pub keep: bool,
    /// The server's process id, to report its peak memory (Linux, same host).
    pub server_pid: Option<u32>,
    /// The server's data directory, to report the collection's bytes on disk.
    pub server_data_dir: Option<PathBuf>,
    /// A CLIP collection: base vectors are image vectors, searches ask for
    /// images only (fusion image 1, text 0).
    pub clip: bool,
    /// Caption vectors (row-major, the data's dimension) for the first
    /// points of a CLIP collection.
    pub captions: Vec<f32>,
    /// Points per segment (0: the server's default).
    pub segment_capacity: u32,
}

/// Runs the load and the searches; `emit` sees each record when measured.
pub async fn loadgen(
    address: &ServerAddress,
    data: Arc<Dataset>,
    options: &LoadgenOptions,
    mut emit: impl FnMut(&Record),
) -> Result<Vec<Record>, ClientError> {
    let clients = super::connect(address).await?;
    let n = data.n();
    let name = options.collection.clone();
    let (build_s, m, efc) = if options.skip_load {
        let info = clients
            .collections
            .clone()
            .get_collection(proto::GetCollectionRequest { name: name.clone() })
            .await
            .map_err(|s| ClientError::rpc(format!("collection {name}"), s))?
            .into_inner();
        if info.point_count != n as u64 {
            return Err(ClientError::Usage(format!(
                "--skip-load: collection {name} holds {} points, the data set {n}",
                info.point_count
            )));
        }
        let hnsw = info.hnsw.unwrap_or_default();
        (f64::NAN, hnsw.m as usize, hnsw.ef_construction as usize)
    } else {
        (
            load(&clients, &data, options).await?,
            options.m,
            options.ef_construction,
        )
    };
    if !options.skip_load {
        eprintln!(
            "loaded {n} x {} into {name} in {build_s:.1} s ({:.0} points/s, UpsertStream, durable acks)",
            data.dim,
            n as f64 / build_s
        );
    }
    let mut conns = Vec::with_capacity(options.clients);
    for _ in 0..options.clients.max(1) {
        conns.push(super::connect(address).await?);
    }
    let host = host_description();
    let mut out = Vec::new();
    for (s, set) in data.query_sets.iter().enumerate() {
        let set = Arc::new(set.clone());
        // Warm-up, untimed.
        let search = Search {
            collection: &name,
            set: &set,
            dim: data.dim,
            clip: options.clip,
        };
        search.run(&conns[..1], options.ef[0], 100).await?;
        for &ef in &options.ef {
            let (hits, qps_1t, mut lat1) = search.run(&conns[..1], ef, set.len()).await?;
            let (_, qps, mut lat) = search.run(&conns, ef, set.len()).await?;
            let disk = options
                .server_data_dir
                .as_ref()
                .map(|d| disk_usage(&d.join("collections").join(&name)));
            let record = Record {
                engine: match (options.clip, options.captions.is_empty()) {
                    (false, _) => "clipdb",
                    (true, true) => "clipdb-clip",
                    (true, false) => "clipdb-clip-captions",
                }
                .into(),
                mode: "grpc".into(),
                dataset: data.name.clone(),
                n,
                dim: data.dim,
                metric: "cosine".into(),
                m,
                ef_construction: efc,
                build_s,
                build_vectors_per_s: n as f64 / build_s,
                build_threads: None,
                query_set: data.query_sets[s].name.clone(),
                queries: set.len(),
                k: K,
                ef,
                recall_at_10: recall_at_10(&hits, &set.ground_truth),
                qps_1t,
                p50_ms_1t: percentile_ms(&mut lat1, 0.5),
                p99_ms_1t: percentile_ms(&mut lat1, 0.99),
                threads: conns.len(),
                qps,
                p50_ms: percentile_ms(&mut lat, 0.5),
                p99_ms: percentile_ms(&mut lat, 0.99),
                peak_rss_mib: options
                    .server_pid
                    .and_then(|pid| pid_status_bytes(pid, "VmHWM"))
                    .map(|b| b as f64 / (1 << 20) as f64),
                index_ram_bytes_per_vector: None,
                ram_method: None,
                disk_bytes: disk,
                disk_bytes_per_vector: disk.map(|b| b as f64 / n as f64),
                open_s: None,
                quantization: None,
                date: utc_now(),
                host: host.clone(),
            };
            emit(&record);
            out.push(record);
        }
    }
    if !options.keep {
        clients
            .collections
            .clone()
            .delete_collection(proto::DeleteCollectionRequest { name: name.clone() })
            .await
            .map_err(|s| ClientError::rpc(format!("delete collection {name}"), s))?;
    }
    Ok(out)
}

/// Creates the collection and streams the base set into it; the seconds it took.
async fn load(
    clients: &Clients,
    data: &Arc<Dataset>,
    options: &LoadgenOptions,
) -> Result<f64, ClientError> {
    let name = options.collection.clone();
    let mut collections = clients.collections.clone();
    if options.replace {
        match collections
            .delete_collection(proto::DeleteCollectionRequest { name: name.clone() })
            .await
        {
            Ok(_) => {}
            Err(s) if s.code() == tonic::Code::NotFound => {}
            Err(s) => return Err(ClientError::rpc(format!("delete collection {name}"), s)),
        }
    }
    collections
        .create_collection(proto::CreateCollectionRequest {
            name: name.clone(),
            dimension: data.dim as u32,
            metric: proto::Metric::Cosine as i32,
            hnsw: Some(proto::HnswConfig {
                m: options.m as u32,
                ef_construction: options.ef_construction as u32,
                ef_search: 0,
            }),
            shards: options.shards,
            replication_factor: options.replication_factor,
            segment_capacity: options.segment_capacity,
            vectorizer: if options.clip {
                proto::Vectorizer::Clip as i32
            } else {
                proto::Vectorizer::None as i32
            },
            ..Default::default()
        })
        .await
        .map_err(|s| {
            if s.code() == tonic::Code::AlreadyExists {
                ClientError::Usage(format!(
                    "collection {name} exists: pass --replace to recreate it or --skip-load to search it"
                ))
            } else {
                ClientError::rpc(format!("create collection {name}"), s)
            }
        })?;
    let batch = options.batch_size.max(1);
    let stream_data = Arc::clone(data);
    let stream_name = name.clone();
    let captions = Arc::new(options.captions.clone());
    let requests = tokio_stream::iter((0..data.n()).step_by(batch).map(move |start| {
        let end = (start + batch).min(stream_data.n());
        proto::UpsertRequest {
            collection: stream_name.clone(),
            points: (start..end)
                .map(|i| proto::Point {
                    id: i.to_string(),
                    vector: stream_data.vector(i).to_vec(),
                    text_vector: captions
                        .get(i * stream_data.dim..(i + 1) * stream_data.dim)
                        .map_or_else(Vec::new, <[f32]>::to_vec),
                    ..Default::default()
                })
                .collect(),
        }
    }));
    let started = Instant::now();
    let written = clients
        .points
        .clone()
        .upsert_stream(requests)
        .await
        .map_err(|s| ClientError::rpc(format!("upsert into {name}"), s))?
        .into_inner()
        .upserted;
    let secs = started.elapsed().as_secs_f64();
    if written != data.n() as u64 {
        return Err(ClientError::Usage(format!(
            "the server acknowledged {written} of {} points",
            data.n()
        )));
    }
    Ok(secs)
}

/// One query set's searches against one collection.
struct Search<'a> {
    collection: &'a str,
    set: &'a Arc<clipdb::bench::QuerySet>,
    dim: usize,
    /// Ask a CLIP collection for images only.
    clip: bool,
}

impl Search<'_> {
    /// The first `count` queries, spread over `conns` (one task per
    /// connection, each taking the next query when done): hits in query
    /// order, queries per second, per-request latencies.
    async fn run(
        &self,
        conns: &[Clients],
        ef: usize,
        count: usize,
    ) -> Result<(Vec<Vec<u32>>, f64, Vec<Duration>), ClientError> {
        let count = count.min(self.set.len());
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        let fusion = self.clip.then_some(proto::FusionWeights {
            image: 1.0,
            text: 0.0,
        });
        for c in conns {
            let mut points = c.points.clone();
            let (next, set, collection) = (
                Arc::clone(&next),
                Arc::clone(self.set),
                self.collection.to_string(),
            );
            let dim = self.dim;
            tasks.push(tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let t = Instant::now();
                    let hits = points
                        .search(proto::SearchRequest {
                            collection: collection.clone(),
                            query: Some(proto::search_request::Query::Vector(proto::Vector {
                                values: set.query(i, dim).to_vec(),
                            })),
                            limit: K as u32,
                            ef: ef as u32,
                            fusion,
                            ..Default::default()
                        })
                        .await
                        .map_err(|s| ClientError::rpc(format!("search {collection}"), s))?
                        .into_inner()
                        .hits;
                    let elapsed = t.elapsed();
                    let ids = hits
                        .iter()
                        .map(|h| h.id.parse::<u32>().unwrap_or(u32::MAX))
                        .collect::<Vec<u32>>();
                    done.push((i, ids, elapsed));
                }
                Ok::<_, ClientError>(done)
            }));
        }
        let mut all = Vec::with_capacity(count);
        for t in tasks {
            all.extend(t.await.expect("search task panicked")?);
        }
        let secs = started.elapsed().as_secs_f64();
        all.sort_by_key(|r| r.0);
        let lat = all.iter().map(|r| r.2).collect();
        let hits = all.into_iter().map(|r| r.1).collect();
        Ok((hits, count as f64 / secs, lat))
    }
}
