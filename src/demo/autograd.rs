//! Trainable versions of candle's fused layer norm and softmax, for the
//! demo-model trainer (`examples/train_demo_model.rs`): [`DIFFERENTIABLE`]
//! plugs them into the CLIP model (`embed::clip::Kernels`).
//!
//! `candle_nn::ops::layer_norm` and `softmax_last_dim` have no backward pass
//! (gradients silently stop there), and their composed equivalents
//! (`layer_norm_slow`, `ops::softmax`) are slow on the CPU and not bit-equal
//! (`layer_norm_slow` computes the variance another way). The functions here
//! run the fused kernel for the forward pass, so the result is **bit-identical**
//! to inference, and add the analytic gradient:
//!
//! - layer norm, per row with `xhat = (x - mean) * rstd` and `g = grad * gamma`:
//!   `dx = rstd * (g - mean(g) - xhat * mean(g * xhat))`,
//!   `dgamma = sum_rows(grad * xhat)`, `dbeta = sum_rows(grad)`;
//! - softmax `y`: `dx = y * (grad - sum(grad * y))`.
//!
//! [`bias_add`] is `x.broadcast_add(bias)` (the same single f32 addition per
//! element) with a direct row sum for the bias gradient: candle's generic
//! reduction over the leading dimensions was a tenth of the training time.
//!
//! CPU and f32 only; on other devices or dtypes they fall back to the composed ops.

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Result, Shape, Storage, Tensor, D,
};

/// Layer norm over the last dimension with a backward pass; forward equals
/// `candle_nn::ops::layer_norm` bit for bit.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f32) -> Result<Tensor> {
    if !x.device().is_cpu() || x.dtype() != candle_core::DType::F32 {
        return candle_nn::ops::layer_norm_slow(x, gamma, beta, eps);
    }
    let x = x.contiguous()?;
    let y = candle_nn::ops::layer_norm(&x, gamma, beta, eps)?;
    x.apply_op3(gamma, beta, LayerNorm { eps, y })
}

/// Softmax over the last dimension with a backward pass; forward equals
/// `candle_nn::ops::softmax_last_dim` bit for bit.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() || x.dtype() != candle_core::DType::F32 {
        return candle_nn::ops::softmax(x, D::Minus1);
    }
    let x = x.contiguous()?;
    let y = candle_nn::ops::softmax_last_dim(&x)?;
    x.apply_op1(Softmax { y })
}

/// `x + bias` over the last dimension with a backward pass; forward equals
/// `x.broadcast_add(bias)` bit for bit.
pub fn bias_add(x: &Tensor, bias: &Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() || x.dtype() != candle_core::DType::F32 {
        return x.broadcast_add(bias);
    }
    let x = x.contiguous()?;
    x.apply_op2(&bias.contiguous()?, BiasAdd)
}

/// A copy of an already computed CPU tensor (the fused kernel's output).
fn copy_of(t: &Tensor) -> Result<(CpuStorage, Shape)> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => {
            let v = cpu.as_slice::<f32>()?;
            let (a, b) = layout
                .contiguous_offsets()
                .ok_or_else(|| candle_core::Error::Msg("not contiguous".into()))?;
            Ok((CpuStorage::F32(v[a..b].to_vec()), layout.shape().clone()))
        }
        _ => candle_core::bail!("autograd ops: CPU tensors only"),
    }
}

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let v = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("autograd ops: contiguous inputs only"),
    }
}

struct LayerNorm {
    eps: f32,
    y: Tensor,
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "layer-norm-trainable"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        copy_of(&self.y)
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let dx = x.apply_op3_no_bwd(gamma, &grad, &LayerNormDx { eps: self.eps })?;
        let dparams = x.apply_op2_no_bwd(&grad, &LayerNormDParams { eps: self.eps })?;
        let dgamma = dparams.get(0)?;
        let dbeta = dparams.get(1)?;
        Ok((Some(dx), Some(dgamma), Some(dbeta)))
    }
}

/// Per-row mean and reciprocal standard deviation, computed exactly as
/// candle's fused layer norm does (f32 sums, `E[x^2] - mean^2`).
fn row_stats(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let (mut sum, mut sum2) = (0f32, 0f32);
    for &v in row {
        sum += v;
        sum2 += v * v;
    }
    let mean = sum / n;
    let var = sum2 / n - mean * mean;
    (mean, (var + eps).sqrt().recip())
}

