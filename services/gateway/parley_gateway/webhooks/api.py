"""The webhook endpoints Meta calls.

`/webhooks/whatsapp` serves every channel on the platform's Meta app (signed with the
platform's app secret); `/webhooks/whatsapp/{channel_id}` serves one business that uses its
own Meta app (its secret and verify token from the channel registry). Order of checks on a
POST: size (413), signature over the raw bytes (401), JSON and shape (400), then publishing
(200 only after Kafka acknowledged everything; 503 when it did not within the bound).
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from parley_platform.errors import (
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from parley_platform.events import PublishError
from parley_platform.http.errors import error_responses as errors
from prometheus_client import Counter

from parley_gateway.api.dependencies import ComponentsDep
from parley_gateway.config import Settings
from parley_gateway.webhooks.channels import ChannelDirectory, ChannelRoute
from parley_gateway.webhooks.ingest import WebhookIngest
from parley_gateway.webhooks.parsing import InvalidNotification
from parley_gateway.webhooks.signature import SIGNATURE_HEADER, is_valid_signature

log = logging.getLogger(__name__)

WEBHOOK_REQUESTS = Counter(
    "parley_webhook_requests_total",
    "Webhook POSTs by endpoint kind and result",
    ["endpoint", "result"],
)
MAX_CHALLENGE_LENGTH = 256


def webhook_router(settings: Settings) -> APIRouter:
    """The webhook routes; they publish through the gateway's `WebhookIngest` component."""
    platform_secret = settings.whatsapp_app_secret.get_secret_value()
    platform_verify_token = settings.whatsapp_verify_token.get_secret_value()
    max_body = settings.webhook_max_body_bytes
    router = APIRouter(prefix="/webhooks/whatsapp", tags=["whatsapp webhooks"])

    @router.get(
        "",
        summary="Meta's verification handshake (platform app)",
        responses=errors(400, 403),
    )
    async def verify_platform(
        mode: Annotated[str | None, Query(alias="hub.mode")] = None,
        token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
        challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
    ) -> PlainTextResponse:
        return _handshake(mode, token, challenge, platform_verify_token)

    @router.post(
        "",
        summary="Notifications signed with the platform's app secret",
        responses=errors(400, 401, 413, 503),
    )
    async def receive_platform(request: Request, components: ComponentsDep) -> JSONResponse:
        raw = await _read_body(request, max_body, "platform")
        _check_signature(raw, request, platform_secret, "platform")
        return await _ingest(components.webhooks, raw, None, "platform")

    @router.get(
        "/{channel_id}",
        summary="Meta's verification handshake (a business's own app)",
        responses=errors(400, 403, 404, 503),
    )
    async def verify_channel(
        channel_id: str,
        components: ComponentsDep,
        mode: Annotated[str | None, Query(alias="hub.mode")] = None,
        token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
        challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
    ) -> PlainTextResponse:
        channel = await _own_app_channel(components.channels, channel_id)
        return _handshake(mode, token, challenge, channel.verify_token)

    @router.post(
        "/{channel_id}",
        summary="Notifications signed with a business's own app secret",
        responses=errors(400, 401, 404, 413, 503),
    )
    async def receive_channel(
        channel_id: str, request: Request, components: ComponentsDep
    ) -> JSONResponse:
        raw = await _read_body(request, max_body, "channel")
        channel = await _own_app_channel(components.channels, channel_id)
        _check_signature(raw, request, channel.app_secret, "channel")
        return await _ingest(components.webhooks, raw, channel, "channel")

    return router


async def _own_app_channel(directory: ChannelDirectory, channel_id: str) -> ChannelRoute:
    channel = await directory.by_channel_id(channel_id)
    if channel is None or not channel.uses_own_app or not channel.app_secret:
        raise NotFound("no webhook endpoint here")
    return channel


async def _ingest(
    ingest: WebhookIngest, raw: bytes, channel: ChannelRoute | None, endpoint: str
) -> JSONResponse:
    try:
        notification = json.loads(raw)
        report = await ingest.ingest(notification, only_channel=channel)
    except (ValueError, RecursionError, InvalidNotification) as exc:  # absurd nesting too
        WEBHOOK_REQUESTS.labels(endpoint, "invalid").inc()
        message = str(exc) if isinstance(exc, InvalidNotification) else "body is not JSON"
        raise InvalidRequest(f"not a WhatsApp notification: {message}") from exc
    except PublishError as exc:
        WEBHOOK_REQUESTS.labels(endpoint, "unavailable").inc()
        log.warning("webhook not published; Meta will retry", extra={"error": str(exc)})
        raise Unavailable("events could not be stored; retry later") from exc
    except Unavailable:
        WEBHOOK_REQUESTS.labels(endpoint, "unavailable").inc()
        raise
    WEBHOOK_REQUESTS.labels(endpoint, "accepted").inc()
    return JSONResponse({"events": len(report.events), "skipped": report.skipped})


def _handshake(
    mode: str | None, token: str | None, challenge: str | None, expected: str
) -> PlainTextResponse:
    """Echo the challenge when Meta proves it knows the verify token (no signature on GET)."""
    valid = (
        mode == "subscribe"
        and bool(token)
        and bool(expected)
        and hmac.compare_digest((token or "").encode(), expected.encode())
    )
    if not valid:
        raise PermissionDenied("verification failed")
    if not challenge or len(challenge) > MAX_CHALLENGE_LENGTH:
        raise InvalidRequest("hub.challenge missing or too long")
    return PlainTextResponse(challenge)


async def _read_body(request: Request, limit: int, endpoint: str) -> bytes:
    """The raw body, refusing more than `limit` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        WEBHOOK_REQUESTS.labels(endpoint, "too_large").inc()
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            WEBHOOK_REQUESTS.labels(endpoint, "too_large").inc()
            raise PayloadTooLarge(f"body larger than {limit} bytes")
    return bytes(body)


def _check_signature(raw: bytes, request: Request, secret: str, endpoint: str) -> None:
    if not is_valid_signature(raw, request.headers.get(SIGNATURE_HEADER), secret):
        WEBHOOK_REQUESTS.labels(endpoint, "bad_signature").inc()
        log.warning("webhook signature missing or wrong", extra={"endpoint": endpoint})
        raise Unauthenticated("missing or invalid X-Hub-Signature-256")
