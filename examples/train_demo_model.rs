//! Trains clipdb's demo CLIP model on synthetic captioned images.
//!
//! ```text
//! cargo run --release --example train_demo_model -- --out models/demo [--seed N] [--steps N]
//! ```
//!
//! The model is `src/embed/clip.rs` itself (HF `CLIPModel` layout), built from
//! a `VarBuilder` over a `VarMap` with the differentiable kernels, trained with
//! AdamW on a symmetric multi-positive InfoNCE loss plus an attribute-prototype
//! regression (see `Prototypes`). Images come from `clipdb::demo::synth`,
//! drawn half of the time by its own renderer and half by
//! `clipdb::demo::vector` (tiny-skia), and go through the server's own preprocessing (`Preprocessor::resize_crop` and
//! `normalize`, or a JPEG decode first); captions through the real CLIP
//! tokenizer. Everything random comes from `clipdb::demo::Rng`, so a seed
//! gives the same model (see `docs/demo-model.md`).
//!
//! Output (HF layout, loads with `Embedder::load`): `config.json`,
//! `model.safetensors` (f16), `tokenizer.json`, `preprocessor_config.json`,
//! and `training.json` (arguments, loss curve, validation and final recall).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Init, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use clap::Parser;
use rayon::prelude::*;
use serde_json::json;

use clipdb::demo::eval::{self, HeldOut};
use clipdb::demo::synth::{
    jpeg_round_trip, Caption, ObjectQuery, Query, RenderOptions, Scene, SceneOptions,
};
use clipdb::demo::{vector, Rng};
use clipdb::embed::clip::{
    l2_normalize, Activation, ClipConfig, ClipModel, TextConfig, TowerConfig, VisionConfig,
};
use clipdb::embed::{
    ClipTokenizer, DeviceKind, Embedder, ImageLimits, PreprocessConfig, Preprocessor,
};

/// Validation stream watched during training (the final report and the test
/// use `eval::HELDOUT_SEED`, which nothing is tuned on).
const VALIDATION_SEED: u64 = 0x0000_7A11_DA7E_0001;
const EOS: u32 = 49407;

#[derive(Parser, Debug, Clone)]
#[command(about = "Train clipdb's demo CLIP model on synthetic captioned images")]
struct Args {
    /// Output folder (created; existing model files are overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Seed of the initialisation and of the training data stream.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Optimisation steps.
    #[arg(long, default_value_t = 4000)]
    steps: usize,
    /// Image-caption pairs per step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Scenes per group of near-duplicates in a batch (1: independent scenes).
    #[arg(long, default_value_t = 4)]
    group: usize,
    /// Share of single-attribute captions after the colourless phase.
    #[arg(long, default_value_t = 0.5)]
    single_attribute: f32,
    /// Fraction of the steps at the start that use only single-attribute,
    /// colourless captions.
    #[arg(long, default_value_t = 0.15)]
    curriculum: f32,
    /// Peak learning rate (linear warm-up, cosine decay to 5 %).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 0.05)]
    weight_decay: f64,
    /// Validate every N steps (0: never).
    #[arg(long, default_value_t = 500)]
    eval_every: usize,
    /// Validation images.
    #[arg(long, default_value_t = 500)]
    val_images: usize,
    /// Held-out images of the final report (0: skip it).
    #[arg(long, default_value_t = 1000)]
    test_images: usize,
    /// CLIP tokenizer.json (the real one from the fixtures).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/clip/tokenizer.json"))]
    tokenizer: PathBuf,
    // Architecture (written to config.json).
    /// Input side in pixels. 96 px in 12 px patches (8x8 tokens) keeps
    /// the points of a small star that 64 px in 16 px patches blurred into
    /// a blob (docs/demo-model.md).
    #[arg(long, default_value_t = 96)]
    image_size: usize,
    #[arg(long, default_value_t = 12)]
    patch_size: usize,
    #[arg(long, default_value_t = 128)]
    vision_width: usize,
    #[arg(long, default_value_t = 3)]
    vision_layers: usize,
    #[arg(long, default_value_t = 128)]
    text_width: usize,
    #[arg(long, default_value_t = 2)]
    text_layers: usize,
    #[arg(long, default_value_t = 4)]
    heads: usize,
    #[arg(long, default_value_t = 128)]
    projection_dim: usize,
    /// Text context length (max_position_embeddings).
    #[arg(long, default_value_t = 32)]
    context: usize,
    /// Threads of the model's tensor kernels (CANDLE_NUM_THREADS /
    /// RAYON_NUM_THREADS when those are not set). One more thread renders the
    /// next batch meanwhile. The result does not depend on it.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Weight of the attribute-prototype loss (see `Prototypes`; 0: off).
    #[arg(long, default_value_t = 1.0)]
    proto_weight: f64,
    /// Weight of shape, colour and their pair in the prototype targets
    /// (the others weigh 1): what a picture shows first.
    #[arg(long, default_value_t = 2.0)]
    proto_shape_colour: f32,
    /// Weight of the contrastive InfoNCE loss (0: off).
    #[arg(long, default_value_t = 1.0)]
    nce_weight: f64,
    /// Share of images drawn by the vector renderer (`clipdb::demo::vector`)
    /// instead of the signed-distance one.
    #[arg(long, default_value_t = 0.5)]
    vector_share: f32,
    /// Stop after timing this many steps (for sizing runs; writes nothing).
    #[arg(long)]
    time_only: Option<usize>,
}

