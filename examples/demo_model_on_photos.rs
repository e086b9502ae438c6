//! What a CLIP model folder says about arbitrary images: for each image, the
//! three best of the 60 captions "a {colour} {shape}" and their cosine, next
//! to the same figures on drawn shapes (the independent renderer's images),
//! so the scores can be compared.
//!
//! ```text
//! cargo run --release --example demo_model_on_photos -- MODEL_DIR IMAGE...
//! ```
//!
//! docs/demo-model.md shows its output for the bundled model on the test
//! photos in `../shared/fixtures/clip/images`.

use clipdb::demo::eval::{self, HeldOut};
use clipdb::demo::synth::{article, Colour, Shape};
use clipdb::embed::{DeviceKind, Embedder, ImageLimits};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: demo_model_on_photos MODEL_DIR IMAGE...")?;
    let paths: Vec<String> = args.collect();
    let e = Embedder::load(&dir, DeviceKind::Cpu, ImageLimits::default())?;
    let captions: Vec<String> = Colour::ALL
        .iter()
        .flat_map(|c| {
            Shape::ALL
                .iter()
                .map(move |s| article(&format!("{} {}", c.name(), s.name())))
        })
        .collect();
    let refs: Vec<&str> = captions.iter().map(String::as_str).collect();
    let text = e.embed_texts(&refs)?;
    let best = |image: &[f32]| -> Vec<(f32, usize)> {
        let mut scored: Vec<(f32, usize)> = text
            .iter()
            .enumerate()
            .map(|(i, t)| (t.iter().zip(image).map(|(a, b)| a * b).sum::<f32>(), i))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.truncate(3);
        scored
    };

    // Reference: drawn shapes. How often the best caption is the right one,
    // and the cosine of the best caption.
    let drawn = HeldOut::painted(eval::PAINTED_SEED, 200);
    let refs: Vec<&[u8]> = drawn.images.iter().map(Vec::as_slice).collect();
    let vecs = e.embed_images(&refs)?;
    let mut right = 0;
    let mut top: Vec<f32> = Vec::new();
    for (v, scene) in vecs.iter().zip(&drawn.scenes) {
        let b = best(v);
        let o = &scene.objects[0];
        let want = Colour::ALL.iter().position(|&c| c == o.colour).unwrap() * Shape::ALL.len()
            + Shape::ALL.iter().position(|&s| s == o.shape).unwrap();
        right += (b[0].1 == want) as usize;
        top.push(b[0].0);
    }
    top.sort_by(f32::total_cmp);
    println!(
        "drawn shapes ({} images of the independent renderer): best caption right {:.0} %, its cosine median {:.3} (10th-90th percentile {:.3}-{:.3})",
        top.len(),
        100.0 * right as f64 / top.len() as f64,
        top[top.len() / 2],
        top[top.len() / 10],
        top[top.len() * 9 / 10]
    );

    for path in &paths {
        let bytes = std::fs::read(path)?;
        let v = e.embed_images(&[bytes.as_slice()])?;
        let name = std::path::Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.clone());
        let b = best(&v[0]);
        let list: Vec<String> = b
            .iter()
            .map(|(score, i)| format!("{} {score:.3}", captions[*i]))
            .collect();
        println!("{name}: {}", list.join(", "));
    }
    Ok(())
}
