"""Live streams through the gateway: capped per tenant and per caller, served from a pool of
their own (streams never starve API calls), resumptions rate-limited, and ended when the
credential they were opened with stops being valid (deactivation, revocation, expiry)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from parley_testing.edge import ApiClient
from parley_testing.polling import eventually


def plan(**limits: int) -> dict[str, Any]:
    return {
        "requests_per_minute": 1000,
        "api_key_requests_per_minute": 1000,
        "streams": 100,
        "streams_per_principal": 100,
        "replays_per_minute": 100,
        **limits,
    }


@dataclass
class OpenStream:
    """A live stream's answer and, when it is one, its lines as they are read."""

    response: httpx.Response
    lines: AsyncIterator[str]

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    async def error_code(self) -> str:
        return str(json.loads(await self.response.aread())["error"]["code"])


@asynccontextmanager
async def opened(client: ApiClient, **headers: str) -> AsyncIterator[OpenStream]:
    """A live stream of `client`, open (its first event read) until the block ends."""
    async with client.http.stream(
        "GET", "/api/v1/events", headers=client.headers(headers), timeout=30
    ) as response:
        stream = OpenStream(response, response.aiter_lines())
        if response.status_code == 200:
            first = await asyncio.wait_for(anext(stream.lines), timeout=10)
            assert first.startswith("data: hello")
        yield stream


async def ends_within(stream: OpenStream, timeout_s: float) -> float:
    """Read the stream until the gateway ends it; returns how long that took."""
    started = time.monotonic()

    async def drain() -> None:
        async for _ in stream.lines:
            pass

    await asyncio.wait_for(drain(), timeout=timeout_s)
    return time.monotonic() - started


async def test_streams_are_capped_per_caller_and_per_tenant(probed_edge_factory) -> None:
    async with probed_edge_factory(
        gateway={"api_plans": {"standard": plan(streams=3, streams_per_principal=2)}}
    ) as (edge, probe):
        owner = await edge.sign_up()
        agent = await edge.add_user(owner, "agent")
        admin = await edge.add_user(owner, "admin")
        other_tenant = await edge.sign_up("Other")
        async with AsyncExitStack() as streams:
            for _ in range(2):
                assert (await streams.enter_async_context(opened(owner))).status_code == 200
            async with opened(owner) as third:
                assert third.status_code == 429
                assert await third.error_code() == "too_many_streams"
                assert int(third.headers["Retry-After"]) >= 1
            # Another person of the tenant may open one: the tenant's cap is 3...
            assert (await streams.enter_async_context(opened(agent))).status_code == 200
            async with opened(admin) as beyond_tenant:
                assert beyond_tenant.status_code == 429
            # ...and another tenant is not affected at all.
            async with opened(other_tenant) as elsewhere:
                assert elsewhere.status_code == 200
            assert probe.streams_open == 4
        # Closed streams give their slots back.
        async with opened(admin) as again:
            assert again.status_code == 200


async def test_streams_have_their_own_pool_and_never_starve_api_calls(
    probed_edge_factory,
) -> None:
    async with probed_edge_factory(
        gateway={"stream_pool_size": 2, "stream_pool_wait_s": 0.2, "api_pool_size": 5}
    ) as (edge, _):
        tenants = [await edge.sign_up(f"T{i}") for i in range(3)]
        async with opened(tenants[0]) as first, opened(tenants[1]) as second:
            assert first.status_code == second.status_code == 200
            async with opened(tenants[2]) as third:
                assert third.status_code == 503
                assert await third.error_code() == "streams_busy"
            # API calls go on, more of them at once than the stream pool holds.
            answers = await asyncio.gather(*(t.get("/api/v1/me") for t in tenants * 3))
            assert [a.status_code for a in answers] == [200] * 9


async def test_resuming_a_stream_is_rate_limited(probed_edge_factory) -> None:
    async with probed_edge_factory(
        gateway={"api_plans": {"standard": plan(replays_per_minute=2)}}
    ) as (edge, probe):
        owner = await edge.sign_up()
        for _ in range(2):
            async with opened(owner, **{"Last-Event-ID": "0-1"}) as resumed:
                assert resumed.status_code == 200
        async with opened(owner, **{"Last-Event-ID": "0-1"}) as refused:
            assert refused.status_code == 429
            assert await refused.error_code() == "rate_limited"
        assert probe.last_event_ids == ["0-1", "0-1"]  # the refused one never reached it
        # A new stream (nothing to replay) is not a resumption.
        async with opened(owner) as fresh:
            assert fresh.status_code == 200


async def test_a_deactivated_user_or_a_revoked_key_loses_the_stream(probed_edge_factory) -> None:
    async with probed_edge_factory(gateway={"stream_recheck_interval_s": 0.5}) as (edge, probe):
        owner = await edge.sign_up()
        agent = await edge.add_user(owner, "agent")
        created = (await owner.post("/api/v1/api-keys", json={"name": "k", "scopes": []})).json()
        key = edge.client(created["key"])
        async with opened(agent) as agent_stream, opened(key) as key_stream:
            assert agent_stream.status_code == key_stream.status_code == 200
            assert probe.streams_open == 2
            await owner.patch(f"/api/v1/users/{agent.user_id}", json={"active": False})
            await ends_within(agent_stream, timeout_s=10)
            await owner.delete(f"/api/v1/api-keys/{created['id']}")
            await ends_within(key_stream, timeout_s=10)
        # The upstream streams were closed too, and the reconnections are refused.
        await eventually(lambda: _none_open(probe), timeout_s=10)
        async with opened(agent) as refused:
            assert refused.status_code == 401


async def test_a_stream_ends_when_its_access_token_expires(probed_edge_factory) -> None:
    async with probed_edge_factory(
        auth={"access_token_ttl_s": 3}, gateway={"stream_recheck_interval_s": 60}
    ) as (edge, _):
        owner = await edge.sign_up()
        async with opened(owner) as stream:
            assert stream.status_code == 200
            # Ends at the token's expiry, long before the next periodic check.
            took = await ends_within(stream, timeout_s=20)
            assert took < 20


async def _none_open(probe: Any) -> bool:
    return probe.streams_open == 0