fn config(a: &Args) -> ClipConfig {
    let tower = |w: usize, layers: usize| TowerConfig {
        hidden_size: w,
        intermediate_size: 4 * w,
        num_hidden_layers: layers,
        num_attention_heads: a.heads,
        layer_norm_eps: 1e-5,
        activation: Activation::QuickGelu,
    };
    ClipConfig {
        text: TextConfig {
            tower: tower(a.text_width, a.text_layers),
            vocab_size: 49408,
            max_position_embeddings: a.context,
            eos_token_id: EOS,
        },
        vision: VisionConfig {
            tower: tower(a.vision_width, a.vision_layers),
            image_size: a.image_size,
            patch_size: a.patch_size,
            num_channels: 3,
        },
        projection_dim: a.projection_dim,
    }
}

/// HF `CLIPConfig` JSON for `c`.
fn config_json(c: &ClipConfig) -> serde_json::Value {
    let t = &c.text.tower;
    let v = &c.vision.tower;
    json!({
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": c.projection_dim,
        "logit_scale_init_value": 2.6592,
        "initializer_factor": 1.0,
        "torch_dtype": "float16",
        "text_config": {
            "model_type": "clip_text_model",
            "vocab_size": c.text.vocab_size,
            "hidden_size": t.hidden_size,
            "intermediate_size": t.intermediate_size,
            "num_hidden_layers": t.num_hidden_layers,
            "num_attention_heads": t.num_attention_heads,
            "max_position_embeddings": c.text.max_position_embeddings,
            "hidden_act": "quick_gelu",
            "layer_norm_eps": t.layer_norm_eps,
            "projection_dim": c.projection_dim,
            "bos_token_id": 49406,
            "eos_token_id": c.text.eos_token_id,
            "pad_token_id": 1,
            "attention_dropout": 0.0,
            "initializer_range": 0.02,
            "initializer_factor": 1.0
        },
        "vision_config": {
            "model_type": "clip_vision_model",
            "hidden_size": v.hidden_size,
            "intermediate_size": v.intermediate_size,
            "num_hidden_layers": v.num_hidden_layers,
            "num_attention_heads": v.num_attention_heads,
            "image_size": c.vision.image_size,
            "patch_size": c.vision.patch_size,
            "num_channels": 3,
            "hidden_act": "quick_gelu",
            "layer_norm_eps": v.layer_norm_eps,
            "projection_dim": c.projection_dim,
            "attention_dropout": 0.0,
            "initializer_range": 0.02,
            "initializer_factor": 1.0
        }
    })
}

#[allow(clippy::excessive_precision)]
fn preprocessor_json(size: usize) -> serde_json::Value {
    json!({
        "crop_size": {"height": size, "width": size},
        "do_center_crop": true,
        "do_convert_rgb": true,
        "do_normalize": true,
        "do_rescale": true,
        "do_resize": true,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "image_processor_type": "CLIPImageProcessor",
        "resample": 3,
        "rescale_factor": 0.00392156862745098,
        "size": {"shortest_edge": size}
    })
}

