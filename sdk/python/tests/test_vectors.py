"""Raw-vector collections against the real server."""
from __future__ import annotations

import numpy as np
import pytest

import clipdb
from clipdb import Client, Field, Filter, HasId, Point

POINTS = [
    {"id": "a", "vector": [1, 0, 0, 0], "payload": {"colour": "red", "year": 2019}},
    {"id": "b", "vector": [0, 1, 0, 0], "payload": {"colour": "blue", "year": 2021}},
    Point(id="c", vector=np.array([1, 1, 0, 0], dtype=np.float32),
          payload={"colour": "red", "year": 2023, "meta": {"tags": ["x", "y"]}}),
]


@pytest.fixture
def db(server: str) -> Client:
    with Client(server, timeout=30) as c:
        yield c


@pytest.fixture
def demo(db: Client, name: str) -> str:
    info = db.create_collection(name, dimension=4)
    assert (info.name, info.dimension, info.metric, info.vectorizer) == (name, 4, "cosine", "none")
    assert db.upsert(name, POINTS) == 3
    return name


def test_collections(db: Client, demo: str) -> None:
    info = db.get_collection(demo)
    assert info.point_count == 3
    assert demo in [c.name for c in db.list_collections()]
    assert db.collection_exists(demo)
    with pytest.raises(clipdb.AlreadyExists):
        db.create_collection(demo, dimension=4)
    db.delete_collection(demo)
    with pytest.raises(clipdb.NotFound) as e:
        db.get_collection(demo)
    assert demo in e.value.message


def test_quantization(db: Client, name: str) -> None:
    # explicit f32 and int8 are kept; the default (None, "default", and the
    # deprecated "none") is the server's, int8 here; the reply and a later
    # get_collection report what the collection uses
    for asked, want in [("f32", "f32"), ("int8", "int8"), (None, "int8"),
                        ("default", "int8"), ("none", "int8")]:
        coll = f"{name}_{asked}"
        assert db.create_collection(coll, dimension=4, quantization=asked).quantization == want
        assert db.get_collection(coll).quantization == want, asked
    with pytest.raises(ValueError, match="expected one of default, int8, f32"):
        db.create_collection(f"{name}_bad", dimension=4, quantization="f16")


def test_default_quantization_is_the_servers(f32_default_server: str, name: str) -> None:
    # a server whose --default-quantization is f32: an SDK that sent int8
    # for the default (rather than leaving it unset) would show here
    with Client(f32_default_server, timeout=30) as c:
        assert c.create_collection(name, dimension=4).quantization == "f32"
        assert c.create_collection(f"{name}_i", dimension=4,
                                   quantization="int8").quantization == "int8"


def test_search_and_filters(db: Client, demo: str) -> None:
    hits = db.search(demo, vector=[1, 0.2, 0, 0], limit=2)
    assert [h.id for h in hits] == ["a", "c"]
    assert hits[0].payload == {"colour": "red", "year": 2019}
    assert isinstance(hits[0].payload["year"], int)
    assert hits[0].score > hits[1].score and hits[0].vector is None
    want = ["c"]
    f = Filter.must(Field("colour") == "red", Field("year").range(gte=2020))
    assert [h.id for h in db.search(demo, vector=[1, 0.2, 0, 0], filter=f)] == want
    as_dict = {"must": [{"key": "colour", "equals": "red"},
                        {"key": "year", "range": {"gte": 2020}}]}
    assert [h.id for h in db.search(demo, vector=[1, 0.2, 0, 0], filter=as_dict)] == want
    assert [h.id for h in db.search(demo, vector=[1, 0, 0, 0],
                                    filter=Field("colour") != "red")] == ["b"]
    assert [h.id for h in db.search(demo, vector=[1, 0, 0, 0],
                                    filter=Filter(should=[HasId(["b"]), Field("year") > 2022]))
            ] == ["c", "b"]
    assert [h.id for h in db.search(demo, vector=[1, 0, 0, 0],
                                    filter=Field("meta.tags").any(["y", "z"]))] == ["c"]
    hits = db.search(demo, vector=np.array([0, 1, 0, 0]), limit=1, with_vector=True,
                     with_payload=False)
    assert hits[0].id == "b" and hits[0].payload == {} and hits[0].vector == [0, 1, 0, 0]
    assert [h.id for h in db.search(demo, id="a", limit=5)][0] == "c"
    assert [h.id for h in db.search(demo, vector=[1, 0, 0, 0], offset=1, limit=1)] == ["c"]
    assert [h.id for h in db.search(demo, vector=[1, 0, 0, 0], score_threshold=0.9)] == ["a"]
    batch = db.search_batch([{"vector": [1, 0, 0, 0], "limit": 1},
                             {"vector": [0, 1, 0, 0], "limit": 1}], collection=demo)
    assert [[h.id for h in r] for r in batch] == [["a"], ["b"]]
    rec = db.recommend(demo, positive=["a"], negative=[[0, 1, 0, 0]], limit=1)
    assert [h.id for h in rec] == ["c"]


