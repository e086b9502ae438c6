//! Command line and environment configuration.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "clipdb",
    version,
    about = "A vector database server for text-to-image search with CLIP"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC server.
    Serve(ServeArgs),
    /// Import a captioned image set into a CLIP collection of a running
    /// server (which needs a model loaded).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Search a collection of a running server with a sentence or an image.
    Search(SearchArgs),
    /// Verify a data directory offline (the server must not be running on
    /// it): every collection's config, live vector records (checksums) and
    /// sealed segments (manifests); exit status 1 if anything is corrupt.
    Check(CheckArgs),
    /// Write a synthetic captioned image set (coloured shapes, the kind the
    /// bundled demo model knows) in COCO captions layout, for trying the
    /// recipe offline: then `clipdb import coco`.
    DemoData(DemoDataArgs),
    /// Collection snapshots (backups). Create, list and delete them through
    /// the Collections API (CreateSnapshot, ListSnapshots, DeleteSnapshot).
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Cluster mode: the cluster's nodes, shards and replica lag.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// ANN load generator: bulk-load a vector data set (TEXMEX files or a
    /// synthetic CLIP-like set) into a running server, then search it from
    /// one and from N concurrent clients; JSON lines of recall@10, QPS and
    /// latency (see docs/benchmarks.md, "ANN harness").
    Loadgen(LoadgenArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct DemoDataArgs {
    /// Folder to write `images/*.jpg` and `captions.json` into.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of images.
    #[arg(long, default_value_t = 500)]
    pub count: usize,
    /// Seed of the generated scenes (the same seed gives the same files).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Restore a snapshot file into a data directory, offline: stop the
    /// server first, or restore into a fresh directory. Verifies every
    /// checksum before changing anything, refuses to replace an existing
    /// collection without --force, and opens the result as the server would.
    Restore(RestoreArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct RestoreArgs {
    /// The snapshot file (`DATA_DIR/snapshots/COLLECTION/NAME.snapshot`).
    pub file: PathBuf,
    /// Directory holding all data (created if missing).
    #[arg(long, env = "CLIPDB_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Restore under this collection name instead of the snapshot's.
    #[arg(long)]
    pub collection: Option<String>,
    /// Replace an existing collection of the same name.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct LoadgenArgs {
    /// Folder of TEXMEX files as ../shared/tools/gen_ann_data.py writes them
    /// (base.fvecs, queries_{img,txt}.fvecs, gt_{img,txt}.ivecs).
    #[arg(
        long,
        conflicts_with = "generate",
        required_unless_present = "generate"
    )]
    pub data: Option<PathBuf>,
    /// Generate N synthetic CLIP-like vectors instead (with exact ground truth).
    #[arg(long)]
    pub generate: Option<usize>,
    /// Dimension of generated vectors.
    #[arg(long, default_value_t = 512)]
    pub dim: usize,
    /// Seed of generated vectors.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Queries per query set (default: all in the files; 1000 generated).
    #[arg(long)]
    pub queries: Option<usize>,
    /// Collection to create, load and (unless --keep) delete.
    #[arg(long, default_value = "ann-loadgen")]
    pub collection: String,
    /// Graph neighbours per node of the collection.
    #[arg(long, default_value_t = 16)]
    pub m: usize,
    /// Candidate list size while building.
    #[arg(long, default_value_t = 200)]
    pub ef_construction: usize,
    /// Search candidate list sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128,256")]
    pub ef: Vec<usize>,
    /// Concurrent clients (each on its own connection) of the concurrent run.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Points per UpsertStream message.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Shards of the collection (cluster mode; docs/cluster.md).
    #[arg(long, default_value_t = 1)]
    pub shards: u32,
    /// Replicas of each shard (cluster mode).
    #[arg(long, default_value_t = 1)]
    pub replication_factor: u32,
    /// Delete an existing collection of that name first.
    #[arg(long)]
    pub replace: bool,
    /// Search the existing collection as loaded before (no create, no load).
    #[arg(long, conflicts_with = "replace")]
    pub skip_load: bool,
    /// Keep the collection on the server afterwards.
    #[arg(long)]
    pub keep: bool,
    /// The server's process id (same host): report its peak memory (VmHWM).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// The server's data directory (same host): report the collection's bytes on disk.
    #[arg(long)]
    pub server_data_dir: Option<PathBuf>,
    /// Create a CLIP collection (VECTORIZER_CLIP; the data's dimension must
    /// be the server model's) holding the base vectors as image vectors, and
    /// search its images only (fusion image 1, text 0), as text->image
    /// search by a sentence does.
    #[arg(long)]
    pub clip: bool,
    /// Caption vectors (.fvecs) for a CLIP collection: point i gets row i as
    /// its caption vector (the first min(N, rows) points), which guides the
    /// sealing of the image graph. Never the measured queries.
    #[arg(long, requires = "clip")]
    pub captions: Option<PathBuf>,
    /// Points per segment of the collection (0: the server's default).
    #[arg(long, default_value_t = 0)]
    pub segment_capacity: u32,
    /// Also append the JSON lines to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub address: ServerAddress,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Directory holding all data.
    #[arg(long, env = "CLIPDB_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Rebuild what can be rebuilt before checking: sealed segments' graphs
    /// and manifests from their vectors, damaged or truncated vector-file
    /// headers. Reports what it could not repair. Stop the server first.
    #[arg(long)]
    pub repair: bool,
    /// With --repair: remove the points whose vectors are lost (named in
    /// the report), so the rest of their collection is served again.
    #[arg(long, requires = "repair")]
    pub discard_lost_points: bool,
}

/// Where the client commands find the server.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerAddress {
    /// URL of the clipdb server.
    #[arg(long, env = "CLIPDB_SERVER", default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// API key to present, if the server requires one.
    #[arg(long, env = "CLIPDB_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// PEM CA that signed the server's certificate (for https:// servers).
    #[arg(long, env = "CLIPDB_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for servers that require mutual TLS.
    #[arg(long, env = "CLIPDB_TLS_CLIENT_CERT", requires = "tls_client_key")]
    pub tls_client_cert: Option<PathBuf>,
    /// Private key of --tls-client-cert.
    #[arg(long, env = "CLIPDB_TLS_CLIENT_KEY", requires = "tls_client_cert")]
    pub tls_client_key: Option<PathBuf>,
}

