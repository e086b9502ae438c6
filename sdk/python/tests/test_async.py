"""AsyncClient: the same surface as coroutines."""
from __future__ import annotations

import asyncio
from typing import List

import pytest

import clipdb
from clipdb import AsyncClient, Field


def test_async_client(server: str, name: str) -> None:
    async def main() -> None:
        async with AsyncClient(server, timeout=30) as db:
            await db.create_collection(name, dimension=3, metric="dot")
            assert (await db.get_collection(name)).metric == "dot"
            n = await db.upsert(name, [{"id": i, "vector": [i, 1, 0], "payload": {"i": i}}
                                       for i in range(50)], batch_size=16)
            assert n == 50
            seen: List[int] = []
            assert await db.upsert_stream(name, [{"id": "s", "vector": [0, 0, 1]}],
                                          progress=seen.append) == 1
            assert seen == [1]
            hits = await db.search(name, vector=[1, 0, 0], limit=3, filter=Field("i") < 10)
            assert [h.id for h in hits] == ["9", "8", "7"]
            assert await db.count(name) == 51
            ids = [r.id async for r in db.scroll(name, page_size=7)]
            assert len(ids) == 51
            assert [r.id for r in await db.get(name, ["1"])] == ["1"]
            assert await db.delete(name, filter=Field("i") >= 25) == 25
            assert await db.set_payload(name, {"k": 1}, ["1"]) == 1
            results = await asyncio.gather(*(db.search(name, vector=[1, 0, 0], limit=1)
                                             for _ in range(8)))
            assert all(r[0].id == "24" for r in results)
            with pytest.raises(clipdb.InvalidArgument, match="dimension"):
                await db.upsert(name, [{"id": "x", "vector": [1]}])
            v = await db.embed_text("a red circle")
            assert len(v) > 0
            await db.delete_collection(name)
            with pytest.raises(clipdb.NotFound):
                await db.get_collection(name)

    asyncio.run(main())