/// Deterministic initialisation of every variable (candle's CPU RNG cannot be
/// seeded). Linear weights ~ N(0, 1/fan_in) (residual outputs scaled by
/// 1/sqrt(2 layers)), embeddings N(0, 0.02^2), positions N(0, 0.01^2), layer
/// norms 1/0, biases 0, logit scale ln(1/0.07).
fn init_vars(varmap: &VarMap, c: &ClipConfig, seed: u64) -> candle_core::Result<()> {
    let data = varmap.data().lock().expect("varmap lock");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = Rng::new(seed ^ 0x1A17_1A17);
    for name in names {
        let var = &data[name];
        let dims = var.as_tensor().dims().to_vec();
        let n: usize = dims.iter().product();
        let layers = if name.starts_with("text_model") {
            c.text.tower.num_hidden_layers
        } else {
            c.vision.tower.num_hidden_layers
        };
        let is_norm =
            name.contains("layer_norm") || name.contains("layrnorm") || name.contains("layernorm");
        let std = if name == "logit_scale" {
            var.set(&Tensor::new((1.0f32 / 0.07).ln(), &Device::Cpu)?.reshape(dims.as_slice())?)?;
            continue;
        } else if is_norm {
            let v = if name.ends_with("weight") { 1.0 } else { 0.0 };
            var.set(&Tensor::full(v as f32, dims.as_slice(), &Device::Cpu)?)?;
            continue;
        } else if name.ends_with("bias") {
            var.set(&Tensor::zeros(dims.as_slice(), DType::F32, &Device::Cpu)?)?;
            continue;
        } else if name.contains("token_embedding") {
            0.02
        } else if name.contains("position_embedding") {
            // Vision: comparable to the patch features (std ~1), or the
            // layout of the patches is nearly invisible at first and shape
            // is learned very slowly. Text: comparable to the tokens.
            if name.starts_with("vision_model") {
                std::env::var("POS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.5)
            } else {
                0.02
            }
        } else if name.ends_with("class_embedding") {
            (dims[0] as f64).powf(-0.5)
        } else if name.contains("patch_embedding") {
            (dims[1..].iter().product::<usize>() as f64).powf(-0.5)
        } else {
            // Linear [out, in].
            let fan_in = dims[dims.len() - 1] as f64;
            let residual = name.ends_with("out_proj.weight") || name.ends_with("fc2.weight");
            fan_in.powf(-0.5)
                * if residual {
                    (2.0 * layers as f64).powf(-0.5)
                } else {
                    1.0
                }
        };
        let values: Vec<f32> = (0..n).map(|_| rng.normal() * std as f32).collect();
        var.set(&Tensor::from_vec(values, dims.as_slice(), &Device::Cpu)?)?;
    }
    Ok(())
}

/// The token ids the captions use, numbered compactly. Only these rows of the
/// 49408-row embedding table ever get a gradient, so training holds just them
/// ([`Vocab::len`] rows) and [`save_weights`] puts them back into a full table
/// whose other rows keep their initial values: the same result as training the
/// full table (Adam leaves rows with zero gradient exactly unchanged; the
/// embeddings have no weight decay), at a fraction of the memory traffic.
struct Vocab {
    /// Compact id -> CLIP id; 0 is `<|startoftext|>`, 1 is `<|endoftext|>`.
    full: Vec<u32>,
    compact: HashMap<u32, u32>,
}

impl Vocab {
    /// Every token of 50 000 sampled captions (all templates and synonyms).
    fn collect(tokenizer: &ClipTokenizer, seed: u64) -> Result<Vocab, Box<dyn std::error::Error>> {
        let mut texts: Vec<String> = (0..50_000u64)
            .into_par_iter()
            .map(|i| {
                let mut rng = Rng::for_index(seed ^ 0x00B0_CAB5, i);
                let scene = Scene::random(&mut rng, &SceneOptions::default());
                scene.caption(&mut rng).text
            })
            .collect();
        texts.push("a red circle.".into());
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut ids: Vec<u32> = tokenizer.encode(&refs)?.into_iter().flatten().collect();
        ids.sort_unstable();
        ids.dedup();
        let mut full = vec![49406, EOS];
        full.extend(ids.into_iter().filter(|&t| t != 49406 && t != EOS));
        let compact = full
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, i as u32))
            .collect();
        Ok(Vocab { full, compact })
    }

    fn len(&self) -> usize {
        self.full.len()
    }

    /// CLIP ids to compact ids, padded with `<|endoftext|>` to the longest row.
    fn remap(&self, rows: &[Vec<u32>]) -> Result<Vec<Vec<u32>>, String> {
        let longest = rows.iter().map(Vec::len).max().unwrap_or(1);
        rows.iter()
            .map(|r| {
                let mut out: Vec<u32> =
                    r.iter()
                        .map(|t| {
                            self.compact.get(t).copied().ok_or_else(|| {
                                format!("token {t} is not in the collected vocabulary")
                            })
                        })
                        .collect::<Result<_, _>>()?;
                out.resize(longest, 1);
                Ok(out)
            })
            .collect()
    }
}

/// The target geometry of the embedding space: a fixed random unit vector per
/// attribute value (shape, colour, size, position, background) and per pair of
/// attribute values of one object (shape+colour, shape+position, ...), so that
/// an object's code binds its attributes together. A scene's target is the sum
/// of its objects' codes (plus its background); a caption's target is the sum
/// of the codes of what it names. The cosine of two targets then grows with the
/// number of named attributes an image has, on the same object: exactly the
/// ranking retrieval wants. Regressing both towers onto these targets gives
/// every image a dense, direct signal for every attribute, which the
/// contrastive loss alone (false negatives, tiny batches on 2 cores) learns
/// far more slowly; the InfoNCE term keeps the towers aligned with each other.
struct Prototypes {
    dim: usize,
    /// Weight of shape, colour and the shape+colour pair.
    shape_colour: f32,
    /// Per attribute kind, one vector per value, flattened.
    single: [Vec<f32>; 4],
    /// Per pair of attribute kinds (i < j), one vector per pair of values.
    pairs: Vec<((usize, usize), Vec<f32>)>,
    background: Vec<f32>,
}

/// Number of values of shape, colour, size, position.
const KINDS: [usize; 4] = [6, 10, 2, 9];

