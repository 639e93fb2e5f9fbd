"""The ingestion worker killed mid-document (SIGKILL, while its embedding request is in
flight): the replacement process finishes the document, which becomes ready once, with no
duplicate chunks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from parley.knowledge.v1 import events_pb2 as pb
from parley_knowledge.config import Settings
from parley_llm_stub.embeddings import embed
from parley_platform.db import Database
from parley_platform.events.topics import KNOWLEDGE_DOCUMENT_CHANGED
from parley_testing.kafka import collect
from parley_testing.polling import eventually
from parley_testing.services import (
    ChildProcess,
    free_port,
    principal_headers,
    serve_app,
    settings_env,
)
from sqlalchemy import text

from .conftest import DOCUMENTS, admin


class SlowEmbeddings:
    """An OpenAI-compatible embeddings endpoint that holds its first request until told."""

    def __init__(self) -> None:
        self.requests = 0
        self.release = asyncio.Event()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/embeddings")
        async def embeddings(body: dict[str, Any]) -> dict[str, Any]:
            self.requests += 1
            if self.requests == 1:
                await self.release.wait()
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            return {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": embed(t, 64)}
                    for i, t in enumerate(texts)
                ],
            }

        return app


@asynccontextmanager
async def child(env: dict[str, str], log_path: Any) -> AsyncIterator[ChildProcess]:
    process = ChildProcess(["-m", "parley_knowledge"], env, log_path).start()
    try:
        yield process
    finally:
        process.kill()


async def test_a_worker_killed_mid_document_leaves_it_ready_once_without_duplicates(
    settings_factory, tmp_path
):
    slow = SlowEmbeddings()
    async with serve_app(slow.app()) as embeddings:
        port = free_port()
        settings = await settings_factory(
            "knowledge",
            http_port=port,
            embedding_base_url=f"{embeddings.base_url}/v1",
            embedding_model="slow-embed",
            embedding_timeout_s=120,
        )
        assert isinstance(settings, Settings)
        env = settings_env(settings)
        tenant = uuid.uuid4()
        headers = principal_headers(settings, admin(tenant))
        text_body = "\n\n".join(
            f"## Section {n}\n\n" + " ".join(f"Paragraph {n} sentence {i}." for i in range(60))
            for n in range(8)
        )
        base = f"http://127.0.0.1:{port}"

        async def service_up() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{base}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        async with child(env, tmp_path / "first.log") as first:
            await eventually(service_up, timeout_s=60)
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
                response = await client.post(DOCUMENTS, json={"title": "Manual", "text": text_body})
                assert response.status_code == 202, response.text
                document_id = response.json()["id"]

            async def embedding_in_flight() -> bool:
                return slow.requests >= 1

            await eventually(embedding_in_flight, timeout_s=60, interval_s=0.05)
            first.kill()  # mid-document: extracted and chunked, embedding not answered

        slow.release.set()
        async with child(env, tmp_path / "second.log") as second:
            await eventually(service_up, timeout_s=60)
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:

                async def ready() -> dict[str, Any] | None:
                    document = (await client.get(f"{DOCUMENTS}/{document_id}")).json()
                    return document if document["state"] == "ready" else None

                document = await eventually(ready, timeout_s=90)
            records = await collect(
                settings.kafka_bootstrap,
                settings.topic_name(KNOWLEDGE_DOCUMENT_CHANGED.name),
                count=3,
                timeout_s=30,
                settle_s=3.0,
            )
            assert second.log() is not None

    changes = [pb.DocumentChanged.FromString(r.value) for r in records]
    states = [c.state for c in changes if c.document_id == document_id]
    assert states.count(pb.DOCUMENT_STATE_READY) == 1, states
    assert states[-1] == pb.DOCUMENT_STATE_READY

    assert settings.database_url is not None
    database = Database(settings.database_url.get_secret_value(), pool_size=1, instrument=False)
    try:
        async with database.tenant_session(tenant) as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT ordinal, count(*) AS copies, count(embedding) AS embedded "
                        "FROM chunks WHERE document_id = :d GROUP BY ordinal ORDER BY ordinal"
                    ),
                    {"d": document_id},
                )
            ).all()
    finally:
        await database.dispose()
    assert [r.ordinal for r in rows] == list(range(document["chunk_count"]))
    assert all(r.copies == 1 and r.embedded == 1 for r in rows)
