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
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "CLIPDB_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: String,
    /// Directory holding all data.
    #[arg(long, env = "CLIPDB_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Largest accepted request message in bytes; larger ones get RESOURCE_EXHAUSTED.
    #[arg(long, env = "CLIPDB_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Points per segment for collections that do not set their own.
    #[arg(long, env = "CLIPDB_SEGMENT_CAPACITY", default_value_t = 100_000)]
    pub segment_capacity: u32,
    /// Log format.
    #[arg(long, env = "CLIPDB_LOG_FORMAT", value_enum, default_value = "human")]
    pub log_format: LogFormat,
}
