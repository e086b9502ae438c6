//! The CLIP model against HF transformers reference embeddings (tiny random model).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::{Device, Tensor};
use clipdb::embed::{DeviceKind, EmbedError, Embedder, ImageLimits};

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/clip"
    ))
}

fn reference() -> &'static HashMap<String, Tensor> {
    static R: OnceLock<HashMap<String, Tensor>> = OnceLock::new();
    R.get_or_init(|| {
        candle_core::safetensors::load(fixtures().join("reference.safetensors"), &Device::Cpu)
            .unwrap()
    })
}

fn embedder() -> &'static Embedder {
    static E: OnceLock<Embedder> = OnceLock::new();
    E.get_or_init(|| {
        Embedder::load(
            fixtures().join("tiny").to_str().unwrap(),
            DeviceKind::Cpu,
            ImageLimits::default(),
        )
        .unwrap()
    })
}

fn vec_f32(name: &str) -> Vec<f32> {
    reference()[name]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
}

fn image_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(fixtures().join("images"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The fixtures README: candle vs HF up to 1.8e-4 on these vectors (values up to ~10).
const TOL: f32 = 1e-3;

fn ref_ids(i: usize) -> Vec<u32> {
    reference()[&format!("text_input_ids.{i}")]
        .to_vec1::<i64>()
        .unwrap()
        .into_iter()
        .map(|v| v as u32)
        .collect()
}

#[test]
fn info_describes_the_model() {
    let info = embedder().info();
    assert_eq!(info.dimension, 16);
    assert_eq!(info.image_size, 224);
    assert_eq!(info.context_length, 77);
    assert_eq!(info.device, DeviceKind::Cpu);
    assert!(info.parameters > 1_000_000, "{}", info.parameters);
    assert_eq!(info.fingerprint.len(), 32);
    assert!(info.fingerprint.chars().all(|c| c.is_ascii_hexdigit()));
    // Stable across loads.
    let again = Embedder::load(
        fixtures().join("tiny").to_str().unwrap(),
        DeviceKind::Cpu,
        ImageLimits::default(),
    )
    .unwrap();
    assert_eq!(again.info().fingerprint, info.fingerprint);
}

#[test]
fn image_embeddings_from_reference_pixels_match_hf() {
    let e = embedder();
    let names = image_names();
    let pixels: Vec<Vec<f32>> = names
        .iter()
        .map(|n| vec_f32(&format!("pixel_values.{n}")))
        .collect();
    let batch = e.embed_pixel_values(&pixels, false).unwrap();
    let mut worst: f32 = 0.0;
    for (i, n) in names.iter().enumerate() {
        let want = vec_f32(&format!("image_embeds.{n}"));
        let single = &e.embed_pixel_values(&pixels[i..i + 1], false).unwrap()[0];
        let d = max_diff(single, &want);
        worst = worst.max(d).max(max_diff(&batch[i], &want));
        assert!(d < TOL, "{n}: {d}");
        assert!(max_diff(&batch[i], single) < 1e-4, "{n}: batch vs single");
        // Pooled vision output.
        let px = Tensor::from_vec(pixels[i].clone(), (1, 3, 224, 224), &Device::Cpu).unwrap();
        let pooled = e
            .model()
            .vision_pooled(&px)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(
            max_diff(&pooled, &vec_f32(&format!("vision_pooled.{n}"))) < TOL,
            "{n}: pooled"
        );
        // Normalised.
        let norm = &e.embed_pixel_values(&pixels[i..i + 1], true).unwrap()[0];
        assert!(max_diff(norm, &vec_f32(&format!("image_embeds_norm.{n}"))) < TOL);
    }
    eprintln!("image_embeds max abs diff vs HF: {worst:.2e}");
}

#[test]
fn text_embeddings_from_reference_ids_match_hf() {
    let e = embedder();
    let ids: Vec<Vec<u32>> = (0..88).map(ref_ids).collect();
    // One batch of 88, padded to the longest row with 49407.
    let batch = e.embed_token_ids(&ids, false).unwrap();
    let (mut worst_single, mut worst_batch): (f32, f32) = (0.0, 0.0);
    for i in 0..88 {
        let want = vec_f32(&format!("text_embeds.{i}"));
        let single = &e.embed_token_ids(&ids[i..i + 1], false).unwrap()[0];
        let ds = max_diff(single, &want);
        let db = max_diff(&batch[i], &want);
        worst_single = worst_single.max(ds);
        worst_batch = worst_batch.max(db);
        assert!(ds < TOL && db < TOL, "text {i}: single {ds}, batch {db}");
        let pooled = e
            .model()
            .text_pooled(&ids[i..i + 1])
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(max_diff(&pooled, &vec_f32(&format!("text_pooled.{i}"))) < TOL);
    }
    eprintln!(
        "text_embeds max abs diff vs HF: single {worst_single:.2e}, batch of 88 {worst_batch:.2e}"
    );
}

#[test]
fn end_to_end_texts_and_images() {
    let e = embedder();
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("tokens.json")).unwrap())
            .unwrap();
    let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
    let tv = e.embed_texts(&texts).unwrap();
    assert_eq!(tv.len(), 88);
    for (i, v) in tv.iter().enumerate() {
        assert!(
            max_diff(v, &vec_f32(&format!("text_embeds_norm.{i}"))) < TOL,
            "text {i}"
        );
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
    // Every format decodes bit-exactly, so end-to-end equals HF within model tolerance.
    let names: Vec<String> = image_names();
    let bytes: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(fixtures().join("images").join(n)).unwrap())
        .collect();
    let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
    let got = e.embed_images(&refs).unwrap();
    let mut worst: f32 = 0.0;
    for (i, n) in names.iter().enumerate() {
        let d = max_diff(&got[i], &vec_f32(&format!("image_embeds_norm.{n}")));
        worst = worst.max(d);
        assert!(d < TOL, "{n}: {d}");
        let norm: f32 = got[i].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        // Batch == one at a time.
        let single = &e.embed_images(&refs[i..i + 1]).unwrap()[0];
        assert!(max_diff(single, &got[i]) < 1e-5, "{n}");
    }
    eprintln!("end-to-end image_embeds_norm max abs diff: {worst:.2e}");
    // Logits as HF computes them.
    let logits = vec_f32("logits_per_image");
    let all_names = image_names();
    let scale = 2.6592f32.exp();
    for (i, n) in names.iter().enumerate() {
        let row = all_names.iter().position(|x| x == n).unwrap();
        for (j, t) in tv.iter().enumerate() {
            let dot: f32 = got[i].iter().zip(t).map(|(a, b)| a * b).sum();
            assert!((scale * dot - logits[row * 88 + j]).abs() < 1e-2);
        }
    }
    assert!(e.embed_texts(&[]).unwrap().is_empty());
    assert!(e.embed_images(&[]).unwrap().is_empty());
}

