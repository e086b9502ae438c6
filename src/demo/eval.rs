//! Retrieval quality of a CLIP model on held-out synthetic images.
//!
//! Used by the demo trainer (`examples/train_demo_model.rs`) at the end of
//! training and by `tests/integration/demo_model.rs`, so both report the same numbers.
//!
//! The held-out set is `n` scenes `Scene::nth(seed, i, ..)` of a seed the
//! trainer never uses, each rendered once at a random size (64 to 224 px) with
//! random rendering augmentation, and encoded as PNG or (30 %) JPEG; images
//! are embedded from those bytes through [`Embedder::embed_images`], the
//! server's path.
//!
//! Recall@k of a query = 1 if at least one of the `k` best-scoring images is
//! correct for it, averaged over the queries. "Correct" is decided from the
//! ground truth with [`Query::matches`](super::synth::Query::matches): an
//! image is correct when it contains objects with every attribute the caption
//! names (distinct objects for two-object captions, their relation when one is
//! named). Query sets:
//!
//! - `single`: one query per single-object image: a random caption of its
//!   object from the generator's templates (it names shape and colour in
//!   90 % of cases, size and position each half of the time, sometimes the
//!   background kind, e.g. "a small red disc in the top left corner",
//!   "blue square", "a picture of a star on a noisy background").
//! - `single_full`: one per single-object image, naming everything: "a small
//!   red circle in the top left corner" (canonical words); usually only 1 to 3
//!   correct images among 1 000.
//! - `shape_colour`: one per single-object image, "a red circle": any image
//!   with a red circle is correct.
//! - `pair`: one per two-object image: a random caption of both objects ("a
//!   blue square next to a yellow triangle", "a red star above a green ring").
//! - `image_to_image`: each single-object image as the query against all
//!   other images; correct when the retrieved image has an object of the same
//!   shape and colour.

use rayon::prelude::*;

use super::rng::Rng;
use super::synth::{
    encode_jpeg, encode_png, ObjectQuery, Query, RenderOptions, Scene, SceneOptions,
};
use crate::embed::{EmbedError, Embedder};

/// Seed of the held-out set used by `tests/integration/demo_model.rs` and the trainer's
/// final report (the trainer's own data uses `--seed`, 1 by default).
pub const HELDOUT_SEED: u64 = 0x00C0_FFEE_D15C_0DE5;

/// Held-out scenes and their encoded images.
pub struct HeldOut {
    pub seed: u64,
    pub scenes: Vec<Scene>,
    /// PNG or JPEG bytes, one per scene.
    pub images: Vec<Vec<u8>>,
}

impl HeldOut {
    /// `n` scenes of stream `seed`, rendered and encoded in parallel.
    pub fn generate(seed: u64, n: usize) -> HeldOut {
        let opts = SceneOptions::default();
        let (scenes, images) = (0..n as u64)
            .into_par_iter()
            .map(|i| {
                let scene = Scene::nth(seed, i, &opts);
                // A separate stream for the rendering choices.
                let mut rng = Rng::for_index(seed ^ 0xA5A5_5A5A, i);
                let size = *rng.pick(&[64u32, 96, 128, 160, 224]);
                let img = scene.render_with(size, &RenderOptions::random(&mut rng));
                let bytes = if rng.chance(0.3) {
                    encode_jpeg(&img, rng.int_in(50, 95) as u8)
                } else {
                    encode_png(&img)
                };
                (scene, bytes)
            })
            .unzip();
        HeldOut {
            seed,
            scenes,
            images,
        }
    }
}

/// Recall of one query set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recall {
    pub queries: usize,
    pub r1: f64,
    pub r5: f64,
    /// Mean number of correct images per query (how easy the set is).
    pub mean_correct: f64,
}

impl std::fmt::Display for Recall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "R@1 {:.3}  R@5 {:.3}  ({} queries, {:.1} correct images each on average)",
            self.r1, self.r5, self.queries, self.mean_correct
        )
    }
}

/// All query sets (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub images: usize,
    pub single: Recall,
    pub single_full: Recall,
    pub shape_colour: Recall,
    pub pair: Recall,
    pub image_to_image: Recall,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "held-out images: {}", self.images)?;
        writeln!(f, "text->image, single-object captions: {}", self.single)?;
        writeln!(
            f,
            "text->image, full single-object captions: {}",
            self.single_full
        )?;
        writeln!(
            f,
            "text->image, \"<colour> <shape>\": {}",
            self.shape_colour
        )?;
        writeln!(f, "text->image, two-object captions: {}", self.pair)?;
        write!(
            f,
            "image->image, same shape and colour: {}",
            self.image_to_image
        )
    }
}

/// A text query with its ground-truth predicate.
struct TextQuery {
    text: String,
    query: Query,
}

/// Embeds the held-out set with `embedder` (from the encoded image bytes, as
/// the server does) and measures every query set.
pub fn evaluate(embedder: &Embedder, set: &HeldOut) -> Result<Report, EmbedError> {
    evaluate_with(
        set,
        |imgs| embedder.embed_images(imgs),
        |texts| embedder.embed_texts(texts),
    )
}

