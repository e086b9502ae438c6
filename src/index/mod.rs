//! Approximate nearest-neighbour index: one hnsw_rs graph per segment and
//! vector space, our SIMD distance kernels, graph dump and reload.

pub mod distance;
mod dump_check;
pub mod graph;
pub mod sealed;

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
