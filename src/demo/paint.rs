//! A second, independent drawing program, used only to evaluate the demo
//! model on images it never trains on (issue #20).
//!
//! It draws the same content as [`synth`](super::synth) (the six shapes, the
//! ten colour names, two sizes, a 3x3 grid, plain / gradient / noisy
//! backgrounds) the way a paint program such as Pillow's `ImageDraw` does:
//! every shape is a filled polygon, scan-converted row by row with the
//! even-odd rule and hard edges, or (half of the images) with 4x4
//! supersampled coverage. It shares no drawing code with `synth` (no
//! distance fields, no renderer functions); only the ground-truth types
//! ([`Scene`], [`Object`], ...) are common, so [`Query::matches`](super::synth::Query::matches)
//! decides retrieval correctness for both.
//!
//! Its own proportions: circles are 48- to 128-gon, squares have a
//! half-side of 0.78-0.9 radius and are axis-aligned half of the time,
//! triangles are equilateral and upright, stars have five points and an
//! inner/outer ratio of 0.38-0.5, crosses are 12-vertex plus signs with arms
//! about a third of the span wide, rings are an annulus with an inner radius
//! of 0.55-0.7 of the outer one (a polygon with a hole).
//!
//! ```
//! use clipdb::demo::{paint, Rng};
//!
//! let mut rng = Rng::new(3);
//! let scene = paint::random_scene(&mut rng);
//! let image = paint::paint(&scene, 200, &mut rng);
//! assert_eq!(image.dimensions(), (200, 200));
//! assert_eq!(scene.objects.len(), 1);
//! ```

use image::{Rgb, RgbImage};

use super::rng::Rng;
use super::synth::{Background, BackgroundKind, Colour, Object, Position, Scene, Shape, Size};

/// Smallest RGB distance between the object colour and any background
/// colour it is drawn on.
pub const MIN_CONTRAST: f32 = 120.0;

/// Per-channel jitter of the object colour around [`Colour::rgb`].
const COLOUR_JITTER: f32 = 15.0;

/// Radius (fraction of the image side) of each size class. Deliberately not
/// [`Size::radius_range`]: comparable, not equal.
pub fn radius_range(size: Size) -> (f32, f32) {
    match size {
        Size::Small => (0.09, 0.13),
        Size::Large => (0.16, 0.21),
    }
}

/// Background colours people pick in paint programs; the rest are random.
const COMMON_BACKGROUNDS: [[u8; 3]; 6] = [
    [255, 255, 255],
    [240, 240, 240],
    [200, 200, 200],
    [0, 0, 0],
    [40, 40, 40],
    [128, 128, 128],
];

/// A random single-object scene: its ground truth and the geometry that
/// [`paint`] draws.
pub fn random_scene(rng: &mut Rng) -> Scene {
    let shape = *rng.pick(&Shape::ALL);
    let colour = *rng.pick(&Colour::ALL);
    let size = *rng.pick(&Size::ALL);
    let position = *rng.pick(&Position::ALL);
    scene_of(rng, shape, colour, size, position)
}

/// A single-object scene with the given content and random geometry,
/// colour jitter and background.
pub fn scene_of(
    rng: &mut Rng,
    shape: Shape,
    colour: Colour,
    size: Size,
    position: Position,
) -> Scene {
    let (lo, hi) = radius_range(size);
    let radius = rng.range(lo, hi);
    let (row, col) = position.row_col();
    // Cell centre plus a little jitter, kept inside the cell and the shape
    // inside the image (stars and triangles reach 1.1 radius).
    let coord = |k: usize, rng: &mut Rng| {
        let centre = (k as f32 + 0.5) / 3.0;
        let lo_cell = k as f32 / 3.0 + 0.01;
        let hi_cell = (k + 1) as f32 / 3.0 - 0.01;
        (centre + rng.range(-0.04, 0.04))
            .clamp(lo_cell, hi_cell)
            .clamp(radius * 1.15, 1.0 - radius * 1.15)
    };
    let cx = coord(col, rng);
    let cy = coord(row, rng);
    let base = colour.rgb();
    let rgb = std::array::from_fn(|i| {
        (base[i] as f32 + rng.range(-COLOUR_JITTER, COLOUR_JITTER)).clamp(0.0, 255.0) as u8
    });
    let rotation = match shape {
        Shape::Square | Shape::Star | Shape::Cross if rng.chance(0.5) => rng.range(-0.25, 0.25),
        _ => 0.0,
    };
    let object = Object {
        shape,
        colour,
        size,
        position: Position::of_point(cx, cy),
        rgb,
        cx,
        cy,
        radius,
        rotation,
    };
    let background = random_background(rng, rgb);
    Scene {
        background,
        objects: vec![object],
    }
}

