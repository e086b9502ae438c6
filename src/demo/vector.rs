//! A second way of drawing the same scenes, for training only: every object
//! as a vector path filled (and sometimes stroked) by tiny-skia, Skia's
//! rasteriser, with proportions the signed-distance renderer in
//! [`super::synth`] never varies: ellipses as well as circles, rectangles
//! near square, triangles that are not equilateral, stars with 5 or 6
//! points and any depth, crosses and rings of any thickness, strokes of
//! any width with mitred, round or bevelled joins.
//!
//! The demo model learnt the first renderer's fingerprints (its
//! anti-aliasing, exact proportions and outline) instead of the shapes
//! (issue #20); trained on both, only what they share, the shape, explains
//! the captions. Evaluation uses a third, independent program
//! ([`super::paint`]) that neither trains on.

use image::{Rgb, RgbImage};
use tiny_skia::{
    Color, FillRule, GradientStop, LineJoin, LinearGradient, Paint, PathBuilder, Pixmap, Point,
    Shader, SpreadMode, Stroke, Transform,
};

use super::rng::Rng;
use super::synth::{rgb_dist, BackgroundKind, Object, RenderOptions, Scene, Shape};

/// Renders `scene` at `size` x `size` pixels with random proportions and
/// style drawn from `rng` (the content, what the captions say, is the
/// scene's).
pub fn render(scene: &Scene, size: u32, rng: &mut Rng) -> RgbImage {
    let mut pixmap = background(scene, size, rng);
    let s = size as f32;
    let antialias = !rng.chance(0.25);
    for o in &scene.objects {
        draw_object(&mut pixmap, o, s, antialias, rng);
    }
    to_rgb(&pixmap)
}

fn background(scene: &Scene, size: u32, rng: &mut Rng) -> Pixmap {
    let bg = &scene.background;
    let s = size as f32;
    match bg.kind {
        BackgroundKind::Noise => {
            // The textures are not what this renderer varies: the first
            // renderer's noise, without objects.
            let bare = Scene {
                background: bg.clone(),
                objects: Vec::new(),
            };
            from_rgb(&bare.render_with(size, &RenderOptions::default()))
        }
        BackgroundKind::Plain | BackgroundKind::Gradient => {
            let mut pixmap = Pixmap::new(size, size).expect("a non-empty image");
            // Half the time any colours that keep the objects visible, not
            // the first renderer's palette: people draw on any background.
            let (bg_a, bg_b) = if rng.chance(0.5) {
                (
                    contrasting(scene, rng).unwrap_or(bg.a),
                    contrasting(scene, rng).unwrap_or(bg.b),
                )
            } else {
                (bg.a, bg.b)
            };
            let a = colour(bg_a);
            let shader = if bg.kind == BackgroundKind::Plain {
                Shader::SolidColor(a)
            } else {
                // From one side to the other along the angle, sometimes
                // over only part of the image (then padded).
                let (dx, dy) = (bg.angle.cos(), bg.angle.sin());
                let reach = rng.range(0.35, 0.75) * s;
                let (cx, cy) = (s / 2.0, s / 2.0);
                LinearGradient::new(
                    Point::from_xy(cx - dx * reach, cy - dy * reach),
                    Point::from_xy(cx + dx * reach, cy + dy * reach),
                    vec![
                        GradientStop::new(0.0, a),
                        GradientStop::new(1.0, colour(bg_b)),
                    ],
                    SpreadMode::Pad,
                    Transform::identity(),
                )
                .unwrap_or(Shader::SolidColor(a))
            };
            let paint = Paint {
                shader,
                ..Paint::default()
            };
            pixmap.fill_rect(
                tiny_skia::Rect::from_xywh(0.0, 0.0, s, s).expect("a non-empty rectangle"),
                &paint,
                Transform::identity(),
                None,
            );
            pixmap
        }
    }
}

/// A random colour at least [`MIN_CONTRAST`] from every object's colour
/// (`None` if a few tries find none).
fn contrasting(scene: &Scene, rng: &mut Rng) -> Option<[u8; 3]> {
    (0..16).find_map(|_| {
        let c: [u8; 3] = std::array::from_fn(|_| rng.int_in(0, 255) as u8);
        scene
            .objects
            .iter()
            .all(|o| rgb_dist(o.rgb, c) >= MIN_CONTRAST)
            .then_some(c)
    })
}

/// Smallest RGB distance between an object and a background colour of this
/// renderer's own choosing.
const MIN_CONTRAST: f32 = 120.0;

