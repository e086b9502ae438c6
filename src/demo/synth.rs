//! Synthetic captioned images: coloured shapes on simple backgrounds.
//!
//! A [`Scene`] is one or two [`Object`]s (shape, colour, size, position in a
//! 3x3 grid, plus the exact geometry) on a [`Background`]. It renders at any
//! square size ([`Scene::render`]) and describes itself in English
//! ([`Scene::caption`], [`Scene::captions`]). Every caption carries a
//! [`Query`]: the attributes it names, which [`Query::matches`] checks against
//! any scene, so "is image B a correct answer to a caption written for image
//! A?" has an exact answer.
//!
//! Everything is drawn by hand from signed distance functions, so the output
//! depends only on the seed (and this file), not on a drawing library.

use std::fmt;
use std::io::Cursor;

use image::{ImageEncoder, Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use super::rng::Rng;

/// The shapes drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    Star,
    Cross,
    Ring,
}

impl Shape {
    pub const ALL: [Shape; 6] = [
        Shape::Circle,
        Shape::Square,
        Shape::Triangle,
        Shape::Star,
        Shape::Cross,
        Shape::Ring,
    ];

    /// The canonical English noun.
    pub fn name(self) -> &'static str {
        self.synonyms()[0]
    }

    /// Nouns used in captions; the first is the canonical one.
    pub fn synonyms(self) -> &'static [&'static str] {
        match self {
            Shape::Circle => &["circle", "disc", "disk", "dot", "round shape"],
            Shape::Square => &["square", "box", "block"],
            Shape::Triangle => &["triangle", "triangular shape"],
            Shape::Star => &["star", "pointed star", "star shape"],
            Shape::Cross => &["cross", "plus sign", "plus"],
            Shape::Ring => &["ring", "donut", "hollow circle", "circle outline"],
        }
    }

    /// Signed distance of `(x, y)` (in units of the object's radius, y pointing
    /// down) to the outline: negative inside.
    fn sdf(self, x: f32, y: f32) -> f32 {
        match self {
            Shape::Circle => (x * x + y * y).sqrt() - 1.0,
            Shape::Square => sd_box(x, y, 0.8, 0.8),
            Shape::Triangle => sd_triangle(x, -y + 0.26, 0.9),
            Shape::Star => sd_star5(x, -y + 0.1, 1.05, 0.45),
            Shape::Cross => sd_box(x, y, 1.0, 0.32).min(sd_box(x, y, 0.32, 1.0)),
            Shape::Ring => ((x * x + y * y).sqrt() - 0.74).abs() - 0.26,
        }
    }
}

/// The object colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    Red,
    Orange,
    Yellow,
    Green,
    Blue,
    Purple,
    Pink,
    Brown,
    Black,
    White,
}

impl Colour {
    pub const ALL: [Colour; 10] = [
        Colour::Red,
        Colour::Orange,
        Colour::Yellow,
        Colour::Green,
        Colour::Blue,
        Colour::Purple,
        Colour::Pink,
        Colour::Brown,
        Colour::Black,
        Colour::White,
    ];

    pub fn name(self) -> &'static str {
        self.synonyms()[0]
    }

    /// Adjectives used in captions; the first is the canonical one.
    pub fn synonyms(self) -> &'static [&'static str] {
        match self {
            Colour::Red => &["red", "scarlet"],
            Colour::Orange => &["orange"],
            Colour::Yellow => &["yellow"],
            Colour::Green => &["green"],
            Colour::Blue => &["blue"],
            Colour::Purple => &["purple", "violet"],
            Colour::Pink => &["pink"],
            Colour::Brown => &["brown"],
            Colour::Black => &["black"],
            Colour::White => &["white"],
        }
    }

    /// The reference sRGB value (rendered with a little jitter).
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Colour::Red => [220, 30, 30],
            Colour::Orange => [245, 140, 20],
            Colour::Yellow => [245, 215, 30],
            Colour::Green => [40, 165, 50],
            Colour::Blue => [35, 80, 225],
            Colour::Purple => [135, 45, 185],
            Colour::Pink => [250, 125, 195],
            Colour::Brown => [120, 70, 30],
            Colour::Black => [15, 15, 15],
            Colour::White => [248, 248, 248],
        }
    }
}

/// Object size class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    Small,
    Large,
}

impl Size {
    pub const ALL: [Size; 2] = [Size::Small, Size::Large];

    pub fn name(self) -> &'static str {
        self.synonyms()[0]
    }

    pub fn synonyms(self) -> &'static [&'static str] {
        match self {
            Size::Small => &["small", "little", "tiny"],
            Size::Large => &["large", "big"],
        }
    }

    /// Range of the radius as a fraction of the image side.
    pub fn radius_range(self) -> (f32, f32) {
        match self {
            Size::Small => (0.085, 0.115),
            Size::Large => (0.15, 0.19),
        }
    }
}

/// Cell of a 3x3 grid over the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    TopLeft,
    Top,
    TopRight,
    Left,
    Centre,
    Right,
    BottomLeft,
    Bottom,
    BottomRight,
}

impl Position {
    pub const ALL: [Position; 9] = [
        Position::TopLeft,
        Position::Top,
        Position::TopRight,
        Position::Left,
        Position::Centre,
        Position::Right,
        Position::BottomLeft,
        Position::Bottom,
        Position::BottomRight,
    ];

    /// Grid row and column, 0..3 each (row 0 = top).
    pub fn row_col(self) -> (usize, usize) {
        let i = self as usize;
        (i / 3, i % 3)
    }

