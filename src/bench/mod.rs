//! ANN benchmark harness shared by `cargo bench --bench ann` (the index
//! in-process) and `clipdb loadgen` (end to end through gRPC): data sets in
//! the TEXMEX formats, a synthetic CLIP-like generator, exact ground truth,
//! and the JSON-lines record both write (the same schema as
//! `benches/hnswlib_reference.py`, so all land in one table and plot).

pub mod inproc;
pub mod synth;
pub mod texmex;

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Hits per query that recall is measured on.
pub const K: usize = 10;

/// Queries with the ids of their exact nearest neighbours (best first).
#[derive(Debug, Clone)]
pub struct QuerySet {
    /// "image->image" (same distribution as the base) or "text->image"
    /// (a shifted cone, the cross-modal workload).
    pub name: String,
    /// Row-major, `len() / dim` queries.
    pub queries: Vec<f32>,
    pub ground_truth: Vec<Vec<u32>>,
}

impl QuerySet {
    pub fn len(&self) -> usize {
        self.ground_truth.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ground_truth.is_empty()
    }

    pub fn query(&self, i: usize, dim: usize) -> &[f32] {
        &self.queries[i * dim..(i + 1) * dim]
    }
}

/// A base set and its query sets, all unit vectors of one dimension.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Shown in records, e.g. the data folder's name or `synthetic-20000`.
    pub name: String,
    pub dim: usize,
    /// Row-major, `n()` vectors.
    pub base: Vec<f32>,
    pub query_sets: Vec<QuerySet>,
}

/// The files `../shared/tools/gen_ann_data.py` writes: query set name,
/// queries, ground truth.
pub const TEXMEX_QUERY_FILES: [(&str, &str, &str); 2] = [
    ("image->image", "queries_img.fvecs", "gt_img.ivecs"),
    ("text->image", "queries_txt.fvecs", "gt_txt.ivecs"),
];

impl Dataset {
    pub fn n(&self) -> usize {
        self.base.len() / self.dim.max(1)
    }

    pub fn vector(&self, i: usize) -> &[f32] {
        &self.base[i * self.dim..(i + 1) * self.dim]
    }

    /// Reads `base.fvecs` and whichever query files (with their ground truth)
    /// exist in `dir`, keeping at most `max_queries` queries per set.
    pub fn load(dir: &Path, max_queries: Option<usize>) -> Result<Dataset, String> {
        let (dim, base) = texmex::read_fvecs(&dir.join("base.fvecs"))?;
        let mut query_sets = Vec::new();
        for (name, q, gt) in TEXMEX_QUERY_FILES {
            if !dir.join(q).exists() {
                continue;
            }
            let (qdim, mut queries) = texmex::read_fvecs(&dir.join(q))?;
            if qdim != dim {
                return Err(format!("{q}: dimension {qdim}, base has {dim}"));
            }
            let mut ground_truth = texmex::read_ivecs(&dir.join(gt))?;
            if ground_truth.len() != queries.len() / dim {
                return Err(format!(
                    "{gt}: {} rows for {} queries",
                    ground_truth.len(),
                    queries.len() / dim
                ));
            }
            if ground_truth.iter().any(|row| row.len() < K) {
                return Err(format!("{gt}: fewer than {K} neighbours per query"));
            }
            if let Some(m) = max_queries {
                ground_truth.truncate(m);
                queries.truncate(m * dim);
            }
            query_sets.push(QuerySet {
                name: name.to_string(),
                queries,
                ground_truth,
            });
        }
        if query_sets.is_empty() {
            return Err(format!("{}: no query files", dir.display()));
        }
        let name = dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Ok(Dataset {
            name,
            dim,
            base,
            query_sets,
        })
    }

    /// Writes the set in the layout of `gen_ann_data.py`.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        texmex::write_fvecs(&dir.join("base.fvecs"), self.dim, &self.base)?;
        for set in &self.query_sets {
            let (_, q, gt) = TEXMEX_QUERY_FILES
                .iter()
                .find(|(name, _, _)| *name == set.name)
                .ok_or_else(|| format!("no file name for query set {}", set.name))?;
            texmex::write_fvecs(&dir.join(q), self.dim, &set.queries)?;
            texmex::write_ivecs(&dir.join(gt), &set.ground_truth)?;
        }
        Ok(())
    }
}

