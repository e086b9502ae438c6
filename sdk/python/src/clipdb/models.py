"""Plain Python values the client takes and returns."""
from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union, cast

from google.protobuf import struct_pb2

from clipdb.v1 import clipdb_pb2 as pb

__all__ = ["Point", "Hit", "Record", "CollectionInfo", "SnapshotInfo", "PayloadIndexInfo",
           "VectorLike", "ImageLike", "PointLike"]

# A list/tuple of floats or a 1-D numpy array.
VectorLike = Any
# Encoded image bytes, a file path, or a PIL image.
ImageLike = Any


@dataclass
class Point:
    """A point to upsert. Give `vector`, or (CLIP collections) `image` and/or
    `text` (or a precomputed `text_vector`)."""

    id: Union[str, int]
    vector: Optional[VectorLike] = None
    text: Optional[str] = None
    image: Optional[ImageLike] = None
    payload: Optional[Mapping[str, Any]] = None
    text_vector: Optional[VectorLike] = None


PointLike = Union[Point, Mapping[str, Any], pb.Point]


@dataclass
class Hit:
    """A search hit: best first."""

    id: str
    score: float
    payload: Dict[str, Any] = field(default_factory=dict)
    vector: Optional[List[float]] = None


@dataclass
class Record:
    """A stored point as Get and Scroll return it."""

    id: str
    payload: Dict[str, Any] = field(default_factory=dict)
    vector: Optional[List[float]] = None
    text_vector: Optional[List[float]] = None


@dataclass
class PayloadIndexInfo:
    key: str
    type: str              # "keyword", "integer", "float", "bool"
    state: str             # "building", "ready"
    indexed_points: int
    mismatched_points: int


@dataclass
class CollectionInfo:
    name: str
    dimension: int
    metric: str            # "cosine", "dot", "l2"
    vectorizer: str        # "none", "clip"
    point_count: int
    segment_count: int
    segment_capacity: int
    quantization: str      # "int8" or "f32" (what the collection uses)
    hnsw: Dict[str, int]
    fusion: Tuple[float, float]   # (image, text) weights
    model: str
    model_fingerprint: str
    payload_indexes: List[PayloadIndexInfo]
    raw: pb.CollectionInfo = field(repr=False)


@dataclass
class SnapshotInfo:
    name: str
    collection: str
    size_bytes: int
    point_count: int
    path: str
    created_at: Optional[float]   # seconds since the epoch
    error: str


# ---- enums ------------------------------------------------------------------

_METRICS = {"cosine": pb.METRIC_COSINE, "dot": pb.METRIC_DOT, "l2": pb.METRIC_L2}
_VECTORIZERS = {"none": pb.VECTORIZER_NONE, "clip": pb.VECTORIZER_CLIP}
# "default" (the unset value) leaves the choice to the server's
# --default-quantization; CollectionInfo always reports "int8" or "f32".
_QUANT = {"default": pb.QUANTIZATION_NONE, "int8": pb.QUANTIZATION_INT8,
          "f32": pb.QUANTIZATION_F32}
# Deprecated spelling: "none" once meant f32, and now means the unset value
# (QUANTIZATION_NONE), so it asks for the server's default like "default".
_QUANT_INPUT = {**_QUANT, "none": pb.QUANTIZATION_NONE}
_INDEX_TYPES = {"keyword": pb.PAYLOAD_INDEX_KEYWORD, "integer": pb.PAYLOAD_INDEX_INTEGER,
                "float": pb.PAYLOAD_INDEX_FLOAT, "bool": pb.PAYLOAD_INDEX_BOOL}
_INDEX_STATES = {pb.PAYLOAD_INDEX_STATE_BUILDING: "building",
                 pb.PAYLOAD_INDEX_STATE_READY: "ready"}


def _enum(table: Mapping[str, int], value: Union[str, int], what: str) -> int:
    if isinstance(value, int):
        return value
    v = value.lower()
    for name, num in table.items():
        if v == name or value.upper().endswith("_" + name.upper()):
            return num
    raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(table)}")


def _name(table: Mapping[str, int], num: int) -> str:
    for name, n in table.items():
        if n == num:
            return name
    return str(num)


def metric(value: Union[str, int]) -> "pb.Metric.ValueType":
    return cast("pb.Metric.ValueType", _enum(_METRICS, value, "metric"))


def vectorizer(value: Union[str, int]) -> "pb.Vectorizer.ValueType":
    return cast("pb.Vectorizer.ValueType", _enum(_VECTORIZERS, value, "vectorizer"))


def quantization(value: Optional[Union[str, int]]) -> "pb.Quantization.ValueType":
    """"int8", "f32", or None/"default" for the server's default; "none" is a
    deprecated alias of "default" (it no longer means f32)."""
    if value is None:
        return pb.QUANTIZATION_NONE
    try:
        return cast("pb.Quantization.ValueType", _enum(_QUANT_INPUT, value, "quantization"))
    except ValueError:
        raise ValueError(f"unknown quantization {value!r}; expected one of "
                         f"{', '.join(_QUANT)} (or None for the server's default)") from None


def index_type(value: Union[str, int]) -> "pb.PayloadIndexType.ValueType":
    return cast("pb.PayloadIndexType.ValueType", _enum(_INDEX_TYPES, value, "payload index type"))


# ---- values -----------------------------------------------------------------