    pub fn from_row_col(row: usize, col: usize) -> Position {
        Position::ALL[row.min(2) * 3 + col.min(2)]
    }

    /// The cell holding the point `(x, y)` (fractions of the side, y down).
    pub fn of_point(x: f32, y: f32) -> Position {
        let cell = |v: f32| ((v * 3.0).floor().max(0.0) as usize).min(2);
        Position::from_row_col(cell(y), cell(x))
    }

    /// Canonical name ("top left", "centre", ...).
    pub fn name(self) -> &'static str {
        match self {
            Position::TopLeft => "top left",
            Position::Top => "top",
            Position::TopRight => "top right",
            Position::Left => "left",
            Position::Centre => "centre",
            Position::Right => "right",
            Position::BottomLeft => "bottom left",
            Position::Bottom => "bottom",
            Position::BottomRight => "bottom right",
        }
    }

    /// Phrases that follow a noun ("a red circle in the top left corner").
    pub fn phrases(self) -> &'static [&'static str] {
        match self {
            Position::TopLeft => &[
                "in the top left corner",
                "in the top left",
                "at the top left",
                "in the upper left corner",
            ],
            Position::Top => &["at the top", "at the top centre", "in the top middle"],
            Position::TopRight => &[
                "in the top right corner",
                "in the top right",
                "at the top right",
                "in the upper right corner",
            ],
            Position::Left => &["on the left", "at the left side", "in the middle left"],
            Position::Centre => &["in the centre", "in the center", "in the middle"],
            Position::Right => &["on the right", "at the right side", "in the middle right"],
            Position::BottomLeft => &[
                "in the bottom left corner",
                "in the bottom left",
                "at the bottom left",
                "in the lower left corner",
            ],
            Position::Bottom => &[
                "at the bottom",
                "at the bottom centre",
                "in the bottom middle",
            ],
            Position::BottomRight => &[
                "in the bottom right corner",
                "in the bottom right",
                "at the bottom right",
                "in the lower right corner",
            ],
        }
    }

    /// Centre of the cell, as fractions of the side.
    pub fn anchor(self) -> (f32, f32) {
        let (r, c) = self.row_col();
        let a = [0.22, 0.5, 0.78];
        (a[c], a[r])
    }
}

/// Kind of background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackgroundKind {
    Plain,
    Gradient,
    Noise,
}

impl BackgroundKind {
    pub const ALL: [BackgroundKind; 3] = [
        BackgroundKind::Plain,
        BackgroundKind::Gradient,
        BackgroundKind::Noise,
    ];

    fn phrases(self) -> &'static [&'static str] {
        match self {
            BackgroundKind::Plain => &["on a plain background", "on a solid background"],
            BackgroundKind::Gradient => &["on a gradient background", "on a gradient"],
            BackgroundKind::Noise => &["on a noisy background", "on a textured background"],
        }
    }
}

/// The background: a plain colour, a linear gradient from `a` to `b`, or `a`
/// with smooth and per-pixel noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Background {
    pub kind: BackgroundKind,
    pub a: [u8; 3],
    pub b: [u8; 3],
    /// Gradient direction in radians.
    pub angle: f32,
    /// Noise amplitude (0..255 levels).
    pub noise: f32,
    pub noise_seed: u64,
}

/// Background colours, chosen to be far from most object colours.
const BACKGROUNDS: [[u8; 3]; 14] = [
    [252, 252, 252],
    [232, 232, 228],
    [245, 238, 218],
    [218, 230, 242],
    [224, 240, 224],
    [242, 226, 232],
    [198, 198, 198],
    [28, 28, 32],
    [22, 32, 64],
    [24, 52, 32],
    [62, 62, 62],
    [54, 32, 44],
    [148, 160, 172],
    [176, 156, 124],
];

/// Minimum RGB distance between an object colour and the background under it.
const MIN_CONTRAST: f32 = 95.0;

/// Whether an object of colour `rgb` stands out from `bg` everywhere.
fn contrasts(rgb: [u8; 3], bg: &Background) -> bool {
    rgb_dist(rgb, bg.a) >= MIN_CONTRAST
        && (bg.kind != BackgroundKind::Gradient || rgb_dist(rgb, bg.b) >= MIN_CONTRAST)
}

/// An object with the given ground truth and random geometry (position
/// jitter, radius, rotation, colour jitter), or `None` if it would share a
/// cell or a shape-and-colour with, or come too close to, one of `others`.
fn place(
    rng: &mut Rng,
    opts: &SceneOptions,
    (shape, colour, size, position): (Shape, Colour, Size, Position),
    others: &[Object],
) -> Option<Object> {
    if others
        .iter()
        .any(|o| o.position == position || (o.shape == shape && o.colour == colour))
    {
        return None;
    }
    let (lo, hi) = size.radius_range();
    let radius = rng.range(lo, hi);
    let (ax, ay) = position.anchor();
    let j = opts.position_jitter;
    // Keep the centre in its cell and the shape inside the image.
    let clampc = |v: f32, lo_cell: f32, hi_cell: f32| {
        v.clamp(lo_cell + 0.01, hi_cell - 0.01)
            .clamp(radius * 1.05, 1.0 - radius * 1.05)
    };
    let (r, c) = position.row_col();
    let cell = |k: usize| (k as f32 / 3.0, (k + 1) as f32 / 3.0);
    let cx = clampc(ax + rng.range(-j, j), cell(c).0, cell(c).1);
    let cy = clampc(ay + rng.range(-j, j), cell(r).0, cell(r).1);
    if others.iter().any(|o| {
        let d = ((o.cx - cx).powi(2) + (o.cy - cy).powi(2)).sqrt();
        d < (o.radius + radius) * 1.2
    }) {
        return None;
    }
    let jit = opts.colour_jitter;
    let base = colour.rgb();
    let rgb =
        std::array::from_fn(|i| (base[i] as f32 + rng.range(-jit, jit)).clamp(0.0, 255.0) as u8);
    let rotation = rng.range(-opts.max_rotation, opts.max_rotation);
    Some(Object {
        shape,
        colour,
        size,
        position: Position::of_point(cx, cy),
        rgb,
        cx,
        cy,
        radius,
        rotation,
    })
}

