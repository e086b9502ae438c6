"""The blocking client."""
from __future__ import annotations

import time
from types import TracebackType
from typing import (Any, Callable, Iterable, Iterator, List, Mapping, Optional, Sequence, Type,
                    TypeVar, Union)

import grpc

from clipdb import _common as c
from clipdb import models as m
from clipdb.errors import from_rpc_error
from clipdb.filters import FilterLike
from clipdb.v1 import clipdb_pb2 as pb
from clipdb.v1 import clipdb_pb2_grpc as rpc

__all__ = ["Client"]

_R = TypeVar("_R")
Ids = Iterable[Union[str, int]]
Progress = Callable[[int], None]


class Client:
    """A connection to a clipdb server.

    `address` is "host:port" (or "http://host:port", "https://host:port");
    `api_key` is sent as `x-api-key`; `tls=True` (or `root_certificates`, PEM
    bytes or a path) uses TLS, with `private_key` / `certificate_chain` for
    client certificates; `timeout` (seconds) bounds every call; `retry`
    governs retries of idempotent calls (`RetryPolicy`, or None for none).
    """

    def __init__(self, address: str = c.DEFAULT_ADDRESS, api_key: Optional[str] = None,
                 tls: bool = False, root_certificates: Optional[Union[bytes, str]] = None,
                 timeout: Optional[float] = None, *,
                 private_key: Optional[Union[bytes, str]] = None,
                 certificate_chain: Optional[Union[bytes, str]] = None,
                 retry: Optional[c.RetryPolicy] = c.RetryPolicy(),
                 options: Optional[Sequence[Any]] = None) -> None:
        target, tls = c.parse_address(address, tls)
        opts = list(c.CHANNEL_OPTIONS) + list(options or [])
        if tls or root_certificates is not None:
            creds = c.credentials(root_certificates, private_key, certificate_chain)
            self._channel = grpc.secure_channel(target, creds, options=opts)
        else:
            self._channel = grpc.insecure_channel(target, options=opts)
        self._metadata = c.metadata(api_key)
        self._timeout = timeout
        self._retry = retry or c.NO_RETRY
        self._collections = rpc.CollectionsStub(self._channel)
        self._points = rpc.PointsStub(self._channel)
        self._embeddings = rpc.EmbeddingsStub(self._channel)

    # ---- plumbing -------------------------------------------------------------

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def _call(self, method: Callable[..., _R], request: Any, idempotent: bool = True) -> _R:
        attempt = 0
        while True:
            try:
                return method(request, timeout=self._timeout, metadata=self._metadata)
            except grpc.RpcError as e:
                delay = self._retry.delay(attempt, e.code()) if idempotent else None
                if delay is None:
                    raise from_rpc_error(e) from None
                time.sleep(delay)
                attempt += 1

    # ---- collections ------------------------------------------------------------

    def create_collection(self, name: str, dimension: Optional[int] = None,
                          metric: Union[str, int] = "cosine",
                          vectorizer: Optional[Union[str, int]] = None, *,
                          hnsw: Optional[Mapping[str, int]] = None, fusion: Any = None,
                          segment_capacity: Optional[int] = None,
                          quantization: Optional[Union[str, int]] = None) -> m.CollectionInfo:
        """Creates a collection. Without `dimension` (and `vectorizer`) it is a
        CLIP collection of the server model's dimension; with one, raw vectors."""
        req = c.create_collection(name, dimension, metric, vectorizer, hnsw, fusion,
                                  segment_capacity, quantization)
        return m.collection_info(self._call(self._collections.CreateCollection, req, False))

    def get_collection(self, name: str) -> m.CollectionInfo:
        return m.collection_info(self._call(self._collections.GetCollection,
                                            pb.GetCollectionRequest(name=name)))

    def list_collections(self) -> List[m.CollectionInfo]:
        resp = self._call(self._collections.ListCollections, pb.ListCollectionsRequest())
        return [m.collection_info(x) for x in resp.collections]

    def delete_collection(self, name: str) -> None:
        self._call(self._collections.DeleteCollection, pb.DeleteCollectionRequest(name=name),
                   False)

    def collection_exists(self, name: str) -> bool:
        return any(x.name == name for x in self.list_collections())

    def create_payload_index(self, collection: str, key: str,
                             type: Union[str, int] = "keyword") -> m.PayloadIndexInfo:
        req = pb.CreatePayloadIndexRequest(collection=collection, key=key,
                                           type=m.index_type(type))
        return m.payload_index_info(self._call(self._collections.CreatePayloadIndex, req))

    def delete_payload_index(self, collection: str, key: str) -> None:
        self._call(self._collections.DeletePayloadIndex,
                   pb.DeletePayloadIndexRequest(collection=collection, key=key), False)

    def create_snapshot(self, collection: str) -> m.SnapshotInfo:
        return m.snapshot_info(self._call(self._collections.CreateSnapshot,
                                          pb.CreateSnapshotRequest(collection=collection), False))

    def list_snapshots(self, collection: Optional[str] = None) -> List[m.SnapshotInfo]:
        resp = self._call(self._collections.ListSnapshots,
                          pb.ListSnapshotsRequest(collection=collection or ""))
        return [m.snapshot_info(s) for s in resp.snapshots]

    def delete_snapshot(self, collection: str, name: str) -> None:
        self._call(self._collections.DeleteSnapshot,
                   pb.DeleteSnapshotRequest(collection=collection, name=name), False)

    # ---- points -----------------------------------------------------------------

    def upsert(self, collection: str, points: Iterable[m.PointLike], *,
               batch_size: int = c.DEFAULT_BATCH_SIZE) -> int:
        """Inserts or replaces points, `batch_size` per request (each request is
        all or nothing and durable when it returns). Returns the count written."""
        return sum(self._call(self._points.Upsert, req).upserted
                   for req in c.batches(collection, points, batch_size))

    def upsert_stream(self, collection: str, points: Iterable[m.PointLike], *,
                      batch_size: int = c.DEFAULT_BATCH_SIZE,
                      progress: Optional[Progress] = None) -> int:
        """Bulk load over one UpsertStream call: batches are applied in order;
        `progress(points_sent)` is called after each batch is sent. On an error
        the batches before the failing one stay stored (not retried)."""
        def requests() -> Iterator[pb.UpsertRequest]:
            sent = 0
            for req in c.batches(collection, points, batch_size):
                yield req
                sent += len(req.points)
                if progress is not None:
                    progress(sent)
        return self._call(self._points.UpsertStream, requests(), False).upserted

    def get(self, collection: str, ids: Ids, with_vector: bool = False) -> List[m.Record]:
        """The stored points with these ids (missing ones are left out)."""
        req = pb.GetRequest(collection=collection, ids=[str(i) for i in ids],
                            with_vector=with_vector)
        return [m.record(p) for p in self._call(self._points.Get, req).points]

    def delete(self, collection: str, ids: Optional[Ids] = None, *,
               filter: Optional[FilterLike] = None) -> int:
        """Deletes points by id, or every point matching `filter`."""
        return self._call(self._points.Delete, c.delete(collection, ids, filter)).deleted

    def count(self, collection: str, filter: Optional[FilterLike] = None) -> int:
        return self._call(self._points.Count, c.count(collection, filter)).count

    def scroll(self, collection: str, filter: Optional[FilterLike] = None, *,
               page_size: int = 100, with_payload: bool = True,
               with_vector: bool = False) -> Iterator[m.Record]:
        """Every point (matching `filter`) in id order, fetched page by page."""
        req = c.scroll(collection, filter, page_size, with_payload, with_vector)
        while True:
            resp = self._call(self._points.Scroll, req)
            for p in resp.points:
                yield m.record(p)
            if not resp.next_page_token:
                return
            req.page_token = resp.next_page_token

    def search(self, collection: str, vector: Optional[m.VectorLike] = None,
               text: Optional[str] = None, image: Optional[m.ImageLike] = None,
               id: Optional[Union[str, int]] = None, limit: int = 10,
               filter: Optional[FilterLike] = None, ef: Optional[int] = None, fusion: Any = None,
               with_payload: bool = True, with_vector: bool = False,
               score_threshold: Optional[float] = None, offset: int = 0,
               payload_fields: Optional[Sequence[str]] = None) -> List[m.Hit]:
        """Nearest neighbours of a vector, a text, an image or a stored point
        (exactly one), best first. `fusion` is (image, text) weights."""
        req = c.search(collection, vector, text, image, id, limit, filter, ef, fusion,
                       with_payload, with_vector, score_threshold, offset, payload_fields)
        return [m.hit(h) for h in self._call(self._points.Search, req).hits]

    def search_batch(self, searches: Iterable[Mapping[str, Any]], *,
                     collection: Optional[str] = None) -> List[List[m.Hit]]:
        """Many searches in one call; each is a dict of `search`'s arguments
        (its own "collection", or `collection`). Results in order."""
        req = pb.SearchBatchRequest(searches=[c.search_kwargs(q, collection) for q in searches])
        resp = self._call(self._points.SearchBatch, req)
        return [[m.hit(h) for h in r.hits] for r in resp.results]

    def recommend(self, collection: str, positive: Sequence[Any], negative: Sequence[Any] = (),
                  limit: int = 10, filter: Optional[FilterLike] = None,
                  ef: Optional[int] = None, fusion: Any = None, with_payload: bool = True,
                  with_vector: bool = False, score_threshold: Optional[float] = None,
                  offset: int = 0, payload_fields: Optional[Sequence[str]] = None) -> List[m.Hit]:
        """More like `positive`, less like `negative` (point ids or vectors)."""
        req = c.recommend(collection, positive, negative, limit, filter, ef, fusion,
                          with_payload, with_vector, score_threshold, offset, payload_fields)
        return [m.hit(h) for h in self._call(self._points.Recommend, req).hits]

    def set_payload(self, collection: str, payload: Mapping[str, Any],
                    ids: Optional[Ids] = None, *, filter: Optional[FilterLike] = None,
                    replace: bool = False) -> int:
        """Merges `payload` into (or with `replace`, substitutes it for) the
        payload of these points or of those matching `filter`."""
        req = c.set_payload(collection, payload, ids, filter, replace)
        return self._call(self._points.SetPayload, req).updated

    def delete_payload_keys(self, collection: str, keys: Iterable[str],
                            ids: Optional[Ids] = None, *,
                            filter: Optional[FilterLike] = None) -> int:
        req = c.delete_payload_keys(collection, keys, ids, filter)
        return self._call(self._points.DeletePayloadKeys, req).updated

    # ---- embeddings -------------------------------------------------------------

    def embed_text(self, texts: Union[str, Sequence[str]]) -> Any:
        """CLIP embeddings (L2-normalised): one vector for a str, a (n, d)
        matrix for a list; numpy float32 when numpy is installed."""
        t, single = c.texts(texts)
        resp = self._call(self._embeddings.EmbedText, pb.EmbedTextRequest(texts=t))
        return c.first_if(single, m.embeddings(resp))

    def embed_image(self, images: Any) -> Any:
        """Like embed_text, for one image or a list (bytes, paths, PIL images)."""
        i, single = c.images(images)
        resp = self._call(self._embeddings.EmbedImage, pb.EmbedImageRequest(images=i))
        return c.first_if(single, m.embeddings(resp))
