"""Reading what services published, in tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient


def _reader(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    """A consumer of `topic` from its beginning, in a group of its own."""
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )


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
    consumer = _reader(bootstrap, topic)
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        await _read(consumer, records, lambda read: len(read) >= count, timeout_s)
        if exact:
            await _read(consumer, records, lambda read: False, settle_s)
    finally:
        await consumer.stop()
    return records


async def collect_until(
    bootstrap: str,
    topic: str,
    done: Callable[[list[ConsumerRecord]], bool],
    *,
    timeout_s: float = 30.0,
) -> list[ConsumerRecord]:
    """Read `topic` from the beginning until `done(records read so far)` holds; raise
    TimeoutError if it does not within `timeout_s`.

    The way to show that nothing else arrived: after the thing under test, cause a marker
    record with the same key (so on the same partition, behind everything the thing under
    test caused) and read until the marker is there. A late duplicate would then have been
    read too; no waiting for a while and hoping suffices for that.
    """
    consumer = _reader(bootstrap, topic)
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        if not await _read(consumer, records, done, timeout_s):
            raise TimeoutError(
                f"{topic}: what was awaited did not arrive within {timeout_s} s "
                f"({len(records)} records read)"
            )
    finally:
        await consumer.stop()
    return records


async def _read(
    consumer: AIOKafkaConsumer,
    records: list[ConsumerRecord],
    done: Callable[[list[ConsumerRecord]], bool],
    timeout_s: float,
) -> bool:
    """Add what `consumer` reads to `records` until `done(records)` holds (True) or
    `timeout_s` has passed (False)."""
    deadline = time.monotonic() + timeout_s
    while not done(records):
        if time.monotonic() >= deadline:
            return False
        batch = await consumer.getmany(timeout_ms=200)
        for recs in batch.values():
            records.extend(recs)
    return True


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