pub(crate) fn rgb_dist(a: [u8; 3], b: [u8; 3]) -> f32 {
    let d: Vec<f32> = (0..3).map(|i| a[i] as f32 - b[i] as f32).collect();
    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
}

/// One drawn object: its ground truth (shape, colour, size, position) and geometry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object {
    pub shape: Shape,
    pub colour: Colour,
    pub size: Size,
    /// Grid cell of the centre.
    pub position: Position,
    /// Drawn colour (the reference colour with jitter).
    pub rgb: [u8; 3],
    /// Centre, as fractions of the image side (y down).
    pub cx: f32,
    pub cy: f32,
    /// Radius as a fraction of the side.
    pub radius: f32,
    /// Rotation in radians.
    pub rotation: f32,
}

impl Object {
    /// Whether the object has every attribute `q` names.
    pub fn satisfies(&self, q: &ObjectQuery) -> bool {
        q.shape.is_none_or(|s| s == self.shape)
            && q.colour.is_none_or(|c| c == self.colour)
            && q.size.is_none_or(|s| s == self.size)
            && q.position.is_none_or(|p| p == self.position)
    }

    /// Canonical description, e.g. "small red circle in the top left corner".
    pub fn describe(&self) -> String {
        format!(
            "{} {} {} {}",
            self.size.name(),
            self.colour.name(),
            self.shape.name(),
            self.position.phrases()[0]
        )
    }
}

/// How scenes are sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneOptions {
    /// Probability of two objects instead of one.
    pub two_objects: f32,
    /// Largest offset of an object's centre from its cell's anchor (fraction of the side).
    pub position_jitter: f32,
    /// Largest rotation in radians.
    pub max_rotation: f32,
    /// Per-channel colour jitter in levels.
    pub colour_jitter: f32,
}

impl Default for SceneOptions {
    fn default() -> Self {
        SceneOptions {
            two_objects: 0.5,
            position_jitter: 0.05,
            max_rotation: 0.2,
            colour_jitter: 12.0,
        }
    }
}

/// An image's content: background and one or two objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    pub background: Background,
    pub objects: Vec<Object>,
}

/// Options of one rendering (augmentations that do not change the content).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    /// Anti-aliased edges (coverage from the distance field) or hard edges.
    pub antialias: bool,
    /// Draw a darker outline of this width in pixels (0: none).
    pub outline: f32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            antialias: true,
            outline: 0.0,
        }
    }
}

impl RenderOptions {
    /// Random augmentation: hard edges 30 % of the time, an outline 15 %.
    pub fn random(rng: &mut Rng) -> Self {
        RenderOptions {
            antialias: !rng.chance(0.3),
            outline: if rng.chance(0.15) {
                rng.range(0.8, 2.5)
            } else {
                0.0
            },
        }
    }
}

impl Scene {
    /// A random scene.
    pub fn random(rng: &mut Rng, opts: &SceneOptions) -> Scene {
        let n = if rng.chance(opts.two_objects) { 2 } else { 1 };
        Scene::random_with_objects(rng, opts, n)
    }

    /// The scene number `index` of the stream `seed` (independent of all others).
    pub fn nth(seed: u64, index: u64, opts: &SceneOptions) -> Scene {
        Scene::random(&mut Rng::for_index(seed, index), opts)
    }

    /// A random scene with exactly `n` objects (1 or 2).
    pub fn random_with_objects(rng: &mut Rng, opts: &SceneOptions, n: usize) -> Scene {
        assert!((1..=2).contains(&n), "scenes have 1 or 2 objects");
        let mut objects: Vec<Object> = Vec::with_capacity(n);
        while objects.len() < n {
            let shape = *rng.pick(&Shape::ALL);
            let colour = *rng.pick(&Colour::ALL);
            let size = *rng.pick(&Size::ALL);
            let position = *rng.pick(&Position::ALL);
            if let Some(o) = place(rng, opts, (shape, colour, size, position), &objects) {
                objects.push(o);
            }
        }
        let background = random_background(rng, &objects);
        Scene {
            background,
            objects,
        }
    }

