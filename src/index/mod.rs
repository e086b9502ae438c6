//! Approximate nearest-neighbour index: one HNSW graph per segment and
//! vector space (built concurrently while the segment grows, then sealed
//! into a memory-mapped file), and our SIMD distance kernels.

pub mod distance;
pub mod graph;
mod growing;
pub mod sealed;
mod walk;

#[cfg(test)]
pub(crate) mod test_vectors {
    /// A deterministic pseudo-random unit vector (xorshift; no rand in tests).
    pub fn unit(seed: u64, dim: usize) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        let v: Vec<f32> = (0..dim)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 2000) as f32 / 1000.0 - 1.0
            })
            .collect();
        let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        v.into_iter().map(|a| a / n).collect()
    }
}

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