fn distance(a: [u8; 3], b: [u8; 3]) -> f32 {
    (0..3)
        .map(|i| (a[i] as f32 - b[i] as f32).powi(2))
        .sum::<f32>()
        .sqrt()
}

fn random_background(rng: &mut Rng, object: [u8; 3]) -> Background {
    let kind = *rng.pick(&BackgroundKind::ALL);
    let colour = |rng: &mut Rng| -> [u8; 3] {
        for _ in 0..200 {
            let c = if rng.chance(0.4) {
                *rng.pick(&COMMON_BACKGROUNDS)
            } else {
                std::array::from_fn(|_| rng.below(256) as u8)
            };
            if distance(c, object) >= MIN_CONTRAST {
                return c;
            }
        }
        // Unreachable in practice: every colour is >= 221 away from white or black.
        if distance([255; 3], object) > distance([0; 3], object) {
            [255; 3]
        } else {
            [0; 3]
        }
    };
    let a = colour(rng);
    let mut b = a;
    if kind == BackgroundKind::Gradient {
        // A visible gradient: ends at least 60 apart.
        for _ in 0..50 {
            b = colour(rng);
            if distance(a, b) >= 60.0 {
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
            rng.range(10.0, 35.0)
        } else {
            0.0
        },
        noise_seed: rng.next_u64(),
    }
}

/// Draws `scene` at `size` x `size` pixels. `rng` picks how (hard edges or
/// 4x4 supersampling, blur of the noise, polygon proportions), not what.
pub fn paint(scene: &Scene, size: u32, rng: &mut Rng) -> RgbImage {
    // Image-wide choices first, so a scene without objects and the same rng
    // gives the same background pixels.
    let samples = if rng.chance(0.5) { 4 } else { 1 };
    let blur = *rng.pick(&[0u32, 0, 1, 2]);
    let mut img = paint_background(&scene.background, size, blur);
    for o in &scene.objects {
        let contours = outline(o, size as f32, rng);
        fill_even_odd(&mut img, &contours, o.rgb, samples);
    }
    img
}

/// The background alone; `blur` is the radius of the box blur applied to
/// noise (0: none).
fn paint_background(bg: &Background, size: u32, blur: u32) -> RgbImage {
    let mut img = RgbImage::new(size, size);
    match bg.kind {
        BackgroundKind::Plain => {
            for p in img.pixels_mut() {
                *p = Rgb(bg.a);
            }
        }
        BackgroundKind::Gradient => {
            // t = projection on the direction, 0 at the first corner reached
            // and 1 at the last.
            let (dx, dy) = (bg.angle.cos(), bg.angle.sin());
            let s = size as f32;
            let corners = [(0.0, 0.0), (s, 0.0), (0.0, s), (s, s)].map(|(x, y)| x * dx + y * dy);
            let lo = corners.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = corners.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            for (x, y, p) in img.enumerate_pixels_mut() {
                let proj = (x as f32 + 0.5) * dx + (y as f32 + 0.5) * dy;
                let t = ((proj - lo) / (hi - lo)).clamp(0.0, 1.0);
                *p = Rgb(std::array::from_fn(|i| {
                    (bg.a[i] as f32 + (bg.b[i] as f32 - bg.a[i] as f32) * t).round() as u8
                }));
            }
        }
        BackgroundKind::Noise => {
            let mut noise = Rng::new(bg.noise_seed);
            let n = (size * size) as usize;
            let mut values: Vec<[f32; 3]> = (0..n)
                .map(|_| {
                    // Mostly grey noise with a little colour.
                    let grey = noise.range(-bg.noise, bg.noise);
                    std::array::from_fn(|i| {
                        bg.a[i] as f32 + grey + noise.range(-0.3, 0.3) * bg.noise
                    })
                })
                .collect();
            if blur > 0 {
                values = box_blur(&values, size as usize, blur as usize);
            }
            for (p, v) in img.pixels_mut().zip(values) {
                *p = Rgb(v.map(|c| c.round().clamp(0.0, 255.0) as u8));
            }
        }
    }
    img
}

/// Mean over a (2r+1)^2 window, clipped at the borders.
fn box_blur(values: &[[f32; 3]], side: usize, r: usize) -> Vec<[f32; 3]> {
    let mut out = vec![[0.0; 3]; values.len()];
    for y in 0..side {
        for x in 0..side {
            let mut sum = [0.0f32; 3];
            let mut count = 0.0;
            for yy in y.saturating_sub(r)..(y + r + 1).min(side) {
                for xx in x.saturating_sub(r)..(x + r + 1).min(side) {
                    let v = values[yy * side + xx];
                    for i in 0..3 {
                        sum[i] += v[i];
                    }
                    count += 1.0;
                }
            }
            out[y * side + x] = sum.map(|s| s / count);
        }
    }
    out
}

/// A closed polygon, in pixel coordinates.
type Contour = Vec<(f32, f32)>;

/// The polygon(s) of `o` in pixels (a ring has two contours: the even-odd
/// rule makes the inner one a hole).
fn outline(o: &Object, side: f32, rng: &mut Rng) -> Vec<Contour> {
    let (cx, cy, r) = (o.cx * side, o.cy * side, o.radius * side);
    // Points (x, y) around the origin in units of r (y down), shifted by
    // `dy` (to centre the bounding box vertically), rotated and placed.
    let place = |pts: Vec<(f32, f32)>, dy: f32| -> Contour {
        let (sin, cos) = o.rotation.sin_cos();
        pts.into_iter()
            .map(|(x, y)| {
                let y = y + dy;
                (cx + (x * cos - y * sin) * r, cy + (x * sin + y * cos) * r)
            })
            .collect()
    };
    let polar = |n: usize, radius: &dyn Fn(usize) -> f32, start: f32| -> Vec<(f32, f32)> {
        (0..n)
            .map(|k| {
                let a = start + k as f32 * std::f32::consts::TAU / n as f32;
                (radius(k) * a.cos(), radius(k) * a.sin())
            })
            .collect()
    };
    let up = -std::f32::consts::FRAC_PI_2;
    match o.shape {
        Shape::Circle => {
            let n = rng.int_in(48, 128) as usize;
            vec![place(polar(n, &|_| 1.0, rng.range(0.0, 1.0)), 0.0)]
        }
        Shape::Ring => {
            let n = rng.int_in(48, 128) as usize;
            let inner = rng.range(0.55, 0.7);
            let start = rng.range(0.0, 1.0);
            vec![
                place(polar(n, &|_| 1.0, start), 0.0),
                place(polar(n, &|_| inner, start), 0.0),
            ]
        }
        Shape::Square => {
            let h = rng.range(0.78, 0.9);
            vec![place(vec![(-h, -h), (h, -h), (h, h), (-h, h)], 0.0)]
        }
        Shape::Triangle => {
            // Equilateral, apex up: spans -R..R/2 vertically.
            let big = rng.range(1.0, 1.1);
            vec![place(polar(3, &|_| big, up), big / 4.0)]
        }
        Shape::Star => {
            let outer = rng.range(1.0, 1.1);
            let inner = outer * rng.range(0.38, 0.5);
            let radius = move |k: usize| if k.is_multiple_of(2) { outer } else { inner };
            // Spans -outer..outer*cos(36 deg) vertically.
            let dy = outer * (1.0 - (std::f32::consts::PI / 5.0).cos()) / 2.0;
            vec![place(polar(10, &radius, up), dy)]
        }
        Shape::Cross => {
            let l = rng.range(0.92, 1.0);
            let w = l * rng.range(0.28, 0.38);
            vec![place(
                vec![
                    (-w, -l),
                    (w, -l),
                    (w, -w),
                    (l, -w),
                    (l, w),
                    (w, w),
                    (w, l),
                    (-w, l),
                    (-w, w),
                    (-l, w),
                    (-l, -w),
                    (-w, -w),
                ],
                0.0,
            )]
        }
    }
}

/// Fills the contours with `rgb` by the even-odd rule. With `samples` = 1 a
/// pixel is filled when its centre is inside (hard edges); otherwise each
/// pixel is blended by the share of its `samples` x `samples` sub-sample
/// centres that are inside.
fn fill_even_odd(img: &mut RgbImage, contours: &[Contour], rgb: [u8; 3], samples: u32) {
    let (w, h) = img.dimensions();
    let ys = contours.iter().flatten().map(|p| p.1);
    let top = ys.clone().fold(f32::INFINITY, f32::min).floor().max(0.0) as u32;
    let bottom = (ys.fold(f32::NEG_INFINITY, f32::max).ceil().max(0.0) as u32).min(h);
    let per_axis = samples as f32;
    let full = samples * samples;
    let mut coverage = vec![0u32; w as usize];
    let mut crossings: Vec<f32> = Vec::new();
    for py in top..bottom {
        coverage.fill(0);
        for sy in 0..samples {
            let y = py as f32 + (sy as f32 + 0.5) / per_axis;
            crossings.clear();
            for c in contours {
                for (i, &(x0, y0)) in c.iter().enumerate() {
                    let (x1, y1) = c[(i + 1) % c.len()];
                    // Half-open in y, so a vertex on the line counts once.
                    if (y0 <= y) != (y1 <= y) {
                        crossings.push(x0 + (y - y0) * (x1 - x0) / (y1 - y0));
                    }
                }
            }
            crossings.sort_by(f32::total_cmp);
            for span in crossings.chunks_exact(2) {
                // Sub-sample k sits at x = (k + 0.5) / samples; inside when
                // span[0] <= x < span[1].
                let first = (span[0] * per_axis - 0.5).ceil().max(0.0) as u32;
                let end = ((span[1] * per_axis - 0.5).ceil().max(0.0) as u32).min(w * samples);
                for k in first..end {
                    coverage[(k / samples) as usize] += 1;
                }
            }
        }
        for (px, &c) in coverage.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let p = img.get_pixel_mut(px as u32, py);
            let a = c as f32 / full as f32;
            *p = Rgb(std::array::from_fn(|i| {
                (p.0[i] as f32 * (1.0 - a) + rgb[i] as f32 * a).round() as u8
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn centre_px(scene: &Scene, size: u32) -> (u32, u32) {
        let o = &scene.objects[0];
        ((o.cx * size as f32) as u32, (o.cy * size as f32) as u32)
    }

    #[test]
    fn every_shape_shows_its_colour_at_its_centre_except_the_ring() {
        for (i, &shape) in Shape::ALL.iter().enumerate() {
            for seed in 0..20u64 {
                let mut rng = Rng::for_index(seed, i as u64);
                let colour = *rng.pick(&Colour::ALL);
                let size = *rng.pick(&Size::ALL);
                let position = *rng.pick(&Position::ALL);
                let scene = scene_of(&mut rng, shape, colour, size, position);
                let side = rng.int_in(96, 320) as u32;
                let img = paint(&scene, side, &mut rng);
                let (x, y) = centre_px(&scene, side);
                let px = img.get_pixel(x, y).0;
                let o = &scene.objects[0];
                if shape == Shape::Ring {
                    assert!(
                        distance(px, o.rgb) > 60.0,
                        "ring centre {px:?} is the object colour {:?}",
                        o.rgb
                    );
                } else {
                    assert_eq!(px, o.rgb, "{shape} centre (seed {seed})");
                }
            }
        }
    }

    #[test]
    fn the_ring_hole_shows_the_background_and_its_band_the_colour() {
        for seed in 0..30u64 {
            let mut rng = Rng::new(seed);
            let position = *rng.pick(&Position::ALL);
            let scene = scene_of(&mut rng, Shape::Ring, Colour::Red, Size::Large, position);
            let side = 200;
            let mut empty = scene.clone();
            empty.objects.clear();
            let background = paint(&empty, side, &mut rng.clone());
            let img = paint(&scene, side, &mut rng);
            let (x, y) = centre_px(&scene, side);
            assert_eq!(img.get_pixel(x, y), background.get_pixel(x, y));
            // The band between 0.7 and 1.0 of the radius (here at 0.85).
            let o = &scene.objects[0];
            let bx = ((o.cx + 0.85 * o.radius) * side as f32) as u32;
            assert_eq!(img.get_pixel(bx, y).0, o.rgb, "seed {seed}");
        }
    }

    #[test]
    fn the_same_seed_paints_the_same_pixels() {
        let draw = |seed: u64| {
            let mut rng = Rng::new(seed);
            let scene = random_scene(&mut rng);
            (scene.clone(), paint(&scene, 150, &mut rng))
        };
        assert_eq!(draw(9), draw(9));
        assert_ne!(draw(9).1, draw(10).1);
    }

    /// Pixels that have the object's colour exactly.
    fn mask(scene: &Scene, img: &RgbImage) -> Vec<bool> {
        let rgb = scene.objects[0].rgb;
        img.pixels().map(|p| p.0 == rgb).collect()
    }

    #[test]
    fn the_six_shapes_have_distinct_masks() {
        // Same geometry and colour, white background, hard edges or not.
        for seed in 0..6u64 {
            let masks: Vec<Vec<bool>> = Shape::ALL
                .iter()
                .map(|&shape| {
                    let mut rng = Rng::new(seed);
                    let mut scene =
                        scene_of(&mut rng, shape, Colour::Blue, Size::Large, Position::Centre);
                    scene.background.kind = BackgroundKind::Plain;
                    scene.background.a = [255; 3];
                    scene.objects[0].rotation = 0.0;
                    let img = paint(&scene, 160, &mut rng);
                    mask(&scene, &img)
                })
                .collect();
            for a in 0..masks.len() {
                for b in a + 1..masks.len() {
                    let union = masks[a].iter().zip(&masks[b]).filter(|(x, y)| **x || **y);
                    let differ = masks[a].iter().zip(&masks[b]).filter(|(x, y)| x != y);
                    let (u, d) = (union.count(), differ.count());
                    assert!(
                        d * 10 >= u,
                        "{} and {} differ in {d} of {u} pixels",
                        Shape::ALL[a],
                        Shape::ALL[b]
                    );
                }
            }
        }
    }

    #[test]
    fn filled_areas_match_the_geometry() {
        // A circle polygon of radius r covers ~pi r^2 pixels; a square of
        // half-side h covers 4 h^2 (hard edges: each pixel whose centre is in).
        let mut img = RgbImage::new(200, 200);
        let n = 128;
        let circle: Contour = (0..n)
            .map(|k| {
                let a = k as f32 * std::f32::consts::TAU / n as f32;
                (100.0 + 60.0 * a.cos(), 100.0 + 60.0 * a.sin())
            })
            .collect();
        fill_even_odd(&mut img, &[circle], [255, 0, 0], 1);
        let area = img.pixels().filter(|p| p.0 == [255, 0, 0]).count() as f32;
        let expected = std::f32::consts::PI * 3600.0;
        assert!((area / expected - 1.0).abs() < 0.01, "{area} vs {expected}");

        let mut img = RgbImage::new(100, 100);
        let square: Contour = vec![(20.0, 20.0), (60.0, 20.0), (60.0, 60.0), (20.0, 60.0)];
        fill_even_odd(&mut img, std::slice::from_ref(&square), [0, 255, 0], 4);
        let full = img.pixels().filter(|p| p.0 == [0, 255, 0]).count();
        assert_eq!(full, 1600);
        // A half-pixel shift: supersampling blends the edge pixels, hard edges do not.
        let shifted: Contour = square.iter().map(|&(x, y)| (x + 0.5, y)).collect();
        let mut soft = RgbImage::new(100, 100);
        fill_even_odd(&mut soft, std::slice::from_ref(&shifted), [0, 255, 0], 4);
        assert_eq!(soft.get_pixel(20, 30).0, [0, 128, 0]);
        let mut hard = RgbImage::new(100, 100);
        fill_even_odd(&mut hard, &[shifted], [0, 255, 0], 1);
        assert!([[0, 0, 0], [0, 255, 0]].contains(&hard.get_pixel(20, 30).0));
    }

    #[test]
    fn scenes_carry_their_ground_truth() {
        for i in 0..500u64 {
            let mut rng = Rng::for_index(77, i);
            let s = random_scene(&mut rng);
            let o = &s.objects[0];
            let (lo, hi) = radius_range(o.size);
            assert!((lo..=hi).contains(&o.radius));
            assert_eq!(o.position, Position::of_point(o.cx, o.cy));
            for (c, b) in o.rgb.iter().zip(o.colour.rgb()) {
                assert!((*c as f32 - b as f32).abs() <= COLOUR_JITTER);
            }
            assert!(distance(o.rgb, s.background.a) >= MIN_CONTRAST);
            if s.background.kind == BackgroundKind::Gradient {
                assert!(distance(o.rgb, s.background.b) >= MIN_CONTRAST);
            }
        }
    }
}
