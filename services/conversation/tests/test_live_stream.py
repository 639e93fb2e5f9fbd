"""`GET /api/v1/events`: a dashboard's live view of new messages, statuses, state changes and
assignments, limited to what its user may see, resumable after a dropped connection."""

from __future__ import annotations

import uuid

from parley.whatsapp.v1 import events_pb2 as whatsapp
from parley_conversation.main import create_app
from parley_testing.polling import eventually
from parley_testing.services import serve_app


def _of(changes: list[dict], conversation_id: str) -> list[dict]:
    return [c for c in changes if c["conversation_id"] == conversation_id]


async def test_the_stream_shows_a_conversations_changes_as_they_happen(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    async with harness.stream(admin) as stream:
        assert stream.status == 200
        await harness.customer_says(ana, "hi, is the shop open?")
        (request,) = await harness.ai_requests(1)
        await harness.ai_answers(ana, request, "Yes, until 6pm.")
        conversation = await harness.conversation_of(admin, ana)
        await stream.until(lambda cs: len(_of(cs, conversation["id"])) >= 2)
        ai_message = next(
            m for m in await harness.messages(admin, conversation["id"]) if m["author"] == "ai"
        )
        await harness.outcome(
            ana, ai_message["id"], whatsapp.SEND_RESULT_SENT, wamids=["wamid.answer-1"]
        )
        await stream.until(lambda cs: len(_of(cs, conversation["id"])) >= 3)
        await harness.post(admin, f"/api/v1/conversations/{conversation['id']}/takeover")

        changes = await stream.until(lambda cs: len(_of(cs, conversation["id"])) >= 4)

    seen = [
        (c["kind"], c.get("author"), c.get("message_status"), c["state"])
        for c in _of(changes, conversation["id"])
    ]
    assert seen == [
        ("message_added", "customer", "received", "ai"),
        ("message_added", "ai", "pending", "ai"),
        ("message_status", "ai", "sent", "ai"),
        ("state_changed", None, None, "human"),
    ]
    assert all(e.id for e in stream.events if e.kind)
    feed = harness.running.runtime.components.live_feed
    await eventually(lambda: _zero(feed.connections), timeout_s=10)


async def _zero(value: int) -> bool:
    return value == 0


async def test_an_agent_sees_only_what_they_may_and_never_another_tenant(harness) -> None:
    tenant, other_tenant = uuid.uuid4(), uuid.uuid4()
    admin, holder, watcher = harness.admin(tenant), harness.agent(tenant), harness.agent(tenant)
    held, open_ = harness.customer(tenant), harness.customer(tenant)
    # Markers: customers whose changes share partitions with those of `held` and `open_`.
    later = harness.customers_beside(held, open_)
    stranger = harness.customer(other_tenant)
    for customer in (held, open_, *later):
        await harness.customer_says(customer, "hello")
    held_conversation = await harness.conversation_of(admin, held)
    open_conversation = await harness.conversation_of(admin, open_)
    later_conversations = {(await harness.conversation_of(admin, c))["id"] for c in later}
    await harness.post(holder, f"/api/v1/conversations/{held_conversation['id']}/takeover")

    async with harness.stream(admin) as everything, harness.stream(watcher) as watched:
        await harness.customer_says(held, "only my agent should see this")
        await harness.customer_says(stranger, "another business entirely")
        await harness.customer_says(open_, "anyone can pick this up")
        await everything.until(
            lambda cs: _of(cs, held_conversation["id"]) and _of(cs, open_conversation["id"])
        )
        # The holder takes the open one too: the watcher hears it leave their view, then
        # nothing more about it.
        await harness.post(holder, f"/api/v1/conversations/{open_conversation['id']}/takeover")
        await harness.customer_says(open_, "now only for the holder")
        await everything.until(lambda cs: len(_of(cs, open_conversation["id"])) >= 3)
        # Changes the watcher may see, made after all of the above on the same partitions:
        # once they arrive, anything visible before them has arrived too.
        for customer in later:
            await harness.customer_says(customer, "marker")
        await watched.until(lambda cs: all(_of(cs, c) for c in later_conversations))

    assert {c["conversation_id"] for c in everything.data()} == {
        held_conversation["id"],
        open_conversation["id"],
        *later_conversations,
    }
    # The message in the held conversation never reached the watcher. (The takeover just
    # before the streams opened may still be relayed after they did: that change, telling
    # the watcher the conversation left their view, is theirs to see.)
    assert [c["kind"] for c in _of(watched.data(), held_conversation["id"])] in (
        [],
        ["state_changed"],
    )
    assert [(c["kind"], c["state"]) for c in _of(watched.data(), open_conversation["id"])] == [
        ("message_added", "ai"),
        ("state_changed", "human"),
    ]


async def test_a_reconnecting_client_gets_what_it_missed_from_its_last_event_id(harness) -> None:
    tenant = uuid.uuid4()
    ana, bea = harness.customer(tenant), harness.customer(tenant)
    admin = harness.admin(tenant)
    stranger = harness.customer(uuid.uuid4())
    async with harness.stream(admin) as first:
        await harness.customer_says(ana, "first")
        await first.until(lambda cs: len(cs) >= 1)
    last_id = first.events[-1].id
    assert last_id

    # While disconnected: two of ours and one of another tenant's.
    await harness.customer_says(bea, "missed one")
    await harness.customer_says(stranger, "not yours")
    await harness.customer_says(ana, "missed two")
    conversation = await harness.conversation_of(admin, ana)
    await harness.conversation_of(admin, bea)

    async with harness.stream(admin, last_event_id=last_id) as resumed:
        changes = await resumed.until(lambda cs: len(cs) >= 2)
        await harness.post(admin, f"/api/v1/conversations/{conversation['id']}/close")
        changes = await resumed.until(lambda cs: any(c["kind"] == "state_changed" for c in cs))

    texts = [c for c in changes if c["kind"] == "message_added"]
    assert len(texts) == 2
    assert {c["conversation_id"] for c in texts} == {
        conversation["id"],
        (await harness.conversation_of(admin, bea))["id"],
    }
    assert [c["kind"] for c in changes][-1] == "state_changed"

    async with harness.stream(admin, last_event_id="not-an-id") as fresh:
        assert fresh.status == 200  # treated as a new connection


async def test_a_client_too_far_behind_is_told_to_reload(
    conversation_settings, producer, harness
) -> None:
    settings = conversation_settings.model_copy(update={"stream_replay_max_events": 1})
    tenant = uuid.uuid4()
    admin = harness.admin(tenant)
    async with serve_app(create_app(settings)) as strict:
        strict_headers = harness.headers(admin)
        async with harness.stream(admin) as first:
            await harness.customer_says(harness.customer(tenant), "one")
            await first.until(lambda cs: len(cs) >= 1)
        for _ in range(3):
            await harness.customer_says(harness.customer(tenant), "more")
        ana = harness.customer(tenant)
        await harness.customer_says(ana, "last")
        await harness.conversation_of(admin, ana)

        async with strict.client.stream(
            "GET",
            "/api/v1/events",
            headers={**strict_headers, "Last-Event-ID": first.events[-1].id},
            timeout=None,
        ) as response:
            lines = []
            async for line in response.aiter_lines():
                lines.append(line)
                if line.startswith("event: resync"):
                    break
    assert "event: resync" in lines
