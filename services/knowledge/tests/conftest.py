"""Fixtures of the knowledge service's tests: the real service over HTTP and gRPC against
the session's Kafka and PostgreSQL, and a harness that calls it as the gateway (REST, on
behalf of a principal) and the ai service (gRPC, with the tenant in the call metadata) do."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from parley.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc
from parley_knowledge.config import Settings
from parley_knowledge.main import create_app
from parley_platform.grpc.credentials import AUTH_METADATA, TENANT_METADATA, ServiceTokenIssuer
from parley_platform.identity import Principal, Role
from parley_testing.polling import eventually
from parley_testing.services import RunningApp, principal_headers, serve_app

DOCUMENTS = "/api/v1/knowledge/documents"


def admin(tenant: uuid.UUID) -> Principal:
    return Principal(tenant_id=tenant, role=Role.ADMIN, user_id=uuid.uuid4())


def agent(tenant: uuid.UUID) -> Principal:
    return Principal(tenant_id=tenant, role=Role.AGENT, user_id=uuid.uuid4())


@dataclass
class Knowledge:
    """Talks to a running knowledge service the way the platform does."""

    running: RunningApp
    settings: Settings

    @property
    def client(self) -> httpx.AsyncClient:
        return self.running.client

    def headers(self, principal: Principal) -> dict[str, str]:
        return principal_headers(self.settings, principal)

    # ------------------------------------------------------------------ REST

    async def request(
        self,
        method: str,
        principal: Principal,
        path: str,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        return await self.client.request(
            method, path, headers={**self.headers(principal), **(headers or {})}, **kw
        )

    async def add_text(
        self, principal: Principal, title: str, text: str, **fields: Any
    ) -> dict[str, Any]:
        """Send a text document; returns the accepted document."""
        response = await self.request(
            "POST", principal, DOCUMENTS, json={"title": title, "text": text, **fields}
        )
        assert response.status_code in (200, 202), response.text
        return dict(response.json())

    async def upload(
        self,
        principal: Principal,
        filename: str,
        content: bytes,
        content_type: str,
        **fields: str,
    ) -> httpx.Response:
        return await self.request(
            "POST",
            principal,
            DOCUMENTS,
            files={"file": (filename, content, content_type)},
            data=fields,
        )

    async def document(self, principal: Principal, document_id: str) -> dict[str, Any]:
        response = await self.request("GET", principal, f"{DOCUMENTS}/{document_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def settled(
        self, principal: Principal, document_id: str, timeout_s: float = 60
    ) -> dict[str, Any]:
        """The document once its latest revision is processed (ready or failed)."""

        async def done() -> dict[str, Any] | None:
            document = await self.document(principal, document_id)
            return document if document["state"] in ("ready", "failed") else None

        return await eventually(done, timeout_s=timeout_s)

    async def ready(self, principal: Principal, document_id: str) -> dict[str, Any]:
        document = await self.settled(principal, document_id)
        assert document["state"] == "ready", document
        return document

    async def search(
        self, principal: Principal, query: str, top_k: int = 5, **fields: Any
    ) -> list[dict[str, Any]]:
        """Results of the REST search."""
        response = await self.request(
            "POST",
            principal,
            "/api/v1/knowledge/search",
            json={"query": query, "top_k": top_k, **fields},
        )
        assert response.status_code == 200, response.text
        return list(response.json()["results"])

    # ------------------------------------------------------------------ gRPC

    def grpc_metadata(self, tenant: uuid.UUID | None, caller: str = "ai") -> list[tuple[str, str]]:
        issuer = ServiceTokenIssuer(self.settings.service_token_secret.get_secret_value(), caller)
        metadata = [(AUTH_METADATA, f"Bearer {issuer.token_for('knowledge')}")]
        if tenant is not None:
            metadata.append((TENANT_METADATA, str(tenant)))
        return metadata

    async def grpc_search(
        self, tenant: uuid.UUID | None, query: str, top_k: int = 5, caller: str = "ai", **kw: Any
    ) -> list[knowledge_pb2.Chunk]:
        """Results of `KnowledgeService.Search` called as `caller` for `tenant`."""
        async with grpc.aio.insecure_channel(
            f"127.0.0.1:{self.running.runtime.grpc_port}"
        ) as channel:
            stub = knowledge_pb2_grpc.KnowledgeServiceStub(channel)
            response = await stub.Search(
                knowledge_pb2.SearchRequest(query=query, top_k=top_k, **kw),
                metadata=self.grpc_metadata(tenant, caller),
                timeout=10,
            )
        return list(response.chunks)


@pytest.fixture
async def knowledge_settings(settings_factory) -> Settings:
    settings = await settings_factory("knowledge")
    assert isinstance(settings, Settings)
    return settings


@pytest.fixture
async def knowledge(knowledge_settings) -> AsyncIterator[Knowledge]:
    async with serve_app(create_app(knowledge_settings)) as running:
        for consumer in running.runtime.consumers:
            await consumer.wait_until_assigned()
        yield Knowledge(running, knowledge_settings)
