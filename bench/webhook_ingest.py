"""Webhook ingest: the gateway's POST /webhooks/whatsapp with durable publishing (acks=all)
against the same endpoint with publishing switched off, in one run.

Variants, all in one run: one gateway worker with publishing off (the baseline), one worker
publishing, and `--workers` workers publishing (separate processes; the gateway keeps no state,
so replicas behind a load balancer scale it: the load generator spreads its connections over
them as an L4 balancer would). They resolve the channel through a real auth process, on a
Kafka node of the benchmark's own. Each request is one signed notification carrying one text
message with a fresh wamid. Fixed-rate phases send on a schedule (open loop: latency is
measured from the scheduled send time, so queueing inside the gateway counts); a saturation
phase (closed loop, 32 connections) gives the most requests per second each variant serves:
the one-worker publish figure is the per-worker ceiling. Any answer but 200 is an error,
never counted as served.

    make bench BENCH_ARGS="webhook_ingest --rates 500 1000 --seconds 10 --workers 2"

Targets: p99 < 25 ms at 1,000 webhooks/s; publishing keeps >= 70 % of the no-publish
throughput. The load generator is a small raw-HTTP/1.1 client in this process: it shares the
machine's two cores with the gateways, Kafka and auth, which the figures include.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

import uvloop
from parley_devstack.seeding import WhatsAppNumber
from parley_sandbox import meta

from bench.infra import load_average, met
from bench.stats import percentile
from bench.whatsapp_stack import bench_stack

TARGET_RATE = 1000.0
TARGET_P99_S = 0.025
TARGET_PUBLISH_SHARE = 0.70

APP_SECRET = "bench-platform-app-secret-0123456789"  # noqa: S105 - the benchmark's own


@dataclass
class PhaseResult:
    """What one phase measured."""

    label: str
    offered: float | None
    completed: int
    errors: int
    seconds: float
    latencies_s: list[float]

    @property
    def served_per_s(self) -> float:
        """2xx answers per second (errors are not served)."""
        return (self.completed - self.errors) / self.seconds

    @property
    def p99_s(self) -> float:
        return percentile(self.latencies_s, 99) if self.latencies_s else float("nan")

    def line(self) -> str:
        """One printed line of results."""
        ms = [v * 1000 for v in self.latencies_s] or [float("nan")]
        offered = f"{self.offered:>6.0f}/s" if self.offered else "   max  "
        return (
            f"  {self.label:<13} offered {offered}  served {self.served_per_s:7.1f}/s  "
            f"p50 {percentile(ms, 50):6.2f} ms  p99 {percentile(ms, 99):7.2f} ms  "
            f"errors {self.errors}  ({load_average()})"
        )


def signed_requests(number: WhatsAppNumber, count: int) -> list[bytes]:
    """`count` complete HTTP requests, each a signed notification with a new wamid."""
    requests = []
    for i in range(count):
        payload = meta.notification(
            number.waba_id,
            number.phone_number_id,
            number.display_phone_number,
            messages=[meta.message(f"44770090{i % 5000:04d}", "text", {"body": f"Hi {i}"})],
            contacts=[meta.contact(f"44770090{i % 5000:04d}", "Bench Customer")],
        )
        body = meta.encode_like_meta(payload)
        head = (
            "POST /webhooks/whatsapp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\n"
            f"X-Hub-Signature-256: {meta.signature(APP_SECRET, body)}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    return requests


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def fixed_rate(
    ports: list[int], requests: list[bytes], rate: float, label: str, connections: int = 64
) -> PhaseResult:
    """Send `requests` at `rate` per second; latency from each request's scheduled time."""
    queue: asyncio.Queue[tuple[bytes, float] | None] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def connection(port: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (item := await queue.get()) is not None:
                request, scheduled = item
                status = await _exchange(reader, writer, request)
                latencies.append(time.perf_counter() - scheduled)
                errors += status != 200
        finally:
            writer.close()

    workers = [asyncio.create_task(connection(ports[i % len(ports)])) for i in range(connections)]
    await asyncio.sleep(0.2)  # connections open
    started = time.perf_counter()
    for i, request in enumerate(requests):
        scheduled = started + i / rate
        if (delay := scheduled - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((request, scheduled))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - started
    return PhaseResult(label, rate, len(latencies), errors, elapsed, latencies)


async def saturate(
    ports: list[int], requests: list[bytes], seconds: float, label: str, connections: int = 32
) -> PhaseResult:
    """Closed loop: every connection sends its next request as soon as the last is answered."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def connection(port: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop_at:
                request = requests[next(counter) % len(requests)]
                sent = time.perf_counter()
                status = await _exchange(reader, writer, request)
                latencies.append(time.perf_counter() - sent)
                errors += status != 200
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(ports[i % len(ports)]) for i in range(connections)))
    return PhaseResult(
        label, None, len(latencies), errors, time.perf_counter() - started, latencies
    )


async def run(
    rates: list[float], seconds: float, warmup_s: float, fresh_kafka: bool, workers: int
) -> None:
    """Start the stack and run every phase."""
    async with bench_stack(fresh_kafka) as stack:
        auth = await stack.start_auth()
        number = (await stack.new_tenant_with_channel(auth)).number
        variants = {"no-publish": ("false", 1), "publish": ("true", 1)}
        if workers > 1:
            variants[f"publish x{workers}"] = ("true", workers)
        gateways: dict[str, list[int]] = {}
        for label, (publish, count) in variants.items():
            env = {
                **stack.common_env("gateway"),
                "PARLEY_GATEWAY_AUTH_GRPC_TARGET": f"127.0.0.1:{auth.grpc_port}",
                "PARLEY_GATEWAY_AUTH_HTTP_URL": f"http://127.0.0.1:{auth.http_port}",
                "PARLEY_GATEWAY_WHATSAPP_APP_SECRET": APP_SECRET,
                "PARLEY_GATEWAY_WEBHOOK_PUBLISH_EVENTS": publish,
            }
            gateways[label] = [
                (await stack.start("gateway", "parley_gateway", env)).http_port
                for _ in range(count)
            ]
        print(  # noqa: T201
            f"webhook ingest, {'own' if fresh_kafka else 'shared test'} Kafka node, gateway "
            f"workers per variant: {', '.join(f'{k} {len(v)}' for k, v in gateways.items())}; "
            f"{seconds:.0f} s per phase after {warmup_s:.0f} s warm-up; {stack.bench.describe()}"
        )
        for label, ports in gateways.items():  # warm caches and connections
            await fixed_rate(ports, signed_requests(number, int(200 * warmup_s)), 200, label)
        at_target: dict[str, PhaseResult] = {}
        for rate in rates:
            for label, ports in gateways.items():
                requests = signed_requests(number, int(rate * seconds))
                result = await fixed_rate(ports, requests, rate, label)
                print(result.line())  # noqa: T201
                if rate == TARGET_RATE:
                    at_target[label] = result
        ceilings = {}
        for label, ports in gateways.items():
            result = await saturate(ports, signed_requests(number, 5000), seconds, label)
            ceilings[label] = result.served_per_s
            print(result.line())  # noqa: T201
    share = ceilings["publish"] / ceilings["no-publish"]
    print(  # noqa: T201
        f"  per-worker ceiling (one worker, publishing, closed loop): {ceilings['publish']:.0f}/s"
        f"; baseline no-publish {ceilings['no-publish']:.0f}/s; ratio {share:.0%} "
        f"(target >= {TARGET_PUBLISH_SHARE:.0%}: {met(share >= TARGET_PUBLISH_SHARE)})"
    )
    for label, result in at_target.items():
        if label == "no-publish":
            continue
        ok = result.p99_s < TARGET_P99_S and result.errors == 0
        print(  # noqa: T201
            f"  {label}: p99 {result.p99_s * 1000:.1f} ms at {TARGET_RATE:.0f}/s, errors "
            f"{result.errors} (target p99 < {TARGET_P99_S * 1000:.0f} ms, no errors: {met(ok)})"
        )


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", type=float, nargs="+", default=[500, 1000])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument(
        "--shared-kafka", action="store_true", help="use the test profile's broker instead"
    )
    parser.add_argument("--workers", type=int, default=2, help="of the scaled-out variant")
    args = parser.parse_args(argv)
    # uvloop keeps the load generator's own CPU cost low on a machine it shares.
    uvloop.run(run(args.rates, args.seconds, args.warmup, not args.shared_kafka, args.workers))


if __name__ == "__main__":
    main()