impl Prototypes {
    // Index loops: the pair order fixes the order of the random draws.
    #[allow(clippy::needless_range_loop)]
    fn new(dim: usize, shape_colour: f32, seed: u64) -> Prototypes {
        let mut rng = Rng::new(seed ^ 0x9E07_0700);
        let mut unit_vectors = |n: usize| -> Vec<f32> {
            let mut v = Vec::with_capacity(n * dim);
            for _ in 0..n {
                let row: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
                let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.extend(row.iter().map(|x| x / norm));
            }
            v
        };
        let single = KINDS.map(&mut unit_vectors);
        let mut pairs = Vec::new();
        for i in 0..4 {
            for j in i + 1..4 {
                pairs.push(((i, j), unit_vectors(KINDS[i] * KINDS[j])));
            }
        }
        let background = unit_vectors(3);
        Prototypes {
            dim,
            shape_colour,
            single,
            pairs,
            background,
        }
    }

    fn add(&self, out: &mut [f32], table: &[f32], index: usize, weight: f32) {
        let row = &table[index * self.dim..(index + 1) * self.dim];
        for (o, r) in out.iter_mut().zip(row) {
            *o += weight * r;
        }
    }

    fn add_object(&self, out: &mut [f32], q: &ObjectQuery) {
        let values = [
            q.shape.map(|v| v as usize),
            q.colour.map(|v| v as usize),
            q.size.map(|v| v as usize),
            q.position.map(|v| v as usize),
        ];
        // Kinds 0 and 1 are shape and colour.
        let weight = |first_kinds: bool| if first_kinds { self.shape_colour } else { 1.0 };
        for (k, v) in values.iter().enumerate() {
            if let Some(v) = v {
                self.add(out, &self.single[k], *v, weight(k < 2));
            }
        }
        for ((i, j), table) in &self.pairs {
            if let (Some(a), Some(b)) = (values[*i], values[*j]) {
                self.add(out, table, a * KINDS[*j] + b, weight((*i, *j) == (0, 1)));
            }
        }
    }

    /// Target of an image of `scene` (not normalised).
    fn scene(&self, scene: &Scene) -> Vec<f32> {
        let mut out = vec![0f32; self.dim];
        for o in &scene.objects {
            self.add_object(&mut out, &ObjectQuery::all(o));
        }
        self.add(
            &mut out,
            &self.background,
            scene.background.kind as usize,
            0.5,
        );
        out
    }

    /// Target of a caption expressing `query` (not normalised).
    fn caption(&self, query: &Query) -> Vec<f32> {
        let mut out = vec![0f32; self.dim];
        for q in &query.objects {
            self.add_object(&mut out, q);
        }
        if let Some(k) = query.background {
            self.add(&mut out, &self.background, k as usize, 0.5);
        }
        out
    }
}

/// One training pair: preprocessed pixels and a caption of the same scene.
struct Sample {
    pixels: Vec<f32>,
    caption: Caption,
    scene: Scene,
}

/// The scene of item `k` of step `step`: items come in groups of `group`; the
/// first of a group is a random scene, the others variants of it that differ
/// in one attribute (hard negatives for each other).
fn batch_scene(seed: u64, step: usize, k: usize, batch: usize, group: usize) -> Scene {
    let opts = SceneOptions::default();
    let groups = batch.div_ceil(group);
    let g = (step * groups + k / group) as u64;
    let base = Scene::nth(seed, g, &opts);
    if k.is_multiple_of(group) {
        base
    } else {
        let mut rng = Rng::for_index(seed ^ 0x0000_7A41_A417, (step * batch + k) as u64);
        base.variant(&mut rng, &opts)
    }
}

fn make_sample(
    scene: Scene,
    seed: u64,
    index: u64,
    single_attribute: (f32, bool),
    pre: &Preprocessor,
    image_size: u32,
    vector_share: f32,
) -> Sample {
    let mut rng = Rng::for_index(seed ^ 0x5A4D_71E5, index);
    let (share, colourless) = single_attribute;
    let mut caption = if rng.chance(share) {
        // Curriculum: a caption naming one attribute of one object ("a star",
        // "a small shape", "a shape in the top left corner", "a red shape"),
        // so that each attribute gets its own clear signal. Colour is left
        // out at first: it is learned almost at once and, learned first,
        // explains the other attributes away (feature suppression).
        let o = &scene.objects[rng.below(scene.objects.len())];
        let mut q = ObjectQuery::default();
        match rng.below(if colourless { 4 } else { 5 }) {
            0 | 1 => q.shape = Some(o.shape),
            2 => q.size = Some(o.size),
            3 => q.position = Some(o.position),
            _ => q.colour = Some(o.colour),
        }
        Caption {
            text: q.phrase(&mut rng),
            query: Query {
                objects: vec![q],
                relation: None,
                background: None,
            },
        }
    } else {
        scene.caption(&mut rng)
    };
    if rng.chance(0.1) {
        caption.text.push('.');
    }
    // Drawn at the model's size (no resampling) or larger (up to 5x, as
    // users' images are), downscaled by the server's Pillow-exact bicubic
    // resize.
    let size = if rng.chance(0.3) {
        image_size
    } else {
        rng.int_in(image_size as i64 + 1, 5 * image_size as i64) as u32
    };
    // Two renderers with different edges, proportions and strokes, so
    // that only the shape itself explains the captions (issue #20).
    let mut img = if rng.chance(vector_share) {
        vector::render(&scene, size, &mut rng)
    } else {
        scene.render_with(size, &RenderOptions::random(&mut rng))
    };
    photometric(&mut img, &mut rng);
    if rng.chance(0.3) {
        img = jpeg_round_trip(&img, rng.int_in(30, 95) as u8);
    }
    let pixels = pre.normalize(&pre.resize_crop(&img));
    Sample {
        pixels,
        caption,
        scene,
    }
}

