"""Creating Parley's topics (and dead-letter topics) when a service starts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from parley_platform.settings import ServiceSettings
from parley_platform.transport import kafka_client_options

log = logging.getLogger(__name__)


async def ensure_topics(settings: ServiceSettings, canonical_names: Iterable[str]) -> None:
    """Create the missing topics among `canonical_names` (prefix applied); existing ones are
    left as they are. Safe to run from several services at once."""
    wanted = sorted({settings.topic_name(name) for name in canonical_names})
    if not wanted:
        return
    admin = await _admin(settings)
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return
        try:
            await admin.create_topics(
                [
                    NewTopic(
                        name,
                        num_partitions=settings.kafka_partitions,
                        replication_factor=settings.kafka_replication_factor,
                        topic_configs={
                            "min.insync.replicas": str(min(2, settings.kafka_replication_factor)),
                            # The consumers' inbox outlives this (settings validate it).
                            "retention.ms": str(settings.kafka_retention_hours * 3_600_000),
                        },
                    )
                    for name in missing
                ]
            )
        except TopicAlreadyExistsError:
            pass  # another service created it first
        # A new topic's partitions get leaders a moment after creation; a service must not
        # go on before they can be read and written.
        for name in missing:
            await _ready_partitions(admin, name)
        log.info("created topics", extra={"topics": missing})
    finally:
        await admin.close()


async def topic_partitions(settings: ServiceSettings, canonical_name: str) -> list[TopicPartition]:
    """The partitions of an existing topic (prefix applied), once each has a leader."""
    admin = await _admin(settings)
    try:
        topic = settings.topic_name(canonical_name)
        return [TopicPartition(topic, p) for p in await _ready_partitions(admin, topic)]
    finally:
        await admin.close()


async def _admin(settings: ServiceSettings) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"parley-{settings.service_name}-admin",
        request_timeout_ms=15000,
        **kafka_client_options(settings),
    )
    await asyncio.wait_for(admin.start(), timeout=20)
    return admin


async def _ready_partitions(
    admin: AIOKafkaAdminClient, topic: str, timeout_s: float = 30.0
) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while True:
        (described,) = await admin.describe_topics([topic])
        partitions = described.get("partitions") or []
        if not described["error_code"] and partitions and all(p["leader"] >= 0 for p in partitions):
            return sorted(p["partition"] for p in partitions)
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {topic} has no leader for every partition")
        await asyncio.sleep(0.2)
