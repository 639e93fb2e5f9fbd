"""Replacing a document (same external id) while searches run: every search sees the old
version or the new one whole, never a mix, never nothing."""

from __future__ import annotations

import asyncio
import re
import uuid

from .conftest import Knowledge, admin, agent

SECTIONS = ("Opening hours", "Parking", "Pets", "Wheelchair access", "Lost property")


def version(n: int) -> str:
    return "\n\n".join(
        f"## {title}\n\nVisitor guide edition {n}: the rules for {title.lower()} at the museum "
        f"are explained at the front desk (edition {n})."
        for title in SECTIONS
    )


async def test_searches_see_one_whole_version_while_it_is_replaced(knowledge: Knowledge):
    tenant = uuid.uuid4()
    first = await knowledge.add_text(
        admin(tenant), "Visitor guide", version(1), external_id="guide"
    )
    await knowledge.ready(admin(tenant), first["id"])

    seen: list[tuple[int, ...]] = []
    problems: list[str] = []
    stop = asyncio.Event()

    def editions(texts: list[str]) -> tuple[int, ...]:
        return tuple(int(m) for t in texts for m in re.findall(r"edition (\d+)", t))

    async def search_forever(use_grpc: bool) -> None:
        while not stop.is_set():
            if use_grpc:
                texts = [c.text for c in await knowledge.grpc_search(tenant, "museum rules", 50)]
            else:
                results = await knowledge.search(agent(tenant), "museum rules", top_k=50)
                texts = [r["text"] for r in results]
            found = editions(texts)
            if len(texts) != len(SECTIONS):
                problems.append(f"{len(texts)} chunks: {texts}")
            elif len(set(found)) != 1:
                problems.append(f"mixed editions {sorted(set(found))}")
            seen.append(found)

    searchers = [asyncio.create_task(search_forever(g)) for g in (False, True, False, True)]
    for n in range(2, 7):
        replaced = await knowledge.add_text(
            admin(tenant), "Visitor guide", version(n), external_id="guide"
        )
        assert replaced["id"] == first["id"]
        ready = await knowledge.ready(admin(tenant), first["id"])
        assert ready["revision"] == n
    stop.set()
    await asyncio.gather(*searchers)

    assert problems == []
    observed = {found[0] for found in seen}
    assert observed <= {1, 2, 3, 4, 5, 6}
    assert len(observed) >= 3  # the searches did run across the replacements
    final = await knowledge.search(agent(tenant), "museum rules", top_k=50)
    assert set(editions([r["text"] for r in final])) == {6}
