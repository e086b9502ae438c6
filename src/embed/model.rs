//! Finding, validating and loading a CLIP model folder (local or from the HF hub cache).

use std::fs::File;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::clip::{Activation, ClipConfig, TextConfig, TowerConfig, VisionConfig};
use super::EmbedError;

pub const CONFIG: &str = "config.json";
pub const WEIGHTS: &str = "model.safetensors";
pub const TOKENIZER: &str = "tokenizer.json";
pub const PREPROCESSOR: &str = "preprocessor_config.json";
const PICKLE: &str = "pytorch_model.bin";

/// The files of one model, wherever they live (a folder, or a hub cache snapshot).
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// What the user asked for: a path or a hub id.
    pub id: String,
    pub config: PathBuf,
    pub weights: PathBuf,
    pub tokenizer: PathBuf,
    /// May not exist: CLIP defaults are used then.
    pub preprocessor: PathBuf,
}

/// Resolves `spec`: an existing local folder, or a hub id `owner/name[@revision]`.
pub fn resolve(spec: &str) -> Result<ModelFiles, EmbedError> {
    let path = Path::new(spec);
    if path.is_dir() {
        return local_files(spec, path);
    }
    if path.exists() {
        return Err(EmbedError::model_file(
            path,
            "not a directory (give the model folder)",
        ));
    }
    if looks_like_path(spec) {
        return Err(EmbedError::model_file(path, "no such model folder"));
    }
    hub_files(spec)
}

fn looks_like_path(spec: &str) -> bool {
    spec.is_empty()
        || spec.starts_with(['/', '.', '~', '\\'])
        || spec.contains("\\")
        || spec.matches('/').count() > 1
}

fn local_files(id: &str, dir: &Path) -> Result<ModelFiles, EmbedError> {
    let files = ModelFiles {
        id: id.to_string(),
        config: dir.join(CONFIG),
        weights: dir.join(WEIGHTS),
        tokenizer: dir.join(TOKENIZER),
        preprocessor: dir.join(PREPROCESSOR),
    };
    if !files.weights.is_file() {
        if dir.join(PICKLE).is_file() {
            return Err(EmbedError::PickleOnly {
                dir: dir.to_path_buf(),
            });
        }
        if has_sharded_safetensors(dir) {
            return Err(EmbedError::model_file(
                &files.weights,
                "not found (sharded model-0000x-of-0000y.safetensors weights are not supported; \
                 merge them into one model.safetensors)",
            ));
        }
        return Err(EmbedError::model_file(&files.weights, "not found"));
    }
    for p in [&files.config, &files.tokenizer] {
        if !p.is_file() {
            return Err(EmbedError::model_file(p, "not found"));
        }
    }
    Ok(files)
}

fn has_sharded_safetensors(dir: &Path) -> bool {
    dir.join("model.safetensors.index.json").is_file()
}

fn env_true(name: &str) -> bool {
    std::env::var(name)
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
        .unwrap_or(false)
}

/// Resolves a hub id through the local Hugging Face cache (`HF_HUB_CACHE`, else
/// `HF_HOME/hub`, else `~/.cache/huggingface/hub`), downloading missing files
/// unless `HF_HUB_OFFLINE` is set.
fn hub_files(spec: &str) -> Result<ModelFiles, EmbedError> {
    use hf_hub::{Cache, Repo, RepoType};
    let (id, revision) = match spec.split_once('@') {
        Some((id, rev)) => (id.to_string(), rev.to_string()),
        None => (spec.to_string(), "main".to_string()),
    };
    let cache = match std::env::var("HF_HUB_CACHE") {
        Ok(p) if !p.is_empty() => Cache::new(PathBuf::from(p)),
        _ => Cache::from_env(),
    };
    let repo = Repo::with_revision(id.clone(), RepoType::Model, revision.clone());
    let cached = cache.repo(repo.clone());
    let offline = env_true("HF_HUB_OFFLINE");
    let unavailable = |message: String| EmbedError::HubUnavailable {
        id: spec.to_string(),
        message,
    };
    let snapshot_hint = || {
        format!(
            "{}/{}/snapshots/<commit>/ (with refs/{revision} holding <commit>), or pass a local folder \
             holding {CONFIG}, {WEIGHTS}, {TOKENIZER} and {PREPROCESSOR}",
            cache.path().display(),
            repo.folder_name()
        )
    };

    let mut api = None;
    let mut get = |file: &str, required: bool| -> Result<Option<PathBuf>, EmbedError> {
        if let Some(p) = cached.get(file) {
            return Ok(Some(p));
        }
        if offline {
            if !required {
                return Ok(None);
            }
            return Err(unavailable(format!(
                "HF_HUB_OFFLINE is set and {file} is not in the cache; place the model files in {}",
                snapshot_hint()
            )));
        }
        if api.is_none() {
            let a = hf_hub::api::sync::ApiBuilder::from_cache(cache.clone())
                .with_progress(false)
                .build()
                .map_err(|e| unavailable(format!("cannot start the hub client: {e}")))?;
            api = Some(a.repo(repo.clone()));
        }
        let r = api.as_ref().expect("set above").get(file);
        match r {
            Ok(p) => Ok(Some(p)),
            Err(_) if !required => Ok(None),
            Err(e) => Err(unavailable(format!(
                "downloading {file} failed ({e}); when offline, place the model files in {}",
                snapshot_hint()
            ))),
        }
    };
    let config = get(CONFIG, true)?.expect("required");
    let weights = match get(WEIGHTS, false)? {
        Some(p) => p,
        None => {
            if get(PICKLE, false)?.is_some() {
                return Err(unavailable(format!(
                    "the repository has only {PICKLE} (pickle) weights, no {WEIGHTS}"
                )));
            }
            return Err(unavailable(format!(
                "{WEIGHTS} is not available{}; place the model files in {}",
                if offline {
                    " (HF_HUB_OFFLINE is set)"
                } else {
                    ""
                },
                snapshot_hint()
            )));
        }
    };
    let tokenizer = get(TOKENIZER, true)?.expect("required");
    let preprocessor =
        get(PREPROCESSOR, false)?.unwrap_or_else(|| config.with_file_name(PREPROCESSOR));
    Ok(ModelFiles {
        id: spec.to_string(),
        config,
        weights,
        tokenizer,
        preprocessor,
    })
}

