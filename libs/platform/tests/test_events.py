"""The event bus against real Kafka and PostgreSQL: outbox to consumer, crash safety,
dead letters, envelope, topics, bounded publishing."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from opentelemetry import trace
from parley.whatsapp.v1.events_pb2 import InboundMessage
from parley_platform.db import Database, driver
from parley_platform.events import (
    ConsumedEvent,
    EventConsumer,
    EventProducer,
    OutboxRelay,
    OutgoingEvent,
    PermanentEventError,
    PublishError,
    add_to_outbox,
    derived_event_id,
    first_delivery,
    on,
)
from parley_platform.events.admin import ensure_topics
from parley_platform.events.envelope import from_headers, to_headers
from parley_platform.events.producer import RawRecord
from parley_platform.events.topics import ALL_TOPICS, WHATSAPP_INBOUND, dead_letter_topic
from parley_platform.telemetry import setup_telemetry
from parley_testing.infrastructure import disposable_kafka
from parley_testing.kafka import collect, header
from parley_testing.polling import eventually
from parley_testing.services import ChildProcess, settings_env
from sqlalchemy import text

from .conftest import inbound

WORKER = Path(__file__).resolve().parent / "worker.py"


def start_worker(settings, tmp_path: Path, *, hang_after_commit: bool = False) -> ChildProcess:
    env = settings_env(settings, prefix="PARLEY_WORKER_")
    env["PARLEY_WORKER_HANG_AFTER_COMMIT"] = "true" if hang_after_commit else "false"
    worker = ChildProcess(
        [str(WORKER)], env, tmp_path / f"worker-{time.monotonic_ns()}.log"
    ).start()
    return worker


async def wait_for_log(worker: ChildProcess, needle: str, timeout_s: float = 60) -> None:
    async def seen() -> bool:
        assert worker.proc is not None and worker.proc.poll() is None, worker.log()
        return needle in worker.log()

    await eventually(seen, timeout_s=timeout_s, interval_s=0.1)


async def effects(database: Database, tenant: uuid.UUID) -> list[dict]:
    async with database.tenant_session(tenant) as session:
        rows = await session.execute(
            text("SELECT event_id, trace_id, note FROM effects ORDER BY id")
        )
        return [dict(r._mapping) for r in rows]


async def test_an_outbox_event_reaches_a_consumer_in_another_process_with_its_id_tenant_and_trace(
    settings, database, producer, tmp_path
) -> None:
    setup_telemetry(settings)
    await ensure_topics(settings, [WHATSAPP_INBOUND.name])
    worker = start_worker(settings, tmp_path)
    relay = OutboxRelay(database, producer, settings, poll_interval_s=0.2)
    try:
        await wait_for_log(worker, "ready")
        tenant = uuid.uuid4()
        event = inbound("hello from the outbox", tenant)
        with trace.get_tracer("test").start_as_current_span("customer request") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            async with database.tenant_session(tenant) as session:
                await add_to_outbox(session, event)
        await relay.start()

        rows = await eventually(lambda: effects(database, tenant), timeout_s=60)
        assert rows == [
            {"event_id": event.event_id, "trace_id": trace_id, "note": "hello from the outbox"}
        ]

        async def published_rows_removed() -> bool:
            # The consumer may apply the event before the relay's delete commits.
            async with database.system_session() as session:
                pending = await session.execute(text("SELECT parley_outbox_pending()"))
                return pending.scalar() == 0

        assert await eventually(published_rows_removed, timeout_s=10)
    finally:
        await relay.stop()
        worker.kill()


async def test_a_committed_event_is_relayed_at_once_by_its_own_replica_or_the_leading_one(
    settings, platform_db, database, producer
) -> None:
    # Both relays poll only every ten minutes: what publishes the events is the commit waking
    # the relay of its own process, or that process NOTIFYing the leader in another replica.
    await ensure_topics(settings, [WHATSAPP_INBOUND.name])
    other_replica = Database(platform_db.app_url(), pool_size=1)
    leader = OutboxRelay(database, producer, settings, poll_interval_s=600)
    standby = OutboxRelay(other_replica, producer, settings, poll_interval_s=600)
    database.when_events_commit(leader.events_committed)
    other_replica.when_events_commit(standby.events_committed)

    async def nothing_pending() -> bool:
        async with database.system_transaction() as tx:
            return (await driver.fetch_one(tx, "SELECT parley_outbox_pending()"))[0] == 0  # type: ignore[index]

    try:
        await leader.start()
        await eventually(lambda: asyncio.sleep(0, leader.is_leader), timeout_s=30)
        await eventually(nothing_pending, timeout_s=30)  # the leader's first pass is done
        await standby.start()
        for writer in (database, other_replica):
            tenant = uuid.uuid4()
            async with writer.tenant_transaction(tenant) as tx:
                await add_to_outbox(tx, inbound("relayed without a poll", tenant))
            assert await eventually(nothing_pending, timeout_s=60)
        assert not standby.is_leader
    finally:
        await standby.stop()
        await leader.stop()
        await other_replica.dispose()


async def test_a_consumer_killed_after_its_commit_reprocesses_the_event_without_a_second_effect(
    settings, database, producer, tmp_path
) -> None:
    await ensure_topics(settings, [WHATSAPP_INBOUND.name])
    tenant = uuid.uuid4()
    first = inbound("first", tenant)
    worker = start_worker(settings, tmp_path, hang_after_commit=True)
    try:
        await wait_for_log(worker, "ready")
        await producer.publish(first)
        await wait_for_log(worker, f"committed {first.event_id}")
    finally:
        worker.kill()  # SIGKILL: database committed, Kafka offset not

    assert [r["event_id"] for r in await effects(database, tenant)] == [first.event_id]

    restarted = start_worker(settings, tmp_path)
    try:
        await wait_for_log(restarted, "ready")
        second = inbound("second", tenant)  # same key: same partition, after the first
        await producer.publish(second)

        async def second_applied() -> list[dict]:
            rows = await effects(database, tenant)
            return rows if any(r["event_id"] == second.event_id for r in rows) else []

        rows = await eventually(second_applied, timeout_s=90)
        assert [r["event_id"] for r in rows] == [first.event_id, second.event_id]
        async with database.tenant_session(tenant) as session:
            seen = (
                await session.execute(
                    text("SELECT count(*) FROM parley_inbox WHERE event_id = :e"),
                    {"e": first.event_id},
                )
            ).scalar()
        assert seen == 1
    finally:
        restarted.kill()


async def test_a_failing_event_goes_to_the_dead_letter_topic_and_the_partition_moves_on(
    settings, producer
) -> None:
    attempts: dict[str, int] = {}
    handled: list[str] = []

    async def handle(event: ConsumedEvent[InboundMessage]) -> None:
        body = event.payload.text.body
        attempts[body] = attempts.get(body, 0) + 1
        if body == "poison":
            raise RuntimeError("cannot handle this one")
        handled.append(body)

    group = f"dlq-test-{uuid.uuid4().hex[:6]}"
    consumer = EventConsumer(
        settings, group_id=group, subscriptions=[on(WHATSAPP_INBOUND, handle)], producer=producer
    )
    await consumer.start()
    try:
        tenant = uuid.uuid4()
        poison, after = inbound("poison", tenant), inbound("after the poison", tenant)
        await producer.publish(poison)
        await producer.publish(after)

        async def done() -> bool:
            return handled == ["after the poison"]

        await eventually(done, timeout_s=60)
    finally:
        await consumer.stop()

    assert attempts["poison"] == settings.consumer_max_attempts
    dead = await collect(
        settings.kafka_bootstrap, settings.topic_name(dead_letter_topic(group)), count=1, exact=True
    )
    assert len(dead) == 1
    assert header(dead[0], "event-id") == poison.event_id
    assert header(dead[0], "tenant-id") == str(tenant)
    assert header(dead[0], "dlq-attempts") == str(settings.consumer_max_attempts)
    assert "cannot handle this one" in (header(dead[0], "dlq-error") or "")
    assert InboundMessage.FromString(dead[0].value).text.body == "poison"


async def test_an_outage_outlasting_every_attempt_delays_the_event_but_never_dead_letters_it(
    settings, producer
) -> None:
    # The handler's dependency refuses connections (a database restarting, Redis stopped)
    # for twice as many tries as an event has attempts, then comes back.
    outage_calls = settings.consumer_max_attempts * 2
    calls: list[int] = []

    async def handle(event: ConsumedEvent[InboundMessage]) -> None:
        calls.append(event.attempt)
        if len(calls) <= outage_calls:
            raise ConnectionRefusedError(111, "Connect call failed")

    group = f"dlq-outage-{uuid.uuid4().hex[:6]}"
    consumer = EventConsumer(
        settings, group_id=group, subscriptions=[on(WHATSAPP_INBOUND, handle)], producer=producer
    )
    await consumer.start()
    try:
        await producer.publish(inbound("during the outage", uuid.uuid4()))

        async def handled() -> bool:
            return len(calls) == outage_calls + 1

        await eventually(handled, timeout_s=120)
    finally:
        await consumer.stop()
    assert set(calls) == {1}  # waiting out the outage used up none of its attempts
    dead = await collect(
        settings.kafka_bootstrap,
        settings.topic_name(dead_letter_topic(group)),
        count=1,
        timeout_s=2,
        exact=True,
    )
    assert dead == []


async def test_a_permanent_error_or_a_broken_envelope_is_dead_lettered_without_retries(
    settings, producer
) -> None:
    calls: list[str] = []

    async def handle(event: ConsumedEvent[InboundMessage]) -> None:
        calls.append(event.payload.text.body)
        raise PermanentEventError("this request can never succeed")

    group = f"dlq-permanent-{uuid.uuid4().hex[:6]}"
    consumer = EventConsumer(
        settings, group_id=group, subscriptions=[on(WHATSAPP_INBOUND, handle)], producer=producer
    )
    await consumer.start()
    try:
        await producer.publish(inbound("impossible", uuid.uuid4()))
        await producer.publish_raw(
            [RawRecord(settings.topic_name(WHATSAPP_INBOUND.name), b"k", b"not protobuf", [])]
        )
        dead = await collect(
            settings.kafka_bootstrap,
            settings.topic_name(dead_letter_topic(group)),
            count=2,
            timeout_s=30,
        )
    finally:
        await consumer.stop()
    assert calls == ["impossible"]
    assert sorted(str(header(r, "dlq-attempts")) for r in dead) == ["0", "1"]


async def test_topics_are_created_once_with_the_configured_partitions(settings) -> None:
    names = [t.name for t in ALL_TOPICS]
    await ensure_topics(settings, names)
    await ensure_topics(settings, names)  # a second service starting: nothing changes
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([settings.topic_name(n) for n in names])
    finally:
        await admin.close()
    assert {t["topic"] for t in described} == {settings.topic_name(n) for n in names}
    assert all(len(t["partitions"]) == settings.kafka_partitions for t in described)


def test_the_envelope_round_trips_through_headers_and_ids_derive_deterministically() -> None:
    tenant = uuid.uuid4()
    event = inbound("hi", tenant)
    envelope = from_headers(to_headers(event.envelope()))
    assert envelope == event.envelope()
    assert envelope.event_type == "parley.whatsapp.v1.InboundMessage"
    assert envelope.schema_version == 1
    assert derived_event_id(str(tenant), "wamid.A") == derived_event_id(str(tenant), "wamid.A")
    assert derived_event_id(str(tenant), "wamid.A") != derived_event_id(
        str(uuid.uuid4()), "wamid.A"
    )


def test_an_event_must_carry_its_topics_payload_type() -> None:
    from parley.whatsapp.v1.events_pb2 import SendCommand

    with pytest.raises(TypeError, match=r"carries parley\.whatsapp\.v1\.InboundMessage"):
        OutgoingEvent(
            topic=WHATSAPP_INBOUND, key="k", payload=SendCommand(), tenant_id=uuid.uuid4()
        )


async def test_publishing_fails_within_the_bound_when_kafka_is_down(settings, tmp_path) -> None:
    async with disposable_kafka(tmp_path) as kafka:
        bounded = settings.model_copy(
            update={"kafka_bootstrap": kafka.bootstrap, "kafka_send_timeout_s": 2.0}
        )
        await ensure_topics(bounded, [WHATSAPP_INBOUND.name])
        producer = EventProducer(bounded)
        await producer.start()
        try:
            await producer.publish(inbound("while up", uuid.uuid4()))
            await kafka.stop()
            started = time.monotonic()
            with pytest.raises(PublishError):
                await producer.publish(inbound("while down", uuid.uuid4()))
            assert time.monotonic() - started < bounded.kafka_send_timeout_s + 1.5
        finally:
            # With its broker gone the producer's sender would keep retrying the failed batch
            # in this test process's loop for the rest of the session: bring it back first.
            await kafka.start()
            await asyncio.wait_for(producer.stop(), timeout=10)


async def test_a_slow_conversation_holds_up_only_itself_and_each_stays_in_order(
    settings, producer
) -> None:
    one_partition = settings.model_copy(update={"kafka_partitions": 1})
    await ensure_topics(one_partition, [WHATSAPP_INBOUND.name])
    tenant = uuid.uuid4()
    release = asyncio.Event()
    handled: list[str] = []
    superseded: dict[str, bool] = {}

    async def handle(event: ConsumedEvent[InboundMessage]) -> None:
        body = event.payload.text.body
        if body == "slow":
            await release.wait()  # a model taking its time over one customer's question
            superseded[body] = event.superseded.is_set()
        handled.append(body)

    consumer = EventConsumer(
        one_partition,
        group_id=f"lanes-{uuid.uuid4().hex[:6]}",
        subscriptions=[on(WHATSAPP_INBOUND, handle)],
        producer=producer,
    )
    await consumer.start()
    try:
        # All on the one partition: ana's slow record first, then others' and ana's next.
        await producer.publish(inbound("slow", tenant, customer="ana"))
        await producer.publish(inbound("ben 1", tenant, customer="ben"))
        await producer.publish(inbound("ana 2", tenant, customer="ana"))
        await producer.publish(inbound("ben 2", tenant, customer="ben"))

        async def others_done() -> bool:
            return handled == ["ben 1", "ben 2"]

        await eventually(others_done, timeout_s=30)  # not blocked behind "slow"
        release.set()

        async def all_done() -> bool:
            return len(handled) == 4

        await eventually(all_done, timeout_s=30)
    finally:
        await consumer.stop()
    assert handled.index("slow") < handled.index("ana 2")  # one conversation stays in order
    assert superseded == {"slow": True}  # a newer message of ana's was waiting


async def test_a_redelivery_older_than_kafkas_retention_window_is_still_refused(
    settings, database
) -> None:
    from parley_platform.events.inbox import prune_inbox

    tenant = uuid.uuid4()
    # Processed 7.5 days ago: Kafka (7 days) may still redeliver it right up to now.
    event = ConsumedEvent(
        topic=WHATSAPP_INBOUND,
        envelope=inbound("old", tenant).envelope(),
        payload=InboundMessage(),
        key="k",
        partition=0,
        offset=0,
        attempt=1,
    )
    async with database.tenant_session(tenant) as session:
        assert await first_delivery(session, "retention-test", event)
        await session.execute(
            text(
                "UPDATE parley_inbox SET processed_at = now() - interval '7 days 12 hours' "
                "WHERE event_id = :e"
            ),
            {"e": event.event_id},
        )
    await prune_inbox(database, settings.inbox_retention_days)  # the runtime's one pruner
    async with database.tenant_session(tenant) as session:
        assert not await first_delivery(session, "retention-test", event)
