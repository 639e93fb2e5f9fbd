"""Cursor pagination while the inbox keeps changing: no conversation or message is shown
twice, and none that stayed put is skipped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta


async def _page(harness, principal, path: str, cursor: str | None, **params) -> dict:
    query = {**params, **({"cursor": cursor} if cursor else {})}
    response = await harness.get(principal, path, params=query)
    assert response.status_code == 200, response.text
    return response.json()


async def test_paging_conversations_while_new_messages_arrive_shows_each_at_most_once(
    harness,
) -> None:
    tenant = uuid.uuid4()
    admin = harness.admin(tenant)
    base = datetime.now(UTC) - timedelta(hours=1)
    customers = [harness.customer(tenant) for _ in range(30)]
    for i, customer in enumerate(customers):
        await harness.customer_says(customer, f"message {i}", sent_at=base + timedelta(seconds=i))
    for customer in customers:
        await harness.conversation_of(admin, customer)
    # Newest activity first: customer 29 .. customer 0.
    by_wa_id = {c.wa_id: i for i, c in enumerate(customers)}

    seen: list[dict] = []
    changed: set[str] = set()
    cursor = None
    newcomer = harness.customer(tenant)
    for round_ in range(10):
        page = await _page(harness, admin, "/api/v1/conversations", cursor, limit=7)
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # Between pages: one already seen and one not yet seen get a new message, and a
        # new customer writes for the first time.
        already = customers[by_wa_id[page["items"][0]["contact"]["wa_id"]]]
        ahead = customers[max(0, by_wa_id[page["items"][-1]["contact"]["wa_id"]] - 2)]
        for customer in (already, ahead):
            await harness.customer_says(customer, f"more in round {round_}")
            changed.add(customer.wa_id)
            await harness.conversation_of(admin, customer)
        if round_ == 0:
            await harness.customer_says(newcomer, "first time here")
            await harness.conversation_of(admin, newcomer)

    ids = [c["id"] for c in seen]
    assert len(ids) == len(set(ids)), "a conversation was shown twice"
    wa_ids = [c["contact"]["wa_id"] for c in seen]
    untouched = [c.wa_id for c in reversed(customers) if c.wa_id not in changed]
    assert [w for w in wa_ids if w in untouched] == untouched  # all of them, in order
    keys = [(c["last_activity_at"], c["id"]) for c in seen]
    assert keys == sorted(keys, reverse=True)


async def test_paging_a_timeline_while_messages_arrive_returns_every_earlier_message_once(
    harness,
) -> None:
    tenant = uuid.uuid4()
    admin = harness.admin(tenant)
    ana = harness.customer(tenant)
    base = datetime.now(UTC) - timedelta(minutes=30)
    # Two messages share each second (Meta's timestamps are in seconds).
    for i in range(24):
        await harness.customer_says(ana, f"m{i:02d}", sent_at=base + timedelta(seconds=i // 2))
    conversation = await harness.conversation_of(admin, ana)
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    original = [f"m{i:02d}" for i in range(24)]

    for order in ("desc", "asc"):
        seen: list[str] = []
        cursor = None
        for round_ in range(20):
            page = await _page(harness, admin, path, cursor, order=order, limit=5)
            seen += [m["text"] for m in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            # Newer messages, and a late one stamped in the middle of the timeline.
            await harness.customer_says(ana, f"{order} new {round_}")
            await harness.customer_says(
                ana, f"{order} late {round_}", sent_at=base + timedelta(seconds=5, milliseconds=1)
            )
            await harness.conversation_of(admin, ana)

        assert len(seen) == len(set(seen)), f"{order}: a message was shown twice"
        expected = original if order == "asc" else list(reversed(original))
        assert [t for t in seen if t in original] == expected, order

    # Late messages take their place by the time they were written, not when they came.
    full = [
        m["text"]
        for m in (await _page(harness, admin, path, None, order="asc", limit=100))["items"]
    ]
    late = [i for i, text in enumerate(full) if " late " in text]
    assert late and full.index("m11") < min(late) and max(late) < full.index("m12")