/// JPEGs end to end: decoded as Pillow decodes them (libjpeg-turbo), so their
/// embeddings equal HF's within the model's own float tolerance, as PNGs do.
const JPEG_END_TO_END_TOL: f32 = 1e-4;

#[test]
fn end_to_end_jpeg_images_match_hf() {
    let e = embedder();
    let names: Vec<String> = image_names()
        .into_iter()
        .filter(|n| n.ends_with(".jpg"))
        .collect();
    assert_eq!(names.len(), 5);
    for n in &names {
        let bytes = std::fs::read(fixtures().join("images").join(n)).unwrap();
        let got = &e.embed_images(&[&bytes]).unwrap()[0];
        let d = max_diff(got, &vec_f32(&format!("image_embeds_norm.{n}")));
        eprintln!("{n:28} end-to-end image_embeds_norm max abs diff vs HF: {d:.2e}");
        assert!(d < JPEG_END_TO_END_TOL, "{n}: {d}");
    }
}

#[test]
fn exif_orientation_does_not_change_the_embedding() {
    // HF embeds the stored pixels of a decoded image, whatever its EXIF
    // orientation says; so do we.
    let e = embedder();
    let plain = std::fs::read(fixtures().join("images/photo_640x480.jpg")).unwrap();
    let rotated = crate::embed_preprocess::with_exif_orientation(&plain, 6);
    let got = e.embed_images(&[&plain, &rotated]).unwrap();
    assert_eq!(got[0], got[1]);
    // The fixture that carries Orientation = 6 embeds as HF's unrotated reference.
    let n = "exif_orient6_640x480.jpg";
    let bytes = std::fs::read(fixtures().join("images").join(n)).unwrap();
    let v = &e.embed_images(&[&bytes]).unwrap()[0];
    assert!(max_diff(v, &vec_f32(&format!("image_embeds_norm.{n}"))) < JPEG_END_TO_END_TOL);
}

