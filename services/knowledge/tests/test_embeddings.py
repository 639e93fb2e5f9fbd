"""Embeddings from an OpenAI-compatible provider (the LLM stand-in): chunks are embedded when
indexed, searched by vector beside full text, embedded later when the provider was down,
and embedded again when the model changes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from parley_knowledge.config import Settings
from parley_knowledge.main import create_app
from parley_llm_stub.app import create_app as create_stub
from parley_llm_stub.config import StubSettings
from parley_testing.polling import eventually
from parley_testing.services import free_port, serve_app

from .conftest import Knowledge, admin, agent

TEXT = """# Battery care

## Charging
Charge the battery indoors; a full charge takes about four hours.

## Winter storage
Keep the battery at room temperature over winter, charged to about sixty percent."""


@asynccontextmanager
async def service(settings_factory, **overrides: Any) -> AsyncIterator[Knowledge]:
    settings = await settings_factory("knowledge", embedding_upkeep_interval_s=0.2, **overrides)
    assert isinstance(settings, Settings)
    async with serve_app(create_app(settings)) as running:
        for consumer in running.runtime.consumers:
            await consumer.wait_until_assigned()
        yield Knowledge(running, settings)


async def embedded_with(knowledge: Knowledge, tenant: uuid.UUID, document_id: str, model: str):
    async def embedded() -> dict[str, Any] | None:
        document = await knowledge.document(admin(tenant), document_id)
        return document if document["embedding_model"] == model else None

    return await eventually(embedded, timeout_s=30)


async def test_chunks_are_embedded_searched_and_embedded_again_when_the_model_changes(
    settings_factory,
):
    tenant = uuid.uuid4()
    async with serve_app(create_stub(StubSettings(embedding_dimensions=384))) as stub:
        provider = {"embedding_base_url": f"{stub.base_url}/v1"}
        async with service(settings_factory, embedding_model="model-a", **provider) as knowledge:
            document = await knowledge.add_text(admin(tenant), "Battery care", TEXT)
            ready = await knowledge.ready(admin(tenant), document["id"])
            assert ready["embedding_model"] == "model-a"
            (top, *_) = await knowledge.search(agent(tenant), "winter storage of the battery")
            assert top["heading"] == "Battery care > Winter storage"
            assert top["vector_similarity"] > 0.3
            (grpc_top, *_) = await knowledge.grpc_search(tenant, "winter storage of the battery")
            assert grpc_top.vector_similarity > 0.3

        async with service(settings_factory, embedding_model="model-b", **provider) as knowledge:
            await embedded_with(knowledge, tenant, document["id"], "model-b")
            (top, *_) = await knowledge.search(agent(tenant), "winter storage of the battery")
            assert top["heading"] == "Battery care > Winter storage"
            assert top["vector_similarity"] > 0.3


async def test_a_chunk_found_only_by_its_vector_comes_with_its_details(settings_factory):
    tenant = uuid.uuid4()
    async with (
        serve_app(create_stub(StubSettings(embedding_dimensions=384))) as stub,
        service(
            settings_factory,
            embedding_model="model-a",
            embedding_base_url=f"{stub.base_url}/v1",
            vector_min_similarity=-1.0,  # every chunk is a vector neighbour
        ) as knowledge,
    ):
        document = await knowledge.add_text(admin(tenant), "Battery care", TEXT)
        await knowledge.ready(admin(tenant), document["id"])
        # "winter" is in one chunk's words; the other is found by its vector alone.
        winter, charging = await knowledge.search(agent(tenant), "winter", top_k=5)
        assert winter["heading"] == "Battery care > Winter storage"
        assert winter["term_coverage"] == 1.0
        assert charging["heading"] == "Battery care > Charging"
        assert "four hours" in charging["text"]
        assert charging["document_title"] == "Battery care"
        assert charging["term_coverage"] == 0.0


async def test_a_document_indexed_while_the_provider_is_down_is_embedded_later(settings_factory):
    tenant = uuid.uuid4()
    down = {"embedding_base_url": f"http://127.0.0.1:{free_port()}/v1", "embedding_timeout_s": 2}
    async with service(settings_factory, embedding_model="model-a", **down) as knowledge:
        document = await knowledge.add_text(admin(tenant), "Battery care", TEXT)
        ready = await knowledge.ready(admin(tenant), document["id"])
        assert ready["embedding_model"] is None  # indexed for full text all the same
        (top, *_) = await knowledge.search(agent(tenant), "winter storage of the battery")
        assert top["vector_similarity"] == 0

    async with serve_app(create_stub(StubSettings())) as stub:
        up = {"embedding_base_url": f"{stub.base_url}/v1"}
        async with service(settings_factory, embedding_model="model-a", **up) as knowledge:
            await embedded_with(knowledge, tenant, document["id"], "model-a")
            (top, *_) = await knowledge.search(agent(tenant), "winter storage of the battery")
            assert top["vector_similarity"] > 0.3
