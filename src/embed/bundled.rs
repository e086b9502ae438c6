//! The demo CLIP that clipdb trains itself (`examples/train_demo_model.rs`,
//! `docs/demo-model.md`), compiled into the binary so that `clipdb serve`
//! works offline from any directory. It is unpacked once into the data
//! directory and loaded from there through the same path as any Hugging Face
//! CLIP folder.

use std::path::{Path, PathBuf};

use super::EmbedError;

/// The `--model` value naming the bundled model.
pub const DEMO_MODEL: &str = "demo";

/// How the bundled model is named in logs and collection records.
pub const DEMO_MODEL_ID: &str = "clipdb-demo (bundled, trained on synthetic shapes)";

const FILES: [(&str, &[u8]); 4] = [
    (
        "config.json",
        include_bytes!("../../models/demo/config.json"),
    ),
    (
        "model.safetensors",
        include_bytes!("../../models/demo/model.safetensors"),
    ),
    (
        "tokenizer.json",
        include_bytes!("../../models/demo/tokenizer.json"),
    ),
    (
        "preprocessor_config.json",
        include_bytes!("../../models/demo/preprocessor_config.json"),
    ),
];

/// Writes the bundled model to `parent/demo-<hash>/` unless it is already
/// there, and returns that folder. The hash covers every file, so a binary
/// with other weights never reuses a stale copy.
pub fn unpack_demo_model(parent: &Path) -> Result<PathBuf, EmbedError> {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for (name, bytes) in FILES {
        hasher.update(name.as_bytes());
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    let dir = parent.join(format!("demo-{:016x}", hasher.digest()));
    let complete = |d: &Path| {
        FILES.iter().all(|(name, bytes)| {
            std::fs::metadata(d.join(name)).is_ok_and(|m| m.len() == bytes.len() as u64)
        })
    };
    if complete(&dir) {
        return Ok(dir);
    }
    // Write beside, then rename: a crash never leaves a half-written model
    // that the next start would take for complete.
    let tmp = parent.join(format!(".demo-unpacking-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)?;
        for (name, bytes) in FILES {
            std::fs::write(tmp.join(name), bytes)?;
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&tmp, &dir)
    };
    write().map_err(|e| {
        EmbedError::model_file(&dir, format!("cannot unpack the bundled demo model: {e}"))
    })?;
    Ok(dir)
}
