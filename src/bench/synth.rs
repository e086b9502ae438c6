//! A Rust port of `../shared/tools/gen_ann_data.py`: synthetic CLIP-like
//! unit vectors. Same recipe (and parameters), not the same random numbers:
//!
//! - anisotropy: every image vector shares a mean direction and belongs to
//!   one of `max(16, n / 100)` clusters of Zipf(1.3) popularity;
//! - low intrinsic dimension: a cluster varies along 16 directions drawn
//!   from a shared orthonormal pool of 64, plus a little isotropic noise;
//! - the modality gap: text queries sit around another mean direction and
//!   vary along directions their cluster's images do not.
//!
//! Ground truth is exact (top 100 by inner product, computed in parallel).

use rayon::prelude::*;

use super::{Dataset, QuerySet};
use crate::index::distance::dot;

/// Neighbours kept per query in the ground truth (as the Python script).
pub const GROUND_TRUTH_K: usize = 100;

/// xoshiro256** seeded through splitmix64.
pub struct Rng([u64; 4]);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }

    /// Zipf(a), a > 1, support 1, 2, ... (numpy's rejection algorithm).
    pub fn zipf(&mut self, a: f64) -> f64 {
        let am1 = a - 1.0;
        let b = 2f64.powf(am1);
        loop {
            let u = 1.0 - self.uniform();
            let v = self.uniform();
            let x = u.powf(-1.0 / am1).floor();
            if !(1.0..=1e15).contains(&x) {
                continue;
            }
            let t = (1.0 + 1.0 / x).powf(am1);
            if v * x * (t - 1.0) / (b - 1.0) <= t / b {
                return x;
            }
        }
    }
}

fn normalize(v: &mut [f32]) {
    let n = dot(v, v).sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

fn random_unit(rng: &mut Rng, dim: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
    normalize(&mut v);
    v
}

/// `cols` orthonormal vectors of dimension `dim` (Gram-Schmidt, twice).
fn orthonormal(rng: &mut Rng, dim: usize, cols: usize) -> Vec<Vec<f32>> {
    let mut basis: Vec<Vec<f32>> = Vec::with_capacity(cols);
    while basis.len() < cols.min(dim) {
        let mut v: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
        for _ in 0..2 {
            for b in &basis {
                let p = dot(&v, b);
                v.iter_mut().zip(b).for_each(|(x, y)| *x -= p * y);
            }
        }
        if dot(&v, &v) > 1e-6 {
            normalize(&mut v);
            basis.push(v);
        }
    }
    basis
}

struct Model {
    dim: usize,
    centers: Vec<Vec<f32>>,
    /// Cumulative cluster popularity, ending at 1.
    cumulative: Vec<f64>,
    pool: Vec<Vec<f32>>,
    /// 16 pool directions per cluster.
    sub: Vec<Vec<usize>>,
}

impl Model {
    fn cluster(&self, rng: &mut Rng) -> usize {
        let u = rng.uniform();
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.centers.len() - 1)
    }

    /// `count` unit vectors around `mean` (row-major).
    fn sample(
        &self,
        rng: &mut Rng,
        count: usize,
        mean: &[f32],
        spread: f32,
        off_manifold: bool,
    ) -> Vec<f32> {
        let dim = self.dim;
        let noise = 0.15 / (dim as f32).sqrt();
        let mut out = Vec::with_capacity(count * dim);
        for _ in 0..count {
            let c = self.cluster(rng);
            // Text queries vary along directions their cluster's images do not.
            let dirs = if off_manifold {
                &self.sub[rng.below(self.centers.len())]
            } else {
                &self.sub[c]
            };
            let mut x: Vec<f32> = mean
                .iter()
                .zip(&self.centers[c])
                .map(|(m, c)| 0.6 * m + c)
                .collect();
            for &d in dirs {
                let z = rng.normal() * spread / 4.0;
                x.iter_mut()
                    .zip(&self.pool[d])
                    .for_each(|(x, p)| *x += z * p);
            }
            x.iter_mut().for_each(|x| *x += noise * rng.normal());
            normalize(&mut x);
            out.extend_from_slice(&x);
        }
        out
    }
}

