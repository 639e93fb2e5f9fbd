"""Creating Parley's topics (and dead-letter topics) when a service starts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from parley_platform.settings import ServiceSettings

log = logging.getLogger(__name__)


async def ensure_topics(settings: ServiceSettings, canonical_names: Iterable[str]) -> None:
    """Create the missing topics among `canonical_names` (prefix applied); existing ones are
    left as they are. Safe to run from several services at once."""
    wanted = sorted({settings.topic_name(name) for name in canonical_names})
    if not wanted:
        return
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"parley-{settings.service_name}-admin",
        request_timeout_ms=15000,
    )
    await asyncio.wait_for(admin.start(), timeout=20)
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
                            "min.insync.replicas": str(min(2, settings.kafka_replication_factor))
                        },
                    )
                    for name in missing
                ]
            )
        except TopicAlreadyExistsError:
            pass  # another service created it first
        log.info("created topics", extra={"topics": missing})
    finally:
        await admin.close()