    /// A scene that differs from this one in one thing: one object's shape,
    /// colour, size or position, an object added or removed, or the
    /// background. A training batch made of such near-duplicates has hard
    /// negatives, so that no attribute can be ignored.
    pub fn variant(&self, rng: &mut Rng, opts: &SceneOptions) -> Scene {
        for _ in 0..64 {
            let mut s = self.clone();
            let i = rng.below(s.objects.len());
            let others: Vec<Object> = s
                .objects
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, o)| o.clone())
                .collect();
            let o = s.objects[i].clone();
            let key = (o.shape, o.colour, o.size, o.position);
            let changed = match rng.below(6) {
                0 => {
                    let shape = *rng.pick(&Shape::ALL);
                    place(rng, opts, (shape, key.1, key.2, key.3), &others)
                }
                1 => {
                    let colour = *rng.pick(&Colour::ALL);
                    place(rng, opts, (key.0, colour, key.2, key.3), &others)
                }
                2 => {
                    let size = if o.size == Size::Small {
                        Size::Large
                    } else {
                        Size::Small
                    };
                    place(rng, opts, (key.0, key.1, size, key.3), &others)
                }
                3 => {
                    let position = *rng.pick(&Position::ALL);
                    place(rng, opts, (key.0, key.1, key.2, position), &others)
                }
                4 => {
                    if s.objects.len() == 2 {
                        s.objects.remove(i);
                    } else {
                        let add = (
                            *rng.pick(&Shape::ALL),
                            *rng.pick(&Colour::ALL),
                            *rng.pick(&Size::ALL),
                            *rng.pick(&Position::ALL),
                        );
                        match place(rng, opts, add, &s.objects) {
                            Some(new) => s.objects.push(new),
                            None => continue,
                        }
                    }
                    None
                }
                _ => {
                    s.background = random_background(rng, &s.objects);
                    None
                }
            };
            if let Some(new) = changed {
                // Keep the geometry when only the shape or colour changed.
                let mut new = new;
                if (new.size, new.position) == (o.size, o.position) {
                    (new.cx, new.cy, new.radius, new.rotation) = (o.cx, o.cy, o.radius, o.rotation);
                }
                if new.colour == o.colour {
                    new.rgb = o.rgb;
                }
                s.objects[i] = new;
            }
            let visible = s.objects.iter().all(|o| contrasts(o.rgb, &s.background));
            let differs = s.objects.len() != self.objects.len()
                || s.background.kind != self.background.kind
                || s.background.a != self.background.a
                || s.objects.iter().zip(&self.objects).any(|(a, b)| {
                    (a.shape, a.colour, a.size, a.position)
                        != (b.shape, b.colour, b.size, b.position)
                });
            if visible && differs {
                return s;
            }
        }
        Scene::random(rng, opts)
    }

    /// Renders at `size` x `size` pixels with anti-aliasing and no outline.
    pub fn render(&self, size: u32) -> RgbImage {
        self.render_with(size, &RenderOptions::default())
    }

    /// Renders at `size` x `size` pixels.
    pub fn render_with(&self, size: u32, opts: &RenderOptions) -> RgbImage {
        let s = size as f32;
        let mut buf = vec![[0f32; 3]; (size * size) as usize];
        let bg = &self.background;
        let (a, b) = (to_f(bg.a), to_f(bg.b));
        let (dx, dy) = (bg.angle.cos(), bg.angle.sin());
        let lattice = NoiseLattice::new(bg.noise_seed);
        for py in 0..size {
            for px in 0..size {
                let u = (px as f32 + 0.5) / s;
                let v = (py as f32 + 0.5) / s;
                let c = match bg.kind {
                    BackgroundKind::Plain => a,
                    BackgroundKind::Gradient => {
                        // Projection on the direction, mapped to 0..1 over the image.
                        let t = (((u - 0.5) * dx + (v - 0.5) * dy) / 0.7072 + 1.0) * 0.5;
                        lerp3(a, b, t.clamp(0.0, 1.0))
                    }
                    BackgroundKind::Noise => {
                        let smooth = lattice.sample(u * 5.0, v * 5.0);
                        let fine = hash_unit(bg.noise_seed, px, py) - 0.5;
                        let k = bg.noise * (smooth * 1.4 + fine * 0.8);
                        [a[0] + k, a[1] + k * 0.9, a[2] + k * 1.1]
                    }
                };
                buf[(py * size + px) as usize] = c;
            }
        }
        for o in &self.objects {
            let fill = to_f(o.rgb);
            let line = [fill[0] * 0.55, fill[1] * 0.55, fill[2] * 0.55];
            let line = if o.colour == Colour::Black {
                [90.0, 90.0, 90.0]
            } else {
                line
            };
            let rpx = o.radius * s;
            let (sin, cos) = (-o.rotation).sin_cos();
            let x0 = ((o.cx * s - rpx * 1.3).floor().max(0.0)) as u32;
            let x1 = ((o.cx * s + rpx * 1.3).ceil().min(s)) as u32;
            let y0 = ((o.cy * s - rpx * 1.3).floor().max(0.0)) as u32;
            let y1 = ((o.cy * s + rpx * 1.3).ceil().min(s)) as u32;
            let cover = |d_px: f32| -> f32 {
                if opts.antialias {
                    (0.5 - d_px).clamp(0.0, 1.0)
                } else if d_px < 0.0 {
                    1.0
                } else {
                    0.0
                }
            };
            for py in y0..y1 {
                for px in x0..x1 {
                    let x = ((px as f32 + 0.5) - o.cx * s) / rpx;
                    let y = ((py as f32 + 0.5) - o.cy * s) / rpx;
                    let (lx, ly) = (x * cos - y * sin, x * sin + y * cos);
                    let d = o.shape.sdf(lx, ly) * rpx;
                    let p = &mut buf[(py * size + px) as usize];
                    if opts.outline > 0.0 {
                        *p = lerp3(*p, line, cover(d));
                        *p = lerp3(*p, fill, cover(d + opts.outline));
                    } else {
                        *p = lerp3(*p, fill, cover(d));
                    }
                }
            }
        }
        let mut img = RgbImage::new(size, size);
        for (i, px) in img.pixels_mut().enumerate() {
            let c = buf[i];
            *px = Rgb([to_u8(c[0]), to_u8(c[1]), to_u8(c[2])]);
        }
        img
    }

    /// A random caption of the whole scene (or, for two objects, sometimes of
    /// one of them), with the query it expresses.
    pub fn caption(&self, rng: &mut Rng) -> Caption {
        if self.objects.len() == 2 && rng.chance(0.7) {
            self.pair_caption(rng)
        } else {
            let i = rng.below(self.objects.len());
            self.object_caption(i, rng)
        }
    }

    /// A random caption naming only object `i`.
    pub fn object_caption(&self, i: usize, rng: &mut Rng) -> Caption {
        let o = &self.objects[i];
        let q = random_detail(o, rng);
        let np = noun_phrase(&q, rng);
        let mut query = Query {
            objects: vec![q],
            relation: None,
            background: None,
        };
        let text = match rng.below(13) {
            0 => strip_article(&np),
            1 => format!("a picture of {np}"),
            2 => format!("an image of {np}"),
            3 => format!("a drawing of {np}"),
            4 => format!("there is {np}"),
            5 => {
                query.background = Some(self.background.kind);
                format!("{np} {}", rng.pick(self.background.kind.phrases()))
            }
            6 => format!("{np} on its own"),
            // "star coloured red", "a small square coloured blue": the way
            // people name a colour after the thing.
            7 | 8 if q.colour.is_some() && q.shape.is_some() => coloured_phrase(&q, rng),
            _ => np,
        };
        Caption { text, query }
    }

    /// A random caption naming both objects (two-object scenes only).
    pub fn pair_caption(&self, rng: &mut Rng) -> Caption {
        assert_eq!(self.objects.len(), 2, "pair_caption needs two objects");
        let (i, j) = if rng.chance(0.5) { (0, 1) } else { (1, 0) };
        let (a, b) = (&self.objects[i], &self.objects[j]);
        let (ra, ca) = a.position.row_col();
        let (rb, cb) = b.position.row_col();
        // Pair captions name shape and colour; size sometimes; position in some templates.
        let mut qa = ObjectQuery::shape_colour(a);
        let mut qb = ObjectQuery::shape_colour(b);
        if rng.chance(0.25) {
            qa.size = Some(a.size);
        }
        if rng.chance(0.25) {
            qb.size = Some(b.size);
        }
        let mut relation = None;
        let mut options: Vec<Relation> = Vec::with_capacity(2);
        if ra < rb {
            options.push(Relation::Above);
        }
        if ra > rb {
            options.push(Relation::Below);
        }
        if ca < cb {
            options.push(Relation::LeftOf);
        }
        if ca > cb {
            options.push(Relation::RightOf);
        }
        let t = rng.below(8);
        let text = match t {
            0 | 1 => {
                // Distinct cells: at least one spatial relation holds.
                let rel = *rng.pick(&options);
                relation = Some(rel);
                let (na, nb) = (noun_phrase(&qa, rng), noun_phrase(&qb, rng));
                format!("{na} {} {nb}", rel.phrase(rng))
            }
            2 => {
                qa.position = Some(a.position);
                qb.position = Some(b.position);
                let (na, nb) = (noun_phrase(&qa, rng), noun_phrase(&qb, rng));
                // noun_phrase appends the positions.
                format!("{na} and {nb}")
            }
            3 => {
                let (na, nb) = (noun_phrase(&qa, rng), noun_phrase(&qb, rng));
                format!("{na} next to {nb}")
            }
            4 => {
                let (na, nb) = (noun_phrase(&qa, rng), noun_phrase(&qb, rng));
                format!("two shapes: {na} and {nb}")
            }
            5 => {
                let (na, nb) = (noun_phrase(&qa, rng), noun_phrase(&qb, rng));
                format!("{na} with {nb}")
            }
            6 => {
                let (na, nb) = (noun_phrase(&qa, rng), noun_phrase(&qb, rng));
                format!("{} and {}", strip_article(&na), strip_article(&nb))
            }
            _ => {
                let (na, nb) = (noun_phrase(&qa, rng), noun_phrase(&qb, rng));
                format!("{na} and {nb}")
            }
        };
        Caption {
            text,
            query: Query {
                objects: vec![qa, qb],
                relation,
                background: None,
            },
        }
    }

    /// Several different captions of the scene: one per object and, for two
    /// objects, two of the pair, shuffled.
    pub fn captions(&self, rng: &mut Rng) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |c: Caption| {
            if !out.contains(&c.text) {
                out.push(c.text);
            }
        };
        for i in 0..self.objects.len() {
            push(self.object_caption(i, rng));
        }
        if self.objects.len() == 2 {
            push(self.pair_caption(rng));
            push(self.pair_caption(rng));
        } else {
            push(self.object_caption(0, rng));
        }
        rng.shuffle(&mut out);
        out
    }

    /// A deterministic full description: "a small red circle in the top left
    /// corner and a large blue square in the centre".
    pub fn description(&self) -> String {
        self.objects
            .iter()
            .map(|o| article(&o.describe()))
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

/// A caption and the attributes it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Caption {
    pub text: String,
    pub query: Query,
}

