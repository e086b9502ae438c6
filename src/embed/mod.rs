//! CLIP embedding: model loading, tokenizer, image preprocessing, batching queue.
//!
//! [`Embedder`] loads any CLIP in Hugging Face layout (`config.json`,
//! `model.safetensors`, `tokenizer.json`, `preprocessor_config.json`) from a
//! folder or a hub id, and turns texts and encoded images into L2-normalised
//! vectors. [`EmbedQueue`] batches concurrent requests into single forward passes.
//! See `docs/embedding.md`.

pub mod bundled;
pub mod clip;
mod error;
pub mod model;
pub mod preprocess;
pub mod queue;
pub mod tokenizer;

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use error::candle_message;
pub use error::EmbedError;
pub use preprocess::{ImageLimits, PreprocessConfig, Preprocessor};
pub use queue::{BatchConfig, EmbedQueue, QueueStats};
pub use tokenizer::ClipTokenizer;

use clip::{ClipConfig, ClipModel};

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceKind {
    #[default]
    Cpu,
    /// CUDA device ordinal; needs the crate's `cuda` feature.
    Cuda(usize),
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceKind::Cpu => write!(f, "cpu"),
            DeviceKind::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl FromStr for DeviceKind {
    type Err = EmbedError;
    /// `cpu`, `cuda` or `cuda:N`.
    fn from_str(s: &str) -> Result<Self, EmbedError> {
        let bad = || EmbedError::Device {
            device: s.to_string(),
            reason: "expected cpu, cuda or cuda:N".into(),
        };
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(DeviceKind::Cpu),
            "cuda" | "gpu" => Ok(DeviceKind::Cuda(0)),
            other => match other.strip_prefix("cuda:") {
                Some(n) => n.parse().map(DeviceKind::Cuda).map_err(|_| bad()),
                None => Err(bad()),
            },
        }
    }
}

impl DeviceKind {
    fn device(self) -> Result<Device, EmbedError> {
        match self {
            DeviceKind::Cpu => Ok(Device::Cpu),
            DeviceKind::Cuda(i) => {
                if !cfg!(feature = "cuda") {
                    return Err(EmbedError::Device {
                        device: self.to_string(),
                        reason: "this build has no CUDA support (rebuild with `--features cuda`)"
                            .into(),
                    });
                }
                Device::new_cuda(i).map_err(|e| EmbedError::Device {
                    device: self.to_string(),
                    reason: e.to_string(),
                })
            }
        }
    }
}

/// What was loaded, for logs, the `Embeddings` API and collection records.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// The spec it was loaded from (folder path or hub id).
    pub model_id: String,
    /// Embedding dimension (`projection_dim`).
    pub dimension: usize,
    /// Number of parameters in `model.safetensors`.
    pub parameters: u64,
    pub device: DeviceKind,
    /// Time to resolve, hash and load the model.
    pub load_time: Duration,
    /// Stable hex hash of the model files (see [`model::fingerprint`]).
    pub fingerprint: String,
    /// Side of the square input image.
    pub image_size: usize,
    /// Maximum tokens per text (longer texts are truncated).
    pub context_length: usize,
}

/// A loaded CLIP model with its tokenizer and preprocessor. `Send + Sync`:
/// share it behind an `Arc`; calls may run concurrently.
pub struct Embedder {
    model: ClipModel,
    tokenizer: ClipTokenizer,
    preprocessor: Preprocessor,
    config: ClipConfig,
    info: ModelInfo,
}

impl Embedder {
    /// Loads a model from a folder path or a hub id (`openai/clip-vit-base-patch32[@rev]`).
    pub fn load(
        spec: &str,
        device: DeviceKind,
        limits: ImageLimits,
    ) -> Result<Embedder, EmbedError> {
        let start = Instant::now();
        let files = model::resolve(spec)?;
        let config = model::parse_config(&files.config)?;
        let dev = device.device()?;
        // SAFETY: read-only memory map of the weights file, dropped right after counting.
        let st = unsafe { candle_core::safetensors::MmapedSafetensors::new(&files.weights) }
            .map_err(|e| EmbedError::model_file(&files.weights, candle_message(&e)))?;
        let parameters: u64 = st
            .tensors()
            .iter()
            .map(|(_, t)| t.shape().iter().product::<usize>() as u64)
            .sum();
        drop(st);
        // SAFETY: the weights file is memory-mapped read-only; it must not be
        // modified while loading (tensors are copied out as f32).
        let vb =
            unsafe { VarBuilder::from_mmaped_safetensors(&[&files.weights], DType::F32, &dev) }
                .map_err(|e| EmbedError::model_file(&files.weights, candle_message(&e)))?;
        let clip = ClipModel::new(vb, &config).map_err(|e| {
            EmbedError::model_file(
                &files.weights,
                format!(
                    "does not match {}: {}",
                    files.config.display(),
                    candle_message(&e)
                ),
            )
        })?;
        let tokenizer =
            ClipTokenizer::from_file(&files.tokenizer, config.text.max_position_embeddings)?;
        let pcfg =
            PreprocessConfig::from_file(&files.preprocessor, config.vision.image_size as u32)?;
        if pcfg.crop
            != (
                config.vision.image_size as u32,
                config.vision.image_size as u32,
            )
        {
            return Err(EmbedError::model_file(
                &files.preprocessor,
                format!(
                    "crop_size {:?} differs from the model's image_size {}",
                    pcfg.crop, config.vision.image_size
                ),
            ));
        }
        let fingerprint = model::fingerprint(&files)?;
        let info = ModelInfo {
            model_id: files.id.clone(),
            dimension: config.projection_dim,
            parameters,
            device,
            load_time: start.elapsed(),
            fingerprint,
            image_size: config.vision.image_size,
            context_length: config.text.max_position_embeddings,
        };
        Ok(Embedder {
            model: clip,
            tokenizer,
            preprocessor: Preprocessor::new(pcfg, limits),
            config,
            info,
        })
    }

