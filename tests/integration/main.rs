//! clipdb's integration tests: one binary, one module per area (as qdrant
//! and ripgrep do), so the library and the helpers are compiled and linked
//! once instead of once per file. Most tests run the real `clipdb` binary on
//! a loopback port and talk to it over gRPC (`common::TestServer`).
//!
//! Run one area with `cargo test --test integration api::`, one test by
//! its name. `tests/faults.rs` is a binary of its own: failpoints are
//! process-global, so its in-process servers must not share a process with
//! these tests.

#[path = "../common/mod.rs"]
mod common;

mod ann_harness;
mod api;
mod architecture;
mod auth;
mod backpressure;
mod clip_server;
mod compaction;
mod crash_harness;
mod demo_model;
mod demo_recipe;
mod durability;
mod embed_hub;
mod embed_model;
mod embed_preprocess;
mod embed_queue;
mod embed_tokenizer;
mod import_search;
mod operations;
mod payload_fidelity;
mod payload_indexes;
mod points_api;
mod quantization;
mod repair;
mod rust_client;
mod snapshots;
mod soak;
mod tls;
mod web_page;
