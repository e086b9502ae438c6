//! The `clipdb` binary: `serve` runs the database server (the `clipdb`
//! library); the other subcommands are clients of a running server
//! (`client/`) or offline tools over a data directory.

mod client;
mod config;

use std::io::Write;

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::client::import::{coco_items, folder_items, import, ImportItem, ImportOptions};
use crate::client::loadgen::{loadgen, LoadgenOptions};
use crate::client::search::{format_table, search, QueryInput, SearchOptions};
use crate::client::{gallery, ClientError};
use crate::config::{
    CheckArgs, Cli, ClusterCommand, Command, DemoDataArgs, ImportCommand, ImportTuning,
    LoadgenArgs, LogFormat, RestoreArgs, SearchArgs, ServeArgs, ServerAddress, SnapshotCommand,
};
use clap::Parser;
use clipdb::api::auth::ApiKeys;
use clipdb::embed::{BatchConfig, DeviceKind, ImageLimits};
use clipdb::engine::{Database, DatabaseOptions, RepairOptions};
use clipdb::server::{serve, shutdown_signal, ModelOptions, ServerOptions, TlsOptions};

/// See Cargo.toml: the CLIP forward pass allocates multi-megabyte activations
/// per layer, which glibc's malloc returns to the kernel every time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CLIPDB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(log_colours(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Colour log lines only for a person at a terminal: escape codes in a file
/// or pipe are noise (https://no-color.org: any non-empty `NO_COLOR` turns
/// them off).
fn log_colours(stderr_is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve_command(args),
        Command::Import(ImportCommand::Coco(args)) => run_client(async move {
            let items = coco_items(&args.annotations, &args.images)?;
            import_command(&args.address, &args.collection, &args.tuning, items).await
        }),
        Command::Import(ImportCommand::Folder(args)) => run_client(async move {
            let items = folder_items(&args.dir)?;
            import_command(&args.address, &args.collection, &args.tuning, items).await
        }),
        Command::Search(args) => run_client(search_command(args)),
        Command::DemoData(args) => demo_data_command(&args),
        Command::Check(args) => check_command(&args),
        Command::Loadgen(args) => run_client(loadgen_command(args)),
        Command::Snapshot(SnapshotCommand::Restore(args)) => restore_command(&args),
        Command::Cluster(ClusterCommand::Status(args)) => {
            run_client(crate::client::cluster::status_command(args))
        }
        Command::Cluster(ClusterCommand::MoveReplica(args)) => {
            run_client(crate::client::cluster::move_replica_command(args))
        }
    }
}