/// `dx` of the layer norm from (x, gamma, grad).
struct LayerNormDx {
    eps: f32,
}

impl CustomOp3 for LayerNormDx {
    fn name(&self) -> &'static str {
        "layer-norm-dx"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1)?;
        let gamma = f32_slice(s2, l2)?;
        let grad = f32_slice(s3, l3)?;
        let d = gamma.len();
        let mut dx = vec![0f32; x.len()];
        let mut g = vec![0f32; d];
        for ((xr, gr), out) in x.chunks(d).zip(grad.chunks(d)).zip(dx.chunks_mut(d)) {
            let (mean, rstd) = row_stats(xr, self.eps);
            let (mut mg, mut mgx) = (0f32, 0f32);
            for i in 0..d {
                g[i] = gr[i] * gamma[i];
                let xhat = (xr[i] - mean) * rstd;
                mg += g[i];
                mgx += g[i] * xhat;
            }
            mg /= d as f32;
            mgx /= d as f32;
            for i in 0..d {
                let xhat = (xr[i] - mean) * rstd;
                out[i] = rstd * (g[i] - mg - xhat * mgx);
            }
        }
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

/// `[dgamma, dbeta]` (shape `[2, d]`) of the layer norm from (x, grad).
struct LayerNormDParams {
    eps: f32,
}

impl CustomOp2 for LayerNormDParams {
    fn name(&self) -> &'static str {
        "layer-norm-dparams"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1)?;
        let grad = f32_slice(s2, l2)?;
        let d = *l1.shape().dims().last().unwrap_or(&1);
        let mut out = vec![0f32; 2 * d];
        let (dgamma, dbeta) = out.split_at_mut(d);
        for (xr, gr) in x.chunks(d).zip(grad.chunks(d)) {
            let (mean, rstd) = row_stats(xr, self.eps);
            for i in 0..d {
                dgamma[i] += gr[i] * (xr[i] - mean) * rstd;
                dbeta[i] += gr[i];
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((2, d))))
    }
}

struct BiasAdd;

impl CustomOp2 for BiasAdd {
    fn name(&self) -> &'static str {
        "bias-add"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1)?;
        let b = f32_slice(s2, l2)?;
        let d = b.len();
        if *l1.shape().dims().last().unwrap_or(&0) != d {
            candle_core::bail!("bias-add: {:?} + {:?}", l1.shape(), l2.shape());
        }
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks(d) {
            out.extend(row.iter().zip(b).map(|(v, b)| v + b));
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let db = grad.apply_op1_no_bwd(&RowSum)?;
        Ok((Some(grad), Some(db)))
    }
}

/// Sum over all but the last dimension.
struct RowSum;

impl CustomOp1 for RowSum {
    fn name(&self) -> &'static str {
        "row-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l)?;
        let d = *l.shape().dims().last().unwrap_or(&1);
        let mut out = vec![0f32; d];
        for row in x.chunks(d) {
            for (o, v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
        Ok((CpuStorage::F32(out), Shape::from(d)))
    }
}

struct Softmax {
    y: Tensor,
}

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "softmax-trainable"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        copy_of(&self.y)
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let grad = grad.contiguous()?;
        Ok(Some(res.apply_op2_no_bwd(&grad, &SoftmaxDx)?))
    }
}

/// `y * (grad - sum(grad * y))` per row, from (y, grad).
struct SoftmaxDx;

impl CustomOp2 for SoftmaxDx {
    fn name(&self) -> &'static str {
        "softmax-dx"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = f32_slice(s1, l1)?;
        let grad = f32_slice(s2, l2)?;
        let d = *l1.shape().dims().last().unwrap_or(&1);
        let mut dx = vec![0f32; y.len()];
        for ((yr, gr), out) in y.chunks(d).zip(grad.chunks(d)).zip(dx.chunks_mut(d)) {
            let dot: f32 = yr.iter().zip(gr).map(|(a, b)| a * b).sum();
            for i in 0..d {
                out[i] = yr[i] * (gr[i] - dot);
            }
        }
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

/// Kernels with analytic gradients: the same fused kernels forward
/// (bit-identical to inference), a backward pass for training.
pub struct Differentiable;

pub static DIFFERENTIABLE: Differentiable = Differentiable;

impl crate::embed::clip::Kernels for Differentiable {
    fn layer_norm(&self, norm: &candle_nn::LayerNorm, xs: &Tensor) -> Result<Tensor> {
        match norm.bias() {
            Some(bias) => layer_norm(xs, norm.weight(), bias, norm.eps() as f32),
            None => candle_core::Module::forward(norm, xs),
        }
    }