def test_get_delete_count_scroll(db: Client, demo: str) -> None:
    got = db.get(demo, ["c", "missing", "a"], with_vector=True)
    assert [r.id for r in got] == ["c", "a"]
    assert got[1].vector == [1, 0, 0, 0]
    assert got[0].payload["meta"] == {"tags": ["x", "y"]}
    assert db.count(demo) == 3
    assert db.count(demo, Field("colour") == "red") == 2
    db.upsert(demo, ({"id": f"p{i:03}", "vector": [i, 1, 1, 1], "payload": {"i": i}}
                     for i in range(250)), batch_size=100)
    assert db.count(demo) == 253
    ids = [r.id for r in db.scroll(demo, page_size=40)]
    assert ids == sorted(ids) and len(ids) == 253
    assert [r.id for r in db.scroll(demo, Field("i") < 3, with_payload=False)] == \
        ["p000", "p001", "p002"]
    assert db.delete(demo, ["a", "nope"]) == 1
    assert db.delete(demo, filter=Field("i") >= 100) == 150
    assert db.count(demo) == 102
    with pytest.raises(ValueError):
        db.delete(demo)


def test_payload_updates(db: Client, demo: str) -> None:
    assert db.set_payload(demo, {"seen": True}, ["a", "b"]) == 2
    assert db.get(demo, ["a"])[0].payload == {"colour": "red", "year": 2019, "seen": True}
    assert db.set_payload(demo, {"only": 1}, filter=Field("colour") == "blue", replace=True) == 1
    assert db.get(demo, ["b"])[0].payload == {"only": 1}
    assert db.delete_payload_keys(demo, ["year"], filter=Field("colour") == "red") == 2
    assert "year" not in db.get(demo, ["c"])[0].payload
    info = db.create_payload_index(demo, "colour", "keyword")
    assert info.key == "colour" and info.type == "keyword"
    assert [i.key for i in db.get_collection(demo).payload_indexes] == ["colour"]
    db.delete_payload_index(demo, "colour")
    assert db.get_collection(demo).payload_indexes == []


def test_snapshots(db: Client, demo: str) -> None:
    snap = db.create_snapshot(demo)
    assert snap.collection == demo and snap.point_count == 3 and snap.created_at
    assert snap.name in [s.name for s in db.list_snapshots(demo)]
    db.delete_snapshot(demo, snap.name)
    assert db.list_snapshots(demo) == []


def test_errors_carry_the_server_message(db: Client, demo: str) -> None:
    with pytest.raises(clipdb.InvalidArgument) as e:
        db.upsert(demo, [{"id": "x", "vector": [1, 2]}])
    assert e.value.message == f"point `x`: vector has dimension 2, collection `{demo}` expects 4"
    assert isinstance(e.value, clipdb.ClipdbError) and isinstance(e.value, ValueError)
    with pytest.raises(clipdb.InvalidArgument, match="limit"):
        db.search(demo, vector=[1, 0, 0, 0], limit=20000)
    with pytest.raises(clipdb.NotFound):
        db.search("no_such_collection", vector=[1, 0, 0, 0])
    with pytest.raises(clipdb.FailedPrecondition):
        db.search(demo, text="a red circle")       # a raw-vector collection
    with pytest.raises(ValueError):
        db.search(demo, vector=[1, 0, 0, 0], text="both")


def test_retries_unavailable_then_gives_up() -> None:
    policy = clipdb.RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02)
    with Client("127.0.0.1:1", retry=policy, timeout=5) as c:   # nothing listens there
        with pytest.raises(clipdb.Unavailable):
            c.list_collections()
    assert policy.delay(0, clipdb.Unavailable.code) is not None
    assert policy.delay(2, clipdb.Unavailable.code) is None
    assert policy.delay(0, clipdb.InvalidArgument.code) is None
