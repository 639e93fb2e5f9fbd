"""Kafka round trip: publish with Parley's producer (idempotent, acks=all) in this process,
consume with Parley's consumer in another process; report p50/p99 of send-to-handler time.

    make bench BENCH_ARGS="kafka_roundtrip --messages 2000 --rate 200"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from typing import ClassVar

from parley.whatsapp.v1.events_pb2 import InboundMessage, Text
from parley_platform.events import EventProducer, OutgoingEvent, conversation_key, on
from parley_platform.events.admin import ensure_topics
from parley_platform.events.topics import WHATSAPP_INBOUND
from parley_platform.settings import ServiceSettings, service_config
from parley_testing.infrastructure import test_infrastructure

from bench.stats import summary_ms


class BenchSettings(ServiceSettings):
    model_config = service_config("bench")
    service_name: ClassVar[str] = "bench"


async def consume(count: int) -> None:
    """Child process: consume `count` events, print each send-to-handler latency as JSON."""
    from parley_platform.events import ConsumedEvent, EventConsumer

    settings = BenchSettings()
    producer = EventProducer(settings)
    await producer.start()
    latencies: list[float] = []
    done = asyncio.Event()

    async def handle(event: ConsumedEvent) -> None:
        sent_at = float(event.payload.text.body)
        latencies.append(time.time() - sent_at)
        if len(latencies) >= count:
            done.set()

    consumer = EventConsumer(
        settings,
        group_id="bench-roundtrip",
        subscriptions=[on(WHATSAPP_INBOUND, handle)],
        producer=producer,
    )
    await consumer.start()
    await consumer.wait_until_assigned()
    print("ready", flush=True)  # noqa: T201
    await asyncio.wait_for(done.wait(), timeout=600)
    await consumer.stop()
    await producer.stop()
    print(json.dumps(latencies), flush=True)  # noqa: T201


async def run(messages: int, rate: float) -> None:
    with test_infrastructure() as infra:
        prefix = f"bench-{uuid.uuid4().hex[:6]}."
        settings = BenchSettings(
            kafka_bootstrap=infra.kafka_bootstrap, kafka_topic_prefix=prefix, kafka_partitions=3
        )
        await ensure_topics(settings, [WHATSAPP_INBOUND.name])
        env = {
            **os.environ,
            "PARLEY_BENCH_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
            "PARLEY_BENCH_KAFKA_TOPIC_PREFIX": prefix,
            "PARLEY_BENCH_LOG_LEVEL": "WARNING",
        }
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.kafka_roundtrip",
            "--consume",
            str(messages),
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        assert child.stdout is not None
        assert (await child.stdout.readline()).decode().strip() == "ready"
        producer = EventProducer(settings)
        await producer.start()
        acks: list[float] = []
        tenant = uuid.uuid4()
        interval = 1 / rate
        started = time.perf_counter()
        for i in range(messages):
            target = started + i * interval
            if (delay := target - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            t0 = time.perf_counter()
            await producer.publish(
                OutgoingEvent(
                    topic=WHATSAPP_INBOUND,
                    key=conversation_key(tenant, f"c{i % 50}"),
                    payload=InboundMessage(type="text", text=Text(body=repr(time.time()))),
                    tenant_id=tenant,
                )
            )
            acks.append(time.perf_counter() - t0)
        await producer.stop()
        out, _ = await asyncio.wait_for(child.communicate(), timeout=600)
        roundtrips = json.loads(out.decode().strip().splitlines()[-1])
        print(f"Kafka {infra.source}, {messages} messages at {rate:.0f}/s, 3 partitions, 50 keys")  # noqa: T201
        print(f"  publish (acks=all, idempotent) : {summary_ms(acks)}")  # noqa: T201
        print(f"  round trip (publish -> handler in another process): {summary_ms(roundtrips)}")  # noqa: T201


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second")
    parser.add_argument("--consume", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.consume:
        asyncio.run(consume(args.consume))
    else:
        asyncio.run(run(args.messages, args.rate))


if __name__ == "__main__":
    main()
