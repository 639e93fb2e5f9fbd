"""Fixtures of the ai service's tests: the LLM stand-in served over real HTTP, the ai service
against the session's Kafka, PostgreSQL and Redis, and a stand-in control client."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer
from parley.ai.v1.events_pb2 import AiReply
from parley.conversation.v1.events_pb2 import AiRequested, HistoryItem
from parley_llm_stub.app import create_app as create_stub
from parley_llm_stub.config import StubSettings
from parley_platform.events import (
    EventProducer,
    OutgoingEvent,
    conversation_key,
    derived_event_id,
    timestamp,
)
from parley_platform.events.topics import AI_REPLY, CONVERSATION_AI_REQUESTED
from parley_platform.identity import Principal, Role
from parley_testing.polling import eventually
from parley_testing.services import RunningApp, principal_headers, serve_app


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


# ---------------------------------------------------------------------------- the AI pipeline


@dataclass
class AiPipeline:
    """The knowledge service and the ai service, running, with the stand-in; requests are
    published as conversation publishes them and replies read from ai.reply.v1."""

    ai: RunningApp
    ai_settings: Any
    knowledge: RunningApp
    knowledge_settings: Any
    producer: Any
    stub: LlmStub
    replies: list[Any]

    @staticmethod
    def owner(tenant: uuid.UUID) -> Principal:
        return Principal(tenant_id=tenant, role=Role.OWNER, user_id=uuid.uuid4())

    async def add_documents(self, tenant: uuid.UUID, *documents: tuple[str, str]) -> list[str]:
        """Upload documents to the tenant's knowledge base; returns their ids once indexed."""
        headers = principal_headers(self.knowledge_settings, self.owner(tenant))
        ids = []
        for title, text in documents:
            response = await self.knowledge.client.post(
                "/api/v1/knowledge/documents", headers=headers, json={"title": title, "text": text}
            )
            assert response.status_code in (200, 202), response.text
            ids.append(response.json()["id"])

        async def indexed() -> bool:
            for document_id in ids:
                got = await self.knowledge.client.get(
                    f"/api/v1/knowledge/documents/{document_id}", headers=headers
                )
                if got.json()["state"] != "ready":
                    assert got.json()["state"] != "failed", got.text
                    return False
            return True

        await eventually(indexed, timeout_s=60)
        return ids

    async def configure(self, tenant: uuid.UUID, **settings: Any) -> dict[str, Any]:
        """PUT the tenant's AI settings through the API."""
        response = await self.ai.client.put(
            "/api/v1/ai/settings",
            headers=principal_headers(self.ai_settings, self.owner(tenant)),
            json=settings,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def use_stub(self, tenant: uuid.UUID, **settings: Any) -> dict[str, Any]:
        """Make the tenant answer with the stand-in's models."""
        return await self.configure(
            tenant,
            **{
                "provider": "openai-compatible",
                "base_url": self.stub.base_url,
                "model": "stub-large",
                "fallback_model": "stub-small",
                **settings,
            },
        )

    async def usage(self, tenant: uuid.UUID) -> dict[str, Any]:
        response = await self.ai.client.get(
            "/api/v1/ai/usage", headers=principal_headers(self.ai_settings, self.owner(tenant))
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def ask(
        self,
        tenant: uuid.UUID,
        text: str,
        *,
        customer: str | None = None,
        history: tuple[tuple[int, str], ...] = (),
        request_id: str | None = None,
        event_id: str | None = None,
    ) -> AiRequested:
        """Publish an AI request for a customer's message (as conversation does)."""
        customer = customer or f"44{uuid.uuid4().int % 10**10:010d}"
        request = AiRequested(
            request_id=request_id or str(uuid.uuid4()),
            conversation_id=str(uuid.uuid5(tenant, customer)),
            message_id=str(uuid.uuid4()),
            customer_text=text,
            message_type="text",
            history=[HistoryItem(author=author, text=t) for author, t in history],  # type: ignore[arg-type]
            requested_at=timestamp(),
        )
        await self.producer.publish(
            OutgoingEvent(
                topic=CONVERSATION_AI_REQUESTED,
                key=conversation_key(tenant, customer),
                payload=request,
                tenant_id=tenant,
                event_id=event_id
                or derived_event_id(str(tenant), "ai-request", request.request_id),
            )
        )
        return request

    async def reply_to(self, request: AiRequested, timeout_s: float = 30) -> AiReply:
        async def found() -> AiReply | None:
            return next((r for r in self.replies if r.request_id == request.request_id), None)

        return await eventually(found, timeout_s=timeout_s)

    def replies_to(self, request: AiRequested) -> list[AiReply]:
        return [r for r in self.replies if r.request_id == request.request_id]


async def _read_replies(settings: Any, into: list[Any]) -> None:
    reader = AIOKafkaConsumer(
        settings.topic_name(AI_REPLY.name),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"test-reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    try:
        while True:
            batch = await reader.getmany(timeout_ms=200)
            for records in batch.values():
                into.extend(AiReply.FromString(r.value) for r in records)
    finally:
        await reader.stop()


@pytest.fixture
async def pipeline(settings_factory, llm_stub) -> AsyncIterator[AiPipeline]:
    from parley_ai.main import create_app as create_ai
    from parley_knowledge.main import create_app as create_knowledge

    knowledge_settings = await settings_factory("knowledge")
    async with serve_app(create_knowledge(knowledge_settings)) as knowledge:
        for consumer in knowledge.runtime.consumers:
            await consumer.wait_until_assigned()
        ai_settings = await settings_factory(
            "ai",
            knowledge_grpc_target=f"127.0.0.1:{knowledge.runtime.grpc_port}",
            llm_backoff_initial_s=0.01,
            llm_backoff_max_s=0.05,
        )
        producer = EventProducer(ai_settings, client_id="test-conversation")
        await producer.start()
        replies: list[Any] = []
        reading = asyncio.create_task(_read_replies(ai_settings, replies))
        try:
            async with serve_app(create_ai(ai_settings)) as ai:
                for consumer in ai.runtime.consumers:
                    await consumer.wait_until_assigned()
                yield AiPipeline(
                    ai, ai_settings, knowledge, knowledge_settings, producer, llm_stub, replies
                )
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
            await producer.stop()
