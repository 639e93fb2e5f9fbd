"""The conversation service under load, as the platform drives it: customer messages arrive
on `whatsapp.inbound.v1` (published here, as the gateway would), the service runs in a child
process (`python -m parley_conversation`, one consumer) against the test infrastructure with
a database of its own, and the AI requests it emits are read back from Kafka here.

    make bench BENCH_ARGS="conversation_pipeline latency --messages 1000 --rate 50"
    make bench BENCH_ARGS="conversation_pipeline drain --messages 5000 --conversations 500"

latency: inbound event published -> AiRequested read (p50/p99), at a steady rate, each
         message from one of `--conversations` customers.
drain:   a backlog of `--messages` inbound events for `--conversations` customers is
         published while the service is down; then it starts, and the time for its one
         consumer to commit past the backlog gives the events per second it sustains (the
         time for the last AI request to come out of the outbox is reported too).
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

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from parley.conversation.v1.events_pb2 import AiRequested
from parley.whatsapp.v1.events_pb2 import InboundMessage, Text
from parley_conversation.config import Settings
from parley_conversation.events.handlers import GROUP
from parley_devstack.services import prepare_database, service
from parley_platform.db.provision import drop
from parley_platform.events import (
    EventProducer,
    OutgoingEvent,
    conversation_key,
    derived_event_id,
    timestamp,
)
from parley_platform.events.admin import ensure_topics
from parley_platform.events.topics import ALL_TOPICS, CONVERSATION_AI_REQUESTED, WHATSAPP_INBOUND
from parley_testing.infrastructure import Infrastructure, test_infrastructure
from parley_testing.services import free_port, settings_env

from bench.stats import summary_ms


@asynccontextmanager
async def bench_settings(infra: Infrastructure, partitions: int) -> AsyncIterator[Settings]:
    """Settings of a conversation service with its own database and topics."""
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
            log_level="WARNING",
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


def cpu_seconds(child: subprocess.Popen[bytes]) -> float:
    """CPU time (user + system) the child has used so far (Linux /proc)."""
    fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


async def latency(messages: int, rate: float, conversations: int, partitions: int) -> None:
    with test_infrastructure() as infra, tempfile.TemporaryDirectory() as tmp:
        async with bench_settings(infra, partitions) as settings:
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
        f"messages at {rate:.0f}/s over {conversations} conversations"
    )
    print(f"  inbound published -> AiRequested read: {summary_ms(received)}")  # noqa: T201


async def committed(admin: AIOKafkaAdminClient, settings: Settings, topic: str) -> int:
    offsets = await admin.list_consumer_group_offsets(settings.topic_name(GROUP))
    return sum(o.offset for tp, o in offsets.items() if tp.topic == topic and o.offset > 0)


async def drain(messages: int, conversations: int, partitions: int) -> None:
    with test_infrastructure() as infra, tempfile.TemporaryDirectory() as tmp:
        async with bench_settings(infra, partitions) as settings:
            producer = EventProducer(settings, client_id="bench-gateway")
            await producer.start()
            tenant = uuid.uuid4()
            batch = 500
            for start in range(0, messages, batch):
                await producer.publish(
                    *(
                        inbound(settings, tenant, i % conversations, f"question {i}")
                        for i in range(start, min(messages, start + batch))
                    )
                )
            await producer.stop()
            reader = await ai_request_reader(settings)
            topic = settings.topic_name(WHATSAPP_INBOUND.name)
            admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
            await admin.start()
            launched = time.perf_counter()
            async with conversation_service(settings, Path(tmp) / "conversation.log") as child:
                first_commit = None
                first_count = 0
                cpu_at_first = 0.0
                while (done := await committed(admin, settings, topic)) < messages:
                    if first_commit is None and done:
                        first_commit, first_count = time.perf_counter(), done
                        cpu_at_first = cpu_seconds(child)
                    await asyncio.sleep(0.05)
                drained = time.perf_counter()
                cpu_per_event = (cpu_seconds(child) - cpu_at_first) / (messages - first_count)
                requests = 0
                while requests < messages:
                    got = await reader.getmany(timeout_ms=500)
                    requests += sum(len(r) for r in got.values())
                last_request = time.perf_counter()
            await admin.close()
            await reader.stop()
    assert first_commit is not None
    rate = (messages - first_count) / (drained - first_commit)
    print(  # noqa: T201
        f"conversation service (1 process, 1 consumer, {partitions} partitions): backlog of "
        f"{messages} customer messages over {conversations} conversations"
    )
    print(  # noqa: T201
        f"  consumed: {rate:.0f} events/s (first to last commit), "
        f"{drained - launched:.1f}s from process start to drained"
    )
    print(  # noqa: T201
        f"  all {messages} AI requests out of the outbox {last_request - launched:.1f}s "
        "after process start"
    )
    print(  # noqa: T201
        f"  service CPU per event: {cpu_per_event * 1000:.1f} ms (user + system, whole process)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=("latency", "drain"))
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="latency: messages per second")
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=3, help="of every topic")
    args = parser.parse_args(argv)
    if args.mode == "latency":
        asyncio.run(latency(args.messages, args.rate, args.conversations, args.partitions))
    else:
        asyncio.run(drain(args.messages, args.conversations, args.partitions))


if __name__ == "__main__":
    main()
