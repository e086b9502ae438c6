"""Text-to-image search with clipdb: import captioned images from a COCO-style
annotations file, search with a sentence, save the top hits as a PNG grid. Needs
`pip install './sdk/python[all]'` (numpy, Pillow).

    clipdb serve &                                   # bundled demo CLIP
    clipdb demo-data --out shapes --count 200        # or COCO: captions_val2017.json + val2017/
    python coco_search.py shapes/captions.json shapes/images "a red circle" --top 8
"""
import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from clipdb import Client

ap = argparse.ArgumentParser()
ap.add_argument("annotations"), ap.add_argument("images"), ap.add_argument("query")
ap.add_argument("--server", default="127.0.0.1:50051")
ap.add_argument("--collection", default="coco"), ap.add_argument("--top", type=int, default=8)
ap.add_argument("--out", default="results.png")
args = ap.parse_args()

coco = json.loads(Path(args.annotations).read_text())
captions = {}
for a in coco["annotations"]:
    captions.setdefault(a["image_id"], []).append(a["caption"])

with Client(args.server) as db:
    def caption_vector(caps):  # the normalised mean of the captions' embeddings
        v = db.embed_text(caps).mean(axis=0)
        return v / np.linalg.norm(v)

    points = ({"id": im["id"], "image": Path(args.images) / im["file_name"],
               "text_vector": caption_vector(captions[im["id"]]) if im["id"] in captions else None,
               "payload": {"file_name": im["file_name"], "captions": captions.get(im["id"], [])}}
              for im in coco["images"])
    if not db.collection_exists(args.collection):
        db.create_collection(args.collection)        # CLIP: the server embeds images and text
        n = db.upsert_stream(args.collection, points, batch_size=64,
                             progress=lambda k: print(f"\rimported {k} images", end=""))
        print(f"\rimported {n} images")
    hits = db.search(args.collection, text=args.query, limit=args.top)

for rank, h in enumerate(hits, 1):
    print(f"{rank:2}  {h.score:.3f}  {h.payload['file_name']}  {h.payload['captions'][:1]}")
size, cols = 224, 4
grid = Image.new("RGB", (cols * size, -(-len(hits) // cols) * size), "white")
for i, h in enumerate(hits):
    img = Image.open(Path(args.images) / h.payload["file_name"]).convert("RGB")
    img.thumbnail((size, size))
    grid.paste(img, ((i % cols) * size, (i // cols) * size))
grid.save(args.out)
print(f"saved the top {len(hits)} for {args.query!r} to {args.out}")
