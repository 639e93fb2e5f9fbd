"""The figures an SRE is woken by: a stuck consumer's lag grows (read from the broker, not
from its own commits), the outbox reports how old its oldest waiting event is, and the relay
how many rows wait that no pass can take."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from parley.whatsapp.v1.events_pb2 import InboundMessage
from parley_platform.db import driver
from parley_platform.events import (
    ConsumedEvent,
    EventConsumer,
    EventProducer,
    OutboxRelay,
    add_to_outbox,
    on,
)
from parley_platform.events.admin import ensure_topics
from parley_platform.events.topics import WHATSAPP_INBOUND
from parley_testing.polling import eventually
from prometheus_client import REGISTRY

from .conftest import inbound


def group_lag(group: str) -> float:
    return sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "parley_consumer_lag"
        for sample in family.samples
        if sample.labels.get("group") == group
    )


async def test_a_stuck_consumers_lag_is_reported_and_clears_when_it_recovers(settings) -> None:
    producer = EventProducer(settings)
    await producer.start()
    unblocked = asyncio.Event()

    async def stuck(event: ConsumedEvent[InboundMessage]) -> None:
        await unblocked.wait()

    group = f"lag-{uuid.uuid4().hex[:6]}"
    consumer = EventConsumer(
        settings, group_id=group, subscriptions=[on(WHATSAPP_INBOUND, stuck)], producer=producer
    )
    await consumer.start()
    try:
        await consumer.wait_until_assigned()
        tenant = uuid.uuid4()
        for n in range(3):
            await producer.publish(inbound(f"message {n}", tenant))

        async def lag_is(expected: float) -> bool:
            await consumer.report_lag()
            return group_lag(group) == expected

        await eventually(lambda: lag_is(3), timeout_s=30)
        unblocked.set()
        await eventually(lambda: lag_is(0), timeout_s=30)
    finally:
        await consumer.stop()
        await producer.stop()


async def test_the_outbox_reports_its_oldest_waiting_event_and_each_delay(
    settings, database
) -> None:
    await ensure_topics(settings, [WHATSAPP_INBOUND.name])
    producer = EventProducer(settings)
    await producer.start()
    relay = OutboxRelay(database, producer, settings)
    delays_before = REGISTRY.get_sample_value("parley_outbox_delay_seconds_count") or 0
    try:
        tenant = uuid.uuid4()
        async with database.tenant_session(tenant) as session:
            await add_to_outbox(session, inbound("waiting", tenant))
        await asyncio.sleep(0.05)  # the row is measurably old when the relay claims it
        assert await relay.relay_once() == 1
        assert (REGISTRY.get_sample_value("parley_outbox_oldest_age_seconds") or 0) >= 0.05
        assert REGISTRY.get_sample_value("parley_outbox_delay_seconds_count") == delays_before + 1
        assert await relay.relay_once() == 0
        assert REGISTRY.get_sample_value("parley_outbox_oldest_age_seconds") == 0
    finally:
        await producer.stop()


def relay_passes(result: str) -> float:
    return REGISTRY.get_sample_value("parley_outbox_relay_passes_total", {"result": result}) or 0


def soon(condition: Callable[[], bool]) -> Awaitable[bool]:
    """Wait (a few seconds at most) until `condition()` holds."""

    async def check() -> bool:
        return condition()

    return eventually(check, timeout_s=10)


async def test_the_relay_counts_its_passes_and_reports_rows_no_pass_can_take(
    settings, database
) -> None:
    await ensure_topics(settings, [WHATSAPP_INBOUND.name])
    producer = EventProducer(settings)
    await producer.start()
    relay = OutboxRelay(database, producer, settings, poll_interval_s=0.1)
    try:
        while await relay.relay_once():
            pass  # what earlier tests left behind
        tenant = uuid.uuid4()
        async with database.tenant_session(tenant) as session:
            await add_to_outbox(session, inbound("held by a former leader", tenant))
        published, empty = relay_passes("published"), relay_passes("empty")
        async with database.system_transaction() as former_leader:
            # A former leader's unfinished pass still holds the row: no pass can take it, and
            # the idle polls say one row is waiting.
            held = await driver.fetch_all(
                former_leader, "SELECT * FROM parley_outbox_claim($1)", 10
            )
            assert len(held) == 1
            await relay.start()
            await soon(lambda: relay_passes("empty") >= empty + 2)
            await soon(lambda: REGISTRY.get_sample_value("parley_outbox_pending") == 1)
            assert relay_passes("published") == published
        # The former leader's pass ended without publishing (claiming deletes nothing): the
        # leader takes the row now.
        await soon(lambda: relay_passes("published") == published + 1)
        await soon(lambda: REGISTRY.get_sample_value("parley_outbox_pending") == 0)
    finally:
        await relay.stop()
        await producer.stop()