#[test]
fn bad_image_in_a_batch_names_its_index() {
    let e = embedder();
    let good = std::fs::read(fixtures().join("images/tiny_31x17.png")).unwrap();
    match e.embed_images(&[&good, &good[..40]]) {
        Err(EmbedError::InvalidImage { index: 1, .. }) => {}
        other => panic!("{other:?}"),
    }
}

fn copy_tiny(dst: &Path, skip: &[&str]) {
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
    ] {
        if !skip.contains(&f) {
            std::fs::copy(fixtures().join("tiny").join(f), dst.join(f)).unwrap();
        }
    }
}

fn load(dir: &Path) -> Result<Embedder, EmbedError> {
    Embedder::load(
        dir.to_str().unwrap(),
        DeviceKind::Cpu,
        ImageLimits::default(),
    )
}

#[test]
fn load_errors_are_specific() {
    // Missing folder.
    match load(Path::new("/nonexistent/clip-model")) {
        Err(EmbedError::ModelFile { path, .. }) => assert!(path.ends_with("clip-model")),
        other => panic!("{:?}", other.err()),
    }
    // Missing weights.
    let d = tempfile::tempdir().unwrap();
    copy_tiny(d.path(), &["model.safetensors"]);
    match load(d.path()) {
        Err(EmbedError::ModelFile { path, reason }) => {
            assert!(path.ends_with("model.safetensors"), "{path:?}");
            assert!(reason.contains("not found"));
        }
        other => panic!("{:?}", other.err()),
    }
    // Pickle-only.
    std::fs::write(d.path().join("pytorch_model.bin"), b"PK\x03\x04").unwrap();
    match load(d.path()) {
        Err(e @ EmbedError::PickleOnly { .. }) => assert!(e.to_string().contains("safetensors")),
        other => panic!("{:?}", other.err()),
    }
    // Missing tokenizer.
    let d = tempfile::tempdir().unwrap();
    copy_tiny(d.path(), &["tokenizer.json"]);
    match load(d.path()) {
        Err(EmbedError::ModelFile { path, .. }) => assert!(path.ends_with("tokenizer.json")),
        other => panic!("{:?}", other.err()),
    }
    // Not a CLIP config.
    let d = tempfile::tempdir().unwrap();
    copy_tiny(d.path(), &["config.json"]);
    std::fs::write(
        d.path().join("config.json"),
        r#"{"model_type": "bert", "hidden_size": 768}"#,
    )
    .unwrap();
    match load(d.path()) {
        Err(EmbedError::NotClip { path, reason }) => {
            assert!(path.ends_with("config.json"));
            assert!(reason.contains("bert"), "{reason}");
        }
        other => panic!("{:?}", other.err()),
    }
    // Malformed config JSON.
    std::fs::write(d.path().join("config.json"), "{ not json").unwrap();
    assert!(matches!(load(d.path()), Err(EmbedError::ModelFile { .. })));
    // Config whose sizes do not match the weights.
    let cfg = std::fs::read_to_string(fixtures().join("tiny/config.json")).unwrap();
    std::fs::write(
        d.path().join("config.json"),
        cfg.replace("\"intermediate_size\": 64", "\"intermediate_size\": 65"),
    )
    .unwrap();
    match load(d.path()) {
        Err(EmbedError::ModelFile { path, reason }) => {
            assert!(path.ends_with("model.safetensors"));
            eprintln!("shape mismatch: {reason}");
        }
        other => panic!("{:?}", other.err()),
    }
    // Truncated weights file.
    let d = tempfile::tempdir().unwrap();
    copy_tiny(d.path(), &["model.safetensors"]);
    let w = std::fs::read(fixtures().join("tiny/model.safetensors")).unwrap();
    std::fs::write(d.path().join("model.safetensors"), &w[..w.len() / 2]).unwrap();
    assert!(matches!(load(d.path()), Err(EmbedError::ModelFile { .. })));
    // CUDA without the feature.
    if !cfg!(feature = "cuda") {
        let r = Embedder::load(
            fixtures().join("tiny").to_str().unwrap(),
            DeviceKind::Cuda(0),
            ImageLimits::default(),
        );
        assert!(matches!(r, Err(EmbedError::Device { .. })));
    }
}

