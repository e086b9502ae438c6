"""One exception hierarchy for every failed call: ClipdbError and a subclass
per gRPC status code, carrying the server's message."""
from __future__ import annotations

from typing import Dict, Optional, Type

import grpc

__all__ = [
    "ClipdbError", "Cancelled", "Unknown", "InvalidArgument", "DeadlineExceeded",
    "NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted",
    "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal",
    "Unavailable", "DataLoss", "Unauthenticated",
]


class ClipdbError(Exception):
    """A failed clipdb call. `message` is the server's message (it names the
    offending point id or field); `code` the gRPC status code."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class Cancelled(ClipdbError):
    code = grpc.StatusCode.CANCELLED


class Unknown(ClipdbError):
    code = grpc.StatusCode.UNKNOWN


class InvalidArgument(ClipdbError, ValueError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(ClipdbError, TimeoutError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(ClipdbError, LookupError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ClipdbError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(ClipdbError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(ClipdbError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(ClipdbError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(ClipdbError):
    code = grpc.StatusCode.ABORTED


class OutOfRange(ClipdbError):
    code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(ClipdbError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(ClipdbError):
    code = grpc.StatusCode.INTERNAL


class Unavailable(ClipdbError):
    code = grpc.StatusCode.UNAVAILABLE


class DataLoss(ClipdbError):
    code = grpc.StatusCode.DATA_LOSS


class Unauthenticated(ClipdbError):
    code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: Dict[grpc.StatusCode, Type[ClipdbError]] = {
    cls.code: cls
    for cls in (Cancelled, Unknown, InvalidArgument, DeadlineExceeded, NotFound,
                AlreadyExists, PermissionDenied, ResourceExhausted, FailedPrecondition,
                Aborted, OutOfRange, Unimplemented, Internal, Unavailable, DataLoss,
                Unauthenticated)
}


def from_rpc_error(error: grpc.RpcError) -> ClipdbError:
    """The ClipdbError subclass for a failed gRPC call."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else None
    cls = _BY_CODE.get(code, ClipdbError)
    return cls(details or str(code.name), code)