/// What a caption asserts about an image: one or two objects with some of
/// their attributes, optionally their spatial relation and the background kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub objects: Vec<ObjectQuery>,
    /// Relation of `objects[0]` to `objects[1]` (grid rows/columns); `None`: any.
    pub relation: Option<Relation>,
    pub background: Option<BackgroundKind>,
}

impl Query {
    /// Whether `scene` is a correct answer: it has an object satisfying each
    /// object query (distinct objects for two), the relation holds between
    /// them, and the background kind matches when named.
    pub fn matches(&self, scene: &Scene) -> bool {
        if let Some(k) = self.background {
            if scene.background.kind != k {
                return false;
            }
        }
        let objs = &scene.objects;
        match self.objects.as_slice() {
            [] => true,
            [q] => objs.iter().any(|o| o.satisfies(q)),
            [qa, qb] => (0..objs.len()).any(|i| {
                (0..objs.len()).any(|j| {
                    i != j
                        && objs[i].satisfies(qa)
                        && objs[j].satisfies(qb)
                        && self.relation.is_none_or(|r| r.holds(&objs[i], &objs[j]))
                })
            }),
            _ => false,
        }
    }
}

/// Attributes of one object named by a caption (`None`: not named).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ObjectQuery {
    pub shape: Option<Shape>,
    pub colour: Option<Colour>,
    pub size: Option<Size>,
    pub position: Option<Position>,
}

