"""The public REST edge of the gateway, assembled: its routes, and the parts they use once
the runtime has started (Redis and the auth channel exist only then)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from parley_platform.revocation import RevocationList
from parley_platform.runtime import ServiceRuntime

from parley_gateway.api.openapi import OpenApiDocument, openapi_router
from parley_gateway.api.proxy import ApiProxy, proxy_router
from parley_gateway.authn.api_keys import ApiKeyVerifier
from parley_gateway.authn.authenticator import Authenticator, remote_api_key_check
from parley_gateway.authn.client_address import parse_networks
from parley_gateway.authn.jwks import JwksCache
from parley_gateway.config import Settings

JWKS_CACHE_CONTROL = "public, max-age=300"


def _well_known_router() -> APIRouter:
    router = APIRouter(tags=["authentication"])

    @router.get(
        "/.well-known/jwks.json",
        summary="The public keys that verify Parley access tokens (JWKS, RFC 7517)",
    )
    async def jwks(request: Request) -> JSONResponse:
        edge: ApiEdge = request.app.state.edge
        return JSONResponse(
            await edge.jwks.document(), headers={"Cache-Control": JWKS_CACHE_CONTROL}
        )

    return router


class ApiEdge:
    """Routes of the public REST edge and what they need at run time."""

    # create_service_app options: the merged document replaces FastAPI's own.
    app_options: dict[str, Any] = {"openapi_url": None, "docs_url": None, "redoc_url": None}

    def __init__(self, runtime: ServiceRuntime, settings: Settings) -> None:
        self._runtime = runtime
        self._settings = settings
        self.routers = [_well_known_router(), openapi_router(), proxy_router()]
        runtime.on_start(self.start)
        runtime.on_stop(self.stop)

    async def start(self) -> None:
        s = self._settings
        assert self._runtime.redis is not None
        channel = self._runtime.channels["auth"]
        stub = auth_pb2_grpc.AuthServiceStub(channel)

        async def fetch_jwks() -> str:
            reply = await stub.GetJwks(auth_pb2.GetJwksRequest())
            return str(reply.json)

        # trust_env=False: calls to services never go through an HTTP proxy from the environment.
        self.http = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=500, max_keepalive_connections=100),
        )
        self.jwks = JwksCache(
            fetch_jwks,
            max_age_s=s.jwks_max_age_s,
            min_refresh_interval_s=s.jwks_min_refresh_interval_s,
        )
        authenticator = Authenticator(
            jwks=self.jwks,
            api_keys=ApiKeyVerifier(
                remote_api_key_check(channel),
                ttl_s=s.api_key_cache_ttl_s,
                max_entries=s.api_key_cache_size,
            ),
            revocations=RevocationList(self._runtime.redis),
            issuer=s.token_issuer,
            audience=s.token_audience,
            leeway_s=s.access_token_leeway_s,
        )
        self.proxy = ApiProxy(s, authenticator, self.http, parse_networks(s.trusted_proxies))
        self.openapi = OpenApiDocument(s, self.http)
        await self.jwks.refresh()

    async def stop(self) -> None:
        await self.http.aclose()