/// One object: its outline as a path around the origin (unit radius), then
/// placed by a transform (scale, rotation, centre).
fn draw_object(pixmap: &mut Pixmap, o: &Object, s: f32, antialias: bool, rng: &mut Rng) {
    let (path, rule) = match outline(o.shape, rng) {
        Some(p) => p,
        None => return,
    };
    let r = o.radius * s;
    let rotation = o.rotation + rng.range(-0.15, 0.15);
    let transform = Transform::from_scale(r, r)
        .post_concat(Transform::from_rotate(rotation.to_degrees()))
        .post_translate(o.cx * s, o.cy * s);
    let mut paint = Paint {
        shader: Shader::SolidColor(colour(o.rgb)),
        anti_alias: antialias,
        ..Paint::default()
    };
    pixmap.fill_path(&path, &paint, rule, transform, None);
    if rng.chance(0.35) {
        // A stroke around the fill: darker, or the fill's own colour (a
        // fatter shape with rounded or bevelled corners).
        let dark = rng.chance(0.5);
        let line = if dark {
            o.rgb.map(|c| (c as f32 * rng.range(0.35, 0.7)) as u8)
        } else {
            o.rgb
        };
        paint.shader = Shader::SolidColor(colour(line));
        // Width in pixels, given in path units (the transform scales it).
        let width_px = rng.range(0.6, (r * 0.25).max(0.8));
        let stroke = Stroke {
            width: width_px / r,
            line_join: *rng.pick(&[LineJoin::Miter, LineJoin::Round, LineJoin::Bevel]),
            ..Stroke::default()
        };
        pixmap.stroke_path(&path, &paint, &stroke, transform, None);
    }
}

/// The outline of `shape` at unit radius, y down, with random proportions.
fn outline(shape: Shape, rng: &mut Rng) -> Option<(tiny_skia::Path, FillRule)> {
    let mut pb = PathBuilder::new();
    let mut rule = FillRule::Winding;
    match shape {
        Shape::Circle => {
            // Mostly round; sometimes an ellipse a paint program's
            // freehand drag would give.
            let e = if rng.chance(0.5) {
                rng.range(0.0, 0.15)
            } else {
                0.0
            };
            let (rx, ry) = (1.0 + e / 2.0, 1.0 - e / 2.0);
            pb.push_oval(tiny_skia::Rect::from_xywh(-rx, -ry, 2.0 * rx, 2.0 * ry)?);
        }
        Shape::Square => {
            let half = rng.range(0.72, 0.9);
            let aspect = rng.range(0.85, 1.18);
            let (hx, hy) = (half * aspect.sqrt(), half / aspect.sqrt());
            pb.push_rect(tiny_skia::Rect::from_ltrb(-hx, -hy, hx, hy)?);
        }
        Shape::Triangle => {
            // Equilateral, isosceles or scalene, apex up, centred on its
            // centroid.
            let half_base = rng.range(0.8, 1.05);
            let height = if rng.chance(0.4) {
                half_base * 3f32.sqrt()
            } else {
                half_base * rng.range(1.3, 2.1)
            };
            let apex_x = if rng.chance(0.6) {
                0.0
            } else {
                rng.range(-0.45, 0.45) * half_base
            };
            let pts = [(apex_x, -height), (-half_base, 0.0), (half_base, 0.0)];
            let (gx, gy) = (
                pts.iter().map(|p| p.0).sum::<f32>() / 3.0,
                pts.iter().map(|p| p.1).sum::<f32>() / 3.0,
            );
            let scale = 1.0 / (height * 0.62).max(half_base);
            polygon(
                &mut pb,
                pts.iter()
                    .map(|&(x, y)| ((x - gx) * scale * 1.05, (y - gy) * scale * 1.05)),
            );
        }
        Shape::Star => {
            let points = if rng.chance(0.75) { 5 } else { 6 };
            let outer = rng.range(0.95, 1.1);
            let inner = outer * rng.range(0.36, 0.56);
            let start = -std::f32::consts::FRAC_PI_2;
            let step = std::f32::consts::PI / points as f32;
            polygon(
                &mut pb,
                (0..2 * points).map(|i| {
                    let rad = if i % 2 == 0 { outer } else { inner };
                    let a = start + step * i as f32;
                    (rad * a.cos(), rad * a.sin())
                }),
            );
        }
        Shape::Cross => {
            let arm = rng.range(0.22, 0.42);
            let (lx, ly) = (rng.range(0.85, 1.05), rng.range(0.85, 1.05));
            polygon(
                &mut pb,
                [
                    (-arm, -ly),
                    (arm, -ly),
                    (arm, -arm),
                    (lx, -arm),
                    (lx, arm),
                    (arm, arm),
                    (arm, ly),
                    (-arm, ly),
                    (-arm, arm),
                    (-lx, arm),
                    (-lx, -arm),
                    (-arm, -arm),
                ]
                .into_iter(),
            );
        }
        Shape::Ring => {
            let e = if rng.chance(0.4) {
                rng.range(0.0, 0.12)
            } else {
                0.0
            };
            let (rx, ry) = (1.0 + e / 2.0, 1.0 - e / 2.0);
            let hole = rng.range(0.42, 0.72);
            pb.push_oval(tiny_skia::Rect::from_xywh(-rx, -ry, 2.0 * rx, 2.0 * ry)?);
            pb.push_oval(tiny_skia::Rect::from_xywh(
                -rx * hole,
                -ry * hole,
                2.0 * rx * hole,
                2.0 * ry * hole,
            )?);
            rule = FillRule::EvenOdd;
        }
    }
    Some((pb.finish()?, rule))
}