/// `n` base vectors and `nq` queries per set ("image->image",
/// "text->image"), dimension `dim`, with exact ground truth.
pub fn generate(n: usize, nq: usize, dim: usize, seed: u64) -> Dataset {
    assert!(
        n > 0 && dim > 0,
        "need at least one vector of dimension >= 1"
    );
    let mut rng = Rng::new(seed);
    let n_clusters = (n / 100).max(16);
    let mean_img = random_unit(&mut rng, dim);
    let mean_txt = random_unit(&mut rng, dim);
    let centers: Vec<Vec<f32>> = (0..n_clusters)
        .map(|_| random_unit(&mut rng, dim))
        .collect();
    // Cluster popularity is skewed, like real photo collections.
    let weights: Vec<f64> = (0..n_clusters).map(|_| rng.zipf(1.3)).collect();
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    let cumulative = weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect();
    let pool_size = 64.min(dim);
    let per_cluster = 16.min(pool_size);
    let pool = orthonormal(&mut rng, dim, pool_size);
    let sub = (0..n_clusters)
        .map(|_| {
            // Partial Fisher-Yates: `per_cluster` distinct pool directions.
            let mut idx: Vec<usize> = (0..pool.len()).collect();
            for i in 0..per_cluster {
                let j = i + rng.below(idx.len() - i);
                idx.swap(i, j);
            }
            idx.truncate(per_cluster);
            idx
        })
        .collect();
    let model = Model {
        dim,
        centers,
        cumulative,
        pool,
        sub,
    };
    let base = model.sample(&mut rng, n, &mean_img, 0.9, false);
    let q_img = model.sample(&mut rng, nq, &mean_img, 0.9, false);
    let q_txt = model.sample(&mut rng, nq, &mean_txt, 1.1, true);
    let k = GROUND_TRUTH_K.min(n);
    let query_sets = [("image->image", q_img), ("text->image", q_txt)]
        .into_iter()
        .map(|(name, queries)| QuerySet {
            name: name.to_string(),
            ground_truth: exact_top_k(&base, &queries, dim, k),
            queries,
        })
        .collect();
    Dataset {
        name: format!("synthetic-{n}"),
        dim,
        base,
        query_sets,
    }
}

/// The ids of the `k` base vectors of highest inner product, best first,
/// for each query.
pub fn exact_top_k(base: &[f32], queries: &[f32], dim: usize, k: usize) -> Vec<Vec<u32>> {
    queries
        .par_chunks_exact(dim)
        .map(|q| {
            let mut scored: Vec<(f32, u32)> = base
                .chunks_exact(dim)
                .enumerate()
                .map(|(i, v)| (dot(q, v), i as u32))
                .collect();
            let k = k.min(scored.len());
            if k < scored.len() {
                scored.select_nth_unstable_by(k, |a, b| b.0.total_cmp(&a.0));
                scored.truncate(k);
            }
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            scored.into_iter().map(|(_, i)| i).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_like_shape() {
        let d = generate(2000, 50, 64, 7);
        assert_eq!((d.n(), d.dim, d.query_sets.len()), (2000, 64, 2));
        for i in [0, 999, 1999] {
            assert!((dot(d.vector(i), d.vector(i)) - 1.0).abs() < 1e-4);
        }
        // Anisotropy: image vectors are far more similar to each other than
        // random directions (cos ~ 0), and text queries sit in another cone.
        let mean_cos = |a: &[f32], b: &[f32]| {
            let (na, nb) = (a.len() / 64, b.len() / 64);
            let mut s = 0.0;
            for i in 0..50 {
                s += dot(&a[i * 64..][..64], &b[(i * 7 % nb) * 64..][..64]);
            }
            let _ = na;
            s / 50.0
        };
        let img_img = mean_cos(&d.base[64 * 1000..], &d.base);
        let txt_img = mean_cos(&d.query_sets[1].queries, &d.base);
        assert!(img_img > 0.2, "image-image cos {img_img}");
        assert!(txt_img < img_img, "text-image {txt_img} vs {img_img}");
        // Ground truth: best first, the first is the exact best.
        let q = d.query_sets[0].query(3, 64);
        let gt = &d.query_sets[0].ground_truth[3];
        assert_eq!(gt.len(), 100);
        let best = (0..2000)
            .max_by(|&a, &b| dot(q, d.vector(a)).total_cmp(&dot(q, d.vector(b))))
            .unwrap();
        assert_eq!(gt[0] as usize, best);
        // Same seed, same data.
        assert_eq!(generate(300, 5, 8, 1).base, generate(300, 5, 8, 1).base);
    }
}
