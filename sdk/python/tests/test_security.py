"""API keys and TLS."""
from __future__ import annotations

from typing import Any, Dict

import pytest

import clipdb
from clipdb import Client


def test_api_keys(keyed_server: str, name: str) -> None:
    with Client(keyed_server, timeout=30) as anon:
        with pytest.raises(clipdb.Unauthenticated):
            anon.list_collections()
    with Client(keyed_server, api_key="wrong", timeout=30) as bad:
        with pytest.raises(clipdb.Unauthenticated):
            bad.list_collections()
    with Client(keyed_server, api_key="write-key", timeout=30) as w:
        w.create_collection(name, dimension=2)
        w.upsert(name, [{"id": "a", "vector": [1, 0]}])
    with Client(keyed_server, api_key="read-key", timeout=30) as r:
        assert [h.id for h in r.search(name, vector=[1, 0])] == ["a"]
        assert r.count(name) == 1
        with pytest.raises(clipdb.PermissionDenied):
            r.upsert(name, [{"id": "b", "vector": [0, 1]}])
        with pytest.raises(clipdb.PermissionDenied):
            r.delete_collection(name)


def test_tls(tls_server: Dict[str, Any], name: str) -> None:
    addr = tls_server["address"]
    ca = tls_server["ca"].read_bytes()
    with Client(addr, tls=True, root_certificates=ca, timeout=30) as db:
        db.create_collection(name, dimension=2)
        assert db.upsert(name, [{"id": "a", "vector": [1, 0]}]) == 1
    # a path to the CA works too, and https:// implies TLS
    with Client(f"https://{addr}", root_certificates=str(tls_server["ca"]), timeout=30) as db:
        assert db.count(name) == 1
    # without the CA the server's certificate is not trusted
    with Client(addr, tls=True, timeout=5, retry=None) as db:
        with pytest.raises(clipdb.Unavailable):
            db.count(name)
    # and plaintext against a TLS port fails
    with Client(addr, timeout=5, retry=None) as db:
        with pytest.raises(clipdb.ClipdbError):
            db.count(name)
