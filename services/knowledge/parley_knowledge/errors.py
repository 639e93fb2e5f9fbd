"""The knowledge service's own failures, each mapped once to an HTTP status and gRPC code
(the platform's error handlers read `http_status` and `grpc_code`)."""

from __future__ import annotations

import grpc
from parley_platform.errors import ParleyError


class UnsupportedMediaType(ParleyError):
    """The upload is of a kind the service does not read (HTTP 415)."""

    http_status = 415
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    code = "unsupported_media_type"


class UnreadableContent(ParleyError):
    """The upload is of a supported kind but cannot be read: damaged, encrypted or empty
    (HTTP 422, with the reason)."""

    http_status = 422
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    code = "unreadable_document"


class QuotaExceeded(ParleyError):
    """Accepting this would take the tenant's knowledge base past one of its quotas."""

    http_status = 403
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    code = "quota_exceeded"