impl ObjectQuery {
    /// A noun phrase naming exactly these attributes, with random synonyms:
    /// "a small red disc in the top left corner", "a star", "a red shape".
    pub fn phrase(&self, rng: &mut Rng) -> String {
        noun_phrase(self, rng)
    }

    /// Shape and colour of `o`.
    pub fn shape_colour(o: &Object) -> Self {
        ObjectQuery {
            shape: Some(o.shape),
            colour: Some(o.colour),
            size: None,
            position: None,
        }
    }

    /// Every attribute of `o`.
    pub fn all(o: &Object) -> Self {
        ObjectQuery {
            shape: Some(o.shape),
            colour: Some(o.colour),
            size: Some(o.size),
            position: Some(o.position),
        }
    }
}

/// Spatial relation between two objects, on the 3x3 grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    And,
    NextTo,
    Above,
    Below,
    LeftOf,
    RightOf,
}

impl Relation {
    /// Whether `a` stands in this relation to `b`.
    pub fn holds(self, a: &Object, b: &Object) -> bool {
        let (ra, ca) = a.position.row_col();
        let (rb, cb) = b.position.row_col();
        match self {
            Relation::And | Relation::NextTo => true,
            Relation::Above => ra < rb,
            Relation::Below => ra > rb,
            Relation::LeftOf => ca < cb,
            Relation::RightOf => ca > cb,
        }
    }

    fn phrase(self, rng: &mut Rng) -> &'static str {
        let words: &[&'static str] = match self {
            Relation::And => &["and"],
            Relation::NextTo => &["next to"],
            Relation::Above => &["above", "over"],
            Relation::Below => &["below", "under"],
            Relation::LeftOf => &["to the left of", "left of"],
            Relation::RightOf => &["to the right of", "right of"],
        };
        if words.len() == 1 {
            words[0]
        } else {
            words[rng.below(words.len())]
        }
    }
}

/// Which attributes of `o` a single-object caption names.
fn random_detail(o: &Object, rng: &mut Rng) -> ObjectQuery {
    let mut q = ObjectQuery::all(o);
    match rng.below(20) {
        // "a star", "a big star in the top left"
        0..=2 => q.colour = None,
        // "a red shape", "a small red object"
        3 => q.shape = None,
        _ => {}
    }
    if !rng.chance(0.5) {
        q.size = None;
    }
    if !rng.chance(0.5) {
        q.position = None;
    }
    q
}

/// "a small red circle in the top left corner" for the named attributes.
fn noun_phrase(q: &ObjectQuery, rng: &mut Rng) -> String {
    let mut words: Vec<&str> = Vec::new();
    if let Some(s) = q.size {
        words.push(*rng.pick(s.synonyms()));
    }
    if let Some(c) = q.colour {
        let syn = c.synonyms();
        words.push(if rng.chance(0.8) {
            syn[0]
        } else {
            *rng.pick(syn)
        });
    }
    let noun = match q.shape {
        Some(s) => {
            let syn = s.synonyms();
            if rng.chance(0.6) {
                syn[0]
            } else {
                *rng.pick(syn)
            }
        }
        None => *rng.pick(&["shape", "object", "thing"]),
    };
    words.push(noun);
    let body = words.join(" ");
    let mut np = article(&body);
    if let Some(p) = q.position {
        np.push(' ');
        let phrases = p.phrases();
        np.push_str(phrases[rng.below(phrases.len())]);
    }
    np
}

/// "a small star coloured red in the top left": the shape first, the
/// colour after it (the query must name both).
fn coloured_phrase(q: &ObjectQuery, rng: &mut Rng) -> String {
    let (Some(shape), Some(colour)) = (q.shape, q.colour) else {
        return noun_phrase(q, rng);
    };
    let mut body = String::new();
    if let Some(s) = q.size {
        body.push_str(rng.pick::<&str>(s.synonyms()));
        body.push(' ');
    }
    body.push_str(shape.synonyms()[0]);
    body.push_str(if rng.chance(0.5) {
        " coloured "
    } else {
        " in "
    });
    body.push_str(colour.synonyms()[0]);
    let mut text = if rng.chance(0.5) {
        article(&body)
    } else {
        body
    };
    if let Some(p) = q.position {
        text.push(' ');
        text.push_str(rng.pick::<&str>(p.phrases()));
    }
    text
}

/// Prefixes "a" or "an": "a red disc", "an orange ring".
pub fn article(phrase: &str) -> String {
    let an = phrase
        .chars()
        .next()
        .is_some_and(|c| "aeiou".contains(c.to_ascii_lowercase()));
    format!("{} {phrase}", if an { "an" } else { "a" })
}

fn strip_article(np: &str) -> String {
    np.strip_prefix("a ")
        .or_else(|| np.strip_prefix("an "))
        .unwrap_or(np)
        .to_string()
}

