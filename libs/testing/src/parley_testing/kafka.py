"""Reading what services published, in tests."""

from __future__ import annotations

import time
import uuid

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient


async def collect(
    bootstrap: str,
    topic: str,
    *,
    count: int,
    timeout_s: float = 20.0,
    exact: bool = False,
    settle_s: float = 1.0,
) -> list[ConsumerRecord]:
    """Read `topic` from the beginning until `count` records arrived (or the timeout).

    With `exact=True`, keep listening `settle_s` longer so that extra records (duplicates)
    would be seen too.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
        if exact:
            settle_until = time.monotonic() + settle_s
            while time.monotonic() < settle_until:
                batch = await consumer.getmany(timeout_ms=200)
                for recs in batch.values():
                    records.extend(recs)
    finally:
        await consumer.stop()
    return records


def header(record: ConsumerRecord, name: str) -> str | None:
    """One header of `record`, decoded."""
    for key, value in record.headers or ():
        if key == name:
            return value.decode()
    return None


async def delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete every topic whose name starts with `prefix`. Tests call it on teardown: a broker
    keeps files open per partition, and a long-lived test stack would otherwise collect
    thousands of them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        doomed = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()
