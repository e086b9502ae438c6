//! Approximate nearest-neighbour index: one HNSW graph per segment and
//! vector space (built concurrently while the segment grows, then sealed
//! into a memory-mapped file), our SIMD distance kernels, and the reader of
//! hnsw_rs dumps that earlier versions sealed segments as.

pub mod distance;
mod dump_check;
pub mod graph;
mod growing;
pub mod sealed;
mod walk;

pub use graph::{Graph, GraphParams, IndexError};
pub use sealed::{Quantization, VectorRows};

/// How vectors are compared. Scores are similarities (higher is closer) for
/// cosine and dot, distances (lower is closer) for L2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Cosine,
    Dot,
    L2,
}

impl Metric {
    /// The score reported to clients for two vectors (as stored).
    pub fn score(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::Cosine | Metric::Dot => distance::dot(a, b),
            Metric::L2 => distance::l2_squared(a, b).sqrt(),
        }
    }

    /// True when a higher score is a better match.
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Metric::L2)
    }

    /// Orders scores best first.
    pub fn cmp_scores(self, a: f32, b: f32) -> std::cmp::Ordering {
        if self.higher_is_better() {
            b.total_cmp(&a)
        } else {
            a.total_cmp(&b)
        }
    }
}