fn random_background(rng: &mut Rng, objects: &[Object]) -> Background {
    let kind = *rng.pick(&BackgroundKind::ALL);
    let ok = |c: [u8; 3], margin: f32| {
        objects
            .iter()
            .all(|o| rgb_dist(o.rgb, c) >= MIN_CONTRAST + margin)
    };
    let jitter = |rng: &mut Rng, c: [u8; 3]| -> [u8; 3] {
        std::array::from_fn(|i| (c[i] as f32 + rng.range(-8.0, 8.0)).clamp(0.0, 255.0) as u8)
    };
    let candidates: Vec<[u8; 3]> = BACKGROUNDS
        .iter()
        .copied()
        .filter(|&c| ok(c, 15.0))
        .collect();
    // There is always a candidate: every object colour is far from white or from black.
    let pick = |rng: &mut Rng| -> [u8; 3] {
        if candidates.is_empty() {
            [128, 128, 128]
        } else {
            *rng.pick(&candidates)
        }
    };
    let c = pick(rng);
    let a = jitter(rng, c);
    let mut b = a;
    if kind == BackgroundKind::Gradient {
        for _ in 0..8 {
            let c = pick(rng);
            b = jitter(rng, c);
            if rgb_dist(a, b) > 40.0 {
                break;
            }
        }
    }
    Background {
        kind,
        a,
        b,
        angle: rng.range(0.0, std::f32::consts::TAU),
        noise: if kind == BackgroundKind::Noise {
            rng.range(8.0, 22.0)
        } else {
            0.0
        },
        noise_seed: rng.next_u64(),
    }
}

/// JPEG-encodes `img` at `quality` (1..=100) and decodes it again.
pub fn jpeg_round_trip(img: &RgbImage, quality: u8) -> RgbImage {
    let bytes = encode_jpeg(img, quality);
    image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .expect("decoding a JPEG we just encoded")
        .to_rgb8()
}

/// JPEG bytes of `img`.
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("JPEG encoding into memory");
    out
}

/// PNG bytes of `img`.
pub fn encode_png(img: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("PNG encoding into memory");
    out.into_inner()
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// ---- drawing helpers ----

fn to_f(c: [u8; 3]) -> [f32; 3] {
    [c[0] as f32, c[1] as f32, c[2] as f32]
}

fn to_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn sd_box(x: f32, y: f32, bx: f32, by: f32) -> f32 {
    let qx = x.abs() - bx;
    let qy = y.abs() - by;
    let ox = qx.max(0.0);
    let oy = qy.max(0.0);
    (ox * ox + oy * oy).sqrt() + qx.max(qy).min(0.0)
}

/// Equilateral triangle pointing up (y up), half side `r` (Inigo Quilez).
fn sd_triangle(x: f32, y: f32, r: f32) -> f32 {
    let k = 3f32.sqrt();
    let mut px = x.abs() - r;
    let mut py = y + r / k;
    if px + k * py > 0.0 {
        let (nx, ny) = ((px - k * py) / 2.0, (-k * px - py) / 2.0);
        px = nx;
        py = ny;
    }
    px -= px.clamp(-2.0 * r, 0.0);
    -(px * px + py * py).sqrt() * py.signum()
}

/// Five-pointed star pointing up (y up), outer radius `r`, inner factor `rf` (Inigo Quilez).
fn sd_star5(x: f32, y: f32, r: f32, rf: f32) -> f32 {
    let k1 = (0.809_017_f32, -0.587_785_3_f32);
    let k2 = (-k1.0, k1.1);
    let mut px = x.abs();
    let mut py = y;
    let d1 = 2.0 * (k1.0 * px + k1.1 * py).max(0.0);
    px -= d1 * k1.0;
    py -= d1 * k1.1;
    let d2 = 2.0 * (k2.0 * px + k2.1 * py).max(0.0);
    px -= d2 * k2.0;
    py -= d2 * k2.1;
    px = px.abs();
    py -= r;
    let ba = (rf * -k1.1 - 0.0, rf * k1.0 - 1.0);
    let h = ((px * ba.0 + py * ba.1) / (ba.0 * ba.0 + ba.1 * ba.1)).clamp(0.0, r);
    let (ex, ey) = (px - ba.0 * h, py - ba.1 * h);
    (ex * ex + ey * ey).sqrt() * (py * ba.0 - px * ba.1).signum()
}

/// Smooth value noise in about -0.5..0.5, from a seeded 16x16 lattice.
struct NoiseLattice {
    values: [f32; 256],
}

impl NoiseLattice {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        NoiseLattice {
            values: std::array::from_fn(|_| rng.f32() - 0.5),
        }
    }

    fn sample(&self, x: f32, y: f32) -> f32 {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
        let at = |i: i32, j: i32| self.values[((j & 15) * 16 + (i & 15)) as usize];
        let (i, j) = (x0 as i32, y0 as i32);
        let top = at(i, j) + (at(i + 1, j) - at(i, j)) * sx;
        let bottom = at(i, j + 1) + (at(i + 1, j + 1) - at(i, j + 1)) * sx;
        top + (bottom - top) * sy
    }
}