/// Photometric augmentation that keeps the content: a slight blur (a
/// scanned or resized drawing) or sensor-like noise, each sometimes.
fn photometric(img: &mut image::RgbImage, rng: &mut Rng) {
    if rng.chance(0.15) {
        let sigma = rng.range(0.3, 0.9) * (img.width() as f32 / 64.0).max(1.0);
        *img = image::imageops::blur(img, sigma);
    }
    if rng.chance(0.15) {
        let level = rng.range(2.0, 10.0);
        for px in img.pixels_mut() {
            for c in px.0.iter_mut() {
                *c = (*c as f32 + rng.normal() * level).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// One step's inputs.
struct Batch {
    pixels: Vec<f32>,
    /// Compact token ids, padded.
    ids: Vec<Vec<u32>>,
    /// `mask[i * b + j]`: caption `i` is true of image `j` (its query matches
    /// scene `j`); the diagonal always is.
    mask: Vec<f32>,
    /// Prototype targets of the images and of the captions, `[b, dim]`.
    image_targets: Vec<f32>,
    text_targets: Vec<f32>,
    seconds: f64,
}

fn make_batch(
    args: &Args,
    step: usize,
    pre: &Preprocessor,
    tokenizer: &ClipTokenizer,
    vocab: &Vocab,
    protos: &Prototypes,
) -> Result<Batch, String> {
    let t = Instant::now();
    let b = args.batch;
    let samples: Vec<Sample> = (0..b)
        .map(|k| {
            let scene = batch_scene(args.seed, step, k, b, args.group);
            make_sample(
                scene,
                args.seed,
                (step * b + k) as u64,
                single_attribute_share(args, step),
                pre,
                args.image_size as u32,
                args.vector_share,
            )
        })
        .collect();
    let texts: Vec<&str> = samples.iter().map(|s| s.caption.text.as_str()).collect();
    let ids = vocab.remap(&tokenizer.encode(&texts).map_err(|e| e.to_string())?)?;
    let pixels: Vec<f32> = samples
        .iter()
        .flat_map(|x| x.pixels.iter().copied())
        .collect();
    let mut mask = vec![0f32; b * b];
    for i in 0..b {
        for j in 0..b {
            if i == j || samples[i].caption.query.matches(&samples[j].scene) {
                mask[i * b + j] = 1.0;
            }
        }
    }
    let image_targets = samples
        .iter()
        .flat_map(|s| protos.scene(&s.scene))
        .collect();
    let text_targets = samples
        .iter()
        .flat_map(|s| protos.caption(&s.caption.query))
        .collect();
    Ok(Batch {
        pixels,
        ids,
        mask,
        image_targets,
        text_targets,
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// Share of single-attribute captions and whether they leave colour out:
/// only colourless ones for the first `--curriculum` of the steps, then
/// `--single-attribute`, falling linearly to a fifth of it at the end.
fn single_attribute_share(args: &Args, step: usize) -> (f32, bool) {
    let t = step as f32 / args.steps.max(1) as f32;
    if t < args.curriculum {
        (1.0, true)
    } else {
        (args.single_attribute * (1.0 - 0.8 * t), false)
    }
}

fn lr_at(step: usize, steps: usize, peak: f64) -> f64 {
    let warm = (steps / 10).clamp(1, 200);
    if step < warm {
        return peak * (step + 1) as f64 / warm as f64;
    }
    let t = (step - warm) as f64 / (steps - warm).max(1) as f64;
    let floor = 0.05;
    peak * (floor + (1.0 - floor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Keeps freed memory in the process: candle allocates a fresh buffer for
/// every tensor, and glibc's default of returning large blocks to the kernel
/// made page faults a third of the training time.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_TOP_PAD: i32 = -2;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: glibc's mallopt, called before any other thread exists.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, i32::MAX);
        mallopt(M_TOP_PAD, 64 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

fn main() -> AnyResult<()> {
    let args = Args::parse();
    keep_freed_memory();
    // candle's elementwise kernels spin-wait for their worker threads, which
    // is very slow on a shared machine; one thread is the robust default.
    for var in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, args.threads.to_string());
        }
    }
    let started = Instant::now();
    let dev = Device::Cpu;
    let cfg = config(&args);
    let threads = candle_core::utils::get_num_threads();
    println!(
        "demo model: image {}px patch {}, vision {}x{}, text {}x{} ctx {}, proj {}; batch {}, steps {}, seed {}, {threads} threads",
        args.image_size, args.patch_size, args.vision_width, args.vision_layers, args.text_width,
        args.text_layers, args.context, args.projection_dim, args.batch, args.steps, args.seed
    );

    let tokenizer = ClipTokenizer::from_file(&args.tokenizer, args.context)?;
    let vocab = Vocab::collect(&tokenizer, args.seed)?;
    // Training config: the compact embedding table (see `Vocab`).
    let mut train_cfg = cfg.clone();
    train_cfg.text.vocab_size = vocab.len();
    train_cfg.text.eos_token_id = 1;
    println!("caption vocabulary: {} tokens", vocab.len());
    let pcfg = PreprocessConfig::clip_default(args.image_size as u32);
    let pre = Preprocessor::new(pcfg.clone(), ImageLimits::default());

    // The model: clip.rs with differentiable kernels over a VarMap (HF names).
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let model = ClipModel::with_kernels(
        vb.clone(),
        &train_cfg,
        &clipdb::demo::autograd::DIFFERENTIABLE,
    )?;
    let logit_scale = vb.get_with_hints((), "logit_scale", Init::Const(0.0))?;
    init_vars(&varmap, &train_cfg, args.seed)?;
    let trained: u64 = varmap
        .all_vars()
        .iter()
        .map(|v| v.elem_count() as u64)
        .sum();
    let params =
        trained + ((cfg.text.vocab_size - vocab.len()) * cfg.text.tower.hidden_size) as u64;
    println!("parameters: {params} ({trained} trained)");

    // Same weights (shared storage), fused kernels: for validation.
    let eval_model = ClipModel::new(
        VarBuilder::from_varmap(&varmap, DType::F32, &dev),
        &train_cfg,
    )?;
    let validate = |set: &HeldOut| {
        eval::evaluate_with(
            set,
            |imgs| -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error>> {
                let px = pre.preprocess_many(imgs)?;
                let n = px.len();
                let s = args.image_size;
                let t = Tensor::from_vec(px.concat(), (n, 3, s, s), &dev)?;
                Ok(l2_normalize(&eval_model.image_features(&t)?)?.to_vec2::<f32>()?)
            },
            |texts| {
                let ids = vocab.remap(&tokenizer.encode(texts)?)?;
                Ok(l2_normalize(&eval_model.text_features(&ids)?)?.to_vec2::<f32>()?)
            },
        )
    };

    // Weight decay on matrices only (not on norms, biases, embeddings, the scale).
    let (mut decay, mut no_decay): (Vec<Var>, Vec<Var>) = (Vec::new(), Vec::new());
    {
        let data = varmap.data().lock().expect("varmap lock");
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        for name in names {
            let v = data[name].clone();
            let matrix = v.as_tensor().rank() >= 2 && !name.contains("embedding");
            if matrix {
                decay.push(v);
            } else {
                no_decay.push(v);
            }
        }
    }
    let adam = |wd: f64| ParamsAdamW {
        lr: args.lr,
        beta1: 0.9,
        beta2: 0.98,
        eps: 1e-6,
        weight_decay: wd,
    };
    let mut opt_decay = AdamW::new(decay, adam(args.weight_decay))?;
    let mut opt_plain = AdamW::new(no_decay, adam(0.0))?;
    let max_scale = 100f32.ln();

    let val = if args.eval_every > 0 && args.val_images > 0 {
        Some(HeldOut::generate(VALIDATION_SEED, args.val_images))
    } else {
        None
    };

    let mut log = Vec::new();
    let mut val_log = Vec::new();
    let (mut avg_loss, mut avg_acc) = (0.0f64, 0.0f64);
    let mut t_data = 0.0f64;
    let mut t_wait = 0.0f64;
    let mut t_step = 0.0f64;
    let train_start = Instant::now();
    let steps = args.time_only.unwrap_or(args.steps).min(args.steps);
    let protos = Prototypes::new(args.projection_dim, args.proto_shape_colour, args.seed);
    // Batches are rendered one step ahead on another thread.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Batch, String>>(2);
    std::thread::scope(|scope| -> AnyResult<()> {
        let producer_args = args.clone();
        let (pre_p, tok_p, vocab_p, protos_p) = (&pre, &tokenizer, &vocab, &protos);
        scope.spawn(move || {
            for step in 0..steps {
                let batch = make_batch(&producer_args, step, pre_p, tok_p, vocab_p, protos_p);
                if tx.send(batch).is_err() {
                    break;
                }
            }
        });
        for step in 0..steps {
            let lr = lr_at(step, args.steps, args.lr);
            opt_decay.set_learning_rate(lr);
            opt_plain.set_learning_rate(lr);

            let t0 = Instant::now();
            let batch = rx.recv()??;
            let b = args.batch;
            let s = args.image_size;
            let pixels = Tensor::from_vec(batch.pixels, (b, 3, s, s), &dev)?;
            let ids = batch.ids;
            // Multi-positive targets: each row (caption) / column (image) spreads
            // its target evenly over the pairs that are true.
            let mask = Tensor::from_vec(batch.mask, (b, b), &dev)?;
            let t_rows = mask.broadcast_div(&mask.sum_keepdim(1)?)?;
            let t_cols = mask.broadcast_div(&mask.sum_keepdim(0)?)?;
            t_data += batch.seconds;
            t_wait += t0.elapsed().as_secs_f64();

            let t1 = Instant::now();
            let txt = l2_normalize(&model.text_features(&ids)?)?;
            let img = l2_normalize(&model.image_features(&pixels)?)?;
            let logits = txt.matmul(&img.t()?)?.broadcast_mul(&logit_scale.exp()?)?;
            let lt = (candle_nn::ops::log_softmax(&logits, D::Minus1)? * &t_rows)?
                .sum_all()?
                .neg()?;
            let li = (candle_nn::ops::log_softmax(&logits, 0)? * &t_cols)?
                .sum_all()?
                .neg()?;
            let nce = ((lt + li)? / (2.0 * b as f64))?;
            let dim = args.projection_dim;
            let ti = l2_normalize(&Tensor::from_vec(batch.image_targets, (b, dim), &dev)?)?;
            let tt = l2_normalize(&Tensor::from_vec(batch.text_targets, (b, dim), &dev)?)?;
            // 1 - cosine to the target, per tower, scaled to InfoNCE's magnitude.
            let proto = ((img.mul(&ti)?.sum_all()? + txt.mul(&tt)?.sum_all()?)?
                .affine(-10.0 / b as f64, 20.0))?;
            let loss = ((nce * args.nce_weight)? + (proto * args.proto_weight)?)?;
            let grads = loss.backward()?;
            opt_decay.step(&grads)?;
            opt_plain.step(&grads)?;
            // CLIP clamps the temperature at 100.
            let ls = logit_scale.to_scalar::<f32>()?;
            if ls > max_scale {
                let data = varmap.data().lock().expect("varmap lock");
                data["logit_scale"].set(&Tensor::new(max_scale, &dev)?)?;
            }
            t_step += t1.elapsed().as_secs_f64();

            // Text->image accuracy within the batch: is the best image a positive?
            let best = logits.argmax(D::Minus1)?.to_vec1::<u32>()?;
            let m = mask_rows(&t_rows)?;
            let acc = best
                .iter()
                .enumerate()
                .filter(|&(i, &j)| m[i][j as usize] > 0.0)
                .count() as f64
                / b as f64;
            let l = loss.to_scalar::<f32>()? as f64;
            avg_loss = if step == 0 {
                l
            } else {
                0.95 * avg_loss + 0.05 * l
            };
            avg_acc = if step == 0 {
                acc
            } else {
                0.95 * avg_acc + 0.05 * acc
            };
            if step % 25 == 0 || step + 1 == steps {
                let el = train_start.elapsed().as_secs_f64();
                println!(
                "step {step:5} loss {avg_loss:.4} acc {avg_acc:.3} lr {lr:.2e} scale {:.1} | {:.2} s/step (model {:.2}, waiting for data {:.2}; data {:.2} on its thread) | {:.0} s",
                ls.min(max_scale).exp(),
                el / (step + 1) as f64,
                t_step / (step + 1) as f64,
                t_wait / (step + 1) as f64,
                t_data / (step + 1) as f64,
                el
            );
                log.push(json!({"step": step, "loss": avg_loss, "batch_acc": avg_acc, "lr": lr, "elapsed_s": el}));
            }
            if let Some(val) = &val {
                if (step + 1) % args.eval_every == 0 && step + 1 < steps {
                    let t = Instant::now();
                    let r = validate(val)?;
                    println!(
                    "  validation @{}: single R@1 {:.3} R@5 {:.3} | pair R@1 {:.3} | img->img R@1 {:.3} ({:.1} s)",
                    step + 1,
                    r.single.r1,
                    r.single.r5,
                    r.pair.r1,
                    r.image_to_image.r1,
                    t.elapsed().as_secs_f64()
                );
                    val_log.push(
                        json!({"step": step + 1, "single_r1": r.single.r1, "single_r5": r.single.r5,
                    "pair_r1": r.pair.r1, "pair_r5": r.pair.r5, "image_r1": r.image_to_image.r1}),
                    );
                }
            }
        }
        drop(rx);
        Ok(())
    })?;
    let train_s = train_start.elapsed().as_secs_f64();
    println!("training: {steps} steps in {train_s:.0} s");
    if args.time_only.is_some() {
        return Ok(());
    }

    // Save in HF layout, f16.
    std::fs::create_dir_all(&args.out)?;
    save_weights(
        &varmap,
        &vocab,
        &cfg,
        args.seed,
        &args.out.join("model.safetensors"),
    )?;
    write_json(&args.out.join("config.json"), &config_json(&cfg))?;
    write_json(
        &args.out.join("preprocessor_config.json"),
        &preprocessor_json(args.image_size),
    )?;
    std::fs::copy(&args.tokenizer, args.out.join("tokenizer.json"))?;

    // Final report: reload exactly as the server does.
    let mut report = serde_json::Value::Null;
    if args.test_images > 0 {
        let t = Instant::now();
        let loaded = Embedder::load(
            args.out.to_str().ok_or("output path is not UTF-8")?,
            DeviceKind::Cpu,
            ImageLimits::default(),
        )?;
        let set = HeldOut::generate(eval::HELDOUT_SEED, args.test_images);
        let r = eval::evaluate(&loaded, &set)?;
        println!(
            "final evaluation (reloaded f16 model, held-out seed {:#x}):\n{r}",
            eval::HELDOUT_SEED
        );
        println!("({:.1} s)", t.elapsed().as_secs_f64());
        let rec = |x: &eval::Recall| json!({"queries": x.queries, "r1": x.r1, "r5": x.r5, "mean_correct": x.mean_correct});
        report = json!({
            "images": r.images,
            "single": rec(&r.single),
            "single_full": rec(&r.single_full),
            "shape_colour": rec(&r.shape_colour),
            "pair": rec(&r.pair),
            "image_to_image": rec(&r.image_to_image),
        });
        // Fixed phrasings on single objects: the generator's, and the
        // independent renderer's that no model trains on (the figures
        // `tests/integration/demo_model.rs` asserts).
        let phrasings = |r: &eval::PaintedReport| {
            let p = |x: &eval::PhrasingScores| json!({"template": x.template, "queries": x.queries, "r1": x.r1, "p5": x.p5, "colour_r1": x.colour_r1, "shape_r1": x.shape_r1, "r_precision": x.r_precision});
            let s = &r.shape_only;
            json!({
                "images": r.images,
                "colour_shape": p(&r.colour_shape),
                "shape_coloured": p(&r.shape_coloured),
                "picture_of": p(&r.picture_of),
                "shape_only": {"queries": s.queries, "r1": s.r1, "p5": s.p5, "r_precision": s.r_precision,
                    "by_shape": s.by_shape.iter().map(|(shape, rp)| (shape.name().to_string(), json!(rp))).collect::<serde_json::Map<_, _>>()},
            })
        };
        let n = eval::PHRASING_IMAGES;
        let ours = eval::evaluate_painted(&loaded, &HeldOut::single_object(eval::HELDOUT_SEED, n))?;
        println!("phrasings on the generator's single-object images:\n{ours}");
        let painted = eval::evaluate_painted(&loaded, &HeldOut::painted(eval::PAINTED_SEED, n))?;
        println!("phrasings on the independent renderer's images (never trained on):\n{painted}");
        report["generator_phrasings"] = phrasings(&ours);
        report["painted_phrasings"] = phrasings(&painted);
    }
    let info = json!({
        // As typed from the repository root (not the binary's own path).
        "command": std::iter::once("cargo run --release --example train_demo_model --".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        "seed": args.seed,
        "steps": args.steps,
        "batch": args.batch,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "threads": threads,
        "parameters": params,
        "train_seconds": train_s,
        "total_seconds": started.elapsed().as_secs_f64(),
        "loss_curve": log,
        "validation": val_log,
        "final": report,
    });
    write_json(&args.out.join("training.json"), &info)?;
    println!(
        "wrote {} ({:.0} s in all)",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn mask_rows(t: &Tensor) -> candle_core::Result<Vec<Vec<f32>>> {
    t.to_vec2::<f32>()
}

const TOKEN_EMBEDDING: &str = "text_model.embeddings.token_embedding.weight";

/// Writes the weights in f16 with the full 49408-row token embedding: trained
/// rows for the caption vocabulary, N(0, 0.02^2) for the rest (what they
/// would still hold had the full table been trained: they get no gradient).
fn save_weights(
    varmap: &VarMap,
    vocab: &Vocab,
    cfg: &ClipConfig,
    seed: u64,
    path: &Path,
) -> candle_core::Result<()> {
    let data = varmap.data().lock().expect("varmap lock");
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for (name, var) in data.iter() {
        let t = if name == TOKEN_EMBEDDING {
            let d = cfg.text.tower.hidden_size;
            let v = cfg.text.vocab_size;
            let mut rng = Rng::new(seed ^ 0x00E3_B0D1);
            let mut table: Vec<f32> = (0..v * d).map(|_| rng.normal() * 0.02).collect();
            let trained = var.as_tensor().to_vec2::<f32>()?;
            for (row, &id) in trained.iter().zip(&vocab.full) {
                let at = id as usize * d;
                table[at..at + d].copy_from_slice(row);
            }
            Tensor::from_vec(table, (v, d), &Device::Cpu)?
        } else {
            var.as_tensor().clone()
        };
        tensors.insert(name.clone(), t.to_dtype(DType::F16)?);
    }
    candle_core::safetensors::save(&tensors, path)
}

fn write_json(path: &Path, v: &serde_json::Value) -> std::io::Result<()> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    std::fs::write(path, s)
}
