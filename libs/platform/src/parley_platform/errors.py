"""Domain errors, each mapped once to an HTTP status and a gRPC code.

Services raise these (or subclasses with their own `code`); the HTTP layer
(parley_platform.http) and the gRPC layer (parley_platform.grpc) turn them into responses.
Messages are written for the API user and must never contain secrets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import grpc


class ParleyError(Exception):
    """Base of every error a client may see."""

    http_status: ClassVar[int] = 500
    grpc_code: ClassVar[grpc.StatusCode] = grpc.StatusCode.INTERNAL
    code: str = "internal"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidRequest(ParleyError):
    http_status = 400
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    code = "invalid_request"


class Unauthenticated(ParleyError):
    http_status = 401
    grpc_code = grpc.StatusCode.UNAUTHENTICATED
    code = "unauthenticated"


class PermissionDenied(ParleyError):
    http_status = 403
    grpc_code = grpc.StatusCode.PERMISSION_DENIED
    code = "forbidden"


class NotFound(ParleyError):
    http_status = 404
    grpc_code = grpc.StatusCode.NOT_FOUND
    code = "not_found"


class Conflict(ParleyError):
    http_status = 409
    grpc_code = grpc.StatusCode.ALREADY_EXISTS
    code = "conflict"


class PreconditionFailed(ParleyError):
    """The request is valid but the current state forbids it (e.g. the 24-hour window is
    closed); the message says what would make it possible."""

    http_status = 409
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    code = "precondition_failed"


class PayloadTooLarge(ParleyError):
    http_status = 413
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    code = "payload_too_large"


class RateLimited(ParleyError):
    http_status = 429
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after_s = retry_after_s


class Unavailable(ParleyError):
    """A dependency is down; the client should retry later."""

    http_status = 503
    grpc_code = grpc.StatusCode.UNAVAILABLE
    code = "unavailable"


_BY_GRPC_CODE: dict[grpc.StatusCode, type[ParleyError]] = {
    cls.grpc_code: cls
    for cls in (
        InvalidRequest,
        Unauthenticated,
        PermissionDenied,
        NotFound,
        Conflict,
        PreconditionFailed,
        RateLimited,
        Unavailable,
    )
}
_BY_GRPC_CODE[grpc.StatusCode.DEADLINE_EXCEEDED] = Unavailable


def from_grpc(code: grpc.StatusCode, message: str) -> ParleyError:
    """The domain error for a gRPC failure received from another service."""
    return _BY_GRPC_CODE.get(code, ParleyError)(message)


def error_chain(exc: BaseException, limit: int = 20) -> Iterator[BaseException]:
    """`exc`, then the errors it was raised from or while handling, and the driver errors
    SQLAlchemy wraps (`orig`), each once, at most `limit` of them."""
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending and len(seen) < limit:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__context__, current.__cause__]
