//! Measures a CLIP model folder on the demo model's held-out synthetic images.
//!
//! ```text
//! cargo run --release --example eval_demo_model -- [MODEL_DIR] [IMAGES] [SEED] [PAINTED_IMAGES] [PAINTED_SEED]
//! ```
//!
//! Prints three reports:
//! - the generator's held-out set: defaults `models/demo`, 1000 images,
//!   `clipdb::demo::eval::HELDOUT_SEED` (the set `tests/integration/demo_model.rs` uses);
//! - fixed phrasings ("a {colour} {shape}", ...) on `PAINTED_IMAGES` (default
//!   600) single-object images of the generator (same seed);
//! - the same phrasings on as many images of the independent renderer
//!   `clipdb::demo::paint` (`eval::PAINTED_SEED`, the set of the test
//!   `held_out_renderer_figures`, unless `PAINTED_SEED` names another),
//!   which no model trains on.
//!
//! With `--labelled DIR [MODEL_DIR]` it measures the same phrasings on a
//! folder of labelled single-object images instead, e.g. those of
//! `benches/pillow_shapes.py` (Pillow's primitives).
//!
//! Definitions in `src/demo/eval.rs`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clipdb::demo::eval::{self, HeldOut};
use clipdb::demo::synth::{
    Background, BackgroundKind, Colour, Object, Position, Scene, Shape, Size,
};
use clipdb::embed::{DeviceKind, Embedder, ImageLimits};

/// One image of a labelled folder (`benches/pillow_shapes.py` writes them).
#[derive(serde::Deserialize)]
struct Label {
    file: String,
    shape: Shape,
    colour: Colour,
    size: Size,
    position: Position,
    background: BackgroundKind,
}

/// A folder of single-object images with a `labels.json` as a held-out set
/// (only the labelled attributes are ground truth; the geometry is unused).
fn labelled(dir: &Path) -> Result<HeldOut, Box<dyn std::error::Error>> {
    let labels: Vec<Label> = serde_json::from_slice(&std::fs::read(dir.join("labels.json"))?)?;
    let mut set = HeldOut {
        seed: 0,
        scenes: Vec::new(),
        images: Vec::new(),
    };
    for l in labels {
        let (cx, cy) = l.position.anchor();
        set.images.push(std::fs::read(dir.join(&l.file))?);
        set.scenes.push(Scene {
            background: Background {
                kind: l.background,
                a: [0; 3],
                b: [0; 3],
                angle: 0.0,
                noise: 0.0,
                noise_seed: 0,
            },
            objects: vec![Object {
                shape: l.shape,
                colour: l.colour,
                size: l.size,
                position: l.position,
                rgb: l.colour.rgb(),
                cx,
                cy,
                radius: 0.1,
                rotation: 0.0,
            }],
        });
    }
    Ok(set)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--labelled") {
        args.next();
        let dir = PathBuf::from(args.next().ok_or("--labelled DIR [MODEL_DIR]")?);
        let model = args.next().unwrap_or_else(|| "models/demo".into());
        let e = Embedder::load(&model, DeviceKind::Cpu, ImageLimits::default())?;
        let r = eval::evaluate_painted(&e, &labelled(&dir)?)?;
        println!("{model} on {}:\n{r}", dir.display());
        return Ok(());
    }
    let dir = args.next().unwrap_or_else(|| "models/demo".into());
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let seed: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(eval::HELDOUT_SEED);
    let painted_n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(eval::PHRASING_IMAGES);
    // Another seed of the independent renderer for choices made while
    // developing, so the test's set stays unseen.
    let painted_seed: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(eval::PAINTED_SEED);
    let t = Instant::now();
    let e = Embedder::load(&dir, DeviceKind::Cpu, ImageLimits::default())?;
    let set = HeldOut::generate(seed, n);
    let r = eval::evaluate(&e, &set)?;
    println!(
        "{dir} (seed {seed:#x}):\n{r}\n({:.1} s)\n",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let ours = HeldOut::single_object(seed, painted_n);
    let r = eval::evaluate_painted(&e, &ours)?;
    println!(
        "phrasings on the generator's images (seed {seed:#x}):\n{r}\n({:.1} s)\n",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let painted = HeldOut::painted(painted_seed, painted_n);
    let r = eval::evaluate_painted(&e, &painted)?;
    println!(
        "phrasings on the independent renderer's images (seed {painted_seed:#x}):\n{r}\n({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
