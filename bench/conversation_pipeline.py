"""The conversation service under load, as the platform drives it: customer messages arrive
on `whatsapp.inbound.v1` (published here, as the gateway would), the service runs in a child
process (`python -m parley_conversation`, one consumer, log level INFO as in production) with
a database of its own, and the AI requests it emits are read back from Kafka here.

    make bench BENCH_ARGS="conversation_pipeline latency --messages 1000 --rate 50"
    make bench BENCH_ARGS="conversation_pipeline drain --messages 6000 --conversations 500"

latency: inbound event published -> AiRequested read (p50/p99), at a steady rate, each
         message from one of `--conversations` customers.
replies: one message from each of `--messages` customers, then the AI's answer to each, then
         the WhatsApp sender's outcome (sent, with a wamid) for each answer: each a backlog
         drained by the running service, CPU per event measured per kind of event (the
         inbound message, the AI reply, the send outcome), outbox relay included.
drain:   a backlog of `--messages` inbound events for `--conversations` customers is
         published while the service is down; then it starts, and the time for its one
         consumer to commit past the backlog gives the events per second it sustains, and
         the process's CPU time over that span the CPU per event (target: at most 4 ms, so
         at least 250 events/s per process). Baseline, same run and backlog: the platform
         consumer alone with a handler that does nothing (bench/consumers.py), in a child
         process of its own. `--profile` samples the service with py-spy during the drain.

PostgreSQL is a server of the benchmark's own with durable settings (fsync,
synchronous_commit, full_page_writes on) unless `--test-postgres`; every result says which.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from google.protobuf.message import Message
from parley.ai.v1.events_pb2 import AiReply, Answer
from parley.conversation.v1.events_pb2 import AiRequested
from parley.whatsapp.v1.events_pb2 import SEND_RESULT_SENT, InboundMessage, SendOutcome, Text
from parley_conversation.config import Settings
from parley_conversation.events.handlers import GROUP
from parley_devstack.services import prepare_database, service
from parley_platform.db import Database, driver
from parley_platform.db.provision import drop
from parley_platform.events import (
    EventProducer,
    OutgoingEvent,
    conversation_key,
    derived_event_id,
    timestamp,
)
from parley_platform.events.admin import ensure_topics
from parley_platform.events.topics import (
    AI_REPLY,
    ALL_TOPICS,
    CONVERSATION_AI_REQUESTED,
    WHATSAPP_INBOUND,
    WHATSAPP_OUTCOME,
    Topic,
)
from parley_testing.services import free_port, outbox_drained, settings_env

from bench import profile
from bench.consumers import BaselineConsumer
from bench.infra import (
    BenchInfrastructure,
    add_postgres_option,
    bench_infrastructure,
    cpu_seconds,
    load_average,
    met,
)
from bench.stats import summary_ms

TARGET_CPU_PER_EVENT_S = 0.004
P = TypeVar("P", bound=Message)


@asynccontextmanager
async def bench_settings(bench: BenchInfrastructure, partitions: int) -> AsyncIterator[Settings]:
    """Settings of a conversation service with its own database and topics."""
    infra = bench.infra
    spec = service("conversation")
    database = spec.database(
        host=infra.postgres_host,
        port=infra.postgres_port,
        passwords={"owner": secrets.token_urlsafe(16), "app": secrets.token_urlsafe(16)},
        suffix=f"_bench{uuid.uuid4().hex[:8]}",
    )
    await prepare_database(infra.postgres_admin_dsn, spec, database)
    try:
        settings = Settings(
            kafka_bootstrap=infra.kafka_bootstrap,
            kafka_topic_prefix=f"bench-{uuid.uuid4().hex[:6]}.",
            kafka_partitions=partitions,
            database_url=database.app_url(),
            redis_url=infra.redis_url,
            http_port=free_port(),
            log_level="INFO",  # as in production
        )
        await ensure_topics(settings, [t.name for t in ALL_TOPICS])
        yield settings
    finally:
        await drop(infra.postgres_admin_dsn, database)


def spawn_service(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """Start the service in a child process (output to `log`)."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "parley_conversation"],
            env={**os.environ, **settings_env(settings)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@asynccontextmanager
async def conversation_service(
    settings: Settings, log: Path
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """The service in a child process, until the block ends."""
    child = spawn_service(settings, log)
    try:
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 60
            while True:
                if child.poll() is not None:
                    raise SystemExit(f"the service exited; see {log}")
                with contextlib.suppress(httpx.TransportError):
                    health = await client.get(f"http://127.0.0.1:{settings.http_port}/healthz")
                    if health.is_success:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit(f"the service did not start; see {log}")
                await asyncio.sleep(0.1)
        yield child
    finally:
        child.terminate()
        await asyncio.to_thread(child.wait, 60)


def inbound(settings: Settings, tenant: uuid.UUID, customer: int, body: str) -> OutgoingEvent:
    """A customer's text message as the gateway publishes it."""
    wa_id = f"4477{customer:08d}"
    wamid = f"wamid.bench.{uuid.uuid4().hex}"
    message = InboundMessage(
        channel_id="bench-channel",
        phone_number_id="bench-phone",
        wamid=wamid,
        from_wa_id=wa_id,
        contact_wa_id=wa_id,
        profile_name=f"Customer {customer}",
        sent_at=timestamp(),
        type="text",
        text=Text(body=body),
    )
    return OutgoingEvent(
        topic=WHATSAPP_INBOUND,
        key=conversation_key(tenant, wa_id),
        payload=message,
        tenant_id=tenant,
        event_id=derived_event_id(str(tenant), wamid),
    )


async def ai_request_reader(settings: Settings) -> AIOKafkaConsumer:
    """A reader of the AI requests, positioned at the end of the topic."""
    topic = settings.topic_name(CONVERSATION_AI_REQUESTED.name)
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False
    )
    await reader.start()
    partitions = [TopicPartition(topic, p) for p in range(settings.kafka_partitions)]
    reader.assign(partitions)
    await reader.seek_to_end(*partitions)
    for tp in partitions:
        await reader.position(tp)
    return reader


async def latency(
    messages: int, rate: float, conversations: int, partitions: int, durable: bool
) -> None:
    """Inbound published -> AI request read, at a steady rate."""
    async with (
        bench_infrastructure(durable=durable) as bench,
        bench_settings(bench, partitions) as settings,
    ):
        with tempfile.TemporaryDirectory() as tmp:
            producer = EventProducer(settings, client_id="bench-gateway")
            await producer.start()
            reader = await ai_request_reader(settings)
            tenant = uuid.uuid4()
            async with conversation_service(settings, Path(tmp) / "conversation.log"):
                # Warm up: the first answer also waits for the consumer group to form.
                await producer.publish(inbound(settings, tenant, 0, "warm up"))
                await reader.getone()
                received: list[float] = []

                async def read() -> None:
                    while len(received) < messages:
                        batch = await reader.getmany(timeout_ms=200)
                        now = time.time()
                        for records in batch.values():
                            for record in records:
                                text = AiRequested.FromString(record.value).customer_text
                                received.append(now - float(text))

                reading = asyncio.create_task(read())
                started = time.perf_counter()
                for i in range(messages):
                    due = started + i / rate
                    if (delay := due - time.perf_counter()) > 0:
                        await asyncio.sleep(delay)
                    await producer.publish(
                        inbound(settings, tenant, i % conversations, repr(time.time()))
                    )
                await asyncio.wait_for(reading, timeout=300)
            await reader.stop()
            await producer.stop()
    print(  # noqa: T201
        f"conversation service (1 process, {partitions} partitions), {messages} customer "
        f"messages at {rate:.0f}/s over {conversations} conversations; {bench.describe()}; "
        f"{load_average()}"
    )
    print(f"  inbound published -> AiRequested read: {summary_ms(received)}")  # noqa: T201


async def committed(admin: AIOKafkaAdminClient, group: str, topic: str) -> int:
    """Records of `topic` the consumer group `group` (full name) committed past."""
    offsets = await admin.list_consumer_group_offsets(group)
    return sum(o.offset for tp, o in offsets.items() if tp.topic == topic and o.offset > 0)


async def publish_backlog(
    settings: Settings, tenant: uuid.UUID, messages: int, conversations: int
) -> None:
    producer = EventProducer(settings, client_id="bench-gateway")
    await producer.start()
    batch = 500
    for start in range(0, messages, batch):
        await producer.publish(
            *(
                inbound(settings, tenant, i % conversations, f"question {i}")
                for i in range(start, min(messages, start + batch))
            )
        )
    await producer.stop()


async def drain(
    messages: int, conversations: int, partitions: int, durable: bool, profile_to: Path | None
) -> None:
    """A backlog drained by one service process, against the consumer alone."""
    async with (
        bench_infrastructure(durable=durable) as bench,
        bench_settings(bench, partitions) as settings,
    ):
        with tempfile.TemporaryDirectory() as tmp:
            tenant = uuid.uuid4()
            await publish_backlog(settings, tenant, messages, conversations)
            # Baseline: the platform consumer alone drains the same backlog (its own group).
            baseline = await BaselineConsumer.start(
                "platform",
                bootstrap=settings.kafka_bootstrap,
                topic_prefix=settings.kafka_topic_prefix,
                count=messages,
                group="bench-baseline",
            )
            alone = await baseline.result()
            load_during_baseline = load_average()
            reader = await ai_request_reader(settings)
            topic = settings.topic_name(WHATSAPP_INBOUND.name)
            admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
            await admin.start()
            launched = time.perf_counter()
            log = Path(tmp) / "conversation.log"
            profiled: profile.Profile | None = None
            async with conversation_service(settings, log) as child:
                first_commit = None
                first_count = 0
                cpu_at_first = 0.0
                profiling: asyncio.Task[profile.Profile | None] | None = None
                while (
                    done := await committed(admin, settings.topic_name(GROUP), topic)
                ) < messages:
                    if first_commit is None and done:
                        first_commit, first_count = time.perf_counter(), done
                        cpu_at_first = cpu_seconds(child.pid)
                        if profile_to is not None:
                            # Most of the drain, from its first commit (start-up excluded).
                            seconds = max(3.0, 0.6 * (messages - done) / 250)
                            profiling = asyncio.create_task(
                                profile.record(child.pid, seconds, profile_to)
                            )
                    await asyncio.sleep(0.05)
                drained = time.perf_counter()
                cpu_per_event = (cpu_seconds(child.pid) - cpu_at_first) / (messages - first_count)
                load_during_drain = load_average()
                if profiling is not None:
                    profiled = await profiling
                requests = 0
                while requests < messages:
                    got = await reader.getmany(timeout_ms=500)
                    requests += sum(len(r) for r in got.values())
                last_request = time.perf_counter()
            await admin.close()
            await reader.stop()
    assert first_commit is not None
    rate = (messages - first_count) / (drained - first_commit)
    base_rate = alone["records"] / alone["wall_s"]
    base_cpu = alone["cpu_s"] / alone["records"]
    out = [
        f"conversation service (1 process, 1 consumer, {partitions} partitions): backlog of "
        f"{messages} customer messages over {conversations} conversations; log level INFO; "
        f"{bench.describe()}",
        f"  consumed: {rate:.0f} events/s (first to last commit), "
        f"{drained - launched:.1f}s from process start to drained; {load_during_drain}",
        f"  all {messages} AI requests out of the outbox {last_request - launched:.1f}s "
        "after process start",
        f"  service CPU per event: {cpu_per_event * 1000:.2f} ms (user + system, whole process)",
        f"  baseline, the platform consumer alone (no-op handler), same backlog: "
        f"{base_rate:.0f} events/s, {base_cpu * 1000:.2f} ms CPU per event; {load_during_baseline}",
        f"  ratio service / consumer alone: CPU per event x{cpu_per_event / base_cpu:.1f}, "
        f"throughput x{rate / base_rate:.2f}",
        f"  target <= {TARGET_CPU_PER_EVENT_S * 1000:.0f} ms CPU per event (>= "
        f"{1 / TARGET_CPU_PER_EVENT_S:.0f} events/s per process): "
        f"{met(cpu_per_event <= TARGET_CPU_PER_EVENT_S)}"
        + ("" if bench.durable else " (not a durable-settings figure)"),
    ]
    if profiled is not None:
        out.append(f"  py-spy profile of the service during the drain ({profile_to}):")
        out.append("    " + profiled.report(12).replace("\n", "\n    "))
    sys.stdout.write("\n".join(out) + "\n")


async def cpu_per_event(
    admin: AIOKafkaAdminClient,
    settings: Settings,
    events: list[OutgoingEvent],
    pid: int,
) -> float:
    """Publish `events` (all on one topic) to the running service and return its CPU
    seconds per event, from before the first is published until its group committed past
    the last and its outbox relay published what they wrote (the idle work of that span
    counts too, as in production)."""
    name = settings.topic_name(events[0].topic.name)
    group = settings.topic_name(GROUP)
    start = await committed(admin, group, name)
    cpu_before = cpu_seconds(pid)
    producer = EventProducer(settings, client_id="bench-edges")
    await producer.start()
    try:
        for first in range(0, len(events), 500):
            await producer.publish(*events[first : first + 500])
    finally:
        await producer.stop()
    while True:  # polled: the group's commits are the broker's to report
        if await committed(admin, group, name) >= start + len(events) and await outbox_drained(
            settings
        ):
            break
        await asyncio.sleep(0.05)
    return (cpu_seconds(pid) - cpu_before) / len(events)


# What the bench reads back from the service's database (as the app role, in the tenant's
# transaction): the AI request in flight of each conversation, then each AI answer to send.
_ASKED = """
    SELECT c.id, c.customer_key, c.ai_request_id, c.ai_request_message_id FROM conversations c
     WHERE c.ai_request_id IS NOT NULL
"""
_ANSWERS = """
    SELECT m.id, m.conversation_id, c.customer_key, c.channel_id FROM messages m
      JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id
     WHERE m.author = 'ai' AND m.status = 'pending'
"""


def answered(tenant: uuid.UUID, asked: asyncpg.Record) -> OutgoingEvent:
    """The AI's answer to the request in flight of a conversation (a row of `_ASKED`)."""
    reply = AiReply(
        request_id=str(asked["ai_request_id"]),
        conversation_id=str(asked["id"]),
        message_id=str(asked["ai_request_message_id"]),
        answer=Answer(text="Yes, we open at nine every weekday."),
    )
    return edge_event(AI_REPLY, tenant, asked["customer_key"], reply, "reply", str(asked["id"]))


def sent(tenant: uuid.UUID, answer: asyncpg.Record) -> OutgoingEvent:
    """The sender's outcome for an AI answer (a row of `_ANSWERS`): sent, with its wamid."""
    outcome = SendOutcome(
        message_id=str(answer["id"]),
        conversation_id=str(answer["conversation_id"]),
        channel_id=answer["channel_id"],
        result=SEND_RESULT_SENT,
        wamids=[f"wamid.bench.out.{answer['id']}"],
        attempts=1,
        at=timestamp(),
    )
    return edge_event(
        WHATSAPP_OUTCOME, tenant, answer["customer_key"], outcome, "outcome", str(answer["id"])
    )


def edge_event(
    topic: Topic[P], tenant: uuid.UUID, customer_key: str, payload: P, *natural_key: str
) -> OutgoingEvent:
    """An event about a customer's conversation as another service publishes it."""
    return OutgoingEvent(
        topic=topic,
        key=conversation_key(tenant, customer_key),
        payload=payload,
        tenant_id=tenant,
        event_id=derived_event_id(str(tenant), *natural_key),
    )


async def replies(customers: int, partitions: int, durable: bool) -> None:
    """CPU per event of each kind on a customer message's path: the inbound message, the
    AI's answer, the sender's outcome."""
    async with (
        bench_infrastructure(durable=durable) as bench,
        bench_settings(bench, partitions) as settings,
    ):
        with tempfile.TemporaryDirectory() as tmp:
            tenant = uuid.uuid4()
            assert settings.database_url is not None  # bench_settings sets it
            database = Database(settings.database_url.get_secret_value(), instrument=False)
            admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
            await admin.start()
            cpu: dict[str, float] = {}
            async with conversation_service(settings, Path(tmp) / "conversation.log") as child:
                # 1. one message from each customer
                cpu["inbound message"] = await cpu_per_event(
                    admin,
                    settings,
                    [inbound(settings, tenant, i, f"question {i}") for i in range(customers)],
                    child.pid,
                )
                # 2. the AI answers each; 3. the sender reports each answer sent
                for kind, rows, event_of in (
                    ("AI reply", _ASKED, answered),
                    ("send outcome", _ANSWERS, sent),
                ):
                    async with database.tenant_transaction(tenant) as transaction:
                        found = await driver.fetch_all(transaction, rows)
                    if len(found) != customers:
                        raise SystemExit(
                            f"expected {customers} rows for {kind}s, found {len(found)}"
                        )
                    events = [event_of(tenant, row) for row in found]
                    cpu[kind] = await cpu_per_event(admin, settings, events, child.pid)
            await admin.close()
            await database.dispose()
    out = [
        f"conversation service (1 process, 1 consumer, {partitions} partitions): "
        f"{customers} customers, one message each, its AI answer and the answer's send "
        f"outcome, each kind published as one batch; log level INFO; {bench.describe()}; "
        f"{load_average()}",
        *(
            f"  CPU per {kind}: {seconds * 1000:.2f} ms (whole process, outbox relay included)"
            for kind, seconds in cpu.items()
        ),
        f"  CPU per customer message (the three events): {sum(cpu.values()) * 1000:.2f} ms",
    ]
    sys.stdout.write("\n".join(out) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=("latency", "drain", "replies"))
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="latency: messages per second")
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=3, help="of every topic")
    add_postgres_option(parser)
    parser.add_argument("--profile", type=Path, help="drain: write a raw py-spy profile here")
    args = parser.parse_args(argv)
    durable = not args.test_postgres
    if args.mode == "replies":
        asyncio.run(replies(args.messages, args.partitions, durable))
    elif args.mode == "latency":
        asyncio.run(latency(args.messages, args.rate, args.conversations, args.partitions, durable))
    else:
        asyncio.run(
            drain(args.messages, args.conversations, args.partitions, durable, args.profile)
        )


if __name__ == "__main__":
    main()
