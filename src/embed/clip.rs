//! The CLIP architecture (Hugging Face `CLIPModel` layout) on candle.
//!
//! A port of `candle_transformers::models::clip` 0.11.1, generalised where that
//! one hard-codes ViT-B/32 details: the activation of each tower comes from the
//! config (`quick_gelu`, `gelu`, `gelu_new`/`gelu_pytorch_tanh`; candle's text
//! tower always uses quick_gelu), `layer_norm_eps` is read from the config
//! (candle: 1e-5), both projections use the top-level `projection_dim` (as HF),
//! and text pooling follows HF exactly: the first `eos_token_id`, or
//! `argmax(input_ids)` for legacy configs with `eos_token_id == 2` (candle always
//! uses argmax). Weight names are HF's, so any `model.safetensors` of a
//! `CLIPModel` loads as it is.
//!
//! Layer norm, the linear layers' bias and softmax run through [`Kernels`]:
//! candle's fused kernels ([`FUSED`]) for inference. candle's fused kernels
//! have no backward pass, so the demo-model trainer plugs in kernels with
//! analytic gradients (`crate::demo::autograd`, outside this module: training
//! is not part of the database); they run the same fused kernels forward, so
//! outputs are bit-identical in both modes (`tests/integration/embed_model.rs`).

use candle_core::{DType, Device, IndexOp, Module, Result, Tensor, D};
use candle_nn::{Conv2dConfig, VarBuilder};

/// Activation of the MLP blocks (`hidden_act`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    QuickGelu,
    Gelu,
    GeluTanh,
}

impl Activation {
    pub fn from_hf(name: &str) -> Option<Self> {
        match name {
            "quick_gelu" => Some(Activation::QuickGelu),
            "gelu" => Some(Activation::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Some(Activation::GeluTanh),
            _ => None,
        }
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Activation::QuickGelu => xs * candle_nn::ops::sigmoid(&(xs * 1.702f64)?)?,
            Activation::Gelu => xs.gelu_erf(),
            Activation::GeluTanh => xs.gelu(),
        }
    }
}

/// How layer norm, a linear layer's bias and softmax are computed. The
/// defaults are candle's fused kernels; a trainer overrides them to add a
/// backward pass.
pub trait Kernels: Send + Sync {
    fn layer_norm(&self, norm: &candle_nn::LayerNorm, xs: &Tensor) -> Result<Tensor> {
        norm.forward(xs)
    }

    fn linear(&self, linear: &candle_nn::Linear, xs: &Tensor) -> Result<Tensor> {
        linear_forward(linear, xs)
    }

    fn softmax_last_dim(&self, xs: &Tensor) -> Result<Tensor> {
        candle_nn::ops::softmax_last_dim(xs)
    }
}

/// Fewer rows than this (tokens x batch) go through [`linear_forward`]'s
/// transposed product.
const FEW_ROWS: usize = 128;

/// `linear.forward(xs)` with the product turned around when `xs` has few
/// rows (one text is 5-77 tokens, one image 50): gemm tiles the output's rows
/// by 64 with AVX-512 (16 with AVX2), so 15 rows fill a quarter of each tile;
/// computing `(W xsᵀ)ᵀ` puts the layer's 512-3072 outputs on that side
/// instead. One 15-token text: 50 -> 16 ms of CPU, one image: 144 -> 68 ms
/// (docs/benchmarks.md, "CLIP on the CPU beside PyTorch"). Same values up to
/// float rounding; differentiable, so the trainer uses it too.
pub fn linear_forward(linear: &candle_nn::Linear, xs: &Tensor) -> Result<Tensor> {
    let dims = xs.dims();
    let Some((&k, outer)) = dims.split_last() else {
        return linear.forward(xs);
    };
    let rows: usize = outer.iter().product();
    if rows >= FEW_ROWS || !xs.is_contiguous() {
        return linear.forward(xs);
    }
    let w = linear.weight();
    let product = w.matmul(&xs.reshape((rows, k))?.t()?)?.t()?.contiguous()?;
    let mut shape = outer.to_vec();
    shape.push(w.dim(0)?);
    let product = product.reshape(shape)?;
    match linear.bias() {
        Some(bias) => product.broadcast_add(bias),
        None => Ok(product),
    }
}

/// candle's fused kernels (`ops::layer_norm`, `ops::softmax_last_dim`):
/// inference; gradients do not flow through them.
pub struct Fused;

impl Kernels for Fused {}

pub static FUSED: Fused = Fused;

/// The kernels a model runs with (a `'static` reference: copied into every
/// layer).
pub type KernelSet = &'static dyn Kernels;