    /// Renames the model in logs and collection records (the bundled demo
    /// model is loaded from an unpacked folder whose path means nothing).
    pub fn set_model_id(&mut self, id: &str) {
        self.info.model_id = id.to_string();
    }

    /// Builds an embedder from parts (random-weight models in benchmarks and tests).
    pub fn from_parts(
        model: ClipModel,
        config: ClipConfig,
        tokenizer: ClipTokenizer,
        preprocessor: Preprocessor,
        model_id: &str,
    ) -> Embedder {
        let info = ModelInfo {
            model_id: model_id.to_string(),
            dimension: config.projection_dim,
            parameters: 0,
            device: if model.device().is_cuda() {
                DeviceKind::Cuda(0)
            } else {
                DeviceKind::Cpu
            },
            load_time: Duration::ZERO,
            fingerprint: String::new(),
            image_size: config.vision.image_size,
            context_length: config.text.max_position_embeddings,
        };
        Embedder {
            model,
            tokenizer,
            preprocessor,
            config,
            info,
        }
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn config(&self) -> &ClipConfig {
        &self.config
    }

    pub fn tokenizer(&self) -> &ClipTokenizer {
        &self.tokenizer
    }

    pub fn preprocessor(&self) -> &Preprocessor {
        &self.preprocessor
    }

    /// L2-normalised text embeddings, one per input, in order; one forward pass.
    pub fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let ids = self.tokenizer.encode(texts)?;
        self.embed_token_ids(&ids, true)
    }

    /// Decodes and preprocesses in parallel, then one forward pass; L2-normalised.
    /// Fails with the error of the first bad image (its index in `images`).
    pub fn embed_images(&self, images: &[&[u8]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let pixels = self.preprocessor.preprocess_many(images)?;
        self.embed_pixel_values(&pixels, true)
    }

    /// Text embeddings from token ids (rows may differ in length; they are padded
    /// with `<|endoftext|>` to the longest). `normalize = false` gives HF's
    /// `get_text_features` output.
    pub fn embed_token_ids(
        &self,
        ids: &[Vec<u32>],
        normalize: bool,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let max = self.config.text.max_position_embeddings;
        let longest = ids.iter().map(Vec::len).max().unwrap_or(0);
        if longest == 0 || longest > max {
            return Err(EmbedError::Inference(format!(
                "token rows must have 1..={max} ids, got {longest}"
            )));
        }
        let pad = self.tokenizer.pad_id();
        let rows: Vec<Vec<u32>> = ids
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.resize(longest, pad);
                r
            })
            .collect();
        let f = self.model.text_features(&rows)?;
        to_rows(f, normalize)
    }

    /// Image embeddings from preprocessed CHW pixel values (each `3 * size * size`).
    /// `normalize = false` gives HF's `get_image_features` output.
    pub fn embed_pixel_values(
        &self,
        pixels: &[Vec<f32>],
        normalize: bool,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        if pixels.is_empty() {
            return Ok(Vec::new());
        }
        let s = self.config.vision.image_size;
        let per = 3 * s * s;
        if let Some(bad) = pixels.iter().position(|p| p.len() != per) {
            return Err(EmbedError::Inference(format!(
                "pixel values {bad} have {} values, expected {per}",
                pixels[bad].len()
            )));
        }
        let flat: Vec<f32> = pixels.iter().flatten().copied().collect();
        let t = Tensor::from_vec(flat, (pixels.len(), 3, s, s), self.model.device())?;
        let f = self.model.image_features(&t)?;
        to_rows(f, normalize)
    }

    /// Direct access to the model (pooled tower outputs for exactness tests).
    pub fn model(&self) -> &ClipModel {
        &self.model
    }
}

fn to_rows(t: Tensor, normalize: bool) -> Result<Vec<Vec<f32>>, EmbedError> {
    let t = if normalize {
        clip::l2_normalize(&t)?
    } else {
        t.to_dtype(DType::F32)?
    };
    Ok(t.to_device(&Device::Cpu)?.to_vec2::<f32>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_kind_parses() {
        assert_eq!("cpu".parse::<DeviceKind>().unwrap(), DeviceKind::Cpu);
        assert_eq!("cuda".parse::<DeviceKind>().unwrap(), DeviceKind::Cuda(0));
        assert_eq!("cuda:1".parse::<DeviceKind>().unwrap(), DeviceKind::Cuda(1));
        assert!("tpu".parse::<DeviceKind>().is_err());
    }

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn embedder_is_send_sync() {
        assert_send_sync::<Embedder>();
        assert_send_sync::<EmbedQueue>();
    }
}
