//! Distance kernels: inner product and squared Euclidean distance on f32
//! vectors, and their forms on int8 codes for the quantized walk.

/// Inner product, using AVX2+FMA when the CPU has them.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports the features the function is compiled for.
            return unsafe { x86::dot_avx2(a, b) };
        }
    }
    dot_portable(a, b)
}

/// Squared Euclidean distance, using AVX2+FMA when the CPU has them.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above.
            return unsafe { x86::l2_squared_avx2(a, b) };
        }
    }
    l2_squared_portable(a, b)
}

/// `sum weights[j] * codes[j]`: the quantized walk's inner product.
#[inline]
pub fn dot_u8(weights: &[f32], codes: &[u8]) -> f32 {
    debug_assert_eq!(weights.len(), codes.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above.
            return unsafe { x86::dot_u8_avx2(weights, codes) };
        }
    }
    dot_u8_portable(weights, codes)
}

/// `sum (shifted[j] - step[j] * codes[j])^2`: the quantized walk's squared
/// Euclidean distance (`shifted` = query minus the per-dimension minimum).
#[inline]
pub fn l2_squared_u8(shifted: &[f32], step: &[f32], codes: &[u8]) -> f32 {
    debug_assert_eq!(shifted.len(), codes.len());
    debug_assert_eq!(step.len(), codes.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above.
            return unsafe { x86::l2_squared_u8_avx2(shifted, step, codes) };
        }
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
}
