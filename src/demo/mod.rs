//! The demo model's data: deterministic synthetic captioned images.
//!
//! Real CLIP weights cannot ship with clipdb, so it trains a small CLIP of its
//! own (`examples/train_demo_model.rs`, `models/demo/`, `docs/demo-model.md`)
//! on images made here: one or two coloured shapes on a plain, gradient or
//! noisy background, described by captions from varied templates.
//!
//! # Using it
//!
//! ```
//! use clipdb::demo::{Rng, synth::{Scene, SceneOptions}};
//!
//! let mut rng = Rng::new(7);
//! let scene = Scene::random(&mut rng, &SceneOptions::default());
//! let image = scene.render(128); // image::RgbImage, 128 x 128
//! let captions = scene.captions(&mut rng); // e.g. ["a small red disc in the top left", ...]
//! assert_eq!(image.dimensions(), (128, 128));
//! assert!(!captions.is_empty());
//! // Ground truth: shape, colour, size and grid position of each object.
//! for o in &scene.objects {
//!     println!("{} {} {} at {}", o.size, o.colour, o.shape, o.position);
//! }
//! ```
//!
//! - **Determinism.** [`Rng`] is xoshiro256** implemented in this crate, so
//!   the same seed gives the same scenes, captions and pixels everywhere.
//!   [`synth::Scene::nth`]`(seed, i, ..)` gives scene `i` of a stream without
//!   generating the ones before it (parallel generation, stable data sets).
//!   Captions and augmentations draw from whatever `Rng` is passed in.
//! - **Content.** [`synth::Shape`] (circle, square, triangle, star, cross,
//!   ring) x [`synth::Colour`] (red, orange, yellow, green, blue, purple,
//!   pink, brown, black, white) x [`synth::Size`] (small, large) x
//!   [`synth::Position`] (3x3 grid: top left ... bottom right) x
//!   [`synth::BackgroundKind`] (plain, gradient, noise); one or two objects
//!   per scene, in different cells, never overlapping, never the same
//!   shape and colour twice, always contrasting with the background.
//! - **Captions.** [`synth::Scene::caption`] returns a [`synth::Caption`]:
//!   the text and the [`synth::Query`] it expresses (the attributes it names).
//!   [`synth::Query::matches`] says whether any scene is a correct answer for
//!   it, which defines retrieval ground truth. [`synth::Scene::captions`]
//!   gives several distinct caption strings, [`synth::Scene::description`] a
//!   fixed canonical one.
//! - **Augmentation.** Geometry jitter (position, radius, rotation, colour) is
//!   part of the scene ([`synth::SceneOptions`]); rendering options
//!   ([`synth::RenderOptions`]: anti-aliasing on/off, outline) and
//!   [`synth::jpeg_round_trip`] change the pixels but not the content.
//! - **Encoding.** [`synth::encode_png`] / [`synth::encode_jpeg`] give file
//!   bytes, e.g. for `Embedder::embed_images` or for writing a data set.
//! - All ground-truth types implement serde's `Serialize`/`Deserialize`
//!   (snake_case names), for metadata files.
//! - [`eval`] measures retrieval recall of any loaded model on a held-out
//!   set (the numbers in `docs/demo-model.md`), on this generator's images
//!   and on those of [`paint`], an independent drawing program (filled
//!   polygons, like Pillow's) that training never sees.

pub mod autograd;
pub mod eval;
pub mod paint;
pub mod rng;
pub mod synth;
pub mod vector;

pub use rng::Rng;
pub use synth::{Caption, Query, RenderOptions, Scene, SceneOptions};
