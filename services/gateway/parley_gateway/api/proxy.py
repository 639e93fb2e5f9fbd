"""The reverse proxy of the public API: authenticate, then forward to the owning service.

For every `/api/v1/...` request: find the owning service in the route table (404 if none),
authenticate the caller unless the route is public, count the call against the tenant's and
the API key's rates (limits.requests; 429 beyond them, RateLimit headers on every counted
answer), and forward the request with an
internal token carrying the verified principal (or none, for public routes) and the client's
address. The client's own Authorization header, cookies, any internal-token or
client-address header it sent, and forwarding headers are never passed on. Request bodies
are limited (413). Responses are streamed back as they arrive, so Server-Sent Events flow
without buffering; when the client goes away the upstream response is closed. Live streams
go through api.live_streams (caps, their own pool, credentials checked while open). An
upstream that cannot be reached answers 503, one that does not answer in time 504.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

import anyio
import httpx
from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from opentelemetry import baggage
from opentelemetry import context as otel_context
from parley_platform.errors import (
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    Unavailable,
)
from parley_platform.grpc.credentials import ServiceTokenIssuer
from parley_platform.http.internal import (
    CLIENT_ADDRESS_HEADER,
    INTERNAL_TOKEN_HEADER,
    internal_headers,
)
from parley_platform.identity import Principal

from parley_gateway.api.live_streams import LiveStreams
from parley_gateway.api.routes import UPSTREAMS, Route, resolve
from parley_gateway.authn.authenticator import Authenticated, Authenticator
from parley_gateway.authn.client_address import Network, client_address
from parley_gateway.config import Settings
from parley_gateway.limits.requests import Quota, RequestLimits
from parley_gateway.web.cookies import SessionCookies

log = logging.getLogger(__name__)

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Never forwarded to a service: the client's credentials, what only the gateway may assert,
# and trace baggage (identity never travels in it).
_DROPPED_REQUEST_HEADERS = _HOP_BY_HOP | {
    "host",
    "authorization",
    "cookie",
    "content-length",
    INTERNAL_TOKEN_HEADER,
    CLIENT_ADDRESS_HEADER,
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "traceparent",
    "tracestate",
    "baggage",
}
# The gateway's server sets its own.
_DROPPED_RESPONSE_HEADERS = _HOP_BY_HOP | {"server", "date"}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class UpstreamTimeout(Unavailable):
    """The owning service did not answer within the bound."""

    http_status = 504
    code = "upstream_timeout"


class ApiProxy:
    """Forwards authenticated API requests to the services."""

    def __init__(
        self,
        settings: Settings,
        authenticator: Authenticator,
        clients: UpstreamClients,
        trusted_proxies: Sequence[Network],
        limits: RequestLimits,
        live_streams: LiveStreams,
    ) -> None:
        self._settings = settings
        self._authenticator = authenticator
        self._clients = clients
        self._trusted = trusted_proxies
        self._limits = limits
        self._live_streams = live_streams
        self._issuer = ServiceTokenIssuer(
            settings.service_token_secret.get_secret_value(), settings.service_name
        )
        self._bases = {
            u.service: str(getattr(settings, u.url_setting)).rstrip("/") for u in UPSTREAMS
        }
        self._cookies = SessionCookies.of(settings)

    @property
    def authenticator(self) -> Authenticator:
        """The one authenticator of API requests (the dashboard's session routes share it)."""
        return self._authenticator

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client to the services (API calls; live streams have a pool of their own)."""
        return self._clients.api

    @property
    def trusted_proxies(self) -> Sequence[Network]:
        return self._trusted

    async def forward(self, request: Request) -> Response:
        path = request.url.path
        if any(segment in (".", "..") for segment in unquote(path).split("/")):
            raise NotFound("no such API route")
        route = resolve(request.method, path)
        if route is None:
            raise NotFound("no such API route")
        caller: Authenticated | None = None
        quota: Quota | None = None
        # The Authorization header, or the dashboard's session cookie (web/cookies.py).
        authorization = self._cookies.authorization(request)
        if not route.public:
            caller = await self._authenticator.verify(authorization)
            quota = await self._limits.admit(caller.principal)
        limit = (
            self._settings.upload_body_limit_bytes
            if route.upload
            else self._settings.api_body_limit_bytes
        )
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise InvalidRequest("Content-Length is not a number")
            if int(declared) > limit:
                raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
        has_body = (declared not in (None, "0")) or "chunked" in request.headers.get(
            "transfer-encoding", ""
        )
        principal = caller.principal if caller else None
        base = self._bases[route.upstream.service]
        streaming = route.streaming and caller is not None
        client = self._clients.streams if streaming else self._clients.api
        outgoing = client.build_request(
            request.method,
            base + (request.scope.get("raw_path") or path.encode()).decode("latin-1"),
            headers=self._upstream_headers(request, route, principal, declared),
            content=_limited(request, limit) if has_body else None,
            timeout=self._timeout(route),
        )
        if query := request.scope.get("query_string", b""):
            outgoing.url = outgoing.url.copy_with(query=query)  # as received, not re-encoded
        if not streaming:
            response = await self._send(client, outgoing, route)
            return _relayed(response, _relay(response), base, quota)
        assert caller is not None
        slot = await self._live_streams.admit(caller, "last-event-id" in request.headers)
        try:
            response = await self._send(client, outgoing, route)
        except BaseException:
            await self._live_streams.release(slot)
            raise
        if response.status_code != 200:
            await self._live_streams.release(slot)
            return _relayed(response, _relay(response), base, quota)
        body = self._live_streams.watch(
            response, _relay(response), authorization=authorization, caller=caller, slot=slot
        )
        return _relayed(response, body, base, quota)

    async def _send(
        self, client: httpx.AsyncClient, outgoing: httpx.Request, route: Route
    ) -> httpx.Response:
        # The client's W3C baggage was extracted into this request's context; it must not be
        # injected into the upstream call (the trace context itself is).
        detached = otel_context.attach(baggage.clear())
        try:
            return await client.send(outgoing, stream=True)
        except httpx.PoolTimeout as exc:
            # Only the live-stream pool waits briefly for a free connection.
            raise Unavailable(
                "too many live streams on this server; retry shortly", code="streams_busy"
            ) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(
                f"the {route.upstream.service} service did not answer in time"
            ) from exc
        except httpx.TransportError as exc:
            raise Unavailable(
                f"the {route.upstream.service} service is unavailable; try again shortly"
            ) from exc
        finally:
            otel_context.detach(detached)

    def _upstream_headers(
        self,
        request: Request,
        route: Route,
        principal: Principal | None,
        declared_length: str | None,
    ) -> list[tuple[str, str]]:
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in _DROPPED_REQUEST_HEADERS
        ]
        headers += internal_headers(self._issuer, route.upstream.service, principal).items()
        headers.append(
            (
                CLIENT_ADDRESS_HEADER,
                client_address(request, self._trusted, self._settings.client_address_header),
            )
        )
        if declared_length is not None:
            headers.append(("content-length", declared_length))
        return headers

    def _timeout(self, route: Route) -> httpx.Timeout:
        s = self._settings
        return httpx.Timeout(
            s.upstream_timeout_s,
            connect=s.upstream_connect_timeout_s,
            read=None if route.streaming else s.upstream_timeout_s,
            pool=s.stream_pool_wait_s if route.streaming else s.upstream_timeout_s,
        )


async def _limited(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request body, cut off (413) past `limit` bytes even without a Content-Length."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
        yield chunk


async def _relay(response: httpx.Response) -> AsyncIterator[bytes]:
    """The upstream body as it arrives; the upstream is closed however this ends (including
    when the client disconnects and the server cancels the stream)."""
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.HTTPError:
        if not response.is_closed:  # closed here on purpose (a live stream ended): no news
            log.warning("upstream response broke off", exc_info=True)
    finally:
        with anyio.CancelScope(shield=True):
            await response.aclose()


def _relayed(
    response: httpx.Response, body: AsyncIterator[bytes], base: str, quota: Quota | None
) -> StreamingResponse:
    relayed = StreamingResponse(body, status_code=response.status_code)
    # Raw headers, so that repeated ones (Set-Cookie, Link) pass unchanged.
    headers = _response_headers(response, base)
    if quota is not None:
        headers += quota.headers().items()
    relayed.raw_headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers
    ]
    return relayed


@dataclass(frozen=True)
class UpstreamClients:
    """Connection pools to the services: one for API calls, one for live streams, each
    bounded, so that neither can starve the other."""

    api: httpx.AsyncClient
    streams: httpx.AsyncClient

    @classmethod
    def of(cls, settings: Settings) -> UpstreamClients:
        """The two pools (trust_env=False: calls to services never go through an HTTP proxy
        from the environment)."""

        def pool(size: int, keepalive: int) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=keepalive),
            )

        return cls(
            api=pool(settings.api_pool_size, min(100, settings.api_pool_size)),
            streams=pool(settings.stream_pool_size, 0),
        )

    async def aclose(self) -> None:
        await self.api.aclose()
        await self.streams.aclose()


def _response_headers(response: httpx.Response, base: str) -> list[tuple[str, str]]:
    headers = []
    for name, value in response.headers.multi_items():
        if name.lower() in _DROPPED_RESPONSE_HEADERS:
            continue
        if name.lower() == "location" and value.startswith(base):
            value = value[len(base) :] or "/"  # never reveal a service's internal address
        headers.append((name, value))
    return headers
