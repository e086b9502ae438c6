"""Retries, against an in-process fake server that fails on purpose."""
from __future__ import annotations

from concurrent import futures
from typing import Iterator, List

import grpc
import pytest

import clipdb
from clipdb.v1 import clipdb_pb2 as pb
from clipdb.v1 import clipdb_pb2_grpc as rpc


class Flaky(rpc.PointsServicer):
    """Fails the first `failures` calls of each method with `code`."""

    def __init__(self, failures: int, code: grpc.StatusCode) -> None:
        self.failures, self.code = failures, code
        self.calls: List[str] = []

    def _maybe_fail(self, method: str, context: grpc.ServicerContext) -> None:
        self.calls.append(method)
        if self.calls.count(method) <= self.failures:
            context.abort(self.code, f"try again ({method})")

    def Count(self, request: pb.CountRequest, context: grpc.ServicerContext) -> pb.CountResponse:
        self._maybe_fail("Count", context)
        return pb.CountResponse(count=7)

    def UpsertStream(self, request_iterator: Iterator[pb.UpsertRequest],
                     context: grpc.ServicerContext) -> pb.UpsertResponse:
        n = sum(len(r.points) for r in request_iterator)
        self._maybe_fail("UpsertStream", context)
        return pb.UpsertResponse(upserted=n)


def serve(servicer: Flaky) -> "tuple[grpc.Server, str]":
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    rpc.add_PointsServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


FAST = clipdb.RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.05)


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE,
                                  grpc.StatusCode.RESOURCE_EXHAUSTED])
def test_idempotent_calls_are_retried(code: grpc.StatusCode) -> None:
    flaky = Flaky(failures=2, code=code)
    server, addr = serve(flaky)
    try:
        with clipdb.Client(addr, retry=FAST, timeout=10) as db:
            assert db.count("c") == 7
            assert flaky.calls == ["Count"] * 3
            # streams are not retried: the error surfaces with the server's message
            with pytest.raises(clipdb.ClipdbError) as e:
                db.upsert_stream("c", [{"id": "a", "vector": [1]}])
            assert e.value.code == code and e.value.message == "try again (UpsertStream)"
        with clipdb.Client(addr, retry=None, timeout=10) as db:
            flaky.calls.clear()
            with pytest.raises(clipdb.ClipdbError):
                db.count("c")
            assert flaky.calls == ["Count"]
    finally:
        server.stop(None)


def test_gives_up_after_max_attempts() -> None:
    flaky = Flaky(failures=10, code=grpc.StatusCode.UNAVAILABLE)
    server, addr = serve(flaky)
    try:
        with clipdb.Client(addr, retry=FAST, timeout=10) as db:
            with pytest.raises(clipdb.Unavailable, match="try again"):
                db.count("c")
            assert flaky.calls == ["Count"] * 4
    finally:
        server.stop(None)


def test_async_client_retries() -> None:
    import asyncio

    flaky = Flaky(failures=2, code=grpc.StatusCode.UNAVAILABLE)
    server, addr = serve(flaky)

    async def main() -> None:
        async with clipdb.AsyncClient(addr, retry=FAST, timeout=10) as db:
            assert await db.count("c") == 7

    try:
        asyncio.run(main())
        assert flaky.calls == ["Count"] * 3
    finally:
        server.stop(None)