/// [`evaluate`] with any embedding functions (L2-normalised vectors), e.g. a
/// model in training. Calls them with at most 250 items at a time.
pub fn evaluate_with<E>(
    set: &HeldOut,
    embed_images: impl Fn(&[&[u8]]) -> Result<Vec<Vec<f32>>, E>,
    embed_texts: impl Fn(&[&str]) -> Result<Vec<Vec<f32>>, E>,
) -> Result<Report, E> {
    let chunk = 250;
    let mut image_vecs: Vec<Vec<f32>> = Vec::with_capacity(set.images.len());
    for part in set.images.chunks(chunk) {
        let refs: Vec<&[u8]> = part.iter().map(Vec::as_slice).collect();
        image_vecs.extend(embed_images(&refs)?);
    }
    let embed_queries = |qs: &[TextQuery]| -> Result<Vec<Vec<f32>>, E> {
        let mut out = Vec::with_capacity(qs.len());
        for part in qs.chunks(chunk) {
            let refs: Vec<&str> = part.iter().map(|q| q.text.as_str()).collect();
            out.extend(embed_texts(&refs)?);
        }
        Ok(out)
    };
    let text_recall = |qs: &[TextQuery]| -> Result<Recall, E> {
        let vecs = embed_queries(qs)?;
        let correct: Vec<Vec<bool>> = qs
            .iter()
            .map(|q| set.scenes.iter().map(|s| q.query.matches(s)).collect())
            .collect();
        Ok(recall(&vecs, &image_vecs, &correct, None))
    };
    let queries = build_queries(set);
    let single = text_recall(&queries.single)?;
    let single_full = text_recall(&queries.single_full)?;
    let shape_colour = text_recall(&queries.shape_colour)?;
    let pair = text_recall(&queries.pair)?;

    // Image -> image: single-object images as queries.
    let singles: Vec<usize> = (0..set.scenes.len())
        .filter(|&i| set.scenes[i].objects.len() == 1)
        .collect();
    let qvecs: Vec<Vec<f32>> = singles.iter().map(|&i| image_vecs[i].clone()).collect();
    let correct: Vec<Vec<bool>> = singles
        .iter()
        .map(|&i| {
            let q = Query {
                objects: vec![ObjectQuery::shape_colour(&set.scenes[i].objects[0])],
                relation: None,
                background: None,
            };
            set.scenes.iter().map(|s| q.matches(s)).collect()
        })
        .collect();
    let image_to_image = recall(&qvecs, &image_vecs, &correct, Some(&singles));
    Ok(Report {
        images: set.scenes.len(),
        single,
        single_full,
        shape_colour,
        pair,
        image_to_image,
    })
}

struct QuerySets {
    single: Vec<TextQuery>,
    single_full: Vec<TextQuery>,
    shape_colour: Vec<TextQuery>,
    pair: Vec<TextQuery>,
}

fn build_queries(set: &HeldOut) -> QuerySets {
    let mut q = QuerySets {
        single: Vec::new(),
        single_full: Vec::new(),
        shape_colour: Vec::new(),
        pair: Vec::new(),
    };
    for (i, scene) in set.scenes.iter().enumerate() {
        let mut rng = Rng::for_index(set.seed ^ 0x0C4F_7101, i as u64);
        if scene.objects.len() == 1 {
            let o = &scene.objects[0];
            let c = scene.object_caption(0, &mut rng);
            q.single.push(TextQuery {
                text: c.text,
                query: c.query,
            });
            q.single_full.push(TextQuery {
                text: format!(
                    "a {} {} {} {}",
                    o.size.name(),
                    o.colour.name(),
                    o.shape.name(),
                    o.position.phrases()[0]
                ),
                query: Query {
                    objects: vec![ObjectQuery::all(o)],
                    relation: None,
                    background: None,
                },
            });
            q.shape_colour.push(TextQuery {
                text: format!("a {} {}", o.colour.name(), o.shape.name()),
                query: Query {
                    objects: vec![ObjectQuery::shape_colour(o)],
                    relation: None,
                    background: None,
                },
            });
        } else {
            let c = scene.pair_caption(&mut rng);
            q.pair.push(TextQuery {
                text: c.text,
                query: c.query,
            });
        }
    }
    q
}

/// Recall@1/@5 of queries against `items` by dot product (vectors are
/// normalised). `exclude[q]` is an item index never retrieved for query `q`
/// (the query image itself).
fn recall(
    queries: &[Vec<f32>],
    items: &[Vec<f32>],
    correct: &[Vec<bool>],
    exclude: Option<&[usize]>,
) -> Recall {
    let n = queries.len();
    let (mut h1, mut h5, mut total_correct) = (0usize, 0usize, 0usize);
    for (qi, q) in queries.iter().enumerate() {
        let skip = exclude.map(|e| e[qi]);
        let mut scored: Vec<(f32, usize)> = items
            .iter()
            .enumerate()
            .filter(|&(j, _)| Some(j) != skip)
            .map(|(j, v)| (q.iter().zip(v).map(|(a, b)| a * b).sum::<f32>(), j))
            .collect();
        // Best first; ties by index so the result is deterministic.
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let ok = |k: usize| scored.iter().take(k).any(|&(_, j)| correct[qi][j]);
        h1 += ok(1) as usize;
        h5 += ok(5) as usize;
        total_correct += correct[qi]
            .iter()
            .enumerate()
            .filter(|&(j, &c)| c && Some(j) != skip)
            .count();
    }
    let d = n.max(1) as f64;
    Recall {
        queries: n,
        r1: h1 as f64 / d,
        r5: h5 as f64 / d,
        mean_correct: total_correct as f64 / d,
    }
}
