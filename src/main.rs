use std::io::Write;

use clap::Parser;
use clipdb::config::{Cli, Command, LogFormat};
use clipdb::embed::{BatchConfig, DeviceKind, ImageLimits};
use clipdb::engine::DatabaseOptions;
use clipdb::server::{serve, shutdown_signal, ModelOptions, ServerOptions};

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CLIPDB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            init_logging(args.log_format);
            let device: DeviceKind = match args.device.parse() {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("error: --device: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            let model = args.model.map(|spec| ModelOptions {
                spec,
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
            let options = ServerOptions {
                listen: args.listen,
                data_dir: args.data_dir,
                max_message_bytes: args.max_message_bytes,
                database: DatabaseOptions {
                    default_segment_capacity: args.segment_capacity,
                    ..DatabaseOptions::default()
                },
                model,
                shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace_secs),
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            let result = runtime.block_on(serve(
                options,
                |addr| {
                    // A stable line on stdout for scripts and tests.
                    println!("clipdb listening on {addr}");
                    let _ = std::io::stdout().flush();
                },
                shutdown_signal(),
            ));
            match result {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "clipdb failed");
                    eprintln!("error: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}
