"""1,000 conversations across 10 tenants: every list, read, action and live stream shows a
caller only their own tenant's conversations, and an agent only those they may see."""

from __future__ import annotations

import random
import uuid

from parley_platform.events import OutgoingEvent
from parley_platform.events.envelope import derived_event_id
from parley_platform.events.topics import WHATSAPP_INBOUND
from parley_testing.polling import eventually

TENANTS = 10
PER_TENANT = 100


async def _all_conversations(harness, principal, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        query = {"limit": 100, **params, **({"cursor": cursor} if cursor else {})}
        response = await harness.get(principal, "/api/v1/conversations", params=query)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


async def _all_contacts(harness, principal) -> list[dict]:
    items, cursor = [], None
    while True:
        query = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        response = await harness.get(principal, "/api/v1/contacts", params=query)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


async def test_a_thousand_conversations_across_ten_tenants_stay_apart(harness) -> None:
    tenants = [uuid.uuid4() for _ in range(TENANTS)]
    customers = {
        t: [harness.customer(t, wa_id=f"{i + 1:02d}{n:08d}") for n in range(PER_TENANT)]
        for i, t in enumerate(tenants)
    }
    for tenant in tenants:
        events = []
        for customer in customers[tenant]:
            message = harness.inbound(customer, f"hello from {customer.wa_id}")
            events.append(
                OutgoingEvent(
                    topic=WHATSAPP_INBOUND,
                    key=customer.key,
                    payload=message,
                    tenant_id=tenant,
                    event_id=derived_event_id(str(tenant), message.wamid),
                )
            )
        await harness.producer.publish(*events)

    admins = {t: harness.admin(t) for t in tenants}

    async def all_stored() -> bool:
        for tenant in tenants:
            if len(await _all_conversations(harness, admins[tenant])) < PER_TENANT:
                return False
        return True

    await eventually(all_stored, timeout_s=120, interval_s=1)

    owned: dict[uuid.UUID, list[dict]] = {}
    for i, tenant in enumerate(tenants):
        listed = await _all_conversations(harness, admins[tenant])
        assert len(listed) == PER_TENANT
        assert {c["contact"]["wa_id"] for c in listed} == {c.wa_id for c in customers[tenant]}
        assert all(c["contact"]["wa_id"].startswith(f"{i + 1:02d}") for c in listed)
        contacts = await _all_contacts(harness, admins[tenant])
        assert {c["wa_id"] for c in contacts} == {c.wa_id for c in customers[tenant]}
        owned[tenant] = listed

    # Another tenant's conversations do not exist for you, whatever you try.
    rng = random.Random(5)
    for i, tenant in enumerate(tenants):
        intruder = admins[tenant]
        victim_tenant = tenants[(i + 1) % TENANTS]
        for target in rng.sample(owned[victim_tenant], 3):
            path = f"/api/v1/conversations/{target['id']}"
            attempts = [
                await harness.get(intruder, path),
                await harness.get(intruder, f"{path}/messages"),
                await harness.get(intruder, f"{path}/transitions"),
                await harness.get(intruder, f"/api/v1/contacts/{target['contact']['id']}"),
                await harness.post(intruder, f"{path}/takeover"),
                await harness.post(intruder, f"{path}/messages", {"text": "hijack"}),
                await harness.post(intruder, f"{path}/notes", {"text": "hijack"}),
                await harness.post(intruder, f"{path}/labels", {"labels": ["hijack"]}),
                await harness.post(intruder, f"{path}/close"),
                await harness.post(intruder, f"{path}/read"),
            ]
            assert [r.status_code for r in attempts] == [404] * len(attempts)
            untouched = await harness.conversation(admins[victim_tenant], target["id"])
            assert (untouched["state"], untouched["labels"], untouched["unread_count"]) == (
                "ai",
                [],
                1,
            )
            assert len(await harness.messages(admins[victim_tenant], target["id"])) == 1

    # Inside one tenant, an agent sees unassigned conversations and their own only.
    first = tenants[0]
    holder, other = harness.agent(first), harness.agent(first)
    held = owned[first][:10]
    for conversation in held:
        taken = await harness.post(holder, f"/api/v1/conversations/{conversation['id']}/takeover")
        assert taken.status_code == 200
    held_ids = {c["id"] for c in held}
    seen_by_other = {c["id"] for c in await _all_conversations(harness, other)}
    assert len(seen_by_other) == PER_TENANT - 10 and not seen_by_other & held_ids
    assert len(await _all_conversations(harness, holder)) == PER_TENANT
    mine = await _all_conversations(harness, holder, assignee="me")
    assert {c["id"] for c in mine} == held_ids
    hidden = next(iter(held_ids))
    assert (await harness.get(other, f"/api/v1/conversations/{hidden}")).status_code == 404
    assert (await harness.get(other, f"/api/v1/conversations/{hidden}/messages")).status_code == 404

    # Live streams: each admin hears their own tenant only; the other agent not the held ones.
    second = tenants[1]
    held_customer = next(c for c in customers[first] if c.wa_id == held[0]["contact"]["wa_id"])
    free_customer = next(
        c for c in customers[first] if c.wa_id not in {h["contact"]["wa_id"] for h in held}
    )
    async with (
        harness.stream(admins[first]) as first_admin,
        harness.stream(admins[second]) as second_admin,
        harness.stream(other) as other_agent,
    ):
        await harness.customer_says(held_customer, "private to my agent")
        for tenant in tenants[1:]:
            await harness.customer_says(customers[tenant][0], "live")
        await first_admin.until(lambda cs: any(c["kind"] == "message_added" for c in cs))
        await second_admin.until(lambda cs: any(c["kind"] == "message_added" for c in cs))
        await harness.customer_says(free_customer, "anyone can take this")
        free = next(c for c in owned[first] if c["contact"]["wa_id"] == free_customer.wa_id)
        await other_agent.until(lambda cs: any(c["conversation_id"] == free["id"] for c in cs))
        await first_admin.until(lambda cs: any(c["conversation_id"] == free["id"] for c in cs))

    first_ids = {c["id"] for c in owned[first]}
    second_ids = {c["id"] for c in owned[second]}
    assert {c["conversation_id"] for c in first_admin.data()} <= first_ids
    assert {c["conversation_id"] for c in first_admin.data()} >= {held[0]["id"], free["id"]}
    assert {c["conversation_id"] for c in second_admin.data()} <= second_ids
    added = [c for c in other_agent.data() if c["kind"] == "message_added"]
    assert {c["conversation_id"] for c in added} == {free["id"]}
    # Besides, at most the late-relayed news that held conversations left this agent's view.
    others = [c for c in other_agent.data() if c["conversation_id"] != free["id"]]
    assert all(c["kind"] == "state_changed" and c["state"] == "human" for c in others)
