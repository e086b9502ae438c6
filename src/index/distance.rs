//! Distance kernels: inner product and squared Euclidean distance on f32
//! vectors, and their forms on int8 codes for the quantized walk.
//!
//! Each kernel picks the widest instructions the CPU has, once per process
//! (AVX-512 with VNNI, else AVX2+FMA, else portable code).

use std::sync::OnceLock;

/// The instruction sets the kernels may use on this CPU.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Portable,
    Avx2,
    /// AVX-512 F, BW and VNNI.
    Avx512,
}

#[inline(always)]
fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if std::env::var_os("CLIPDB_NO_AVX512").is_none()
                && has!("avx512f")
                && has!("avx512bw")
                && has!("avx512vnni")
            {
                return Level::Avx512;
            }
            if has!("avx2") && has!("fma") {
                return Level::Avx2;
            }
        }
        Level::Portable
    })
}

/// Inner product, using AVX2+FMA when the CPU has them.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    match level() {
        // SAFETY: the CPU supports the features the functions are compiled for.
        Level::Avx512 => return unsafe { x86::dot_avx512(a, b) },
        Level::Avx2 => return unsafe { x86::dot_avx2(a, b) },
        Level::Portable => {}
    }
    dot_portable(a, b)
}

/// Squared Euclidean distance, using AVX2+FMA when the CPU has them.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if level() >= Level::Avx2 {
        // SAFETY: as above.
        return unsafe { x86::l2_squared_avx2(a, b) };
    }
    l2_squared_portable(a, b)
}

/// `sum weights[j] * codes[j]`: the quantized walk's inner product.
#[inline]
pub fn dot_u8(weights: &[f32], codes: &[u8]) -> f32 {
    debug_assert_eq!(weights.len(), codes.len());
    #[cfg(target_arch = "x86_64")]
    if level() >= Level::Avx2 {
        // SAFETY: as above.
        return unsafe { x86::dot_u8_avx2(weights, codes) };
    }
    dot_u8_portable(weights, codes)
}

/// A query's weights for [`dot_u8`] rounded to 16-bit integers, for
/// [`IntWeights::dot`]: an integer multiply-add per code instead of a
/// widening to f32 and an FMA (2-3x fewer instructions per dimension).
/// The weights keep 15 bits (less for dimensions past 2 048, so no 32-bit
/// lane sum can overflow), about 100x finer than the codes' own rounding,
/// so the walk's order of nodes is the float kernel's up to that noise.
pub struct IntWeights {
    weights: Vec<i16>,
    /// `dot_u8(weights, codes) ~= IntWeights::dot(codes) * scale`.
    scale: f32,
}

impl IntWeights {
    pub fn new(weights: &[f32]) -> IntWeights {
        // A 32-bit lane sums at most ceil(dim / 16) * 2 products of a code
        // (<= 255) and a weight: keep that below 2^31.
        let per_lane = (weights.len().div_ceil(16) * 2).max(1) as f64;
        let limit = ((i32::MAX as f64 / (255.0 * per_lane)).floor()).min(32767.0);
        let max = weights.iter().fold(0f32, |m, w| m.max(w.abs()));
        let scale = if max > 0.0 && max.is_finite() {
            max / limit as f32
        } else {
            1.0
        };
        IntWeights {
            weights: weights
                .iter()
                .map(|w| (w / scale).round().clamp(-32767.0, 32767.0) as i16)
                .collect(),
            scale,
        }
    }

    /// `sum weights[j] * codes[j]`, within the weights' rounding.
    #[inline]
    pub fn dot(&self, codes: &[u8]) -> f32 {
        debug_assert_eq!(self.weights.len(), codes.len());
        #[cfg(target_arch = "x86_64")]
        match level() {
            // SAFETY: as above.
            Level::Avx512 => {
                return unsafe { x86::dot_i16_u8_avx512(&self.weights, codes) } as f32 * self.scale
            }
            Level::Avx2 => {
                return unsafe { x86::dot_i16_u8_avx2(&self.weights, codes) } as f32 * self.scale
            }
            Level::Portable => {}
        }
        dot_i16_u8_portable(&self.weights, codes) as f32 * self.scale
    }
}