/// A layer norm that runs with the chosen [`Kernels`].
struct Norm {
    inner: candle_nn::LayerNorm,
    kernels: KernelSet,
}

impl Norm {
    fn new(d: usize, eps: f64, vb: VarBuilder, kernels: KernelSet) -> Result<Self> {
        Ok(Norm {
            inner: candle_nn::layer_norm(d, eps, vb)?,
            kernels,
        })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.kernels.layer_norm(&self.inner, xs)
    }
}

/// A linear layer with bias that runs with the chosen [`Kernels`].
struct Lin {
    inner: candle_nn::Linear,
    kernels: KernelSet,
}

impl Lin {
    fn new(i: usize, o: usize, vb: VarBuilder, kernels: KernelSet) -> Result<Self> {
        Ok(Lin {
            inner: candle_nn::linear(i, o, vb)?,
            kernels,
        })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.kernels.linear(&self.inner, xs)
    }
}

/// Shape of one transformer tower.
#[derive(Debug, Clone, PartialEq)]
pub struct TowerConfig {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub layer_norm_eps: f64,
    pub activation: Activation,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextConfig {
    pub tower: TowerConfig,
    pub vocab_size: usize,
    pub max_position_embeddings: usize,
    pub eos_token_id: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VisionConfig {
    pub tower: TowerConfig,
    pub image_size: usize,
    pub patch_size: usize,
    pub num_channels: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClipConfig {
    pub text: TextConfig,
    pub vision: VisionConfig,
    pub projection_dim: usize,
}

impl ClipConfig {
    /// `openai/clip-vit-base-patch32`'s shapes (used by the benchmark).
    pub fn vit_base_patch32() -> Self {
        let tower = |h, i, heads| TowerConfig {
            hidden_size: h,
            intermediate_size: i,
            num_hidden_layers: 12,
            num_attention_heads: heads,
            layer_norm_eps: 1e-5,
            activation: Activation::QuickGelu,
        };
        ClipConfig {
            text: TextConfig {
                tower: tower(512, 2048, 8),
                vocab_size: 49408,
                max_position_embeddings: 77,
                eos_token_id: 2,
            },
            vision: VisionConfig {
                tower: tower(768, 3072, 12),
                image_size: 224,
                patch_size: 32,
                num_channels: 3,
            },
            projection_dim: 512,
        }
    }
}

struct Attention {
    qkv: [Lin; 3],
    out_proj: Lin,
    heads: usize,
    head_dim: usize,
    scale: f64,
    kernels: KernelSet,
}

impl Attention {
    fn new(vb: VarBuilder, c: &TowerConfig, kernels: KernelSet) -> Result<Self> {
        let d = c.hidden_size;
        if c.num_attention_heads == 0 || !d.is_multiple_of(c.num_attention_heads) {
            candle_core::bail!(
                "hidden_size {d} is not a multiple of num_attention_heads {}",
                c.num_attention_heads
            );
        }
        let head_dim = d / c.num_attention_heads;
        Ok(Attention {
            qkv: [
                Lin::new(d, d, vb.pp("q_proj"), kernels)?,
                Lin::new(d, d, vb.pp("k_proj"), kernels)?,
                Lin::new(d, d, vb.pp("v_proj"), kernels)?,
            ],
            out_proj: Lin::new(d, d, vb.pp("out_proj"), kernels)?,
            heads: c.num_attention_heads,
            head_dim,
            scale: (head_dim as f64).powf(-0.5),
            kernels,
        })
    }

    fn forward(&self, xs: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (b, n, d) = xs.dims3()?;
        let split = |t: Tensor| -> Result<Tensor> {
            t.reshape((b, n, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split((self.qkv[0].forward(xs)? * self.scale)?)?;
        let k = split(self.qkv[1].forward(xs)?)?;
        let v = split(self.qkv[2].forward(xs)?)?;
        let mut w = q.matmul(&k.t()?)?;
        if let Some(m) = mask {
            w = w.broadcast_add(m)?;
        }
        let w = self.kernels.softmax_last_dim(&w)?;
        let o = w.matmul(&v)?.transpose(1, 2)?.reshape((b, n, d))?;
        self.out_proj.forward(&o)
    }
}

struct Layer {
    ln1: Norm,
    attn: Attention,
    ln2: Norm,
    fc1: Lin,
    fc2: Lin,
    act: Activation,
}

impl Layer {
    fn new(vb: VarBuilder, c: &TowerConfig, k: KernelSet) -> Result<Self> {
        let d = c.hidden_size;
        Ok(Layer {
            ln1: Norm::new(d, c.layer_norm_eps, vb.pp("layer_norm1"), k)?,
            attn: Attention::new(vb.pp("self_attn"), c, k)?,
            ln2: Norm::new(d, c.layer_norm_eps, vb.pp("layer_norm2"), k)?,
            fc1: Lin::new(d, c.intermediate_size, vb.pp("mlp").pp("fc1"), k)?,
            fc2: Lin::new(c.intermediate_size, d, vb.pp("mlp").pp("fc2"), k)?,
            act: c.activation,
        })
    }

    fn forward(&self, xs: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let h = (self.attn.forward(&self.ln1.forward(xs)?, mask)? + xs)?;
        let m = self.fc2.forward(
            &self
                .act
                .forward(&self.fc1.forward(&self.ln2.forward(&h)?)?)?,
        )?;
        m + h
    }
}

struct Encoder {
    layers: Vec<Layer>,
}

impl Encoder {
    fn new(vb: VarBuilder, c: &TowerConfig, k: KernelSet) -> Result<Self> {
        let vb = vb.pp("layers");
        let layers = (0..c.num_hidden_layers)
            .map(|i| Layer::new(vb.pp(i.to_string()), c, k))
            .collect::<Result<_>>()?;
        Ok(Encoder { layers })
    }

    fn forward(&self, xs: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let mut xs = xs.clone();
        for l in &self.layers {
            xs = l.forward(&xs, mask)?;
        }
        Ok(xs)
    }
}

struct TextTower {
    token_embedding: candle_nn::Embedding,
    position_embedding: Tensor,
    encoder: Encoder,
    final_layer_norm: Norm,
    eos_token_id: u32,
}

impl TextTower {
    fn new(vb: VarBuilder, c: &TextConfig, k: KernelSet) -> Result<Self> {
        let d = c.tower.hidden_size;
        let e = vb.pp("embeddings");
        Ok(TextTower {
            token_embedding: candle_nn::embedding(c.vocab_size, d, e.pp("token_embedding"))?,
            position_embedding: e
                .pp("position_embedding")
                .get((c.max_position_embeddings, d), "weight")?,
            encoder: Encoder::new(vb.pp("encoder"), &c.tower, k)?,
            final_layer_norm: Norm::new(d, c.tower.layer_norm_eps, vb.pp("final_layer_norm"), k)?,
            eos_token_id: c.eos_token_id,
        })
    }

    /// HF's pooled position of a row of ids.
    fn pool_index(&self, ids: &[u32]) -> usize {
        if self.eos_token_id == 2 {
            // Legacy configs: argmax(input_ids), first maximum.
            let mut best = 0;
            for (i, &v) in ids.iter().enumerate() {
                if v > ids[best] {
                    best = i;
                }
            }
            best
        } else {
            ids.iter()
                .position(|&v| v == self.eos_token_id)
                .unwrap_or(ids.len().saturating_sub(1))
        }
    }

    /// `ids`: rows of equal length (already padded). Returns pooled [b, hidden].
    fn forward(&self, ids: &[Vec<u32>], device: &Device) -> Result<Tensor> {
        let b = ids.len();
        let n = ids[0].len();
        let flat: Vec<u32> = ids.iter().flatten().copied().collect();
        let input = Tensor::from_vec(flat, (b, n), device)?;
        let xs = self
            .token_embedding
            .forward(&input)?
            .broadcast_add(&self.position_embedding.narrow(0, 0, n)?)?;
        let mask: Vec<f32> = (0..n)
            .flat_map(|i| (0..n).map(move |j| if j > i { f32::MIN } else { 0.0 }))
            .collect();
        let mask = Tensor::from_vec(mask, (1, 1, n, n), device)?;
        let hidden = self.encoder.forward(&xs, Some(&mask))?;
        let d = hidden.dim(D::Minus1)?;
        let idx: Vec<u32> = ids
            .iter()
            .enumerate()
            .map(|(r, row)| (r * n + self.pool_index(row)) as u32)
            .collect();
        let idx = Tensor::from_vec(idx, b, device)?;
        let pooled = hidden.reshape((b * n, d))?.index_select(&idx, 0)?;
        // Layer norm is per position: normalising only the pooled rows is the same.
        self.final_layer_norm.forward(&pooled)
    }
}

struct VisionTower {
    patch_embedding: candle_nn::Conv2d,
    class_embedding: Tensor,
    position_embedding: Tensor,
    pre_layrnorm: Norm,
    encoder: Encoder,
    post_layernorm: Norm,
}

impl VisionTower {
    fn new(vb: VarBuilder, c: &VisionConfig, k: KernelSet) -> Result<Self> {
        let d = c.tower.hidden_size;
        let e = vb.pp("embeddings");
        if c.patch_size == 0 || !c.image_size.is_multiple_of(c.patch_size) {
            candle_core::bail!(
                "image_size {} is not a multiple of patch_size {}",
                c.image_size,
                c.patch_size
            );
        }
        let positions = (c.image_size / c.patch_size).pow(2) + 1;
        let conv = Conv2dConfig {
            stride: c.patch_size,
            ..Default::default()
        };
        Ok(VisionTower {
            patch_embedding: candle_nn::conv2d_no_bias(
                c.num_channels,
                d,
                c.patch_size,
                conv,
                e.pp("patch_embedding"),
            )?,
            class_embedding: e.get(d, "class_embedding")?,
            position_embedding: e.pp("position_embedding").get((positions, d), "weight")?,
            pre_layrnorm: Norm::new(d, c.tower.layer_norm_eps, vb.pp("pre_layrnorm"), k)?,
            encoder: Encoder::new(vb.pp("encoder"), &c.tower, k)?,
            post_layernorm: Norm::new(d, c.tower.layer_norm_eps, vb.pp("post_layernorm"), k)?,
        })
    }

    /// `pixels`: [b, c, h, w]. Returns pooled [b, hidden].
    fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let b = pixels.dim(0)?;
        let patches = self
            .patch_embedding
            .forward(pixels)?
            .flatten_from(2)?
            .transpose(1, 2)?;
        let d = self.class_embedding.dim(0)?;
        let cls = self
            .class_embedding
            .reshape((1, 1, d))?
            .broadcast_as((b, 1, d))?;
        let xs = Tensor::cat(&[&cls.to_dtype(patches.dtype())?, &patches], 1)?
            .broadcast_add(&self.position_embedding)?;
        let xs = self.pre_layrnorm.forward(&xs)?;
        let hidden = self.encoder.forward(&xs, None)?;
        self.post_layernorm
            .forward(&hidden.i((.., 0, ..))?.contiguous()?)
    }
}

/// A loaded CLIP model: both towers and their projections.
pub struct ClipModel {
    text: TextTower,
    vision: VisionTower,
    text_projection: candle_nn::Linear,
    visual_projection: candle_nn::Linear,
    device: Device,
}

impl ClipModel {
    /// The model with candle's fused kernels (inference).
    pub fn new(vb: VarBuilder, c: &ClipConfig) -> Result<Self> {
        Self::with_kernels(vb, c, &FUSED)
    }

    /// The model with the chosen kernels: trainable ones
    /// (`demo::autograd::DIFFERENTIABLE`) for training with a
    /// `VarMap`-backed `VarBuilder` (weights get HF names).
    pub fn with_kernels(vb: VarBuilder, c: &ClipConfig, k: KernelSet) -> Result<Self> {
        Ok(ClipModel {
            text: TextTower::new(vb.pp("text_model"), &c.text, k)?,
            vision: VisionTower::new(vb.pp("vision_model"), &c.vision, k)?,
            text_projection: candle_nn::linear_no_bias(
                c.text.tower.hidden_size,
                c.projection_dim,
                vb.pp("text_projection"),
            )?,
            visual_projection: candle_nn::linear_no_bias(
                c.vision.tower.hidden_size,
                c.projection_dim,
                vb.pp("visual_projection"),
            )?,
            device: vb.device().clone(),
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Text tower output before the projection (HF `text_pooled`), [b, hidden].
    pub fn text_pooled(&self, ids: &[Vec<u32>]) -> Result<Tensor> {
        self.text.forward(ids, &self.device)
    }

    /// Projected, unnormalised text features, [b, projection_dim].
    pub fn text_features(&self, ids: &[Vec<u32>]) -> Result<Tensor> {
        linear_forward(&self.text_projection, &self.text_pooled(ids)?)
    }

    /// Vision tower output before the projection (HF `vision_pooled`), [b, hidden].
    pub fn vision_pooled(&self, pixels: &Tensor) -> Result<Tensor> {
        self.vision.forward(pixels)
    }

    /// Projected, unnormalised image features, [b, projection_dim].
    pub fn image_features(&self, pixels: &Tensor) -> Result<Tensor> {
        linear_forward(&self.visual_projection, &self.vision_pooled(pixels)?)
    }
}

/// Row-wise L2 normalisation of a [b, d] tensor in f32.
pub fn l2_normalize(t: &Tensor) -> Result<Tensor> {
    let t = t.to_dtype(DType::F32)?;
    let n = t.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?;
    t.broadcast_div(&n)
}
