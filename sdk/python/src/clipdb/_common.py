"""What Client and AsyncClient share: options, retries, request builders."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import (Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import grpc

from clipdb import models as m
from clipdb.filters import FilterLike, to_proto_filter
from clipdb.v1 import clipdb_pb2 as pb

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_BATCH_SIZE = 256
# split upserts so that one message stays well under the server's default limit
DEFAULT_BATCH_BYTES = 8 << 20


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of idempotent calls (reads, upserts, deletes, payload updates)
    that fail with one of `codes`, with exponential backoff and jitter."""

    max_attempts: int = 5
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    codes: Tuple[grpc.StatusCode, ...] = (grpc.StatusCode.UNAVAILABLE,
                                          grpc.StatusCode.RESOURCE_EXHAUSTED)

    def delay(self, attempt: int, code: grpc.StatusCode) -> Optional[float]:
        """Seconds to wait before attempt `attempt + 1`, or None to give up."""
        if code not in self.codes or attempt + 1 >= self.max_attempts:
            return None
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** attempt)
        return base * (0.5 + random.random() / 2)


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_address(address: str, tls: bool) -> Tuple[str, bool]:
    """"host:port", or "http://host:port" / "https://host:port" (https means TLS)."""
    if address.startswith("https://"):
        return address[len("https://"):].rstrip("/"), True
    if address.startswith("http://"):
        return address[len("http://"):].rstrip("/"), tls
    return address, tls


def credentials(root_certificates: Optional[Union[bytes, str]],
                private_key: Optional[Union[bytes, str]],
                certificate_chain: Optional[Union[bytes, str]]) -> grpc.ChannelCredentials:
    def read(x: Optional[Union[bytes, str]]) -> Optional[bytes]:
        if x is None or isinstance(x, bytes):
            return x
        with open(x, "rb") as f:      # a path to a PEM file
            return f.read()
    return grpc.ssl_channel_credentials(read(root_certificates), read(private_key),
                                        read(certificate_chain))


CHANNEL_OPTIONS = [("grpc.max_send_message_length", -1),
                   ("grpc.max_receive_message_length", -1)]


def metadata(api_key: Optional[str]) -> Tuple[Tuple[str, str], ...]:
    return (("x-api-key", api_key),) if api_key else ()


def create_collection(name: str, dimension: Optional[int], metric: Union[str, int],
                      vectorizer: Optional[Union[str, int]], hnsw: Optional[Mapping[str, int]],
                      fusion: Any, segment_capacity: Optional[int],
                      quantization: Optional[Union[str, int]]) -> pb.CreateCollectionRequest:
    if vectorizer is None:
        vectorizer = "clip" if dimension is None else "none"
    req = pb.CreateCollectionRequest(name=name, dimension=dimension or 0,
                                     metric=m.metric(metric), vectorizer=m.vectorizer(vectorizer),
                                     segment_capacity=segment_capacity or 0)
    if hnsw:
        req.hnsw.CopyFrom(pb.HnswConfig(**dict(hnsw)))
    if fusion is not None:
        req.fusion.CopyFrom(m.fusion(fusion))
    if quantization is not None:
        req.quantization = m.quantization(quantization)
    return req


def batches(collection: str, points: Iterable[m.PointLike], batch_size: int,
            batch_bytes: int = DEFAULT_BATCH_BYTES) -> Iterator[pb.UpsertRequest]:
    """UpsertRequests of at most batch_size points and about batch_bytes."""
    req = pb.UpsertRequest(collection=collection)
    size = 0
    for p in points:
        point = m.to_point(p)
        n = point.ByteSize()
        if req.points and (len(req.points) >= batch_size or size + n > batch_bytes):
            yield req
            req = pb.UpsertRequest(collection=collection)
            size = 0
        req.points.append(point)
        size += n
    if req.points:
        yield req


def search(collection: str, vector: Optional[m.VectorLike], text: Optional[str],
           image: Optional[m.ImageLike], id: Optional[Union[str, int]], limit: int,
           filter: Optional[FilterLike], ef: Optional[int], fusion: Any, with_payload: bool,
           with_vector: bool, score_threshold: Optional[float], offset: int,
           payload_fields: Optional[Sequence[str]]) -> pb.SearchRequest:
    given = [k for k, v in (("vector", vector), ("text", text), ("image", image), ("id", id))
             if v is not None]
    if len(given) != 1:
        raise ValueError("search needs exactly one of vector, text, image, id"
                         + (f" (got {', '.join(given)})" if given else ""))
    req = pb.SearchRequest(collection=collection, limit=limit, ef=ef or 0,
                           with_payload=with_payload, with_vector=with_vector, offset=offset)
    if vector is not None:
        req.vector.values.extend(m.to_floats(vector))
    elif text is not None:
        req.text = text
    elif image is not None:
        req.image = m.image_bytes(image)
    else:
        req.id = str(id)
    f = to_proto_filter(filter)
    if f is not None:
        req.filter.CopyFrom(f)
    if fusion is not None:
        req.fusion.CopyFrom(m.fusion(fusion))
    if score_threshold is not None:
        req.score_threshold = score_threshold
    if payload_fields:
        req.payload_fields.extend(payload_fields)
    return req