fn dot_i16_u8_portable(weights: &[i16], codes: &[u8]) -> i64 {
    weights
        .iter()
        .zip(codes)
        .map(|(&w, &c)| w as i64 * c as i64)
        .sum()
}

/// `sum (shifted[j] - step[j] * codes[j])^2`: the quantized walk's squared
/// Euclidean distance (`shifted` = query minus the per-dimension minimum).
#[inline]
pub fn l2_squared_u8(shifted: &[f32], step: &[f32], codes: &[u8]) -> f32 {
    debug_assert_eq!(shifted.len(), codes.len());
    debug_assert_eq!(step.len(), codes.len());
    #[cfg(target_arch = "x86_64")]
    if level() >= Level::Avx2 {
        // SAFETY: as above.
        return unsafe { x86::l2_squared_u8_avx2(shifted, step, codes) };
    }
    l2_squared_u8_portable(shifted, step, codes)
}

fn dot_u8_portable(weights: &[f32], codes: &[u8]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = codes.len() / 8;
    for i in 0..chunks {
        for j in 0..8 {
            acc[j] += weights[i * 8 + j] * codes[i * 8 + j] as f32;
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..codes.len() {
        sum += weights[i] * codes[i] as f32;
    }
    sum
}

fn l2_squared_u8_portable(shifted: &[f32], step: &[f32], codes: &[u8]) -> f32 {
    shifted
        .iter()
        .zip(step)
        .zip(codes)
        .map(|((q, s), c)| {
            let d = q - s * *c as f32;
            d * d
        })
        .sum()
}

/// Eight independent accumulators let the compiler vectorise and pipeline.
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for i in 0..chunks {
        for j in 0..8 {
            acc[j] += a[i * 8 + j] * b[i * 8 + j];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..a.len() {
        sum += a[i] * b[i];
    }
    sum
}

fn l2_squared_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for i in 0..chunks {
        for j in 0..8 {
            let d = a[i * 8 + j] - b[i * 8 + j];
            acc[j] += d * d;
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..a.len() {
        let d = a[i] - b[i];
        sum += d * d;
    }
    sum
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        while i + 16 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
                acc1,
            );
            i += 16;
        }
        if i + 8 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            i += 8;
        }
        let mut sum = hsum(_mm256_add_ps(acc0, acc1));
        while i < n {
            sum += *pa.add(i) * *pb.add(i);
            i += 1;
        }
        sum
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm512_setzero_ps();
        let mut acc1 = _mm512_setzero_ps();
        let mut i = 0;
        while i + 32 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm512_fmadd_ps(
                _mm512_loadu_ps(pa.add(i + 16)),
                _mm512_loadu_ps(pb.add(i + 16)),
                acc1,
            );
            i += 32;
        }
        if i + 16 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
            i += 16;
        }
        let mut sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
        while i < n {
            sum += *pa.add(i) * *pb.add(i);
            i += 1;
        }
        sum
    }

    /// `sum w[j] * c[j]` in 32-bit integer lanes: 32 codes widened to i16
    /// and multiplied-added in pairs per VNNI instruction.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn dot_i16_u8_avx512(w: &[i16], c: &[u8]) -> i64 {
        let n = c.len();
        let (pw, pc) = (w.as_ptr(), c.as_ptr());
        let mut acc0 = _mm512_setzero_si512();
        let mut acc1 = _mm512_setzero_si512();
        let mut i = 0;
        while i + 64 <= n {
            let c0 = _mm512_cvtepu8_epi16(_mm256_loadu_si256(pc.add(i) as *const __m256i));
            let c1 = _mm512_cvtepu8_epi16(_mm256_loadu_si256(pc.add(i + 32) as *const __m256i));
            acc0 = _mm512_dpwssd_epi32(acc0, c0, _mm512_loadu_si512(pw.add(i) as *const _));
            acc1 = _mm512_dpwssd_epi32(acc1, c1, _mm512_loadu_si512(pw.add(i + 32) as *const _));
            i += 64;
        }
        if i + 32 <= n {
            let c0 = _mm512_cvtepu8_epi16(_mm256_loadu_si256(pc.add(i) as *const __m256i));
            acc0 = _mm512_dpwssd_epi32(acc0, c0, _mm512_loadu_si512(pw.add(i) as *const _));
            i += 32;
        }
        // Each lane stays below 2^31 (see IntWeights::new); their sum may not.
        let mut lanes = [0i32; 16];
        _mm512_storeu_si512(lanes.as_mut_ptr() as *mut _, acc0);
        let mut sum: i64 = lanes.iter().map(|&x| x as i64).sum();
        _mm512_storeu_si512(lanes.as_mut_ptr() as *mut _, acc1);
        sum += lanes.iter().map(|&x| x as i64).sum::<i64>();
        while i < n {
            sum += *pw.add(i) as i64 * *pc.add(i) as i64;
            i += 1;
        }
        sum
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_i16_u8_avx2(w: &[i16], c: &[u8]) -> i64 {
        let n = c.len();
        let (pw, pc) = (w.as_ptr(), c.as_ptr());
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        let mut i = 0;
        while i + 32 <= n {
            let c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(pc.add(i) as *const __m128i));
            let c1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(pc.add(i + 16) as *const __m128i));
            let w0 = _mm256_loadu_si256(pw.add(i) as *const __m256i);
            let w1 = _mm256_loadu_si256(pw.add(i + 16) as *const __m256i);
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(c0, w0));
            acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(c1, w1));
            i += 32;
        }
        if i + 16 <= n {
            let c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(pc.add(i) as *const __m128i));
            let w0 = _mm256_loadu_si256(pw.add(i) as *const __m256i);
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(c0, w0));
            i += 16;
        }
        let mut lanes = [0i32; 8];
        _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc0);
        let mut sum: i64 = lanes.iter().map(|&x| x as i64).sum();
        _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc1);
        sum += lanes.iter().map(|&x| x as i64).sum::<i64>();
        while i < n {
            sum += *pw.add(i) as i64 * *pc.add(i) as i64;
            i += 1;
        }
        sum
    }

    /// Eight codes widened to f32 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn widen8(p: *const u8) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(p as *const __m128i)))
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_u8_avx2(w: &[f32], c: &[u8]) -> f32 {
        let n = c.len();
        let (pw, pc) = (w.as_ptr(), c.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        while i + 16 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pw.add(i)), widen8(pc.add(i)), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(pw.add(i + 8)), widen8(pc.add(i + 8)), acc1);
            i += 16;
        }
        if i + 8 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pw.add(i)), widen8(pc.add(i)), acc0);
            i += 8;
        }
        let mut sum = hsum(_mm256_add_ps(acc0, acc1));
        while i < n {
            sum += *pw.add(i) * *pc.add(i) as f32;
            i += 1;
        }
        sum
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn l2_squared_u8_avx2(q: &[f32], s: &[f32], c: &[u8]) -> f32 {
        let n = c.len();
        let (pq, ps, pc) = (q.as_ptr(), s.as_ptr(), c.as_ptr());
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        while i + 8 <= n {
            // d = q - s * c
            let d = _mm256_fnmadd_ps(
                _mm256_loadu_ps(ps.add(i)),
                widen8(pc.add(i)),
                _mm256_loadu_ps(pq.add(i)),
            );
            acc = _mm256_fmadd_ps(d, d, acc);
            i += 8;
        }
        let mut sum = hsum(acc);
        while i < n {
            let d = *pq.add(i) - *ps.add(i) * *pc.add(i) as f32;
            sum += d * d;
            i += 1;
        }
        sum
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn l2_squared_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        while i + 16 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            let d1 = _mm256_sub_ps(
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
            );
            acc0 = _mm256_fmadd_ps(d0, d0, acc0);
            acc1 = _mm256_fmadd_ps(d1, d1, acc1);
            i += 16;
        }
        if i + 8 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            acc0 = _mm256_fmadd_ps(d0, d0, acc0);
            i += 8;
        }
        let mut sum = hsum(_mm256_add_ps(acc0, acc1));
        while i < n {
            let d = *pa.add(i) - *pb.add(i);
            sum += d * d;
            i += 1;
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_naive_sums() {
        for n in [1usize, 7, 8, 15, 16, 17, 33, 512] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive_dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let naive_l2: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((dot(&a, &b) - naive_dot).abs() < 1e-3, "dot n={n}");
            assert!((l2_squared(&a, &b) - naive_l2).abs() < 1e-3, "l2 n={n}");
            assert!((dot_portable(&a, &b) - naive_dot).abs() < 1e-3);
            assert!((l2_squared_portable(&a, &b) - naive_l2).abs() < 1e-3);
            let codes: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
            let naive_u8: f32 = a.iter().zip(&codes).map(|(x, c)| x * *c as f32).sum();
            let naive_l2_u8: f32 = a
                .iter()
                .zip(&b)
                .zip(&codes)
                .map(|((q, s), c)| (q - s * *c as f32).powi(2))
                .sum();
            let tol = |x: f32| 1e-4 * x.abs().max(1.0);
            assert!(
                (dot_u8(&a, &codes) - naive_u8).abs() < tol(naive_u8),
                "dot_u8 n={n}"
            );
            assert!((dot_u8_portable(&a, &codes) - naive_u8).abs() < tol(naive_u8));
            let l2u = l2_squared_u8(&a, &b, &codes);
            assert!((l2u - naive_l2_u8).abs() < tol(naive_l2_u8), "l2_u8 n={n}");
            assert!(
                (l2_squared_u8_portable(&a, &b, &codes) - naive_l2_u8).abs() < tol(naive_l2_u8)
            );
        }
    }

    /// The integer kernel agrees with the float one within the weights'
    /// rounding on every length (tails included) and every kernel level,
    /// and never overflows at the largest dimension and extreme codes.
    #[test]
    fn integer_weights_match_the_float_kernel() {
        let lens = [
            1usize, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 512, 768, 65536,
        ];
        for n in lens {
            let w: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 0.01).collect();
            let max = w.iter().fold(0f32, |m, x| m.max(x.abs()));
            for codes in [
                (0..n).map(|i| (i * 37 % 256) as u8).collect::<Vec<u8>>(),
                vec![255u8; n],
            ] {
                let exact = dot_u8_portable(&w, &codes);
                let iw = IntWeights::new(&w);
                // Each weight is off by at most half a step of the scale.
                let bound = 0.5 * iw.scale * 255.0 * n as f32 + 1e-4 * max * n as f32;
                let got = iw.dot(&codes);
                assert!((got - exact).abs() <= bound, "n={n}: {got} vs {exact}");
                let portable = dot_i16_u8_portable(&iw.weights, &codes) as f32 * iw.scale;
                assert!(
                    (got - portable).abs() <= 1e-3 * portable.abs().max(1.0),
                    "n={n}"
                );
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2.
                    let avx2 = unsafe { x86::dot_i16_u8_avx2(&iw.weights, &codes) };
                    assert_eq!(avx2, dot_i16_u8_portable(&iw.weights, &codes), "n={n}");
                }
            }
            // Relative precision at CLIP's dimension: ~15 bits per weight.
            if n == 512 {
                let iw = IntWeights::new(&w);
                assert!(iw.scale <= max / 32000.0, "scale {}", iw.scale);
            }
        }
        assert_eq!(IntWeights::new(&[0.0; 40]).dot(&[7; 40]), 0.0);
    }
}
