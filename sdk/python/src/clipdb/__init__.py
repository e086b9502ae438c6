"""clipdb: the Python client of the clipdb vector database.

    from clipdb import Client, Filter, Field
    with Client("127.0.0.1:50051") as db:
        db.create_collection("demo", dimension=4)
        db.upsert("demo", [{"id": "a", "vector": [1, 0, 0, 0], "payload": {"colour": "red"}}])
        hits = db.search("demo", vector=[1, 0.2, 0, 0], filter=Field("colour") == "red")
"""
from clipdb._common import RetryPolicy
from clipdb.aio import AsyncClient
from clipdb.client import Client
from clipdb.errors import (Aborted, AlreadyExists, Cancelled, ClipdbError, DataLoss,
                           DeadlineExceeded, FailedPrecondition, Internal, InvalidArgument,
                           NotFound, OutOfRange, PermissionDenied, ResourceExhausted,
                           Unauthenticated, Unavailable, Unimplemented, Unknown)
from clipdb.filters import Condition, Field, Filter, HasId
from clipdb.models import (CollectionInfo, Hit, PayloadIndexInfo, Point, Record,
                           SnapshotInfo)

__version__ = "0.1.0"

__all__ = [
    "Client", "AsyncClient", "RetryPolicy",
    "Point", "Hit", "Record", "CollectionInfo", "SnapshotInfo", "PayloadIndexInfo",
    "Filter", "Field", "Condition", "HasId",
    "ClipdbError", "Cancelled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
    "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
    "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
]
