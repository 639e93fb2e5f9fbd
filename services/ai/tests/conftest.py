"""Fixtures of the ai service's tests: the LLM stand-in served over real HTTP, the ai service
against the session's Kafka, PostgreSQL and Redis, and a stand-in control client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from parley_llm_stub.app import create_app as create_stub
from parley_llm_stub.config import StubSettings
from parley_testing.services import RunningApp, serve_app


@dataclass
class LlmStub:
    """The LLM stand-in, running, and its control API."""

    running: RunningApp

    @property
    def base_url(self) -> str:
        return f"{self.running.base_url}/v1"

    @property
    def client(self) -> httpx.AsyncClient:
        return self.running.client

    async def fault(self, mode: str, **options: Any) -> None:
        response = await self.client.post("/control/faults", json={"mode": mode, **options})
        assert response.status_code == 201, response.text

    async def clear_faults(self) -> None:
        await self.client.delete("/control/faults")

    async def requests(self, model: str | None = None) -> list[dict[str, Any]]:
        params = {"model": model} if model else {}
        return list((await self.client.get("/control/requests", params=params)).json())

    async def configure(self, *, api_keys: list[str], models: list[str] | None = None) -> None:
        response = await self.client.put(
            "/control/config", json={"api_keys": api_keys, "models": models or []}
        )
        assert response.status_code == 200, response.text


@pytest.fixture
async def llm_stub() -> AsyncIterator[LlmStub]:
    """A fresh stand-in for each test (its own port, so its breakers are its own too)."""
    async with serve_app(create_stub(StubSettings())) as running:
        stub = LlmStub(running)
        yield stub
        await stub.clear_faults()  # release hanging requests, or the server waits for them


@pytest.fixture
async def redis_client(infra) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(infra.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def ai_settings(settings_factory):
    """Settings of an ai service for this test (knowledge: nowhere, unless a test says)."""
    from parley_ai.config import Settings

    settings = await settings_factory("ai", knowledge_grpc_target="127.0.0.1:9")
    assert isinstance(settings, Settings)
    return settings


@pytest.fixture
async def ai_service(ai_settings) -> AsyncIterator[RunningApp]:
    """The ai service served on loopback (its API; its consumer joins its group)."""
    from parley_ai.main import create_app

    async with serve_app(create_app(ai_settings)) as running:
        yield running