/// Parses an HF `CLIPConfig` (`config.json`): every size comes from the file,
/// with HF's defaults for absent keys.
pub fn parse_config(path: &Path) -> Result<ClipConfig, EmbedError> {
    let text = std::fs::read_to_string(path).map_err(|e| EmbedError::model_file(path, e))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| EmbedError::model_file(path, format!("invalid JSON: {e}")))?;
    config_from_json(&v).map_err(|reason| EmbedError::NotClip {
        path: path.to_path_buf(),
        reason,
    })
}

fn config_from_json(v: &Value) -> Result<ClipConfig, String> {
    let model_type = v.get("model_type").and_then(Value::as_str).unwrap_or("");
    if model_type != "clip" {
        return Err(format!(
            "model_type is {:?}, expected \"clip\" (a CLIPModel with text and vision towers)",
            v.get("model_type").unwrap_or(&Value::Null)
        ));
    }
    let tc = v.get("text_config").ok_or("no text_config")?;
    let vc = v.get("vision_config").ok_or("no vision_config")?;
    let num = |o: &Value, k: &str, d: usize| -> Result<usize, String> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(d),
            Some(x) => x
                .as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| format!("{k} must be a non-negative integer, got {x}")),
        }
    };
    let tower = |o: &Value, name: &str, h, i, l, heads| -> Result<TowerConfig, String> {
        let act = o
            .get("hidden_act")
            .and_then(Value::as_str)
            .unwrap_or("quick_gelu");
        let activation = Activation::from_hf(act).ok_or_else(|| {
            format!("{name}.hidden_act {act:?} is not supported (quick_gelu, gelu, gelu_new)")
        })?;
        let t = TowerConfig {
            hidden_size: num(o, "hidden_size", h)?,
            intermediate_size: num(o, "intermediate_size", i)?,
            num_hidden_layers: num(o, "num_hidden_layers", l)?,
            num_attention_heads: num(o, "num_attention_heads", heads)?,
            layer_norm_eps: o
                .get("layer_norm_eps")
                .and_then(Value::as_f64)
                .unwrap_or(1e-5),
            activation,
        };
        if t.hidden_size == 0
            || t.num_attention_heads == 0
            || !t.hidden_size.is_multiple_of(t.num_attention_heads)
        {
            return Err(format!(
                "{name}: hidden_size {} must be a positive multiple of num_attention_heads {}",
                t.hidden_size, t.num_attention_heads
            ));
        }
        Ok(t)
    };
    let text = TextConfig {
        tower: tower(tc, "text_config", 512, 2048, 12, 8)?,
        vocab_size: num(tc, "vocab_size", 49408)?,
        max_position_embeddings: num(tc, "max_position_embeddings", 77)?,
        eos_token_id: num(tc, "eos_token_id", 2)? as u32,
    };
    let vision = VisionConfig {
        tower: tower(vc, "vision_config", 768, 3072, 12, 12)?,
        image_size: num(vc, "image_size", 224)?,
        patch_size: num(vc, "patch_size", 32)?,
        num_channels: num(vc, "num_channels", 3)?,
    };
    if vision.patch_size == 0 || !vision.image_size.is_multiple_of(vision.patch_size) {
        return Err(format!(
            "vision_config.image_size {} is not a multiple of patch_size {}",
            vision.image_size, vision.patch_size
        ));
    }
    if vision.num_channels != 3 {
        return Err(format!(
            "vision_config.num_channels is {}, only 3 (RGB) is supported",
            vision.num_channels
        ));
    }
    if text.max_position_embeddings < 2 {
        return Err("text_config.max_position_embeddings must be at least 2".into());
    }
    let projection_dim = num(v, "projection_dim", 512)?;
    if projection_dim == 0 {
        return Err("projection_dim is 0".into());
    }
    Ok(ClipConfig {
        text,
        vision,
        projection_dim,
    })
}

/// A stable fingerprint of the model: xxh3-128 over the config, weights,
/// tokenizer and preprocessor files (each prefixed by its name and length), as
/// 32 hex digits. Reads the weights through a memory map (about 0.1 s per GB).
pub fn fingerprint(files: &ModelFiles) -> Result<String, EmbedError> {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for (name, path) in [
        (CONFIG, &files.config),
        (WEIGHTS, &files.weights),
        (TOKENIZER, &files.tokenizer),
        (PREPROCESSOR, &files.preprocessor),
    ] {
        h.update(name.as_bytes());
        if !path.exists() {
            h.update(&u64::MAX.to_le_bytes());
            continue;
        }
        let f = File::open(path).map_err(|e| EmbedError::model_file(path, e))?;
        let len = f
            .metadata()
            .map_err(|e| EmbedError::model_file(path, e))?
            .len();
        h.update(&len.to_le_bytes());
        if len > 0 {
            // SAFETY: model files are treated as read-only while loading.
            let map =
                unsafe { memmap2::Mmap::map(&f) }.map_err(|e| EmbedError::model_file(path, e))?;
            h.update(&map);
        }
    }
    Ok(format!("{:032x}", h.digest128()))
}
