//! Measures a CLIP model folder on the demo model's held-out synthetic images.
//!
//! ```text
//! cargo run --release --example eval_demo_model -- [MODEL_DIR] [IMAGES] [SEED] [PAINTED_IMAGES]
//! ```
//!
//! Prints three reports:
//! - the generator's held-out set: defaults `models/demo`, 1000 images,
//!   `clipdb::demo::eval::HELDOUT_SEED` (the set `tests/integration/demo_model.rs` uses);
//! - fixed phrasings ("a {colour} {shape}", ...) on `PAINTED_IMAGES` (default
//!   600) single-object images of the generator (same seed);
//! - the same phrasings on as many images of the independent renderer
//!   `clipdb::demo::paint` (`eval::PAINTED_SEED`, the set of the test
//!   `held_out_renderer_figures`), which no model trains on.
//!
//! Definitions in `src/demo/eval.rs`.

use std::time::Instant;

use clipdb::demo::eval::{self, HeldOut};
use clipdb::embed::{DeviceKind, Embedder, ImageLimits};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "models/demo".into());
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let seed: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(eval::HELDOUT_SEED);
    let painted_n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(600);
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
    let painted = HeldOut::painted(eval::PAINTED_SEED, painted_n);
    let r = eval::evaluate_painted(&e, &painted)?;
    println!(
        "phrasings on the independent renderer's images (seed {:#x}):\n{r}\n({:.1} s)",
        eval::PAINTED_SEED,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
