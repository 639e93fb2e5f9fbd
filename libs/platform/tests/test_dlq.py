"""An operator inspects a dead-letter topic and replays an event once its cause is fixed; the
event is then handled exactly once, and the rest stay where they are."""

from __future__ import annotations

import json
import uuid

import pytest
from parley.whatsapp.v1.events_pb2 import InboundMessage
from parley_platform import dlq
from parley_platform.events import (
    ConsumedEvent,
    EventConsumer,
    on,
)
from parley_platform.events.topics import WHATSAPP_INBOUND
from parley_testing.polling import eventually
from parley_testing.services import settings_env

from .conftest import inbound


async def test_dead_letters_are_inspected_and_one_is_replayed_once_fixed(
    settings, producer, monkeypatch, capsys
) -> None:
    broken = {"card declined", "order 7"}
    handled: list[str] = []

    async def handle(event: ConsumedEvent[InboundMessage]) -> None:
        if event.payload.text.body in broken:
            raise RuntimeError("the order service answered 500")
        handled.append(event.payload.text.body)

    group = f"dlq-tool-{uuid.uuid4().hex[:6]}"
    consumer = EventConsumer(
        settings, group_id=group, subscriptions=[on(WHATSAPP_INBOUND, handle)], producer=producer
    )
    await consumer.start()
    try:
        tenant = uuid.uuid4()
        declined, order = inbound("card declined", tenant), inbound("order 7", tenant)
        await producer.publish(declined)
        await producer.publish(order)
        await producer.publish(inbound("hello", tenant))

        async def both_dead() -> bool:
            return len(await dlq.read_dead_letters(settings, group)) == 2 and "hello" in handled

        await eventually(both_dead, timeout_s=60)

        # Inspect from the command line: who, what, why; never the customer's words.
        for name, value in settings_env(settings, prefix="PARLEY_DLQ_").items():
            monkeypatch.setenv(name, value)
        assert await dlq.run(["inspect", group]) == 0
        listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [entry["event_id"] for entry in listed] == [declined.event_id, order.event_id]
        first = listed[0]
        assert first["tenant_id"] == str(tenant)
        assert first["original_topic"] == settings.topic_name(WHATSAPP_INBOUND.name)
        assert first["attempts"] == settings.consumer_max_attempts
        assert "the order service answered 500" in first["error"]
        assert first["payload"] is None and "card declined" not in json.dumps(listed)

        assert await dlq.run(["inspect", group, "--payload"]) == 0
        shown = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert shown[0]["payload"]["text"]["body"] == "card declined"

        # The cause of one is fixed: replay that one only.
        broken.discard("card declined")
        assert await dlq.run(["replay", group, "--event-id", declined.event_id, "--dry-run"]) == 0
        assert json.loads(capsys.readouterr().out)["event_id"] == declined.event_id
        assert handled == ["hello"]  # a dry run publishes nothing
        assert await dlq.run(["replay", group, "--event-id", declined.event_id]) == 0
        capsys.readouterr()

        async def replayed() -> bool:
            return handled == ["hello", "card declined"]

        await eventually(replayed, timeout_s=60)
    finally:
        await consumer.stop()
    # Still two dead letters (nothing is removed from Kafka); "order 7" was never replayed.
    assert len(await dlq.read_dead_letters(settings, group)) == 2
    assert "order 7" not in handled


async def test_replaying_an_unknown_event_or_nothing_is_refused(settings, capsys) -> None:
    group = f"dlq-tool-{uuid.uuid4().hex[:6]}"
    from parley_platform.events.admin import ensure_topics
    from parley_platform.events.topics import dead_letter_topic

    await ensure_topics(settings, [dead_letter_topic(group)])
    with pytest.raises(ValueError, match="--event-id"):
        await dlq.replay(settings, group)
    with pytest.raises(LookupError, match="not-there"):
        await dlq.replay(settings, group, event_ids=["not-there"])
