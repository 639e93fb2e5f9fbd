"""Baseline consumers for the benchmarks, each run as a child process of its own:

- `platform`: Parley's `EventConsumer` (lanes, envelope decoding, consumer span, offset
  commits) with a handler that does nothing but note the record;
- `bare`: a plain aiokafka consumer (`getmany`, manual commit after each batch), what the
  platform's consumer is built on.

Both read `whatsapp.inbound.v1` of the given topic prefix until `--count` records arrived,
then print one JSON line: send-to-handler latencies (the payload's text carries the send time
when the producer put it there), and the CPU time and wall time from the first record to the
last. Used by `kafka_roundtrip` (ours against bare) and `conversation_pipeline drain` (the
service against the consumer alone).

    python -m bench.consumers platform --count 6000   # settings from PARLEY_BENCH_*
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any, ClassVar

from aiokafka import AIOKafkaConsumer
from parley.whatsapp.v1.events_pb2 import InboundMessage
from parley_platform.events import ConsumedEvent, EventConsumer, EventProducer, on
from parley_platform.events.topics import WHATSAPP_INBOUND
from parley_platform.settings import ServiceSettings, service_config


class BenchSettings(ServiceSettings):
    """Settings of the benchmarks' own clients (`PARLEY_BENCH_*`)."""

    model_config = service_config("bench")
    service_name: ClassVar[str] = "bench"


# Records whose key ends so are handled slowly (platform kind): the others' latency shows
# whether they waited for them.
SLOW_KEY_SUFFIX = ":slow"
SLOW_HANDLER_S = 0.5


class Tally:
    """Records seen, their latencies, and CPU/wall time from the first to the last."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.latencies: list[float] = []
        self.seen = 0
        self.first_cpu = self.first_wall = 0.0
        self.done = asyncio.Event()

    def note(self, value: bytes | None) -> None:
        if self.seen == 0:
            self.first_cpu, self.first_wall = time.process_time(), time.perf_counter()
        self.seen += 1
        text = InboundMessage.FromString(value or b"").text.body
        try:
            self.latencies.append(time.time() - float(text))
        except ValueError:
            pass  # a payload without a send time (a drain backlog)
        if self.seen >= self.count:
            self.done.set()

    def skip(self) -> None:
        """A record that counts towards the total but has no latency to note."""
        self.seen += 1
        if self.seen >= self.count:
            self.done.set()

    def result(self) -> str:
        return json.dumps(
            {
                "latencies": self.latencies,
                "records": self.seen,
                "cpu_s": time.process_time() - self.first_cpu,
                "wall_s": time.perf_counter() - self.first_wall,
            }
        )


async def platform(settings: BenchSettings, group: str, tally: Tally) -> None:
    """Parley's consumer with a handler that only notes the record."""
    producer = EventProducer(settings)  # dead letters only; none expected
    await producer.start()

    async def handle(event: ConsumedEvent[InboundMessage]) -> None:
        if event.key.endswith(SLOW_KEY_SUFFIX):
            await asyncio.sleep(SLOW_HANDLER_S)  # one conversation's slow handler (an LLM)
            tally.skip()
            return
        tally.note(event.payload.SerializeToString())

    consumer = EventConsumer(
        settings, group_id=group, subscriptions=[on(WHATSAPP_INBOUND, handle)], producer=producer
    )
    await consumer.start()
    await consumer.wait_until_assigned()
    print("ready", flush=True)  # noqa: T201
    await asyncio.wait_for(tally.done.wait(), timeout=900)
    await consumer.stop()
    await producer.stop()


async def bare(settings: BenchSettings, group: str, tally: Tally) -> None:
    """aiokafka alone: fetch a batch, note each record, commit the batch."""
    consumer = AIOKafkaConsumer(
        settings.topic_name(WHATSAPP_INBOUND.name),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.topic_name(group),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    while not consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no event for it
        await asyncio.sleep(0.05)
    print("ready", flush=True)  # noqa: T201
    try:
        while not tally.done.is_set():
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    tally.note(record.value)
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()


class BaselineConsumer:
    """A baseline consumer in a child process (parent side)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @classmethod
    async def start(
        cls, kind: str, *, bootstrap: str, topic_prefix: str, count: int, group: str
    ) -> BaselineConsumer:
        """Start one and wait until the group gave it its partitions."""
        env = {
            **os.environ,
            "PARLEY_BENCH_KAFKA_BOOTSTRAP": bootstrap,
            "PARLEY_BENCH_KAFKA_TOPIC_PREFIX": topic_prefix,
            "PARLEY_BENCH_LOG_LEVEL": "INFO",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.consumers",
            kind,
            "--count",
            str(count),
            "--group",
            group,
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        if (await process.stdout.readline()).decode().strip() != "ready":
            raise SystemExit(f"the {kind} baseline consumer did not start")
        return cls(process)

    async def result(self, timeout_s: float = 900) -> dict[str, Any]:
        """Its JSON result, once it has seen every record."""
        out, _ = await asyncio.wait_for(self._process.communicate(), timeout=timeout_s)
        result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (a child process of a benchmark)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("platform", "bare"))
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--group", default="bench-baseline")
    args = parser.parse_args(argv)
    settings = BenchSettings()
    tally = Tally(args.count)
    run = platform if args.kind == "platform" else bare
    asyncio.run(run(settings, args.group, tally))
    sys.stdout.write(tally.result() + "\n")


if __name__ == "__main__":
    main()