def to_floats(v: VectorLike) -> List[float]:
    if hasattr(v, "tolist"):          # numpy arrays
        v = v.tolist()
    out = [float(x) for x in v]
    return out


def image_bytes(image: ImageLike) -> bytes:
    """Encoded image bytes from bytes, a path, or a PIL image (sent as PNG)."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    if isinstance(image, (str, os.PathLike)):
        with open(image, "rb") as f:
            return f.read()
    if hasattr(image, "save") and hasattr(image, "mode"):     # PIL.Image.Image
        buf = io.BytesIO()
        img = image
        if img.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            img = img.convert("RGB")
        img.save(buf, format="PNG")
        return buf.getvalue()
    raise TypeError(f"an image must be bytes, a path or a PIL image, not {type(image).__name__}")


def to_struct(payload: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(_jsonable(dict(payload)))
    return s


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
        return v
    if isinstance(v, int):
        return float(v)
    if hasattr(v, "tolist"):          # numpy scalars and arrays
        return _jsonable(v.tolist())
    return v


def from_value(v: struct_pb2.Value) -> Any:
    kind = v.WhichOneof("kind")
    if kind == "struct_value":
        return from_struct(v.struct_value)
    if kind == "list_value":
        return [from_value(x) for x in v.list_value.values]
    if kind == "number_value":
        n = v.number_value
        # whole numbers come back as int (the server stores doubles)
        if math.isfinite(n) and n == int(n) and abs(n) <= 2 ** 53:
            return int(n)
        return n
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    return None


def from_struct(s: struct_pb2.Struct) -> Dict[str, Any]:
    return {k: from_value(v) for k, v in s.fields.items()}


def to_point(p: PointLike) -> pb.Point:
    if isinstance(p, pb.Point):
        return p
    if isinstance(p, Point):
        d: Mapping[str, Any] = p.__dict__
    elif isinstance(p, Mapping):
        d = p
        unknown = set(d) - {"id", "vector", "text", "image", "payload", "text_vector"}
        if unknown:
            raise ValueError(f"point {d.get('id')!r}: unknown keys {sorted(unknown)}")
    else:
        raise TypeError(f"a point must be a dict or a Point, not {type(p).__name__}")
    if d.get("id") is None:
        raise ValueError("a point needs an id")
    out = pb.Point(id=str(d["id"]))
    if d.get("vector") is not None:
        out.vector.extend(to_floats(d["vector"]))
    if d.get("text_vector") is not None:
        out.text_vector.extend(to_floats(d["text_vector"]))
    if d.get("text") is not None:
        out.text = d["text"]
    if d.get("image") is not None:
        out.image = image_bytes(d["image"])
    if d.get("payload") is not None:
        out.payload.CopyFrom(to_struct(d["payload"]))
    return out


def hit(p: pb.ScoredPoint) -> Hit:
    return Hit(id=p.id, score=p.score, payload=from_struct(p.payload),
               vector=list(p.vector) if p.vector else None)


def record(p: pb.Point) -> Record:
    return Record(id=p.id, payload=from_struct(p.payload),
                  vector=list(p.vector) if p.vector else None,
                  text_vector=list(p.text_vector) if p.text_vector else None)


def payload_index_info(i: pb.PayloadIndexInfo) -> PayloadIndexInfo:
    return PayloadIndexInfo(key=i.key, type=_name(_INDEX_TYPES, i.type),
                            state=_INDEX_STATES.get(i.state, "unspecified"),
                            indexed_points=i.indexed_points,
                            mismatched_points=i.mismatched_points)


def collection_info(c: pb.CollectionInfo) -> CollectionInfo:
    return CollectionInfo(
        name=c.name, dimension=c.dimension, metric=_name(_METRICS, c.metric),
        vectorizer=_name(_VECTORIZERS, c.vectorizer), point_count=c.point_count,
        segment_count=c.segment_count, segment_capacity=c.segment_capacity,
        quantization=_name(_QUANT, c.quantization),
        hnsw={"m": c.hnsw.m, "ef_construction": c.hnsw.ef_construction,
              "ef_search": c.hnsw.ef_search},
        fusion=(c.fusion.image, c.fusion.text), model=c.model,
        model_fingerprint=c.model_fingerprint,
        payload_indexes=[payload_index_info(i) for i in c.payload_indexes], raw=c)


def snapshot_info(s: pb.SnapshotInfo) -> SnapshotInfo:
    created = None
    if s.HasField("created_at"):
        created = s.created_at.seconds + s.created_at.nanos / 1e9
    return SnapshotInfo(name=s.name, collection=s.collection, size_bytes=s.size_bytes,
                        point_count=s.point_count, path=s.path, created_at=created,
                        error=s.error)


def fusion(f: Union[Tuple[float, float], Mapping[str, float], Sequence[float]]) -> pb.FusionWeights:
    if isinstance(f, Mapping):
        return pb.FusionWeights(image=float(f.get("image", 0.0)), text=float(f.get("text", 0.0)))
    image, text = f
    return pb.FusionWeights(image=float(image), text=float(text))


def embeddings(resp: pb.EmbedResponse) -> Any:
    """A (n, d) float32 numpy array when numpy is installed, else lists."""
    rows = [list(e.values) for e in resp.embeddings]
    try:
        import numpy as np
    except ImportError:
        return rows
    return np.asarray(rows, dtype=np.float32)
