"""Knowledge document changes on `GET /api/v1/events`: the real knowledge service processes a
document, and the streams of those who may read its tenant's knowledge base follow its state;
nobody else's stream carries it, and a reconnecting client gets the document changes it
missed together with the conversation changes, in one replay."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from parley_knowledge.config import Settings as KnowledgeSettings
from parley_knowledge.main import create_app as create_knowledge_app
from parley_platform.identity import Principal, Role
from parley_testing.polling import eventually
from parley_testing.services import RunningApp, principal_headers, serve_app

DOCUMENTS = "/api/v1/knowledge/documents"


@dataclass
class Knowledge:
    """The knowledge service, served for real on the test's topics."""

    running: RunningApp
    settings: KnowledgeSettings

    async def add_text(self, principal: Principal, title: str, text: str) -> str:
        """Add a text document as `principal`; returns its id."""
        response = await self.running.client.post(
            DOCUMENTS,
            json={"title": title, "text": text},
            headers=principal_headers(self.settings, principal),
        )
        assert response.status_code in (200, 202), response.text
        return str(response.json()["id"])

    async def delete(self, principal: Principal, document_id: str) -> None:
        response = await self.running.client.delete(
            f"{DOCUMENTS}/{document_id}", headers=principal_headers(self.settings, principal)
        )
        assert response.status_code in (200, 204), response.text


@pytest.fixture
async def knowledge(settings_factory) -> AsyncIterator[Knowledge]:
    settings = await settings_factory("knowledge")
    assert isinstance(settings, KnowledgeSettings)
    async with serve_app(create_knowledge_app(settings)) as running:
        for consumer in running.runtime.consumers:
            await consumer.wait_until_assigned()
        yield Knowledge(running, settings)


def api_key(tenant: uuid.UUID, *scopes: str) -> Principal:
    return Principal(
        tenant_id=tenant, role=Role.AGENT, api_key_id=uuid.uuid4(), scopes=frozenset(scopes)
    )


def documents(changes: list[dict[str, Any]], document_id: str | None = None) -> list[dict]:
    """The documents of the `document_changed` events (of one document, when given)."""
    return [
        c["document"]
        for c in changes
        if c["kind"] == "document_changed"
        and (document_id is None or c["document"]["id"] == document_id)
    ]


def conversation_changes(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in changes if c["kind"] != "document_changed"]


def reached(document_id: str, state: str) -> Any:
    """A check that the stream carried the document into `state`."""

    def check(changes: list[dict[str, Any]]) -> bool:
        return any(d["state"] == state for d in documents(changes, document_id))

    return check


async def test_a_documents_processing_reaches_only_those_who_may_read_its_knowledge(
    harness, knowledge
) -> None:
    tenant, other_tenant = uuid.uuid4(), uuid.uuid4()
    admin, agent, other_admin = (
        harness.admin(tenant),
        harness.agent(tenant),
        harness.admin(other_tenant),
    )
    conversations_key = api_key(tenant, "conversations:read")
    documents_key = api_key(tenant, "documents:read")
    ana, bea = harness.customer(tenant), harness.customer(tenant)

    async with (
        harness.stream(admin) as admins,
        harness.stream(agent) as agents,
        harness.stream(other_admin) as others,
        harness.stream(conversations_key) as conversation_reader,
        harness.stream(documents_key) as document_reader,
    ):
        assert {s.status for s in (admins, agents, others)} == {200}
        assert conversation_reader.status == document_reader.status == 200
        await harness.customer_says(ana, "do you deliver on Sundays?")
        manual = await knowledge.add_text(admin, "Delivery", "We deliver every day but Sunday.")
        await admins.until(lambda cs: reached(manual, "ready")(cs) and conversation_changes(cs))
        await agents.until(reached(manual, "ready"))
        await document_reader.until(reached(manual, "ready"))

        # Markers, caused after all of the above reached the admin: the feed hands each
        # change to every stream in the order it reads them, so a stream that got its
        # marker was already offered (and refused) everything before it.
        theirs = await knowledge.add_text(other_admin, "Hours", "Open 9 to 5.")
        await others.until(reached(theirs, "ready"))
        await harness.customer_says(bea, "marker")
        marker = (await harness.conversation_of(admin, bea))["id"]
        await conversation_reader.until(
            lambda cs: any(c["conversation_id"] == marker for c in conversation_changes(cs))
        )
        last = await knowledge.add_text(admin, "Sizes", "From XS to XXL.")
        await document_reader.until(reached(last, "ready"))

    assert [d["state"] for d in documents(admins.data(), manual)] == [
        "queued",
        "processing",
        "ready",
    ]
    ready = documents(admins.data(), manual)[-1]
    assert ready["title"] == "Delivery"
    assert ready["kind"] == "text"
    assert ready["revision"] == 1
    assert ready["chunk_count"] >= 1
    assert ready["failure_reason"] is None
    sent = [e for e in admins.events if e.kind == "document_changed"]
    assert {e.event for e in sent} == {"document_changed"} and all(e.id for e in sent)

    assert {d["id"] for d in documents(others.data())} == {theirs}
    assert documents(conversation_reader.data()) == []
    # The documents-only key follows the knowledge base, not the conversations.
    assert conversation_changes(document_reader.data()) == []
    assert {d["id"] for d in documents(document_reader.data())} == {manual, last}


async def test_a_reconnecting_client_gets_the_document_and_conversation_changes_it_missed(
    harness, knowledge
) -> None:
    tenant = uuid.uuid4()
    admin = harness.admin(tenant)
    ana, bea = harness.customer(tenant), harness.customer(tenant)
    async with harness.stream(admin) as first:
        await harness.customer_says(ana, "first")
        await first.until(lambda cs: len(cs) >= 1)
    last_id = first.events[-1].id
    assert last_id and ".k" in last_id

    # While disconnected: a document is added and processed, another is deleted, and a
    # customer writes.
    kept = await knowledge.add_text(admin, "Returns", "Returns within 30 days.")
    dropped = await knowledge.add_text(admin, "Old prices", "Everything costs 10.")
    await knowledge.delete(admin, dropped)
    await harness.customer_says(bea, "missed")
    await harness.conversation_of(admin, bea)

    async with harness.stream(admin, last_event_id=last_id) as resumed:
        changes = await resumed.until(
            lambda cs: (
                reached(kept, "ready")(cs)
                and reached(dropped, "deleted")(cs)
                and conversation_changes(cs)
            )
        )
        # And it goes on live after the replay.
        later = await knowledge.add_text(admin, "Sizes", "From XS to XXL.")
        changes = await resumed.until(reached(later, "ready"))

    assert [c["kind"] for c in conversation_changes(changes)][:1] == ["message_added"]
    # Each change once: the replay and the live part do not overlap.
    assert [d["state"] for d in documents(changes, kept)] == ["queued", "processing", "ready"]
    assert [d["state"] for d in documents(changes, later)] == ["queued", "processing", "ready"]

    # An id from before document changes joined the stream cannot say which were missed.
    conversation_only = ".".join(
        item[1:] for item in resumed.events[-1].id.split(".") if item.startswith("c")
    )
    async with harness.stream(admin, last_event_id=conversation_only) as old:

        async def told_to_reload() -> bool:
            return any(e.event == "resync" for e in old.events)

        await eventually(told_to_reload, timeout_s=30)
