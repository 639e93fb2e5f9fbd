"""Outbound sending rate against a number's configured limit, measured at the sandbox.

A whatsapp service process (and optionally a second replica in the same consumer group)
sends a backlog of send commands to many customers through the sandbox, which records every
request's arrival. Reported: the sustained rate the sandbox accepted (first to last request),
the busiest one-second window it saw, and the number's limit; the targets are within 5 % of
the limit and never above it in any sliding second. Where the slot-to-arrival jitter arises
is measured step by step: the Redis round trip of each slot reservation, how late each wait
for a slot ended (event-loop and scheduling lag), the wait at the sliding window of requests
that left (all three from the sender's own histograms, /metrics), and the gaps between
arrivals at the sandbox against the pace. Baseline (same run): the pace the sender aims at.
Also printed: the whatsapp processes' CPU (user + system) per send over the backlog.

    make bench BENCH_ARGS="outbound_rate --messages 2000 --limit 80 --replicas 1"
"""

from __future__ import annotations

import argparse
import itertools
import time
import uuid

import httpx
import uvloop
from parley.whatsapp.v1 import events_pb2 as wa
from parley_devstack.seeding import Sandbox
from parley_platform.events import EventProducer, OutgoingEvent, conversation_key
from parley_platform.events.admin import ensure_topics
from parley_platform.events.topics import WHATSAPP_OUTBOUND, WHATSAPP_OUTCOME
from parley_platform.settings import ServiceSettings, service_config
from parley_testing.kafka import collect
from parley_testing.services import free_port

from bench.infra import load_average, met
from bench.stats import percentile
from bench.whatsapp_stack import bench_stack, env_json

HEADROOM = 0.97  # the sender's default pace (PARLEY_WHATSAPP_THROUGHPUT_HEADROOM)


def histogram_quantiles(metrics_text: str, name: str, labels: dict[str, str]) -> str:
    """p50/p99 (upper bucket bounds) and count of one Prometheus histogram series."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: list[tuple[float, float]] = []
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == f"{name}_bucket" and all(
                sample.labels.get(k) == v for k, v in labels.items()
            ):
                buckets.append((float(sample.labels["le"]), sample.value))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    if not total:
        return "no samples"

    def quantile(q: float) -> str:
        bound = next(le for le, count in buckets if count >= q * total)
        return "> 1 s" if bound == float("inf") else f"<= {bound * 1000:g} ms"

    return f"p50 {quantile(0.5)}, p99 {quantile(0.99)} (n={total:.0f})"


class BenchSettings(ServiceSettings):
    """Settings of the benchmark's own producer."""

    model_config = service_config("bench")