/// How an import streams.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportTuning {
    /// Images per upsert request.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Upsert requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub in_flight: usize,
    /// No progress bar (the summary is still printed).
    #[arg(long)]
    pub no_progress: bool,
    /// Shards of the collection when the import creates it (cluster mode;
    /// docs/cluster.md).
    #[arg(long, default_value_t = 1)]
    pub shards: u32,
    /// Replicas of each shard when the import creates the collection
    /// (cluster mode).
    #[arg(long, default_value_t = 1)]
    pub replication_factor: u32,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A COCO captions file (`captions_train2017.json` layout) and its image
    /// folder: one point per image (id = COCO image id) with the image and
    /// the mean of its captions' embeddings; payload {file_name, coco_id,
    /// captions}. Resumable: ids already stored are skipped.
    Coco(ImportCocoArgs),
    /// Every image under a folder, with the caption in a same-name `.txt`
    /// file beside it when there is one (id = relative path).
    Folder(ImportFolderArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct ImportCocoArgs {
    /// The COCO captions JSON (images[] and annotations[]).
    #[arg(long)]
    pub annotations: PathBuf,
    /// The folder holding the images named by `file_name`.
    #[arg(long)]
    pub images: PathBuf,
    /// Target collection (created with VECTORIZER_CLIP if missing).
    #[arg(long)]
    pub collection: String,
    #[command(flatten)]
    pub address: ServerAddress,
    #[command(flatten)]
    pub tuning: ImportTuning,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ImportFolderArgs {
    /// Folder to import (recursively).
    pub dir: PathBuf,
    /// Target collection (created with VECTORIZER_CLIP if missing).
    #[arg(long)]
    pub collection: String,
    #[command(flatten)]
    pub address: ServerAddress,
    #[command(flatten)]
    pub tuning: ImportTuning,
}

#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// The sentence to search for (or use --image).
    #[arg(required_unless_present = "image", conflicts_with = "image")]
    pub query: Option<String>,
    /// Search with an image file instead of a sentence.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Collection to search.
    #[arg(long)]
    pub collection: String,
    /// Number of results.
    #[arg(long, default_value_t = 10)]
    pub limit: u32,
    /// Only results whose payload passes this condition (repeatable; all
    /// must hold): key=value, key!=value, key>=n, key>n, key<=n, key<n, or
    /// key~words (the field's text holds every word). Dotted keys reach
    /// into nested objects.
    #[arg(long = "filter")]
    pub filters: Vec<String>,
    /// Leave out results worse than this score (below it; above it for L2).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Skip this many best results (the next page of a search).
    #[arg(long, default_value_t = 0)]
    pub offset: u32,
    /// Fusion weights IMAGE,TEXT for this query (e.g. 1,0 image vectors
    /// only, 0,1 captions only); default: the collection's.
    #[arg(long, value_parser = parse_fusion)]
    pub fusion: Option<(f32, f32)>,
    /// Also write the results as a self-contained HTML page.
    #[arg(long)]
    pub gallery: Option<PathBuf>,
    /// Folder holding the images, for the gallery's thumbnails (default: the
    /// `path` each import recorded).
    #[arg(long)]
    pub images: Option<PathBuf>,
    #[command(flatten)]
    pub address: ServerAddress,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

/// `--default-quantization` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DefaultQuantization {
    Int8,
    F32,
}

impl From<DefaultQuantization> for clipdb::engine::Quantization {
    fn from(q: DefaultQuantization) -> Self {
        match q {
            DefaultQuantization::Int8 => clipdb::engine::Quantization::Int8,
            DefaultQuantization::F32 => clipdb::engine::Quantization::F32,
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "CLIPDB_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: String,
    /// Address of the operations endpoints: GET /metrics (Prometheus),
    /// /healthz and /readyz; `off` serves none.
    #[arg(long, env = "CLIPDB_HTTP_LISTEN", default_value = "127.0.0.1:9091")]
    pub http_listen: String,
    /// Directory holding all data.
    #[arg(long, env = "CLIPDB_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Largest accepted request message in bytes; larger ones get RESOURCE_EXHAUSTED.
    #[arg(long, env = "CLIPDB_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Points per segment for collections that do not set their own.
    #[arg(long, env = "CLIPDB_SEGMENT_CAPACITY", default_value_t = 100_000)]
    pub segment_capacity: u32,
    /// How sealed segments' graph walks read vectors in collections that do
    /// not ask: int8 codes with exact f32 rescoring (faster at equal
    /// recall, 1 byte per dimension more on disk), or plain f32.
    #[arg(
        long,
        env = "CLIPDB_DEFAULT_QUANTIZATION",
        value_enum,
        default_value = "int8"
    )]
    pub default_quantization: DefaultQuantization,
    /// Most points in one Upsert request (or one message of UpsertStream).
    #[arg(long, env = "CLIPDB_MAX_POINTS_PER_REQUEST", default_value_t = 10_000)]
    pub max_points_per_request: usize,
    /// Most ids in one Get or Delete request.
    #[arg(long, env = "CLIPDB_MAX_IDS_PER_REQUEST", default_value_t = 10_000)]
    pub max_ids_per_request: usize,
    /// Largest payload of one point, in bytes (protobuf-encoded).
    #[arg(long, env = "CLIPDB_MAX_PAYLOAD_BYTES", default_value_t = 64 << 10)]
    pub max_payload_bytes: usize,
    /// Most write requests (Upsert, each UpsertStream message, Delete) in
    /// progress at once; past it writes fail fast with RESOURCE_EXHAUSTED.
    #[arg(long, env = "CLIPDB_MAX_PENDING_WRITES", default_value_t = 256)]
    pub max_pending_writes: usize,
    /// Compact a sealed segment once this share of its records is dead
    /// (replaced or deleted): its live points move to the growing segment
    /// and its files are deleted. Between 0 (exclusive) and 1; 1 removes only
    /// segments with no live point left.
    #[arg(long, env = "CLIPDB_COMPACTION_DEAD_RATIO", default_value_t = 0.5, value_parser = parse_dead_ratio)]
    pub compaction_dead_ratio: f64,
    /// How often, in milliseconds, the compactor looks for segments to compact.
    #[arg(long, env = "CLIPDB_COMPACTION_INTERVAL_MS", default_value_t = 1000)]
    pub compaction_interval_ms: u64,
    /// Checkpoint a growing segment's graph once this many points were
    /// inserted since its last checkpoint (checked every compaction
    /// interval; always at shutdown). A restart loads the checkpoint and
    /// inserts only the points written after it; 0 checkpoints only at
    /// shutdown.
    #[arg(long, env = "CLIPDB_GRAPH_CHECKPOINT_POINTS", default_value_t = 5000)]
    pub graph_checkpoint_points: usize,
    /// Log format.
    #[arg(long, env = "CLIPDB_LOG_FORMAT", value_enum, default_value = "human")]
    pub log_format: LogFormat,
    /// Seconds in-flight requests may run on after SIGTERM/SIGINT before
    /// connections are closed (acknowledged writes are durable either way).
    #[arg(long, env = "CLIPDB_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// API key that every request except health checks must present
    /// (`x-api-key: KEY` or `authorization: Bearer KEY`); repeat or separate
    /// by commas for several.
    #[arg(
        long,
        env = "CLIPDB_API_KEY",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_key: Vec<String>,
    /// API key allowed only reads (Get, Search, Count, Get/ListCollections,
    /// Embeddings); writes with it get PERMISSION_DENIED.
    #[arg(
        long,
        env = "CLIPDB_READ_ONLY_API_KEY",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub read_only_api_key: Vec<String>,
    /// Serve TLS with this PEM certificate chain (needs --tls-key).
    #[arg(long, env = "CLIPDB_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "CLIPDB_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates signed by this PEM CA (mutual TLS).
    #[arg(long, env = "CLIPDB_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// CLIP model for text and image input: `demo` (the small model built into
    /// the binary, trained on synthetic shapes), a folder in Hugging Face layout
    /// (config.json, model.safetensors, tokenizer.json, preprocessor_config.json),
    /// a hub id such as openai/clip-vit-base-patch32 (from the Hugging Face
    /// cache; downloaded once when online), or `none` (raw vectors only).
    #[arg(long, env = "CLIPDB_MODEL", default_value = clipdb::embed::bundled::DEMO_MODEL)]
    pub model: String,
    /// Where the model runs: cpu, or cuda / cuda:N (needs a build with `--features cuda`).
    #[arg(long, env = "CLIPDB_DEVICE", default_value = "cpu")]
    pub device: String,
    /// Most texts or images embedded in one forward pass.
    #[arg(long, env = "CLIPDB_EMBED_MAX_BATCH", default_value_t = 32)]
    pub embed_max_batch: usize,
    /// Longest wait, in milliseconds, to gather a batch of concurrent requests.
    #[arg(long, env = "CLIPDB_EMBED_MAX_WAIT_MS", default_value_t = 5)]
    pub embed_max_wait_ms: u64,
    /// Most texts and images waiting to be embedded; past it requests get RESOURCE_EXHAUSTED.
    #[arg(long, env = "CLIPDB_EMBED_QUEUE_CAPACITY", default_value_t = 1024)]
    pub embed_queue_capacity: usize,
    /// Largest accepted encoded image in bytes.
    #[arg(long, env = "CLIPDB_MAX_IMAGE_BYTES", default_value_t = 32 << 20)]
    pub max_image_bytes: usize,
    /// Largest accepted decoded image (width x height), checked before decoding.
    #[arg(long, env = "CLIPDB_MAX_IMAGE_PIXELS", default_value_t = 50_000_000)]
    pub max_image_pixels: u64,
    /// Cluster mode (docs/cluster.md): NATS server URLs with JetStream,
    /// comma-separated (nats://host:4222,...). Needs --node-id.
    #[arg(long, env = "CLIPDB_NATS", value_delimiter = ',', requires = "node_id")]
    pub nats: Vec<String>,
    /// Cluster mode: this node's id, unique among live nodes (A-Z a-z 0-9 - _).
    #[arg(long, env = "CLIPDB_NODE_ID", requires = "nats")]
    pub node_id: Option<String>,
    /// Cluster mode: HOST:PORT where other nodes reach this node's gRPC API
    /// (default: the bound --listen address, unless that is 0.0.0.0).
    #[arg(long, env = "CLIPDB_ADVERTISE", requires = "nats")]
    pub advertise: Option<String>,
    /// Cluster mode with --tls-cert: the PEM CA that signed the other
    /// nodes' certificates (node-to-node calls use TLS and check them).
    #[arg(long, env = "CLIPDB_CLUSTER_TLS_CA", requires = "nats")]
    pub cluster_tls_ca: Option<PathBuf>,
    /// Cluster mode: connect to NATS over TLS, trusting the NATS servers'
    /// certificates signed by this PEM CA.
    #[arg(long, env = "CLIPDB_NATS_TLS_CA", requires = "nats")]
    pub nats_tls_ca: Option<PathBuf>,
    /// Cluster mode: the PEM client certificate to present to NATS servers
    /// that verify clients (with --nats-tls-key).
    #[arg(long, env = "CLIPDB_NATS_TLS_CERT", requires_all = ["nats", "nats_tls_key"])]
    pub nats_tls_cert: Option<PathBuf>,
    /// Cluster mode: the PEM private key of --nats-tls-cert.
    #[arg(long, env = "CLIPDB_NATS_TLS_KEY", requires_all = ["nats", "nats_tls_cert"])]
    pub nats_tls_key: Option<PathBuf>,
    /// Cluster mode: a shard's snapshot is uploaded to the object store
    /// (and its log trimmed behind it) after this many applied log entries
    /// (0: not by count).
    #[arg(long, env = "CLIPDB_SNAPSHOT_EVERY_ENTRIES", default_value_t = 100_000)]
    pub snapshot_every_entries: u64,
    /// Cluster mode: ... or this many seconds after the previous snapshot,
    /// if anything was applied since (0: not by time).
    #[arg(long, env = "CLIPDB_SNAPSHOT_INTERVAL", default_value_t = 3600)]
    pub snapshot_interval: u64,
}

fn parse_fusion(s: &str) -> Result<(f32, f32), String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| "expected IMAGE,TEXT, e.g. 0.5,0.5".to_string())?;
    let parse = |v: &str| {
        v.trim()
            .parse::<f32>()
            .ok()
            .filter(|w| w.is_finite() && *w >= 0.0)
            .ok_or_else(|| format!("`{v}` is not a non-negative number"))
    };
    Ok((parse(a)?, parse(b)?))
}

fn parse_dead_ratio(s: &str) -> Result<f64, String> {
    let r: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if r > 0.0 && r <= 1.0 {
        Ok(r)
    } else {
        Err(format!("{r} is not in (0, 1]"))
    }
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Print the nodes (address, liveness), and every collection's shards
    /// with their replicas' applied log position, lag and state.
    Status(ClusterStatusArgs),
    /// Move one replica of a shard to another node (e.g. a node just
    /// added) while the cluster serves: the new replica replays the shard's
    /// log, then the old one is removed.
    MoveReplica(MoveReplicaArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct MoveReplicaArgs {
    /// Any node of the cluster.
    #[command(flatten)]
    pub address: ServerAddress,
    #[arg(long)]
    pub collection: String,
    #[arg(long)]
    pub shard: u32,
    /// The node giving up its replica.
    #[arg(long)]
    pub from: String,
    /// The node receiving it.
    #[arg(long)]
    pub to: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ClusterStatusArgs {
    /// Any node of the cluster.
    #[command(flatten)]
    pub address: ServerAddress,
}