def search_kwargs(q: Mapping[str, Any], collection: Optional[str]) -> pb.SearchRequest:
    q = dict(q)
    coll = q.pop("collection", collection)
    if coll is None:
        raise ValueError("each search needs a collection (or pass collection=)")
    args: Dict[str, Any] = dict(vector=None, text=None, image=None, id=None, limit=10,
                                filter=None, ef=None, fusion=None, with_payload=True,
                                with_vector=False, score_threshold=None, offset=0,
                                payload_fields=None)
    unknown = set(q) - set(args)
    if unknown:
        raise ValueError(f"unknown search arguments {sorted(unknown)}")
    args.update(q)
    return search(coll, **args)


def recommend(collection: str, positive: Sequence[Any], negative: Sequence[Any], limit: int,
              filter: Optional[FilterLike], ef: Optional[int], fusion: Any, with_payload: bool,
              with_vector: bool, score_threshold: Optional[float], offset: int,
              payload_fields: Optional[Sequence[str]]) -> pb.RecommendRequest:
    req = pb.RecommendRequest(collection=collection, limit=limit, ef=ef or 0,
                              with_payload=with_payload, with_vector=with_vector, offset=offset)
    for examples, ids, vectors in ((positive, req.positive_ids, req.positive_vectors),
                                   (negative, req.negative_ids, req.negative_vectors)):
        for e in examples:
            if isinstance(e, (str, int)):
                ids.append(str(e))
            else:
                vectors.append(pb.Vector(values=m.to_floats(e)))
    f = to_proto_filter(filter)
    if f is not None:
        req.filter.CopyFrom(f)
    if fusion is not None:
        req.fusion.CopyFrom(m.fusion(fusion))
    if score_threshold is not None:
        req.score_threshold = score_threshold
    if payload_fields:
        req.payload_fields.extend(payload_fields)
    return req


def selection(ids: Optional[Iterable[Union[str, int]]],
              filter: Optional[FilterLike]) -> Tuple[List[str], Optional[pb.Filter]]:
    if (ids is None) == (filter is None):
        raise ValueError("give either ids or filter")
    return ([str(i) for i in ids] if ids is not None else []), to_proto_filter(filter)


def delete(collection: str, ids: Optional[Iterable[Union[str, int]]],
           filter: Optional[FilterLike]) -> pb.DeleteRequest:
    id_list, f = selection(ids, filter)
    req = pb.DeleteRequest(collection=collection, ids=id_list)
    if f is not None:
        req.filter.CopyFrom(f)
    return req


def set_payload(collection: str, payload: Mapping[str, Any],
                ids: Optional[Iterable[Union[str, int]]], filter: Optional[FilterLike],
                replace: bool) -> pb.SetPayloadRequest:
    id_list, f = selection(ids, filter)
    req = pb.SetPayloadRequest(collection=collection, ids=id_list, replace=replace,
                               payload=m.to_struct(payload))
    if f is not None:
        req.filter.CopyFrom(f)
    return req


def delete_payload_keys(collection: str, keys: Iterable[str],
                        ids: Optional[Iterable[Union[str, int]]],
                        filter: Optional[FilterLike]) -> pb.DeletePayloadKeysRequest:
    id_list, f = selection(ids, filter)
    req = pb.DeletePayloadKeysRequest(collection=collection, ids=id_list, keys=list(keys))
    if f is not None:
        req.filter.CopyFrom(f)
    return req


def count(collection: str, filter: Optional[FilterLike]) -> pb.CountRequest:
    req = pb.CountRequest(collection=collection)
    f = to_proto_filter(filter)
    if f is not None:
        req.filter.CopyFrom(f)
    return req


def scroll(collection: str, filter: Optional[FilterLike], page_size: int, with_payload: bool,
           with_vector: bool) -> pb.ScrollRequest:
    req = pb.ScrollRequest(collection=collection, limit=page_size, with_payload=with_payload,
                           with_vector=with_vector)
    f = to_proto_filter(filter)
    if f is not None:
        req.filter.CopyFrom(f)
    return req


def texts(t: Union[str, Sequence[str]]) -> Tuple[List[str], bool]:
    return ([t], True) if isinstance(t, str) else (list(t), False)


def images(i: Any) -> Tuple[List[bytes], bool]:
    if isinstance(i, (list, tuple)):
        return [m.image_bytes(x) for x in i], False
    return [m.image_bytes(i)], True


def first_if(single: bool, e: Any) -> Any:
    return e[0] if single else e
