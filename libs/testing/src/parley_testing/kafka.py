"""Reading what services published, in tests."""

from __future__ import annotations

import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient


async def _reader(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    """A started consumer of `topic` from its beginning, in a group of its own."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    return consumer


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
    consumer = await _reader(bootstrap, topic)
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


def new_marker() -> str:
    """Text unique to one test's marker records (see `read_until_marker`)."""
    return f"marker-{uuid.uuid4().hex}"


async def publish_marker(bootstrap: str, topic: str, key: bytes) -> str:
    """Publish a bare marker record (for when the service under test cannot publish one,
    e.g. while it is cut off from a dependency); returns its marker text. Prefer a marker
    published through the service itself: only then does one producer order both."""
    marker = new_marker()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, marker.encode(), key=key)
    finally:
        await producer.stop()
    return marker


async def read_until_marker(
    bootstrap: str,
    topic: str,
    marker: str,
    *,
    markers: int = 1,
    timeout_s: float = 20.0,
) -> list[ConsumerRecord]:
    """The records of `topic` published before its marker records, without them.

    A marker record is one whose value contains `marker` (text of `new_marker()`); the test
    publishes it after the thing under test, through the same producer and with the same key
    as anything that thing might have published, so that the partition's order puts every
    such record before it. Reading stops at the markers (`markers` of them) and the end of
    every other partition at that moment, so "nothing extra arrived" is a fact about the log
    rather than about how long the test waited. Fails when the markers do not arrive.
    """
    needle = marker.encode()
    consumer = await _reader(bootstrap, topic)
    records: list[ConsumerRecord] = []
    found = 0

    async def read_some() -> None:
        nonlocal found
        for batch in (await consumer.getmany(timeout_ms=200)).values():
            for record in batch:
                if record.value is not None and needle in record.value:
                    found += 1
                else:
                    records.append(record)

    try:
        deadline = time.monotonic() + timeout_s
        while found < markers:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{found} of {markers} marker records arrived on {topic} in {timeout_s} s"
                )
            await read_some()
        ends = await consumer.end_offsets(list(consumer.assignment()))
        for partition, end in ends.items():
            while await consumer.position(partition) < end:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{topic} was not read to its end in {timeout_s} s")
                await read_some()
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
