"""Kafka round trip: publish with Parley's producer (idempotent, acks=all) in this process,
consume in another process; report p50/p99 of send-to-handler time, for Parley's consumer
and, as the baseline in the same run, a bare aiokafka consumer (bench/consumers.py) reading
the same kind of traffic at the same rate. A third run gives one conversation of the 50 a
handler that takes 0.5 s per record (an LLM) while it gets 4 records/s: with per-key lanes
the other conversations' round trips must stay as they were, although they share a
partition with the slow one.

    make bench BENCH_ARGS="kafka_roundtrip --messages 2000 --rate 200"
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from parley.whatsapp.v1.events_pb2 import InboundMessage, Text
from parley_platform.events import EventProducer, OutgoingEvent, conversation_key
from parley_platform.events.admin import ensure_topics
from parley_platform.events.topics import WHATSAPP_INBOUND
from parley_testing.infrastructure import test_infrastructure

from bench.consumers import SLOW_HANDLER_S, SLOW_KEY_SUFFIX, BaselineConsumer, BenchSettings
from bench.infra import load_average
from bench.stats import percentile, summary_ms


async def one_kind(
    kind: str, bootstrap: str, messages: int, rate: float, *, slow_share: int = 0
) -> tuple[list[float], list[float]]:
    """Publish `messages` at `rate` to fresh topics read by a `kind` consumer; returns the
    publish latencies and the round trips (seconds)."""
    prefix = f"bench-{uuid.uuid4().hex[:6]}."
    settings = BenchSettings(
        kafka_bootstrap=bootstrap, kafka_topic_prefix=prefix, kafka_partitions=3
    )
    await ensure_topics(settings, [WHATSAPP_INBOUND.name])
    consumer = await BaselineConsumer.start(
        kind, bootstrap=bootstrap, topic_prefix=prefix, count=messages, group="bench-roundtrip"
    )
    producer = EventProducer(settings)
    await producer.start()
    acks: list[float] = []
    tenant = uuid.uuid4()
    started = time.perf_counter()
    for i in range(messages):
        target = started + i / rate
        if (delay := target - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        t0 = time.perf_counter()
        await producer.publish(
            OutgoingEvent(
                topic=WHATSAPP_INBOUND,
                key=conversation_key(tenant, f"c{i % 50}")
                + (SLOW_KEY_SUFFIX if slow_share and i % slow_share == 0 else ""),
                payload=InboundMessage(type="text", text=Text(body=repr(time.time()))),
                tenant_id=tenant,
            )
        )
        acks.append(time.perf_counter() - t0)
    await producer.stop()
    return acks, (await consumer.result())["latencies"]


async def run(messages: int, rate: float) -> None:
    with test_infrastructure() as infra:
        ours_acks, ours = await one_kind("platform", infra.kafka_bootstrap, messages, rate)
        _, bare = await one_kind("bare", infra.kafka_bootstrap, messages, rate)
        _, beside_slow = await one_kind(
            "platform", infra.kafka_bootstrap, messages, rate, slow_share=50
        )
    print(  # noqa: T201
        f"Kafka {infra.source}, {messages} messages at {rate:.0f}/s, 3 partitions, 50 keys; "
        f"{load_average()}"
    )
    print(f"  publish (acks=all, idempotent): {summary_ms(ours_acks)}")  # noqa: T201
    print(f"  round trip, Parley's consumer:  {summary_ms(ours)}")  # noqa: T201
    print(f"  round trip, bare aiokafka (baseline): {summary_ms(bare)}")  # noqa: T201
    print(  # noqa: T201
        f"  ratio ours / bare: p50 x{percentile(ours, 50) / percentile(bare, 50):.2f}, "
        f"p99 x{percentile(ours, 99) / percentile(bare, 99):.2f}"
    )
    print(  # noqa: T201
        f"  round trip, Parley's consumer, the 49 other conversations while one takes "
        f"{SLOW_HANDLER_S:.1f} s per record: {summary_ms(beside_slow)}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second")
    args = parser.parse_args(argv)
    asyncio.run(run(args.messages, args.rate))


if __name__ == "__main__":
    main()
