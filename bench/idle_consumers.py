"""What idle consumers cost: the Kafka broker's and the clients' CPU while `--consumers`
consumer groups (12 partitions each, like the platform's topics) wait for records that do not
come, at the answer path's pickup (`PROMPT`, 50 ms long polls) and at `BACKGROUND`'s (500 ms);
the baseline is the same broker with no consumer at all, measured in the same run.

    make bench BENCH_ARGS="idle_consumers --consumers 7 --seconds 20"

The platform runs seven consumer groups (conversation, its live feed, ai, knowledge's two,
whatsapp's two); their idle polling is paid by every deployment, busy or not, on the cores
that also carry the traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from parley_platform.events import BACKGROUND, PROMPT, Pickup
from parley_testing.infrastructure import disposable_kafka

from bench.infra import cpu_seconds, listening_pid, load_average

PARTITIONS = 12
SETTLE_S = 10.0  # groups join and settle before the measurement


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def measure(bootstrap: str, broker: int, seconds: float) -> tuple[float, float]:
    """The broker's and this process's CPU, in % of one core, over `seconds`."""
    broker_before, mine_before = cpu_seconds(broker), cpu_seconds(os.getpid())
    started = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    return (
        100 * (cpu_seconds(broker) - broker_before) / elapsed,
        100 * (cpu_seconds(os.getpid()) - mine_before) / elapsed,
    )


async def with_consumers(
    bootstrap: str, broker: int, topics: list[str], pickup: Pickup, seconds: float
) -> tuple[float, float]:
    """Start one idle group per topic with `pickup`'s settings (as EventConsumer sets them)
    and measure."""
    consumers = [
        AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"idle-{uuid.uuid4().hex[:8]}",
            enable_auto_commit=False,
            isolation_level="read_committed",
            fetch_max_wait_ms=pickup.fetch_wait_ms,
            fetch_min_bytes=pickup.fetch_min_bytes,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=3_000,
        )
        for topic in topics
    ]
    for consumer in consumers:
        await consumer.start()
    try:
        await asyncio.sleep(SETTLE_S)
        return await measure(bootstrap, broker, seconds)
    finally:
        for consumer in consumers:
            await consumer.stop()


async def run(consumers: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="parley-idle-") as folder:
        async with disposable_kafka(Path(folder)) as kafka:
            broker = listening_pid(int(kafka.bootstrap.rsplit(":", 1)[1]))
            assert broker is not None, "the broker's process was not found"
            admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
            await admin.start()
            topics = [f"idle-{i}" for i in range(consumers)]
            await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
            await admin.close()
            await asyncio.sleep(SETTLE_S)  # the broker's start-up work settles
            base_broker, _ = await measure(kafka.bootstrap, broker, seconds)
            say(f"idle consumers: {consumers} groups x {PARTITIONS} partitions, one broker")
            say(f"  baseline, no consumer: broker {base_broker:.1f} % of a core")
            for name, pickup in (("PROMPT", PROMPT), ("BACKGROUND", BACKGROUND)):
                broker_pct, clients_pct = await with_consumers(
                    kafka.bootstrap, broker, topics, pickup, seconds
                )
                extra = broker_pct - base_broker
                say(
                    f"  {name} ({pickup.fetch_wait_ms} ms long poll): broker {broker_pct:.1f} % "
                    f"(+{extra:.1f} over the baseline, x{broker_pct / max(base_broker, 0.1):.1f}),"
                    f" clients {clients_pct:.1f} % of a core; {load_average()}"
                )


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consumers", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    asyncio.run(run(args.consumers, args.seconds))


if __name__ == "__main__":
    main()
