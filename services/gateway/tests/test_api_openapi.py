"""The gateway's /openapi.json and /docs describe the whole public API."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest
from parley_auth.main import create_app as create_auth
from parley_gateway.api.routes import UPSTREAMS
from parley_gateway.main import create_app as create_gateway
from parley_testing.edge import AUTH_TEST_DEFAULTS, GATEWAY_TEST_DEFAULTS, serve_edge
from parley_testing.services import serve_app


@pytest.fixture
async def edge(settings_factory):
    async with serve_edge(settings_factory) as running:
        yield running


async def test_the_merged_document_contains_the_auth_api_and_the_gateways_own_paths(edge) -> None:
    response = await edge.anonymous().get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    for path in (
        "/api/v1/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/users/{user_id}",
        "/api/v1/teams/{team_id}/members/{user_id}",
        "/api/v1/api-keys",
        "/api/v1/channels/whatsapp/{channel_id}",
        "/.well-known/jwks.json",
    ):
        assert path in paths, path
    # Only public paths: nothing of the services' operations endpoints or the catch-all.
    assert not any(p.startswith("/api/v1/{") for p in paths)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert paths["/api/v1/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in paths["/api/v1/auth/login"]["post"]
    # Referenced schemas are all there.
    text = response.text
    for name in ("SignupIn", "SessionOut", "ChannelOut", "ErrorBody"):
        assert (
            f'"#/components/schemas/{name}"' in text and name in document["components"]["schemas"]
        )
    # Services that are down here (all but auth) are left out and named, not an error.
    assert set(document["info"]["x-parley-unavailable-services"]) == {
        u.service for u in UPSTREAMS if u.service != "auth"
    }

    docs = await edge.anonymous().get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text


async def test_the_document_survives_a_service_going_away(settings_factory) -> None:
    auth_settings = await settings_factory("auth", **AUTH_TEST_DEFAULTS)
    async with AsyncExitStack() as auth_lifetime:
        auth = await auth_lifetime.enter_async_context(serve_app(create_auth(auth_settings)))
        gateway_settings = await settings_factory(
            "gateway",
            **GATEWAY_TEST_DEFAULTS,
            auth_http_url=auth.base_url,
            auth_grpc_target=f"127.0.0.1:{auth.runtime.grpc_port}",
            openapi_cache_s=0,
        )
        async with serve_app(create_gateway(gateway_settings)) as gateway:
            first = (await gateway.client.get("/openapi.json")).json()
            assert "/api/v1/signup" in first["paths"]
            await auth_lifetime.aclose()  # auth stops; the gateway keeps running

            again = await gateway.client.get("/openapi.json")
            assert again.status_code == 200
            # The last good document of auth is still served.
            assert again.json()["paths"].keys() == first["paths"].keys()
