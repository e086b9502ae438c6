//! Writes sample images of the independent evaluation renderer
//! (`clipdb::demo::paint`), one per shape, to look at.
//!
//! ```text
//! cargo run --example paint_samples -- OUT_DIR [SEED]
//! ```
//!
//! Files are named `{index}-{size}-{colour}-{shape}-{background}.png`.

use clipdb::demo::paint;
use clipdb::demo::synth::{Colour, Position, Shape, Size};
use clipdb::demo::Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: paint_samples OUT_DIR [SEED]")?);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    std::fs::create_dir_all(&dir)?;
    for (i, &shape) in Shape::ALL.iter().enumerate() {
        let mut rng = Rng::for_index(seed, i as u64);
        let colour = *rng.pick(&Colour::ALL);
        let size = *rng.pick(&Size::ALL);
        let position = *rng.pick(&Position::ALL);
        let scene = paint::scene_of(&mut rng, shape, colour, size, position);
        let side = rng.int_in(96, 320) as u32;
        let img = paint::paint(&scene, side, &mut rng);
        let name = format!(
            "{i}-{size}-{colour}-{shape}-{:?}.png",
            scene.background.kind
        )
        .to_lowercase();
        img.save(dir.join(&name))?;
        println!("{}", dir.join(name).display());
    }
    Ok(())
}