/// One line of results: one (engine, mode, build setting, query set, ef).
/// Fields that a mode cannot measure are null.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// "clipdb" or "hnswlib".
    pub engine: String,
    /// "inproc" (the index alone) or "grpc" (a server through loopback).
    pub mode: String,
    pub dataset: String,
    pub n: usize,
    pub dim: usize,
    pub metric: String,
    pub m: usize,
    pub ef_construction: usize,
    /// Wall time to insert all `n` vectors (grpc: the whole UpsertStream,
    /// durable acks included).
    pub build_s: f64,
    pub build_vectors_per_s: f64,
    /// Threads that built the index (grpc: the server's, unknown: null).
    pub build_threads: Option<usize>,
    pub query_set: String,
    pub queries: usize,
    pub k: usize,
    pub ef: usize,
    /// Fraction of the exact top 10 found in the returned top 10.
    pub recall_at_10: f64,
    /// One thread (grpc: one client), queries one after another.
    pub qps_1t: f64,
    pub p50_ms_1t: Option<f64>,
    pub p99_ms_1t: Option<f64>,
    /// Threads (grpc: concurrent clients) of the concurrent run.
    pub threads: usize,
    pub qps: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Peak resident memory of the measuring process (VmHWM, reset before
    /// each build where the kernel allows), data set included.
    pub peak_rss_mib: Option<f64>,
    /// Memory the index holds per vector (vectors included).
    pub index_ram_bytes_per_vector: Option<f64>,
    /// How that was measured: "heap" (live allocated bytes), "rss" (growth
    /// of resident memory during the build), or null.
    pub ram_method: Option<String>,
    /// Bytes of the index on disk (inproc: the sealed graph file and the
    /// vector records; grpc: the server's data directory when given).
    pub disk_bytes: Option<u64>,
    pub disk_bytes_per_vector: Option<f64>,
    /// Seconds to open the index from its files, ready to search (inproc,
    /// sealed graphs: what a restart costs per segment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_s: Option<f64>,
    /// Vector quantization of the searched index, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<String>,
    /// UTC, RFC 3339.
    pub date: String,
    pub host: String,
}

/// Recall@10 of `hits` against the exact neighbours (first 10 of each row).
pub fn recall_at_10(hits: &[Vec<u32>], truth: &[Vec<u32>]) -> f64 {
    if hits.is_empty() {
        return 0.0;
    }
    let found: usize = hits
        .iter()
        .zip(truth)
        .map(|(h, t)| h.iter().take(K).filter(|x| t[..K].contains(x)).count())
        .sum();
    found as f64 / (hits.len() * K) as f64
}

/// The `p`-quantile (0..=1) of latencies in milliseconds (nearest rank).
pub fn percentile_ms(latencies: &mut [Duration], p: f64) -> Option<f64> {
    if latencies.is_empty() {
        return None;
    }
    latencies.sort_unstable();
    let rank = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len());
    Some(latencies[rank - 1].as_secs_f64() * 1e3)
}

/// A `/proc/self/status` field in bytes (Linux), e.g. "VmHWM" or "VmRSS".
pub fn proc_status_bytes(field: &str) -> Option<u64> {
    status_field(&std::fs::read_to_string("/proc/self/status").ok()?, field)
}

/// The same for another process of this host.
pub fn pid_status_bytes(pid: u32, field: &str) -> Option<u64> {
    status_field(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        field,
    )
}

fn status_field(status: &str, field: &str) -> Option<u64> {
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    let kib: u64 = line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Resets VmHWM to the current RSS (Linux >= 4.0); false where refused.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// "AMD EPYC, 2 threads": the CPU model and the threads available.
pub fn host_description() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {threads} threads")
}

/// Now, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = crate::utc::civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Reads JSON-lines records (blank lines skipped).
pub fn read_records(path: &Path) -> Result<Vec<Record>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Total bytes of the files under `path` (recursively).
pub fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        std::fs::read_dir(path)
            .map(|rd| rd.flatten().map(|e| disk_usage(&e.path())).sum())
            .unwrap_or(0)
    } else {
        meta.len()
    }
}

/// Parses "32,64,128".
pub fn parse_list(s: &str) -> Result<Vec<usize>, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.trim()
                .parse()
                .map_err(|_| format!("not a number: {p:?} in {s:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_and_percentiles() {
        let truth = vec![(0..100).collect::<Vec<u32>>()];
        assert_eq!(recall_at_10(&[(0..10).collect()], &truth), 1.0);
        assert_eq!(recall_at_10(&[(5..15).collect()], &truth), 0.5);
        let mut lat: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&mut lat, 0.5), Some(50.0));
        assert_eq!(percentile_ms(&mut lat, 0.99), Some(99.0));
        assert_eq!(percentile_ms(&mut [], 0.5), None);
    }

    #[test]
    fn date_and_lists() {
        let d = utc_now();
        assert_eq!(d.len(), 20, "{d}");
        assert!(d.starts_with("20"), "{d}");
        assert_eq!(parse_list("32, 64,128").unwrap(), vec![32, 64, 128]);
        assert!(parse_list("32,x").is_err());
    }
}