#[test]
fn f16_weights_load_as_f32() {
    let d = tempfile::tempdir().unwrap();
    copy_tiny(d.path(), &["model.safetensors"]);
    let w = candle_core::safetensors::load(fixtures().join("tiny/model.safetensors"), &Device::Cpu)
        .unwrap();
    let half: HashMap<String, Tensor> = w
        .into_iter()
        .map(|(k, v)| (k, v.to_dtype(candle_core::DType::F16).unwrap()))
        .collect();
    candle_core::safetensors::save(&half, d.path().join("model.safetensors")).unwrap();
    let e = load(d.path()).unwrap();
    let v = &e.embed_token_ids(&[ref_ids(0)], true).unwrap()[0];
    // f16 rounding of the weights moves the vector a little, not a lot.
    assert!(max_diff(v, &vec_f32("text_embeds_norm.0")) < 0.05);
    assert_ne!(e.info().fingerprint, embedder().info().fingerprint);
}

#[test]
fn differentiable_kernels_give_bit_identical_outputs() {
    // The training path (`demo::autograd::DIFFERENTIABLE`, used by the demo trainer)
    // must compute exactly what inference computes.
    use candle_core::DType;
    use candle_nn::VarBuilder;
    use clipdb::demo::autograd::DIFFERENTIABLE;
    use clipdb::embed::clip::{ClipModel, FUSED};
    let dir = fixtures().join("tiny");
    let cfg = clipdb::embed::model::parse_config(&dir.join("config.json")).unwrap();
    // SAFETY: read-only fixture file.
    let vb = unsafe {
        VarBuilder::from_mmaped_safetensors(
            &[dir.join("model.safetensors")],
            DType::F32,
            &Device::Cpu,
        )
    }
    .unwrap();
    let fused = ClipModel::with_kernels(vb.clone(), &cfg, &FUSED).unwrap();
    let diff = ClipModel::with_kernels(vb, &cfg, &DIFFERENTIABLE).unwrap();
    let pixels: Vec<Tensor> = image_names()
        .iter()
        .map(|n| reference()[&format!("pixel_values.{n}")].clone())
        .collect();
    let batch = Tensor::stack(&pixels, 0).unwrap();
    let a = fused
        .image_features(&batch)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let b = diff
        .image_features(&batch)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    assert_eq!(a, b);
    let ids: Vec<Vec<u32>> = (0..10).map(ref_ids).collect();
    let longest = ids.iter().map(Vec::len).max().unwrap();
    let padded: Vec<Vec<u32>> = ids
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.resize(longest, 49407);
            r
        })
        .collect();
    let a = fused
        .text_features(&padded)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let b = diff
        .text_features(&padded)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    assert_eq!(a, b);
}