fn polygon(pb: &mut PathBuilder, mut points: impl Iterator<Item = (f32, f32)>) {
    if let Some((x, y)) = points.next() {
        pb.move_to(x, y);
        for (x, y) in points {
            pb.line_to(x, y);
        }
        pb.close();
    }
}

fn colour(c: [u8; 3]) -> Color {
    Color::from_rgba8(c[0], c[1], c[2], 255)
}

fn from_rgb(img: &RgbImage) -> Pixmap {
    let data: Vec<u8> = img.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    Pixmap::from_vec(
        data,
        tiny_skia::IntSize::from_wh(img.width(), img.height()).expect("a non-empty image"),
    )
    .expect("RGBA data of the image's size")
}

/// Pixels are opaque throughout (the background covers everything), so the
/// premultiplied RGBA is plain RGB.
fn to_rgb(pixmap: &Pixmap) -> RgbImage {
    let mut img = RgbImage::new(pixmap.width(), pixmap.height());
    for (px, rgba) in img.pixels_mut().zip(pixmap.data().chunks_exact(4)) {
        *px = Rgb([rgba[0], rgba[1], rgba[2]]);
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::synth::SceneOptions;

    fn single(shape: Shape, seed: u64) -> Scene {
        let opts = SceneOptions {
            two_objects: 0.0,
            ..SceneOptions::default()
        };
        let mut rng = Rng::new(seed);
        loop {
            let s = Scene::random(&mut rng, &opts);
            if s.objects[0].shape == shape && s.background.kind == BackgroundKind::Plain {
                return s;
            }
        }
    }

    fn at(img: &RgbImage, o: &Object, dx: f32, dy: f32) -> [u8; 3] {
        let s = img.width() as f32;
        let x = ((o.cx + dx * o.radius) * s) as u32;
        let y = ((o.cy + dy * o.radius) * s) as u32;
        img.get_pixel(x, y).0
    }

    /// The background (plain in these tests) at the corner farthest from
    /// the object.
    fn far_corner(img: &RgbImage, o: &Object) -> [u8; 3] {
        let x = if o.cx < 0.5 { img.width() - 1 } else { 0 };
        let y = if o.cy < 0.5 { img.height() - 1 } else { 0 };
        img.get_pixel(x, y).0
    }

    fn close(a: [u8; 3], b: [u8; 3]) -> bool {
        (0..3).all(|i| (a[i] as i32 - b[i] as i32).abs() <= 3)
    }

    #[test]
    fn every_shape_is_filled_with_its_colour_at_the_centre() {
        for shape in Shape::ALL.into_iter().filter(|&s| s != Shape::Ring) {
            for seed in 0..5 {
                let scene = single(shape, seed);
                let o = &scene.objects[0];
                let img = render(&scene, 128, &mut Rng::new(seed + 100));
                assert!(
                    close(at(&img, o, 0.0, 0.0), o.rgb),
                    "{shape:?} seed {seed}: {:?} vs {:?}",
                    at(&img, o, 0.0, 0.0),
                    o.rgb
                );
            }
        }
    }

    #[test]
    fn a_ring_shows_the_background_through_its_hole() {
        let scene = single(Shape::Ring, 3);
        let o = &scene.objects[0];
        let img = render(&scene, 160, &mut Rng::new(9));
        assert!(close(at(&img, o, 0.0, 0.0), far_corner(&img, o)));
        assert!(!close(at(&img, o, 0.0, 0.0), o.rgb));
        // The band between the hole (at most 0.72 of the radius) and the rim.
        assert!(close(at(&img, o, 0.0, 0.86), o.rgb) || close(at(&img, o, 0.86, 0.0), o.rgb));
    }

    #[test]
    fn far_from_the_object_is_background() {
        let scene = single(Shape::Star, 1);
        let o = &scene.objects[0];
        let img = render(&scene, 128, &mut Rng::new(2));
        // Outside any shape's reach (radius 1.1 plus a stroke).
        let (x, y) = if o.cx < 0.5 {
            (0.97, o.cy)
        } else {
            (0.03, o.cy)
        };
        let p = img.get_pixel((x * 128.0) as u32, (y * 128.0) as u32).0;
        assert!(close(p, far_corner(&img, o)), "{p:?}");
        assert!(!close(p, o.rgb), "{p:?}");
    }

    #[test]
    fn deterministic_for_a_seed_and_varied_across_seeds() {
        let scene = single(Shape::Triangle, 4);
        let a = render(&scene, 96, &mut Rng::new(1));
        let b = render(&scene, 96, &mut Rng::new(1));
        assert_eq!(a, b);
        let differs = (2..10).any(|s| render(&scene, 96, &mut Rng::new(s)) != a);
        assert!(differs, "proportions and style never changed");
    }
}
