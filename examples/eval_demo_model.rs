//! Measures a CLIP model folder on the demo model's held-out synthetic images.
//!
//! ```text
//! cargo run --release --example eval_demo_model -- [MODEL_DIR] [IMAGES] [SEED]
//! ```
//!
//! Defaults: `models/demo`, 1000 images, `clipdb::demo::eval::HELDOUT_SEED`
//! (the set `tests/integration/demo_model.rs` uses). Definitions in `src/demo/eval.rs`.

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
    let t = Instant::now();
    let e = Embedder::load(&dir, DeviceKind::Cpu, ImageLimits::default())?;
    let set = HeldOut::generate(seed, n);
    let r = eval::evaluate(&e, &set)?;
    println!(
        "{dir} (seed {seed:#x}):\n{r}\n({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
