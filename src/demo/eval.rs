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
//!
//! A second report, [`PaintedReport`] ([`evaluate_painted`]), scores fixed
//! phrasings ("a {colour} {shape}", "{shape} coloured {colour}", "a picture
//! of a {colour} {shape}", "a {shape}") on single-object sets: images of
//! [`paint`](super::paint), an independent drawing program no model trains on
//! ([`HeldOut::painted`], seed [`PAINTED_SEED`]), and, for comparison, of this
//! crate's generator ([`HeldOut::single_object`]).

use rayon::prelude::*;

use super::paint;
use super::rng::Rng;
use super::synth::{
    article, encode_jpeg, encode_png, Colour, ObjectQuery, Query, RenderOptions, Scene,
    SceneOptions, Shape,
};
use crate::embed::{EmbedError, Embedder};

/// Seed of the held-out set used by `tests/integration/demo_model.rs` and the trainer's
/// final report (the trainer's own data uses `--seed`, 1 by default).
pub const HELDOUT_SEED: u64 = 0x00C0_FFEE_D15C_0DE5;

/// Seed of the painted held-out set ([`HeldOut::painted`]) used by
/// `tests/integration/demo_model.rs`.
pub const PAINTED_SEED: u64 = 0x0050_A1D7_BA5E_0D20;