fn demo_data_command(args: &DemoDataArgs) -> ExitCode {
    let started = std::time::Instant::now();
    match crate::client::demo_data::write_demo_data(&args.out, args.count, args.seed) {
        Ok(n) => {
            println!(
                "wrote {n} images and their captions to {} in {:.1} s; import them with\n  clipdb import coco --annotations {} --images {} --collection shapes",
                args.out.display(),
                started.elapsed().as_secs_f64(),
                args.out.join("captions.json").display(),
                args.out.join("images").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Restores a snapshot file into a data directory (offline).
fn restore_command(args: &RestoreArgs) -> ExitCode {
    match clipdb::engine::restore_snapshot(
        &args.file,
        &args.data_dir,
        args.collection.as_deref(),
        args.force,
    ) {
        Ok(r) => {
            println!(
                "restored {} (collection `{}` at {}) into {} as collection `{}`{}: {} points, {} segments ({} sealed)",
                args.file.display(),
                r.source_collection,
                r.created_at,
                args.data_dir.display(),
                r.collection,
                if r.replaced { ", replacing the existing one" } else { "" },
                r.point_count,
                r.segments,
                r.sealed_segments,
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot restore {}: {e}", args.file.display());
            ExitCode::FAILURE
        }
    }
}

/// With `--repair`, repairs first; then opens the database the way the
/// server does (which verifies every file) and reports each collection.
fn check_command(args: &CheckArgs) -> ExitCode {
    let data_dir = args.data_dir.as_path();
    if !data_dir.join("meta").exists() {
        eprintln!("error: {} holds no clipdb data", data_dir.display());
        return ExitCode::from(2);
    }
    if args.repair {
        let options = RepairOptions {
            discard_lost_points: args.discard_lost_points,
        };
        match clipdb::engine::repair(data_dir, options) {
            Ok(report) => {
                for c in &report.collections {
                    for done in &c.repaired {
                        println!("repaired     {}: {done}", c.name);
                    }
                    for missing in &c.not_repaired {
                        println!("NOT REPAIRED {}: {missing}", c.name);
                    }
                }
            }
            Err(e) => {
                eprintln!("error: cannot repair {}: {e}", data_dir.display());
                return ExitCode::from(2);
            }
        }
    }
    let db = match Database::open(data_dir, DatabaseOptions::default(), None) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("error: cannot open {}: {e}", data_dir.display());
            return ExitCode::from(2);
        }
    };
    for info in db.list_collections() {
        let sealed = info.segments.iter().filter(|s| s.sealed).count();
        println!(
            "ok      {}: {} points, {} segments ({sealed} sealed)",
            info.config.name,
            info.point_count,
            info.segments.len()
        );
    }
    let bad = db.unavailable_collections();
    for (name, reason) in &bad {
        println!("CORRUPT {name}: {reason}");
    }
    if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs a client command; errors go to stderr as one line, exit status 1.
fn run_client(command: impl std::future::Future<Output = Result<(), ClientError>>) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn import_command(
    address: &ServerAddress,
    collection: &str,
    tuning: &ImportTuning,
    items: Vec<ImportItem>,
) -> Result<(), ClientError> {
    let clients = crate::client::connect(address).await?;
    let options = ImportOptions {
        collection: collection.to_string(),
        batch_size: tuning.batch_size,
        in_flight: tuning.in_flight,
        progress: !tuning.no_progress && std::io::stderr().is_terminal(),
        shards: tuning.shards,
        replication_factor: tuning.replication_factor,
    };
    let summary = import(&clients, items, &options).await?;
    print!("{summary}");
    Ok(())
}

async fn search_command(args: SearchArgs) -> Result<(), ClientError> {
    let clients = crate::client::connect(&args.address).await?;
    let query = match (args.query, args.image) {
        (_, Some(path)) => QueryInput::Image(path),
        (Some(text), None) => QueryInput::Text(text),
        (None, None) => return Err(ClientError::Usage("give a sentence or --image FILE".into())),
    };
    let options = SearchOptions {
        collection: args.collection,
        query,
        limit: args.limit,
        filters: args.filters,
        offset: args.offset,
        threshold: args.threshold,
        fusion: args.fusion,
    };
    let rows = search(&clients, &options).await?;
    print!("{}", format_table(&rows));
    if let Some(path) = &args.gallery {
        let html = gallery::render(
            &options.collection,
            &options.query,
            &rows,
            args.images.as_deref(),
        );
        std::fs::write(path, html).map_err(|e| ClientError::file(path, e))?;
        println!("gallery written to {}", path.display());
    }
    Ok(())
}

async fn loadgen_command(args: LoadgenArgs) -> Result<(), ClientError> {
    use clipdb::bench::{synth, Dataset};
    let data = match (&args.data, args.generate) {
        (Some(dir), _) => Dataset::load(dir, args.queries).map_err(ClientError::Usage)?,
        (None, Some(n)) => synth::generate(n, args.queries.unwrap_or(1000), args.dim, args.seed),
        (None, None) => return Err(ClientError::Usage("give --data DIR or --generate N".into())),
    };
    if args.ef.is_empty() || args.ef.contains(&0) {
        return Err(ClientError::Usage(
            "--ef: give positive candidate list sizes".into(),
        ));
    }
    eprintln!(
        "data {}: {} x {}, {} query sets",
        data.name,
        data.n(),
        data.dim,
        data.query_sets.len()
    );
    let mut out = match &args.out {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| ClientError::file(p, e))?,
        ),
        None => None,
    };
    let captions = match &args.captions {
        Some(path) => {
            let (dim, values) =
                clipdb::bench::texmex::read_fvecs(path).map_err(ClientError::Usage)?;
            if dim != data.dim {
                return Err(ClientError::Usage(format!(
                    "--captions {}: {dim}-d, the data set is {}-d",
                    path.display(),
                    data.dim
                )));
            }
            values
        }
        None => Vec::new(),
    };
    let options = LoadgenOptions {
        clip: args.clip,
        captions,
        segment_capacity: args.segment_capacity,
        collection: args.collection,
        m: args.m,
        ef_construction: args.ef_construction,
        ef: args.ef,
        clients: args.clients,
        batch_size: args.batch_size,
        shards: args.shards,
        replication_factor: args.replication_factor,
        replace: args.replace,
        skip_load: args.skip_load,
        keep: args.keep,
        server_pid: args.server_pid,
        server_data_dir: args.server_data_dir,
    };
    let mut write_error = None;
    loadgen(&args.address, std::sync::Arc::new(data), &options, |r| {
        let line = serde_json::to_string(r).expect("records serialise");
        println!("{line}");
        eprintln!(
            "  {} ef={:<4} recall@10 {:.4}  1 client {:>6.0} QPS (p50 {:.2} ms, p99 {:.2} ms)  {} clients {:>6.0} QPS (p50 {:.2} ms, p99 {:.2} ms)",
            r.query_set,
            r.ef,
            r.recall_at_10,
            r.qps_1t,
            r.p50_ms_1t.unwrap_or(f64::NAN),
            r.p99_ms_1t.unwrap_or(f64::NAN),
            r.threads,
            r.qps,
            r.p50_ms.unwrap_or(f64::NAN),
            r.p99_ms.unwrap_or(f64::NAN),
        );
        if let (Some(f), Some(p)) = (out.as_mut(), args.out.as_deref()) {
            if let Err(e) = writeln!(f, "{line}") {
                write_error.get_or_insert_with(|| ClientError::file(p, e));
            }
        }
    })
    .await?;
    write_error.map_or(Ok(()), Err)
}

fn serve_command(args: ServeArgs) -> ExitCode {
    init_logging(args.log_format);
    let device: DeviceKind = match args.device.parse() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: --device: {e}");
            return ExitCode::FAILURE;
        }
    };
    let model = (args.model != "none").then(|| ModelOptions {
        spec: args.model,
        device,
        limits: ImageLimits {
            max_pixels: args.max_image_pixels,
            max_bytes: args.max_image_bytes,
        },
        batch: BatchConfig {
            max_batch: args.embed_max_batch,
            max_wait: std::time::Duration::from_millis(args.embed_max_wait_ms),
            queue_capacity: args.embed_queue_capacity,
        },
    });
    let cluster = (!args.nats.is_empty()).then(|| clipdb::cluster::ClusterOptions {
        nats_urls: args.nats.clone(),
        node_id: args.node_id.clone().unwrap_or_default(),
        advertise: args.advertise.clone().unwrap_or_default(),
        tls_ca: args.cluster_tls_ca.clone(),
        peer: Default::default(),
        nats_tls_ca: args.nats_tls_ca.clone(),
        nats_tls_identity: args.nats_tls_cert.clone().zip(args.nats_tls_key.clone()),
        snapshots: clipdb::cluster::SnapshotPolicy {
            every_entries: args.snapshot_every_entries,
            interval: std::time::Duration::from_secs(args.snapshot_interval),
        },
    });
    let options = ServerOptions {
        cluster,
        listen: args.listen,
        data_dir: args.data_dir,
        max_message_bytes: args.max_message_bytes,
        database: DatabaseOptions {
            default_segment_capacity: args.segment_capacity,
            default_quantization: args.default_quantization.into(),
            max_points_per_request: args.max_points_per_request,
            max_ids_per_request: args.max_ids_per_request,
            max_payload_bytes: args.max_payload_bytes,
            max_pending_writes: args.max_pending_writes,
            compaction_dead_ratio: args.compaction_dead_ratio,
            compaction_interval: std::time::Duration::from_millis(args.compaction_interval_ms),
            graph_checkpoint_points: args.graph_checkpoint_points,
            ..DatabaseOptions::default()
        },
        model,
        shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace_secs),
        api_keys: ApiKeys::new(args.api_key, args.read_only_api_key),
        http_listen: (args.http_listen != "off").then_some(args.http_listen),
        record_metrics: true,
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsOptions {
                cert,
                key,
                client_ca: args.tls_client_ca,
            }),
            _ => None,
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let shutdown = {
        let _inside = runtime.enter();
        shutdown_signal()
    };
    let result = runtime.block_on(serve(
        options,
        |bound| {
            // Stable lines on stdout for scripts and tests.
            if let Some(http) = bound.http {
                println!("clipdb http listening on {http}");
            }
            println!("clipdb listening on {}", bound.grpc);
            let _ = std::io::stdout().flush();
        },
        shutdown,
    ));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "clipdb failed");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
