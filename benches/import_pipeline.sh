#!/usr/bin/env bash
# `clipdb import coco` end to end with a ViT-B/32-shaped model: JPEG files on
# disk to durable points, and where the time goes.
#
#   python3 -m venv .venv-torch && .venv-torch/bin/pip install torch transformers pillow
#   PYTHON=.venv-torch/bin/python bash benches/import_pipeline.sh [IMAGES (1000)]
#
# Makes, in a temporary folder: a CLIP with openai/clip-vit-base-patch32's
# shapes and random weights (Hugging Face layout, the fixtures' tokenizer and
# preprocessor config), IMAGES generated 640x480 JPEGs (quality 90, shapes on
# gradients and noise, like a photo's entropy) and a COCO captions file with 5
# captions each. Then runs the release server on it and times the import
# (default tuning: 16 images per request, 4 in flight). From the server's
# /metrics it reads the time spent in forward passes (images, captions) and
# in commits; "model-only" is IMAGES / (image + caption forward seconds), the
# rate if decoding, resizing, gRPC and commits cost nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
PYTHON=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/clipdb-import-bench.XXXXXX")
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

"$PYTHON" - "$work" "$N" ../shared/fixtures/clip <<'EOF'
import json, os, random, shutil, sys
import numpy as np
import torch
from PIL import Image, ImageDraw
from transformers import CLIPConfig, CLIPModel

work, n, fixtures = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.manual_seed(0)
model_dir = os.path.join(work, "model")
CLIPModel(CLIPConfig()).save_pretrained(model_dir, safe_serialization=True)
for f in ("tokenizer.json", "preprocessor_config.json"):
    shutil.copy(os.path.join(fixtures, "tiny", f), model_dir)

rng = random.Random(7)
np_rng = np.random.default_rng(7)
img_dir = os.path.join(work, "images")
os.makedirs(img_dir)
words = ["red", "blue", "green", "circle", "square", "dog", "street", "table", "sky", "tree"]
images, annotations = [], []
yy, xx = np.mgrid[0:480, 0:640]
for i in range(n):
    a, b = np_rng.uniform(0, 255, 3), np_rng.uniform(0, 255, 3)
    t = ((xx * rng.random() + yy * rng.random()) / 1120.0)[..., None]
    px = (a * (1 - t) + b * t + np_rng.normal(0, 12, (480, 640, 3))).clip(0, 255).astype(np.uint8)
    im = Image.fromarray(px)
    d = ImageDraw.Draw(im)
    for _ in range(rng.randint(3, 8)):
        x0, y0 = rng.randint(0, 560), rng.randint(0, 400)
        box = [x0, y0, x0 + rng.randint(20, 300), y0 + rng.randint(20, 300)]
        fill = tuple(rng.randint(0, 255) for _ in range(3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)(box, fill=fill)
    name = f"{i:012d}.jpg"
    im.save(os.path.join(img_dir, name), quality=90)
    images.append({"id": i + 1, "file_name": name, "width": 640, "height": 480})
    for c in range(5):
        caption = "a photo of " + " ".join(rng.choice(words) for _ in range(rng.randint(4, 12)))
        annotations.append({"id": i * 5 + c + 1, "image_id": i + 1, "caption": caption})
with open(os.path.join(work, "captions.json"), "w") as f:
    json.dump({"images": images, "annotations": annotations}, f)
EOF
echo "generated $N JPEGs ($(du -sh "$work/images" | cut -f1)) and a ViT-B/32-shaped model" >&2

cargo build --release --bin clipdb >&2
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
grpc=$(free_port)
http=$(free_port)
target/release/clipdb serve --model "$work/model" --data-dir "$work/data" \
    --listen "127.0.0.1:$grpc" --http-listen "127.0.0.1:$http" --log-format json \
    >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 600); do
    curl -fs "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fs "http://127.0.0.1:$http/readyz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }

start=$(date +%s.%N)
target/release/clipdb import coco --annotations "$work/captions.json" --images "$work/images" \
    --collection coco --server "http://127.0.0.1:$grpc" --no-progress
end=$(date +%s.%N)
curl -fs "http://127.0.0.1:$http/metrics" >"$work/metrics.txt"

"$PYTHON" - "$work/metrics.txt" "$N" "$start" "$end" <<'EOF'
import re, sys
text, n = open(sys.argv[1]).read(), int(sys.argv[2])
wall = float(sys.argv[4]) - float(sys.argv[3])
def total(name, kind=None):
    s = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (kind is None or f'kind="{kind}"' in line):
            s += float(line.rsplit(" ", 1)[1])
    return s
img = total("clipdb_embed_duration_seconds_sum", "image")
txt = total("clipdb_embed_duration_seconds_sum", "text")
commit = total("clipdb_commit_duration_seconds_sum")
model_only = n / (img + txt)
print(f"import: {n} images in {wall:.1f} s = {n / wall:.2f} images/s (5 captions each)")
print(f"forward passes: images {img:.1f} s ({n / img:.2f} images/s), captions {txt:.1f} s "
      f"({5 * n / txt:.1f} captions/s); commits {commit:.1f} s")
print(f"model-only rate {model_only:.2f} images/s; the import reaches {n / wall / model_only:.2f}x of it; "
      f"outside forward passes {wall - img - txt:.1f} s of {wall:.1f} s")
EOF
