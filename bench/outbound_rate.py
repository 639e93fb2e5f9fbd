"""Outbound sending rate against a number's configured limit, measured at the sandbox.

A whatsapp service process (and optionally a second replica in the same consumer group)
sends a backlog of send commands to many customers through the sandbox, which records every
request's arrival. Reported: the sustained rate the sandbox accepted (first to last request),
the busiest one-second window it saw, and the number's limit; the target is within 5% of the
limit and never above it.

    make bench BENCH_ARGS="outbound_rate --messages 2000 --limit 80 --replicas 1"
"""

from __future__ import annotations

import argparse
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

from bench.whatsapp_stack import bench_stack, env_json


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
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            traffic = (
                await client.get(f"/sandbox/numbers/{channel.number.phone_number_id}/traffic")
            ).json()
        sent = sum(
            1 for r in outcomes if wa.SendOutcome.FromString(r.value).result == wa.SEND_RESULT_SENT
        )
        window = traffic["last_at"] - traffic["first_at"]
        rate = (traffic["accepted"] - 1) / window if window > 0 else float("nan")
        print(  # noqa: T201
            f"outbound: {messages} templates to {customers} customers, limit {limit}/s, "
            f"{replicas} replica(s), {'own' if fresh_kafka else 'shared test'} Kafka node\n"
            f"  sandbox accepted {traffic['accepted']} (rejected {traffic['rejected']}), "
            f"outcomes sent {sent}/{len(outcomes)} in {elapsed:.1f} s\n"
            f"  sustained {rate:.1f}/s = {rate / limit:.1%} of the limit; busiest second "
            f"{traffic['max_requests_in_1s']} requests (limit {limit})"
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