async def run(messages: int, limit: int, replicas: int, customers: int, fresh_kafka: bool) -> None:
    """Start the stack, send the backlog, measure at the sandbox."""
    async with bench_stack(fresh_kafka) as stack:
        sandbox = await stack.start_sandbox(
            PARLEY_SANDBOX_STATUS_WEBHOOKS="false",
            # Enough for the backlog: the pair limit is not what this measures.
            PARLEY_SANDBOX_PAIR_BURST=str(messages),
        )
        auth = await stack.start_auth(meta=sandbox)
        base = f"http://127.0.0.1:{sandbox.http_port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            # Customers' webhooks are not measured: they go nowhere.
            meta = Sandbox(client, webhook_url=f"http://127.0.0.1:{free_port()}/none")
            channel = await stack.new_tenant_with_channel(
                auth, messages_per_second=limit, sandbox=meta
            )
        database_url = await stack.database_url("whatsapp")
        for _ in range(replicas):
            await stack.start(
                "whatsapp",
                "parley_whatsapp",
                {
                    **stack.common_env("whatsapp"),
                    "PARLEY_WHATSAPP_DATABASE_URL": database_url,
                    "PARLEY_WHATSAPP_AUTH_GRPC_TARGET": f"127.0.0.1:{auth.grpc_port}",
                    "PARLEY_WHATSAPP_GRAPH_API_BASE_URL": base,
                    "PARLEY_WHATSAPP_PAIR_BURST": str(messages),
                    "PARLEY_WHATSAPP_MEDIA_DOWNLOAD_HOST_SUFFIXES": env_json([]),
                },
            )
        settings = BenchSettings(
            kafka_bootstrap=stack.kafka_bootstrap, kafka_topic_prefix=stack.topic_prefix
        )
        await ensure_topics(settings, [WHATSAPP_OUTBOUND.name, WHATSAPP_OUTCOME.name])
        producer = EventProducer(settings)
        await producer.start()
        try:
            commands = []
            for i in range(messages):
                customer = str(447700000000 + i % customers)
                # Templates: allowed without the customer writing first (24-hour window).
                command = wa.SendCommand(
                    message_id=str(uuid.uuid4()),
                    channel_id=channel.channel_id,
                    phone_number_id=channel.number.phone_number_id,
                    to_wa_id=customer,
                    template=wa.Template(name="hello_world", language="en_US"),
                )
                commands.append(
                    OutgoingEvent(
                        topic=WHATSAPP_OUTBOUND,
                        key=conversation_key(channel.tenant_id, customer),
                        payload=command,
                        tenant_id=channel.tenant_id,
                    )
                )
            started = time.monotonic()
            cpu_before = stack.cpu_seconds().get("whatsapp", 0.0)
            for start in range(0, len(commands), 500):
                await producer.publish(*commands[start : start + 500])
        finally:
            await producer.stop()
        outcomes = await collect(
            stack.kafka_bootstrap,
            settings.topic_name(WHATSAPP_OUTCOME.name),
            count=messages,
            timeout_s=messages / limit * 2 + 60,
        )
        elapsed = time.monotonic() - started
        # Process CPU (user + system) of the whatsapp replicas over the whole backlog: every
        # send's transactions, Redis scripts, HTTP request and outcome event, plus whatever
        # runs meanwhile (consumer fetches, outbox relay), divided by the sends.
        cpu_used = stack.cpu_seconds().get("whatsapp", 0.0) - cpu_before
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            traffic = (
                await client.get(f"/sandbox/numbers/{channel.number.phone_number_id}/traffic")
            ).json()
            arrivals = sorted(
                m["at"]
                for m in (
                    await client.get(
                        "/sandbox/outbox",
                        params={"phone_number_id": channel.number.phone_number_id},
                    )
                ).json()
            )
        steps = []
        async with httpx.AsyncClient(timeout=10) as client:
            for process in stack.processes:
                if process.name == "whatsapp":
                    metrics_url = f"http://127.0.0.1:{process.ops_port}/metrics"
                    text = (await client.get(metrics_url)).text
                    steps.append(
                        {
                            step: histogram_quantiles(
                                text,
                                "parley_ratelimit_step_seconds",
                                {"namespace": "whatsapp", "step": step},
                            )
                            for step in ("reservation", "late_wake", "window")
                        }
                    )
        sent = sum(
            1 for r in outcomes if wa.SendOutcome.FromString(r.value).result == wa.SEND_RESULT_SENT
        )
        window = traffic["last_at"] - traffic["first_at"]
        rate = (traffic["accepted"] - 1) / window if window > 0 else float("nan")
        gaps_ms = [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)]
        pace_ms = 1000 / (limit * HEADROOM)
        busiest = traffic["max_requests_in_1s"]
        print(  # noqa: T201
            f"outbound: {messages} templates to {customers} customers, limit {limit}/s, "
            f"{replicas} replica(s), {'own' if fresh_kafka else 'shared test'} Kafka node; "
            f"{stack.bench.describe()}; {load_average()}\n"
            f"  sandbox accepted {traffic['accepted']} (rejected {traffic['rejected']}), "
            f"outcomes sent {sent}/{len(outcomes)} in {elapsed:.1f} s\n"
            f"  sustained {rate:.1f}/s = {rate / limit:.1%} of the limit (baseline, the pace "
            f"aimed at: {limit * HEADROOM:.1f}/s = {HEADROOM:.0%}); busiest second {busiest} "
            f"requests (limit {limit})\n"
            f"  gaps between arrivals: pace {pace_ms:.1f} ms; p1 {percentile(gaps_ms, 1):.1f} ms, "
            f"p50 {percentile(gaps_ms, 50):.1f} ms, p99 {percentile(gaps_ms, 99):.1f} ms\n"
            f"  whatsapp CPU: {cpu_used:.1f} s for {len(outcomes)} sends = "
            f"{cpu_used / max(1, len(outcomes)) * 1000:.2f} ms per send (all replicas)"
        )
        for i, replica in enumerate(steps):
            print(  # noqa: T201
                f"  replica {i + 1}: slot reservation (Redis round trip) {replica['reservation']}"
                f"; wait for the slot ended late by {replica['late_wake']}; wait at the window of"
                f" requests that left {replica['window']}"
            )
        print(  # noqa: T201
            f"  target never above {limit} in any sliding second: {met(busiest <= limit)}; "
            f"within 5 % of the limit: {met(rate >= 0.95 * limit)}"
        )


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=80, help="the number's messages/s")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument(
        "--shared-kafka", action="store_true", help="use the test profile's broker instead"
    )
    args = parser.parse_args(argv)
    uvloop.run(run(args.messages, args.limit, args.replicas, args.customers, not args.shared_kafka))


if __name__ == "__main__":
    main()
