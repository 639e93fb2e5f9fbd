"""How the gateway authenticates, against the real auth service: the JWKS cache under a flood
of unknown kids, fail-closed revocation checks. (Which client address counts, and the caches'
logic alone, are unit-tested in unit/.)"""

from __future__ import annotations

import asyncio

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from parley_gateway.authn.jwks import JwksCache
from parley_platform.grpc import create_channel
from parley_testing.edge import serve_edge
from parley_testing.polling import eventually


@pytest.fixture
async def edge(settings_factory):
    async with serve_edge(settings_factory) as running:
        yield running


async def test_a_flood_of_unknown_kids_costs_auth_one_call_per_interval(edge) -> None:
    channel = create_channel(edge.gateway_settings, edge.auth_grpc_target, "auth")
    stub = auth_pb2_grpc.AuthServiceStub(channel)
    calls = 0

    async def fetch() -> str:
        nonlocal calls
        calls += 1
        return (await stub.GetJwks(auth_pb2.GetJwksRequest())).json

    cache = JwksCache(fetch, max_age_s=300, min_refresh_interval_s=60)
    try:
        owner = await edge.sign_up()
        real_kid = jwt.get_unverified_header(owner.credential)["kid"]
        assert real_kid in await cache.keys_for(real_kid)
        assert calls == 1
        keys = await asyncio.gather(*(cache.keys_for(f"random-{i}") for i in range(200)))
        assert calls == 1  # every unknown kid within the interval: no further call
        assert all(real_kid in k for k in keys)
    finally:
        await channel.close()


async def test_keys_are_fetched_soon_after_auth_comes_up_late(edge) -> None:
    # The gateway started first: its first fetches fail. Once auth answers, a token is
    # accepted within a fraction of a second, not after the whole refresh interval.
    channel = create_channel(edge.gateway_settings, edge.auth_grpc_target, "auth")
    stub = auth_pb2_grpc.AuthServiceStub(channel)
    auth_up = False

    async def fetch() -> str:
        if not auth_up:
            raise ConnectionError("auth is not listening yet")
        return (await stub.GetJwks(auth_pb2.GetJwksRequest())).json

    cache = JwksCache(fetch, max_age_s=300, min_refresh_interval_s=60)
    try:
        owner = await edge.sign_up()
        kid = jwt.get_unverified_header(owner.credential)["kid"]
        assert kid not in await cache.keys_for(kid)
        auth_up = True

        async def known() -> bool:
            return kid in await cache.keys_for(kid)

        # Far less than the 60 s interval: before a first success it retries every 0.25 s.
        await eventually(known, timeout_s=10)
    finally:
        await channel.close()


async def test_random_kids_through_the_gateway_are_rejected(edge) -> None:
    owner = await edge.sign_up()
    claims = jwt.decode(owner.credential, options={"verify_signature": False})
    for i in range(20):
        forged = jwt.encode(
            claims,
            Ed25519PrivateKey.generate(),
            algorithm="EdDSA",
            headers={"kid": f"flood-{i}", "typ": "at+jwt"},
        )
        assert (await edge.client(forged).get("/api/v1/me")).status_code == 401
    assert (await owner.get("/api/v1/me")).status_code == 200


async def test_authentication_fails_closed_when_redis_is_unreachable(settings_factory) -> None:
    # Nothing listens at this Redis address: the revocation check cannot be made.
    async with serve_edge(settings_factory, gateway={"redis_url": "redis://127.0.0.1:9/0"}) as edge:
        owner = await edge.sign_up()  # public route: no check needed
        response = await owner.get("/api/v1/me")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "unavailable"
        assert (await edge.gateway.client.get("/readyz")).status_code == 503
