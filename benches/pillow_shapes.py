"""Single coloured shapes drawn with Pillow's primitives, for measuring the
demo model on a third drawing program (issue #20's own setup).

    python benches/pillow_shapes.py OUT_DIR [--count 600] [--seed 1]
    cargo run --release --example eval_demo_model -- --labelled OUT_DIR [MODEL_DIR]

Writes OUT_DIR/NNNN.png|jpg and OUT_DIR/labels.json (file, shape, colour,
size, position per image). Shapes: ImageDraw.ellipse (circle, ring with an
outline width), rectangle (square), regular_polygon (triangle), polygon
(star, cross); 96-320 px; plain, gradient and noisy backgrounds; PNG or
JPEG. Needs Pillow (`pip install pillow`). Nothing here is used in training.
"""

import argparse
import json
import math
import os
import random

from PIL import Image, ImageDraw, ImageFilter

# clipdb's colour names and reference sRGB values (src/demo/synth.rs).
COLOURS = {
    "red": (220, 30, 30),
    "orange": (245, 140, 20),
    "yellow": (245, 215, 30),
    "green": (40, 165, 50),
    "blue": (35, 80, 225),
    "purple": (135, 45, 185),
    "pink": (250, 125, 195),
    "brown": (120, 70, 30),
    "black": (15, 15, 15),
    "white": (248, 248, 248),
}
SHAPES = ["circle", "square", "triangle", "star", "cross", "ring"]
POSITIONS = [
    "top_left", "top", "top_right",
    "left", "centre", "right",
    "bottom_left", "bottom", "bottom_right",
]
SIZES = {"small": (0.085, 0.12), "large": (0.15, 0.2)}


def distance(a, b):
    return math.dist(a, b)


def background_colour(rng, obj):
    while True:
        c = tuple(rng.randrange(256) for _ in range(3))
        if distance(c, obj) >= 120:
            return c


def background(rng, size, obj):
    kind = rng.choice(["plain", "gradient", "noise"])
    a = background_colour(rng, obj)
    if kind == "plain":
        return Image.new("RGB", (size, size), a), kind
    if kind == "gradient":
        b = background_colour(rng, obj)
        # Rotated at twice the size, then the middle cut out: no corners.
        ramp = Image.linear_gradient("L").resize((2 * size, 2 * size))
        ramp = ramp.rotate(rng.uniform(0, 360), resample=Image.BILINEAR)
        ramp = ramp.crop((size // 2, size // 2, size // 2 + size, size // 2 + size))
        return Image.composite(Image.new("RGB", (size, size), b),
                               Image.new("RGB", (size, size), a), ramp), kind
    noise = Image.effect_noise((size, size), rng.uniform(10, 40)).convert("L")
    base = Image.new("RGB", (size, size), a)
    tint = Image.merge("RGB", [noise.point(lambda v, c=c: max(0, min(255, c + v - 128)))
                               for c in a])
    return Image.blend(base, tint, 0.6).filter(ImageFilter.BoxBlur(rng.choice([0, 1]))), kind


def draw_shape(draw, shape, cx, cy, r, fill, rng):
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=fill,
                     width=max(2, round(r * rng.uniform(0.25, 0.45))))
    elif shape == "square":
        h = r * 0.85
        draw.rectangle([cx - h, cy - h, cx + h, cy + h], fill=fill)
    elif shape == "triangle":
        draw.regular_polygon((cx, cy + r * 0.15, r * 1.05), 3, rotation=0, fill=fill)
    elif shape == "star":
        pts = []
        for i in range(10):
            rad = r * 1.05 if i % 2 == 0 else r * 0.45
            a = -math.pi / 2 + i * math.pi / 5
            pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
        draw.polygon(pts, fill=fill)
    elif shape == "cross":
        w = r * 0.33
        draw.rectangle([cx - r, cy - w, cx + r, cy + w], fill=fill)
        draw.rectangle([cx - w, cy - r, cx + w, cy + r], fill=fill)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    labels = []
    for i in range(args.count):
        shape = rng.choice(SHAPES)
        colour = rng.choice(list(COLOURS))
        size_name = rng.choice(list(SIZES))
        position = rng.randrange(9)
        side = rng.randint(96, 320)
        fill = tuple(max(0, min(255, c + rng.randint(-15, 15))) for c in COLOURS[colour])
        img, kind = background(rng, side, fill)
        r = rng.uniform(*SIZES[size_name]) * side
        row, col = divmod(position, 3)
        # Inside its grid cell and wholly inside the image.
        cx = min(max(((col + 0.5) / 3 + rng.uniform(-0.03, 0.03)) * side, 1.2 * r), side - 1.2 * r)
        cy = min(max(((row + 0.5) / 3 + rng.uniform(-0.03, 0.03)) * side, 1.2 * r), side - 1.2 * r)
        draw_shape(ImageDraw.Draw(img), shape, cx, cy, r, fill, rng)
        jpeg = rng.random() < 0.4
        name = f"{i:04}.{'jpg' if jpeg else 'png'}"
        if jpeg:
            img.save(os.path.join(args.out, name), quality=rng.randint(50, 95))
        else:
            img.save(os.path.join(args.out, name))
        labels.append({"file": name, "shape": shape, "colour": colour, "size": size_name,
                       "position": POSITIONS[position], "background": kind})
    with open(os.path.join(args.out, "labels.json"), "w") as f:
        json.dump(labels, f, indent=1)


if __name__ == "__main__":
    main()
