//! Resident memory of empty growing graphs: a collection pays for the
//! nodes it holds, not for its segment capacity (docs/benchmarks.md).
//!
//! `cargo run --release --example graph_memory`

use clipdb::index::{Graph, GraphParams, Metric};

/// This process's resident memory in KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let (graphs, capacity, dim) = (10, 100_000, 512);
    let params = GraphParams {
        m: 16,
        ef_construction: 200,
    };
    let before = rss_kib();
    let made: Vec<Graph> = (0..graphs)
        .map(|_| Graph::new(Metric::Cosine, params, dim, capacity))
        .collect();
    let after = rss_kib();
    println!(
        "{graphs} empty graphs of capacity {capacity} x {dim}: {} KiB resident",
        after.saturating_sub(before)
    );
    drop(made);
}
