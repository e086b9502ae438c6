"""Text and images with the bundled demo CLIP model (the server embeds them)."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
from PIL import Image

import clipdb
from clipdb import Client, Field


def load(demo_data: Path) -> List[Dict[str, object]]:
    coco = json.loads((demo_data / "captions.json").read_text())
    captions: Dict[int, List[str]] = defaultdict(list)
    for a in coco["annotations"]:
        captions[a["image_id"]].append(a["caption"])
    return [{"id": im["id"], "path": demo_data / "images" / im["file_name"],
             "captions": captions[im["id"]],
             "colour": im["scene"]["objects"][0]["colour"]} for im in coco["images"]]


def test_images_and_texts(server: str, demo_data: Path, name: str) -> None:
    items = load(demo_data)
    with Client(server, timeout=60) as db:
        info = db.create_collection(name)           # CLIP: the model's dimension
        assert info.vectorizer == "clip" and info.dimension > 0
        points = []
        for i, it in enumerate(items):
            path = it["path"]
            assert isinstance(path, Path)
            # images as a path, as bytes and as a PIL image
            image = path if i % 3 == 0 else path.read_bytes() if i % 3 == 1 else Image.open(path)
            points.append({"id": it["id"], "image": image, "text": it["captions"][-1],
                           "payload": {"colour": it["colour"], "file": path.name}})
        seen: List[int] = []
        assert db.upsert_stream(name, points, batch_size=6, progress=seen.append) == 20
        assert seen == [6, 12, 18, 20]
        assert db.count(name) == 20
        assert db.get_collection(name).model != ""

        first = items[0]
        caption = first["captions"][-1]              # type: ignore[index]
        # captions only: the point whose caption this is scores ~1
        hits = db.search(name, text=caption, fusion=(0, 1), limit=3)
        assert hits[0].id == str(first["id"]) and hits[0].score > 0.99
        # images only, query by the image itself
        hits = db.search(name, image=first["path"], fusion={"image": 1, "text": 0}, limit=1)
        assert hits[0].id == str(first["id"]) and hits[0].score > 0.99
        # fused, with a filter
        colour = str(first["colour"])
        hits = db.search(name, text=f"a {colour} shape", filter=Field("colour") == colour)
        assert hits and all(h.payload["colour"] == colour for h in hits)

        v = db.embed_text("a red circle")
        m = db.embed_text(["a red circle", "a blue square"])
        assert isinstance(v, np.ndarray) and v.shape == (info.dimension,)
        assert m.shape == (2, info.dimension) and m.dtype == np.float32
        assert abs(float(np.linalg.norm(v)) - 1) < 1e-3
        img = db.embed_image(Image.open(first["path"]))   # type: ignore[arg-type]
        assert img.shape == (info.dimension,)
        hits = db.search(name, vector=img, fusion=(1, 0), limit=1)
        assert hits[0].id == str(first["id"])

        with pytest.raises(clipdb.InvalidArgument) as e:
            db.upsert(name, [{"id": "bad", "image": b"not an image"}])
        assert "bad" in e.value.message
