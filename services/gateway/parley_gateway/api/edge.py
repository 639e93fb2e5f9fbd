"""The public REST edge of the gateway: its routes (the JWKS, the merged OpenAPI document
and the proxy to the services) and the parts they need, built once the runtime started."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

import grpc
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from parley_platform.context import tenant_scope
from parley_platform.errors import Unauthenticated
from parley_platform.grpc.client import domain_error
from parley_platform.http import error_response
from parley_platform.ratelimit import RateLimiter
from parley_platform.revocation import RevocationList
from parley_platform.runtime import Resources
from parley_platform.settings import Environment

from parley_gateway.api.dependencies import ComponentsDep
from parley_gateway.api.live_streams import LiveStreams
from parley_gateway.api.openapi import OpenApiDocument
from parley_gateway.api.proxy import METHODS, ApiProxy, UpstreamClients
from parley_gateway.api.routes import API_PREFIX
from parley_gateway.authn.api_keys import ApiKeyVerifier
from parley_gateway.authn.authenticator import Authenticator, remote_api_key_check
from parley_gateway.authn.client_address import parse_networks
from parley_gateway.authn.jwks import JwksCache
from parley_gateway.config import Settings
from parley_gateway.limits.plans import PlanDirectory
from parley_gateway.limits.requests import QuotaExceeded, RequestLimits
from parley_gateway.limits.streams import StreamSlots

log = logging.getLogger(__name__)

JWKS_CACHE_CONTROL = "public, max-age=300"
# create_service_app options: the merged document replaces FastAPI's own.
APP_OPTIONS: dict[str, Any] = {"openapi_url": None, "docs_url": None, "redoc_url": None}


def _well_known_router() -> APIRouter:
    router = APIRouter(tags=["authentication"])

    @router.get(
        "/.well-known/jwks.json",
        summary="The public keys that verify Parley access tokens (JWKS, RFC 7517)",
    )
    async def jwks(components: ComponentsDep) -> JSONResponse:
        return JSONResponse(
            await components.jwks.document(), headers={"Cache-Control": JWKS_CACHE_CONTROL}
        )

    return router


def _openapi_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi(request: Request, components: ComponentsDep) -> JSONResponse:
        return JSONResponse(await components.openapi.build(request.app))

    @router.get("/docs")
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Parley API")

    return router


def _proxy_router() -> APIRouter:
    """The catch-all `/api/v1/...` route (kept out of the OpenAPI document: each service
    documents its own routes, merged by parley_gateway.api.openapi)."""
    router = APIRouter()

    @router.api_route(f"{API_PREFIX}/{{path:path}}", methods=METHODS, include_in_schema=False)
    async def forward(request: Request, path: str, components: ComponentsDep) -> Response:
        try:
            return await components.proxy.forward(request)
        except Unauthenticated as exc:
            return error_response(
                exc.http_status,
                exc.code,
                exc.message,
                headers={"WWW-Authenticate": 'Bearer realm="parley"'},
            )
        except QuotaExceeded as exc:
            return error_response(exc.http_status, exc.code, exc.message, headers=exc.headers())

    return router


def edge_routers() -> list[APIRouter]:
    """`/.well-known/jwks.json`, `/openapi.json`, `/docs` and the proxied `/api/v1/...`."""
    return [_well_known_router(), _openapi_router(), _proxy_router()]


def warn_without_trusted_proxies(settings: Settings) -> None:
    """Outside development the gateway usually sits behind a load balancer: without
    TRUSTED_PROXIES every client then has the balancer's address, so per-address limits
    (sign-in throttling) lump all clients together. Said once, at start-up."""
    if not settings.trusted_proxies and settings.environment != Environment.DEVELOPMENT:
        log.warning(
            "%s is empty: client addresses are the connecting peers' own; behind a load "
            "balancer or proxy every client shares its address and per-address limits",
            settings.env_name("trusted_proxies"),
        )


async def build_edge(
    resources: Resources, settings: Settings
) -> tuple[JwksCache, ApiProxy, OpenApiDocument]:
    """The JWKS cache (fetched once before serving), the authenticating proxy and the
    OpenAPI merger, sharing one HTTP client that is closed when the service stops."""
    s = settings
    warn_without_trusted_proxies(s)
    channel = resources.channel("auth")
    stub = auth_pb2_grpc.AuthServiceStub(channel)

    async def fetch_jwks() -> str:
        reply = await stub.GetJwks(auth_pb2.GetJwksRequest())
        return str(reply.json)

    clients = UpstreamClients.of(s)
    resources.on_stop(clients.aclose)
    jwks = JwksCache(
        fetch_jwks,
        max_age_s=s.jwks_max_age_s,
        min_refresh_interval_s=s.jwks_min_refresh_interval_s,
    )
    authenticator = Authenticator(
        jwks=jwks,
        api_keys=ApiKeyVerifier(
            remote_api_key_check(channel),
            ttl_s=s.api_key_cache_ttl_s,
            max_entries=s.api_key_cache_size,
        ),
        revocations=RevocationList(resources.redis),
        issuer=s.token_issuer,
        audience=s.token_audience,
        leeway_s=s.access_token_leeway_s,
    )

    async def fetch_plan(tenant_id: UUID) -> str:
        with tenant_scope(tenant_id):
            try:
                reply = await stub.GetTenant(auth_pb2.GetTenantRequest())
            except grpc.aio.AioRpcError as exc:
                raise domain_error(exc) from exc
        return str(reply.plan)

    plans = PlanDirectory(fetch_plan, s.api_plans, s.default_api_plan, ttl_s=s.plan_cache_ttl_s)
    limits = RequestLimits(RateLimiter(resources.redis, "gateway"), plans)
    live_streams = LiveStreams(
        authenticator,
        limits,
        StreamSlots(resources.redis, lease_s=s.stream_slot_lease_s),
        recheck_interval_s=s.stream_recheck_interval_s,
    )
    proxy = ApiProxy(
        s, authenticator, clients, parse_networks(s.trusted_proxies), limits, live_streams
    )
    http = clients.api
    openapi = OpenApiDocument(s, http)
    await jwks.refresh()
    return jwks, proxy, openapi
