"""Fixtures of the gateway's tests: the public edge (auth and the gateway) in front of a probe
service on the conversation service's routes, which shows exactly what arrives upstream and
when a live stream is closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from parley_platform.http import create_service_app
from parley_platform.http.internal import CurrentPrincipal, InternalCallDep
from parley_platform.runtime import Resources, ServiceRuntime
from parley_platform.settings import ServiceSettings, service_config
from parley_testing.edge import Edge, serve_edge
from parley_testing.services import serve_app


class ConversationProbeSettings(ServiceSettings):
    model_config = service_config("probe")
    service_name: ClassVar[str] = "conversation"  # the audience the gateway addresses


@dataclass
class Probe:
    """What the upstream observed."""

    stream_closed: asyncio.Event = field(default_factory=asyncio.Event)
    streams_opened: int = 0
    streams_open: int = 0
    last_event_ids: list[str | None] = field(default_factory=list)


def probe_app(settings: ServiceSettings, probe: Probe) -> Any:
    router = APIRouter()

    @router.api_route("/api/v1/conversations/echo", methods=["GET", "POST"])
    async def echo(request: Request, call: InternalCallDep) -> dict:
        body = await request.body()
        return {
            "headers": dict(request.headers),
            "caller": call.caller,
            "principal": call.principal.to_claims() if call.principal else None,
            "body_length": len(body),
            "query": str(request.url.query),
        }

    @router.get("/api/v1/conversations/slow")
    async def slow(principal: CurrentPrincipal) -> dict:
        await asyncio.sleep(5)
        return {}

    @router.get("/api/v1/events")
    async def events(request: Request, principal: CurrentPrincipal) -> StreamingResponse:
        probe.last_event_ids.append(request.headers.get("last-event-id"))

        async def stream() -> AsyncIterator[bytes]:
            probe.streams_opened += 1
            probe.streams_open += 1
            try:
                yield f"data: hello {principal.tenant_id}\n\n".encode()
                await asyncio.sleep(3600)  # an idle live stream
                yield b"data: never\n\n"
            finally:
                probe.streams_open -= 1
                probe.stream_closed.set()

        return StreamingResponse(stream(), media_type="text/event-stream")

    async def wire(resources: Resources) -> None:
        return None

    runtime = ServiceRuntime(settings, wire)
    return create_service_app(runtime, title="probe", routers=[router])


@pytest.fixture
def probed_edge_factory(settings_factory, service_token_secret):
    """`async with probed_edge_factory(auth={...}, gateway={...}) as (edge, probe)`: the edge
    with the probe serving the conversation service's routes."""

    @asynccontextmanager
    async def serve(
        *, auth: dict[str, Any] | None = None, gateway: dict[str, Any] | None = None
    ) -> AsyncIterator[tuple[Edge, Probe]]:
        probe = Probe()
        settings = ConversationProbeSettings(
            environment="test", service_token_secret=service_token_secret
        )
        async with serve_app(probe_app(settings, probe)) as upstream:
            async with serve_edge(
                settings_factory,
                auth=auth,
                gateway={"conversation_http_url": upstream.base_url, **(gateway or {})},
            ) as edge:
                yield edge, probe

    return serve
