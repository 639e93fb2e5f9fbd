"""Two tenants whose documents share words: neither ever sees the other's chunks or
documents, through REST or gRPC, including while both are ingesting."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from .conftest import DOCUMENTS, Knowledge, admin, agent

ACME_RETURNS = """# Returns

You can return shoes within 30 days of delivery. Refunds go back to the original card.

## Damaged parcels

If the parcel arrived damaged, send us a photo and we ship a replacement for free."""

GLOBEX_RETURNS = """# Returns

Shoes bought in our outlet store cannot be returned. Refunds are given as store credit.

## Damaged parcels

Damaged parcels must be refused at the door; the courier brings them back to us."""


async def test_each_tenant_finds_only_its_own_chunks_over_rest_and_grpc(knowledge: Knowledge):
    acme, globex = uuid.uuid4(), uuid.uuid4()
    a = await knowledge.add_text(admin(acme), "Acme returns", ACME_RETURNS, external_id="returns")
    g = await knowledge.add_text(
        admin(globex), "Globex returns", GLOBEX_RETURNS, external_id="returns"
    )
    await knowledge.ready(admin(acme), a["id"])
    await knowledge.ready(admin(globex), g["id"])

    for query in ("return shoes refund", "damaged parcel", "returns"):
        acme_results = await knowledge.search(agent(acme), query, top_k=20)
        globex_results = await knowledge.search(agent(globex), query, top_k=20)
        assert acme_results and globex_results, query
        assert {r["document_id"] for r in acme_results} == {a["id"]}
        assert {r["document_id"] for r in globex_results} == {g["id"]}
        assert all("outlet" not in r["text"] for r in acme_results)

        acme_grpc = await knowledge.grpc_search(acme, query, top_k=20)
        globex_grpc = await knowledge.grpc_search(globex, query, top_k=20)
        assert {c.document_id for c in acme_grpc} == {a["id"]}
        assert {c.document_id for c in globex_grpc} == {g["id"]}
        assert [c.chunk_id for c in acme_grpc] == [r["chunk_id"] for r in acme_results]

    # A tenant with no documents finds nothing, whatever the others hold.
    assert await knowledge.search(agent(uuid.uuid4()), "damaged parcel") == []
    assert await knowledge.grpc_search(uuid.uuid4(), "damaged parcel") == []


async def test_another_tenants_document_is_not_found(knowledge: Knowledge):
    acme, globex = uuid.uuid4(), uuid.uuid4()
    a = await knowledge.add_text(admin(acme), "Acme returns", ACME_RETURNS)
    await knowledge.ready(admin(acme), a["id"])

    path = f"{DOCUMENTS}/{a['id']}"
    assert (await knowledge.request("GET", admin(globex), path)).status_code == 404
    assert (await knowledge.request("DELETE", admin(globex), path)).status_code == 404
    listed = await knowledge.request("GET", admin(globex), DOCUMENTS)
    assert listed.json()["items"] == []
    # Still there for its owner, and still searchable.
    assert (await knowledge.request("GET", admin(acme), path)).status_code == 200
    assert await knowledge.search(agent(acme), "damaged parcel")


async def test_tenants_ingesting_at_once_never_see_each_others_chunks(knowledge: Knowledge):
    acme, globex = uuid.uuid4(), uuid.uuid4()
    leaks: list[str] = []
    stop = asyncio.Event()

    async def watch(tenant: uuid.UUID, foreign_marker: str) -> None:
        while not stop.is_set():
            for chunk in await knowledge.grpc_search(tenant, "returns parcel shoes", top_k=50):
                if foreign_marker in chunk.text:
                    leaks.append(chunk.chunk_id)
            for result in await knowledge.search(agent(tenant), "returns parcel shoes", top_k=50):
                if foreign_marker in result["text"]:
                    leaks.append(result["chunk_id"])

    watchers = [
        asyncio.create_task(watch(acme, "GLOBEX")),
        asyncio.create_task(watch(globex, "ACME")),
    ]
    added: list[tuple[uuid.UUID, str]] = []
    for n in range(6):
        for tenant, marker, body in (
            (acme, "ACME", ACME_RETURNS),
            (globex, "GLOBEX", GLOBEX_RETURNS),
        ):
            doc = await knowledge.add_text(
                admin(tenant), f"{marker} returns {n}", f"{body}\n\n{marker} policy number {n}."
            )
            added.append((tenant, doc["id"]))
    for tenant, document_id in added:
        await knowledge.ready(admin(tenant), document_id)
    stop.set()
    await asyncio.gather(*watchers)

    assert leaks == []
    acme_docs = {r["document_id"] for r in await knowledge.search(agent(acme), "returns", top_k=50)}
    assert acme_docs == {d for t, d in added if t == acme}


async def test_grpc_search_is_for_the_ai_service_with_a_tenant(knowledge: Knowledge):
    tenant = uuid.uuid4()
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await knowledge.grpc_search(tenant, "returns", caller="gateway")
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as no_tenant:
        await knowledge.grpc_search(None, "returns")
    assert no_tenant.value.code() == grpc.StatusCode.INVALID_ARGUMENT