/// Uniform value in 0..1 from a seed and pixel coordinates.
fn hash_unit(seed: u64, x: u32, y: u32) -> f32 {
    let mut h = seed ^ ((x as u64) << 32 | y as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^= h >> 33;
    (h >> 40) as f32 / (1u64 << 24) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenes(n: u64) -> Vec<Scene> {
        (0..n)
            .map(|i| Scene::nth(99, i, &SceneOptions::default()))
            .collect()
    }

    #[test]
    fn deterministic() {
        let a = Scene::nth(5, 17, &SceneOptions::default());
        let b = Scene::nth(5, 17, &SceneOptions::default());
        assert_eq!(a, b);
        assert_eq!(a.render(96), b.render(96));
        let (mut r1, mut r2) = (Rng::new(3), Rng::new(3));
        assert_eq!(a.captions(&mut r1), b.captions(&mut r2));
        assert_ne!(a, Scene::nth(5, 18, &SceneOptions::default()));
    }

    #[test]
    fn layout_is_valid() {
        let mut two = 0;
        for s in scenes(3000) {
            assert!((1..=2).contains(&s.objects.len()));
            for o in &s.objects {
                assert!(o.cx - o.radius > 0.0 && o.cx + o.radius < 1.0, "{o:?}");
                assert!(o.cy - o.radius > 0.0 && o.cy + o.radius < 1.0, "{o:?}");
                assert_eq!(Position::of_point(o.cx, o.cy), o.position);
                let (lo, hi) = o.size.radius_range();
                assert!((lo..hi).contains(&o.radius));
                assert!(rgb_dist(o.rgb, s.background.a) >= MIN_CONTRAST);
                if s.background.kind == BackgroundKind::Gradient {
                    assert!(rgb_dist(o.rgb, s.background.b) >= MIN_CONTRAST);
                }
            }
            if let [a, b] = s.objects.as_slice() {
                two += 1;
                assert_ne!(a.position, b.position);
                assert!((a.shape, a.colour) != (b.shape, b.colour));
                let d = ((a.cx - b.cx).powi(2) + (a.cy - b.cy).powi(2)).sqrt();
                assert!(d >= (a.radius + b.radius) * 1.2);
            }
        }
        assert!((1300..1700).contains(&two), "{two}");
    }

    #[test]
    fn captions_are_true_of_their_scene() {
        let mut rng = Rng::new(1);
        for s in scenes(2000) {
            for _ in 0..3 {
                let c = s.caption(&mut rng);
                assert!(c.query.matches(&s), "{:?} vs {:?}", c, s.objects);
                let q = &c.query.objects[0];
                if let Some(col) = q.colour {
                    assert!(
                        col.synonyms().iter().any(|w| c.text.contains(w)),
                        "{}",
                        c.text
                    );
                }
                if let Some(sh) = q.shape {
                    assert!(
                        sh.synonyms().iter().any(|w| c.text.contains(w)),
                        "{}",
                        c.text
                    );
                }
            }
            for text in s.captions(&mut rng) {
                assert!(!text.is_empty());
            }
        }
    }

    #[test]
    fn queries_reject_other_scenes() {
        let ss = scenes(400);
        let mut rng = Rng::new(2);
        let mut rejected = 0;
        for s in &ss {
            let c = s.caption(&mut rng);
            rejected += ss.iter().filter(|o| !c.query.matches(o)).count();
        }
        // Most captions are false of most other scenes.
        assert!(rejected > 400 * 400 * 3 / 4, "{rejected}");
    }

    #[test]
    fn shapes_cover_plausible_areas() {
        // Coverage of each shape at radius 1 relative to the unit circle.
        let n = 200;
        for shape in Shape::ALL {
            let mut inside = 0;
            for y in 0..n {
                for x in 0..n {
                    let px = (x as f32 + 0.5) / n as f32 * 2.4 - 1.2;
                    let py = (y as f32 + 0.5) / n as f32 * 2.4 - 1.2;
                    inside += (shape.sdf(px, py) < 0.0) as usize;
                }
            }
            let area = inside as f32 / (n * n) as f32 * 2.4 * 2.4 / std::f32::consts::PI;
            assert!((0.25..1.1).contains(&area), "{shape}: {area}");
            // Nothing outside radius 1.2 (the renderer's bounding box is 1.3).
            for k in 0..64 {
                let a = k as f32 / 64.0 * std::f32::consts::TAU;
                assert!(shape.sdf(1.2 * a.cos(), 1.2 * a.sin()) > 0.0, "{shape}");
            }
        }
    }

    #[test]
    fn render_draws_the_object_colour() {
        let s = Scene::nth(
            3,
            0,
            &SceneOptions {
                two_objects: 0.0,
                ..SceneOptions::default()
            },
        );
        let o = &s.objects[0];
        let img = s.render(128);
        let p = img.get_pixel((o.cx * 128.0) as u32, (o.cy * 128.0) as u32);
        if o.shape != Shape::Ring {
            assert_eq!(p.0, o.rgb);
        }
        let hard = s.render_with(
            128,
            &RenderOptions {
                antialias: false,
                outline: 0.0,
            },
        );
        assert_ne!(img, hard);
        let jpeg = jpeg_round_trip(&img, 80);
        assert_eq!(jpeg.dimensions(), (128, 128));
    }

    #[test]
    fn variants_differ_in_little() {
        let mut rng = Rng::new(4);
        for s in scenes(500) {
            let v = s.variant(&mut rng, &SceneOptions::default());
            assert_ne!(v, s);
            for o in &v.objects {
                assert!(contrasts(o.rgb, &v.background), "{v:?}");
            }
            if let [a, b] = v.objects.as_slice() {
                assert_ne!(a.position, b.position);
                assert!((a.shape, a.colour) != (b.shape, b.colour));
            }
        }
    }

    #[test]
    fn articles() {
        assert_eq!(article("orange disc"), "an orange disc");
        assert_eq!(article("red disc"), "a red disc");
        assert_eq!(article("orange star"), "an orange star");
        assert_eq!(article("red ring"), "a red ring");
        assert_eq!(strip_article("an orange disc"), "orange disc");
    }
}