    fn linear(&self, linear: &candle_nn::Linear, xs: &Tensor) -> Result<Tensor> {
        match linear.bias() {
            Some(bias) => {
                // The same product as inference (`clip::linear_forward`), then the bias with a fast gradient.
                let product = candle_nn::Linear::new(linear.weight().clone(), None);
                bias_add(&crate::embed::clip::linear_forward(&product, xs)?, bias)
            }
            None => crate::embed::clip::linear_forward(linear, xs),
        }
    }

    fn softmax_last_dim(&self, xs: &Tensor) -> Result<Tensor> {
        softmax_last_dim(xs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    #[test]
    fn layer_norm_matches_fused_forward_and_slow_gradients() {
        let dev = Device::Cpu;
        let x = Var::randn(0.5f32, 2.0, (3, 5, 16), &dev).unwrap();
        let g = Var::randn(1f32, 0.3, 16, &dev).unwrap();
        let b = Var::randn(0f32, 0.3, 16, &dev).unwrap();
        let w = Tensor::randn(0f32, 1.0, (3, 5, 16), &dev).unwrap();
        let fused = candle_nn::ops::layer_norm(&x, &g, &b, 1e-5).unwrap();
        let ours = layer_norm(&x, &g, &b, 1e-5).unwrap();
        assert_eq!(
            max_diff(&fused, &ours),
            0.0,
            "forward must be bit-identical"
        );
        let slow = candle_nn::ops::layer_norm_slow(&x, &g, &b, 1e-5).unwrap();
        let g1 = (ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let g2 = (slow * &w).unwrap().sum_all().unwrap().backward().unwrap();
        for v in [x.as_tensor(), g.as_tensor(), b.as_tensor()] {
            let d = max_diff(g1.get(v).unwrap(), g2.get(v).unwrap());
            assert!(d < 1e-4, "gradient differs by {d}");
        }
    }

    #[test]
    fn bias_add_matches_broadcast_add() {
        let dev = Device::Cpu;
        let x = Var::randn(0f32, 1.0, (3, 4, 8), &dev).unwrap();
        let b = Var::randn(0f32, 1.0, 8, &dev).unwrap();
        let w = Tensor::randn(0f32, 1.0, (3, 4, 8), &dev).unwrap();
        let plain = x.broadcast_add(&b).unwrap();
        let ours = bias_add(&x, &b).unwrap();
        assert_eq!(max_diff(&plain, &ours), 0.0);
        let g1 = (ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let g2 = (plain * &w).unwrap().sum_all().unwrap().backward().unwrap();
        for v in [x.as_tensor(), b.as_tensor()] {
            let d = max_diff(g1.get(v).unwrap(), g2.get(v).unwrap());
            assert!(d < 1e-5, "gradient differs by {d}");
        }
    }

    #[test]
    fn softmax_matches_fused_forward_and_slow_gradients() {
        let dev = Device::Cpu;
        let x = Var::randn(0f32, 3.0, (4, 2, 7, 7), &dev).unwrap();
        let w = Tensor::randn(0f32, 1.0, (4, 2, 7, 7), &dev).unwrap();
        let fused = candle_nn::ops::softmax_last_dim(&x).unwrap();
        let ours = softmax_last_dim(&x).unwrap();
        assert_eq!(
            max_diff(&fused, &ours),
            0.0,
            "forward must be bit-identical"
        );
        let slow = candle_nn::ops::softmax(&x, D::Minus1).unwrap();
        let g1 = (ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let g2 = (slow * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let d = max_diff(g1.get(&x).unwrap(), g2.get(&x).unwrap());
        assert!(d < 1e-5, "gradient differs by {d}");
    }
}
