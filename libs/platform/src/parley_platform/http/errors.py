"""One error format for every HTTP API: `{"error": {"code", "message", "trace_id"}}`.

Clients never see a stack trace: unexpected exceptions are logged with their trace id and
answered with a generic 500 that carries the same trace id for support.
"""

from __future__ import annotations

import logging
from typing import Any

from asyncpg.exceptions import PostgresError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from parley_platform.errors import ParleyError, RateLimited, error_chain
from parley_platform.outages import is_outage

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None
    trace_id: str | None = None


class ErrorBody(BaseModel):
    """Every error has this body (for OpenAPI documents)."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for a route's error statuses."""
    return {status: {"model": ErrorBody} for status in statuses}


def _trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The standard error body."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    if (trace_id := _trace_id()) is not None:
        body["trace_id"] = trace_id
    return JSONResponse({"error": body}, status_code=status, headers=headers)


# SQLSTATEs of text PostgreSQL cannot store: character_not_in_repertoire (a NUL in text),
# untranslatable_character (\u0000 in JSON). The input is at fault, whatever the route.
_UNSTORABLE_TEXT_STATES = frozenset({"22021", "22P05"})


def _unstorable_text(exc: BaseException) -> bool:
    """Whether the database refused the request's text (API fuzzing found NULs in a search
    query and in a team's name answered 500)."""
    return any(
        isinstance(error, PostgresError) and error.sqlstate in _UNSTORABLE_TEXT_STATES
        for error in error_chain(exc)
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors, validation errors, HTTP errors and crashes to the standard body."""

    @app.exception_handler(ParleyError)
    async def _domain(_: Request, exc: ParleyError) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimited) and exc.retry_after_s is not None:
            headers = {"Retry-After": str(max(1, round(exc.retry_after_s)))}
        if exc.http_status >= 500:
            log.warning("request failed: %s", exc.code)
        return error_response(exc.http_status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Field locations and reasons only: the rejected input is not echoed (it may be a secret).
        details = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "reason": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        return error_response(422, "invalid_request", "the request is not valid", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        if _unstorable_text(exc):
            return error_response(
                422, "invalid_characters", "text may not contain NUL (\\u0000) characters"
            )
        if is_outage(exc):  # a dependency is unreachable for now: the caller may retry
            log.warning(
                "dependency unavailable on %s %s: %s",
                request.method,
                request.url.path,
                type(exc).__name__,
            )
            return error_response(503, "unavailable", "a dependency is unavailable; retry later")
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal error; quote the trace id to support")