/// Single-object images of the phrasing reports (the test's, the trainer's
/// and the evaluator's default): every (colour, shape) pair occurs, about
/// ten times each.
pub const PHRASING_IMAGES: usize = 600;

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
        HeldOut::render_scenes(seed, n, |i| Scene::nth(seed, i, &opts))
    }

    /// `n` single-object scenes of stream `seed` from this crate's generator,
    /// rendered and encoded as in [`HeldOut::generate`]: the counterpart of
    /// [`HeldOut::painted`] for [`evaluate_painted`].
    pub fn single_object(seed: u64, n: usize) -> HeldOut {
        let opts = SceneOptions::default();
        HeldOut::render_scenes(seed, n, |i| {
            Scene::random_with_objects(&mut Rng::for_index(seed, i), &opts, 1)
        })
    }

    fn render_scenes(seed: u64, n: usize, scene: impl Fn(u64) -> Scene + Sync) -> HeldOut {
        let (scenes, images) = (0..n as u64)
            .into_par_iter()
            .map(|i| {
                let scene = scene(i);
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

    /// `n` single-object images drawn by [`paint`](super::paint), the
    /// independent drawing program no model trains on: 96 to 320 px, encoded
    /// as PNG or (40 %) JPEG of quality 50 to 95.
    pub fn painted(seed: u64, n: usize) -> HeldOut {
        let (scenes, images) = (0..n as u64)
            .into_par_iter()
            .map(|i| {
                let mut rng = Rng::for_index(seed, i);
                let scene = paint::random_scene(&mut rng);
                let size = rng.int_in(96, 320) as u32;
                let img = paint::paint(&scene, size, &mut rng);
                let bytes = if rng.chance(0.4) {
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
    let image_vecs = embed_set(set, &embed_images)?;
    let text_recall = |qs: &[TextQuery]| -> Result<Recall, E> {
        let texts: Vec<&str> = qs.iter().map(|q| q.text.as_str()).collect();
        let vecs = embed_in_chunks(&texts, &embed_texts)?;
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

/// Items embedded per call of an embedding function.
const EMBED_CHUNK: usize = 250;

fn embed_in_chunks<T, E>(
    items: &[T],
    embed: &impl Fn(&[T]) -> Result<Vec<Vec<f32>>, E>,
) -> Result<Vec<Vec<f32>>, E> {
    let mut out = Vec::with_capacity(items.len());
    for part in items.chunks(EMBED_CHUNK) {
        out.extend(embed(part)?);
    }
    Ok(out)
}

fn embed_set<'a, E>(
    set: &'a HeldOut,
    embed_images: &impl Fn(&[&'a [u8]]) -> Result<Vec<Vec<f32>>, E>,
) -> Result<Vec<Vec<f32>>, E> {
    let refs: Vec<&[u8]> = set.images.iter().map(Vec::as_slice).collect();
    embed_in_chunks(&refs, embed_images)
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
        let ranked: Vec<usize> = rank(q, items)
            .into_iter()
            .filter(|&j| Some(j) != skip)
            .collect();
        let ok = |k: usize| ranked.iter().take(k).any(|&j| correct[qi][j]);
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

/// Retrieval scores of one query phrasing (see [`PaintedReport`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PhrasingScores {
    /// The phrasing, e.g. `a {colour} {shape}`.
    pub template: &'static str,
    pub queries: usize,
    /// Share of queries whose best image has the named colour and shape.
    pub r1: f64,
    /// Mean share of correct images (colour and shape) among the 5 best.
    pub p5: f64,
    /// Share of queries whose best image has the named colour.
    pub colour_r1: f64,
    /// Share of queries whose best image has the named shape.
    pub shape_r1: f64,
    /// Mean share of correct images among the best `m`, `m` being the
    /// number of correct images of the query: unlike R@1 and P@5 it does
    /// not get easier as the set grows.
    pub r_precision: f64,
}

/// Scores of the shape-only queries "a {shape}".
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeScores {
    /// One per distinct shape in the set (6 at most).
    pub queries: usize,
    /// Share of queries whose best image has the shape.
    pub r1: f64,
    /// Mean share of images with the shape among the 5 best.
    pub p5: f64,
    /// Mean share of images with the shape among the best `m`, `m` being
    /// the number of images with it (1.0: every one ranks above all others).
    pub r_precision: f64,
    /// R-precision of each shape's query, in [`Shape::ALL`] order.
    pub by_shape: Vec<(Shape, f64)>,
}

/// Text-to-image retrieval by fixed phrasings on a set of single-object
/// images, e.g. [`HeldOut::painted`] (the independent renderer) or
/// [`HeldOut::single_object`] (this crate's generator). Each colour-and-shape
/// phrasing has one query per distinct (colour, shape) in the set, with the
/// canonical names ([`Colour::name`], [`Shape::name`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PaintedReport {
    pub images: usize,
    /// "a {colour} {shape}" ("a red star", "an orange ring").
    pub colour_shape: PhrasingScores,
    /// "{shape} coloured {colour}" ("star coloured red").
    pub shape_coloured: PhrasingScores,
    /// "a picture of a {colour} {shape}".
    pub picture_of: PhrasingScores,
    /// "a {shape}".
    pub shape_only: ShapeScores,
}

impl PaintedReport {
    /// The three colour-and-shape phrasings.
    pub fn phrasings(&self) -> [&PhrasingScores; 3] {
        [&self.colour_shape, &self.shape_coloured, &self.picture_of]
    }
}

impl std::fmt::Display for PaintedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "single-object images: {}", self.images)?;
        writeln!(
            f,
            "{:<34} {:>7}  {:>5}  {:>5}  {:>10}  {:>9}  {:>11}",
            "phrasing", "queries", "R@1", "P@5", "colour R@1", "shape R@1", "R-precision"
        )?;
        for p in self.phrasings() {
            writeln!(
                f,
                "{:<34} {:>7}  {:.3}  {:.3}  {:>10.3}  {:>9.3}  {:>11.3}",
                format!("\"{}\"", p.template),
                p.queries,
                p.r1,
                p.p5,
                p.colour_r1,
                p.shape_r1,
                p.r_precision
            )?;
        }
        let s = &self.shape_only;
        writeln!(
            f,
            "{:<34} {:>7}  {:.3}  {:.3}  {:>10}  {:>9.3}  {:>11.3}",
            "\"a {shape}\"", s.queries, s.r1, s.p5, "-", s.r1, s.r_precision
        )?;
        write!(f, "\"a {{shape}}\" R-precision by shape:")?;
        for (shape, rp) in &s.by_shape {
            write!(f, " {shape} {rp:.3}")?;
        }
        Ok(())
    }
}

/// [`PaintedReport`] of `set` with `embedder` (images from their encoded bytes).
pub fn evaluate_painted(embedder: &Embedder, set: &HeldOut) -> Result<PaintedReport, EmbedError> {
    evaluate_painted_with(
        set,
        |imgs| embedder.embed_images(imgs),
        |texts| embedder.embed_texts(texts),
    )
}

/// [`evaluate_painted`] with any embedding functions (L2-normalised
/// vectors), e.g. a model in training. Scenes with more than one object
/// count as correct when any of their objects is.
pub fn evaluate_painted_with<E>(
    set: &HeldOut,
    embed_images: impl Fn(&[&[u8]]) -> Result<Vec<Vec<f32>>, E>,
    embed_texts: impl Fn(&[&str]) -> Result<Vec<Vec<f32>>, E>,
) -> Result<PaintedReport, E> {
    let image_vecs = embed_set(set, &embed_images)?;
    let has = |i: usize, colour: Option<Colour>, shape: Option<Shape>| {
        set.scenes[i]
            .objects
            .iter()
            .any(|o| colour.is_none_or(|c| o.colour == c) && shape.is_none_or(|s| o.shape == s))
    };
    let mut pairs: Vec<(Colour, Shape)> = set
        .scenes
        .iter()
        .flat_map(|s| s.objects.iter().map(|o| (o.colour, o.shape)))
        .collect();
    pairs.sort();
    pairs.dedup();
    let mut shapes: Vec<Shape> = pairs.iter().map(|p| p.1).collect();
    shapes.sort();
    shapes.dedup();

    type Phrase = fn(Colour, Shape) -> String;
    let phrasings: [(&'static str, Phrase); 3] = [
        ("a {colour} {shape}", |c, s| {
            article(&format!("{} {}", c.name(), s.name()))
        }),
        ("{shape} coloured {colour}", |c, s| {
            format!("{} coloured {}", s.name(), c.name())
        }),
        ("a picture of a {colour} {shape}", |c, s| {
            format!(
                "a picture of {}",
                article(&format!("{} {}", c.name(), s.name()))
            )
        }),
    ];
    let mut texts: Vec<String> = Vec::new();
    for (_, phrase) in &phrasings {
        texts.extend(pairs.iter().map(|&(c, s)| phrase(c, s)));
    }
    texts.extend(shapes.iter().map(|s| article(s.name())));
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let text_vecs = embed_in_chunks(&refs, &embed_texts)?;

    let mut scores = Vec::with_capacity(3);
    for (k, (template, _)) in phrasings.iter().enumerate() {
        let vecs = &text_vecs[k * pairs.len()..(k + 1) * pairs.len()];
        let (mut r1, mut p5, mut colour_r1, mut shape_r1, mut r_precision) =
            (0.0, 0.0, 0.0, 0.0, 0.0);
        for (q, &(c, s)) in vecs.iter().zip(&pairs) {
            let ranked = rank(q, &image_vecs);
            let top = ranked[0];
            r1 += has(top, Some(c), Some(s)) as u8 as f64;
            colour_r1 += has(top, Some(c), None) as u8 as f64;
            shape_r1 += has(top, None, Some(s)) as u8 as f64;
            p5 += precision(&ranked, 5, |i| has(i, Some(c), Some(s)));
            let m = (0..set.scenes.len())
                .filter(|&i| has(i, Some(c), Some(s)))
                .count();
            r_precision += precision(&ranked, m, |i| has(i, Some(c), Some(s)));
        }
        let n = pairs.len().max(1) as f64;
        scores.push(PhrasingScores {
            template,
            queries: pairs.len(),
            r1: r1 / n,
            p5: p5 / n,
            colour_r1: colour_r1 / n,
            shape_r1: shape_r1 / n,
            r_precision: r_precision / n,
        });
    }
    let (mut r1, mut p5, mut by_shape) = (0.0, 0.0, Vec::new());
    for (q, &s) in text_vecs[3 * pairs.len()..].iter().zip(&shapes) {
        let ranked = rank(q, &image_vecs);
        let correct = |i: usize| has(i, None, Some(s));
        r1 += correct(ranked[0]) as u8 as f64;
        p5 += precision(&ranked, 5, correct);
        let m = (0..set.scenes.len()).filter(|&i| correct(i)).count();
        by_shape.push((s, precision(&ranked, m, correct)));
    }
    let n = shapes.len().max(1) as f64;
    let mut scores = scores.into_iter();
    let mut next = || scores.next().expect("three phrasings");
    Ok(PaintedReport {
        images: set.scenes.len(),
        colour_shape: next(),
        shape_coloured: next(),
        picture_of: next(),
        shape_only: ShapeScores {
            queries: shapes.len(),
            r1: r1 / n,
            p5: p5 / n,
            r_precision: by_shape.iter().map(|b| b.1).sum::<f64>() / n,
            by_shape,
        },
    })
}

/// Item indices by descending dot product with `query`; ties by index, so
/// the order is deterministic.
fn rank(query: &[f32], items: &[Vec<f32>]) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = items
        .iter()
        .enumerate()
        .map(|(j, v)| (query.iter().zip(v).map(|(a, b)| a * b).sum::<f32>(), j))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, j)| j).collect()
}

/// Share of the first `k` of `ranked` that are correct (0 when `k` is 0).
fn precision(ranked: &[usize], k: usize, correct: impl Fn(usize) -> bool) -> f64 {
    if k == 0 {
        return 0.0;
    }
    ranked.iter().take(k).filter(|&&i| correct(i)).count() as f64 / k as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painted_sets_are_single_object_png_and_jpeg_of_96_to_320_px() {
        let set = HeldOut::painted(11, 200);
        assert_eq!(set.images.len(), 200);
        let mut jpeg = 0;
        for (bytes, scene) in set.images.iter().zip(&set.scenes) {
            assert_eq!(scene.objects.len(), 1);
            let format = image::guess_format(bytes).unwrap();
            assert!(
                [image::ImageFormat::Png, image::ImageFormat::Jpeg].contains(&format),
                "{format:?}"
            );
            jpeg += (format == image::ImageFormat::Jpeg) as usize;
            let img = image::load_from_memory(bytes).unwrap();
            assert_eq!(img.width(), img.height());
            assert!((96..=320).contains(&img.width()), "{}", img.width());
        }
        assert!((50..=110).contains(&jpeg), "{jpeg} JPEGs of 200");
        // Deterministic for a seed.
        assert_eq!(HeldOut::painted(11, 20).images, set.images[..20]);
    }

    /// Embeds images as one-hot vectors of their (colour, shape) and texts by
    /// the colour and shape names they contain: a perfect model (and one
    /// that ignores shapes).
    #[test]
    fn scores_follow_what_a_model_sees() {
        let set = HeldOut::painted(5, 120);
        let index = |c: Option<Colour>, s: Option<Shape>| -> Vec<f32> {
            let mut v = [0.0f32; 16];
            if let Some(c) = c {
                v[c as usize] = 1.0;
            }
            if let Some(s) = s {
                v[10 + s as usize] = 1.0;
            }
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / n).collect()
        };
        let by_bytes: std::collections::HashMap<&[u8], (Colour, Shape)> = set
            .images
            .iter()
            .zip(&set.scenes)
            .map(|(b, s)| (b.as_slice(), (s.objects[0].colour, s.objects[0].shape)))
            .collect();
        // `see_shapes` false: a model blind to shapes.
        let evaluate = |see_shapes: bool| {
            evaluate_painted_with(
                &set,
                |imgs| -> Result<_, ()> {
                    Ok(imgs
                        .iter()
                        .map(|b| {
                            let (c, s) = by_bytes[b];
                            index(Some(c), Some(s).filter(|_| see_shapes))
                        })
                        .collect())
                },
                |texts| {
                    Ok(texts
                        .iter()
                        .map(|t| {
                            let words: Vec<&str> = t.split(' ').collect();
                            let c = Colour::ALL.into_iter().find(|c| words.contains(&c.name()));
                            let s = Shape::ALL.into_iter().find(|s| words.contains(&s.name()));
                            index(c, s)
                        })
                        .collect())
                },
            )
            .unwrap()
        };
        let blind = evaluate(false);
        for p in blind.phrasings() {
            assert_eq!(p.colour_r1, 1.0, "{blind}");
            assert!(p.shape_r1 < 0.6 && p.r1 < 0.6, "{blind}");
        }
        let report = evaluate(true);
        for p in report.phrasings() {
            assert!(p.queries >= 30, "{report}");
            assert_eq!((p.r1, p.colour_r1, p.shape_r1), (1.0, 1.0, 1.0), "{report}");
            assert!(p.p5 > 0.2 && p.p5 <= 1.0, "{report}");
            assert_eq!(p.r_precision, 1.0, "{report}");
        }
        assert_eq!(report.shape_only.queries, 6);
        assert_eq!(report.shape_only.r_precision, 1.0, "{report}");
        assert_eq!(report.shape_only.p5, 1.0, "{report}");
    }
}
