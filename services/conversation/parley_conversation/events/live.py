"""Live changes for dashboards: every replica reads all of `conversation.changed.v1` and
fans each change out to the event streams connected to it.

The changes are written to the outbox in the transaction that made them, so the topic is
the complete, ordered (per conversation) record of what dashboards must hear. Each replica
reads every partition without a consumer group (manual assignment, starting at the end,
nothing committed): a broadcast, since any replica may hold the stream of any user.

A stream's position is the set of next offsets per partition. It is the SSE event id, so a
client that reconnects (`Last-Event-ID`, to any replica: offsets are the topic's, not the
replica's) is caught up by reading the topic from its position to the live position; a
client too far behind (or past the topic's retention) is told to reload instead. Each
stream has a bounded queue; a client that does not keep up is disconnected (and catches up
the same way when it reconnects) rather than growing this process's memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from google.protobuf.message import DecodeError
from parley.conversation.v1.events_pb2 import ConversationChanged
from parley_platform.errors import Unavailable
from parley_platform.events.admin import topic_partitions
from parley_platform.events.envelope import InvalidEnvelopeError, from_headers
from parley_platform.events.topics import CONVERSATION_CHANGED
from parley_platform.transport import kafka_client_options

from parley_conversation import metrics
from parley_conversation.config import Settings

log = logging.getLogger(__name__)

Position = dict[int, int]  # partition -> next offset to read
REPLAY_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class LiveChange:
    """One change read from the topic, with where it was read."""

    tenant_id: UUID
    partition: int
    offset: int
    change: ConversationChanged


Accept = Callable[[LiveChange], bool]


def encode_position(position: Position) -> str:
    """`0-12.1-7.2-40`: partition-offset pairs (the SSE event id)."""
    return ".".join(f"{p}-{o}" for p, o in sorted(position.items()))


def decode_position(text: str | None) -> Position | None:
    """The position in an SSE event id; None when absent or not one of ours."""
    if not text:
        return None
    try:
        pairs = (item.split("-", 1) for item in text.strip().split("."))
        position = {int(p): int(o) for p, o in pairs}
    except ValueError:
        return None
    if not position or any(p < 0 or o < 0 for p, o in position.items()):
        return None
    return position


def _decode(record: ConsumerRecord) -> LiveChange | None:
    try:
        envelope = from_headers(record.headers or ())
        if envelope.event_type != CONVERSATION_CHANGED.event_type:
            return None
        change = ConversationChanged.FromString(record.value or b"")
        return LiveChange(UUID(envelope.tenant_id), record.partition, record.offset, change)
    except (InvalidEnvelopeError, DecodeError, ValueError):
        log.warning("undecodable live change skipped", extra={"offset": record.offset})
        return None


class StreamOverflow(Exception):
    """The client did not read its stream fast enough; it was disconnected."""


class Subscription:
    """One connected stream's queue of the changes it accepts."""

    def __init__(self, feed: LiveFeed, accept: Accept, start: Position, size: int) -> None:
        self._feed = feed
        self._accept = accept
        self._queue: asyncio.Queue[LiveChange] = asyncio.Queue(maxsize=size)
        self._overflowed = False
        # The feed's position when the stream subscribed: every change at or after it
        # reaches this queue; anything before it must be replayed.
        self.start = start

    def offer(self, change: LiveChange) -> None:
        if self._overflowed or not self._accept(change):
            return
        try:
            self._queue.put_nowait(change)
        except asyncio.QueueFull:
            self._overflowed = True
            self._feed.unsubscribe(self)

    async def next(self) -> LiveChange:
        """The next accepted change (waits); raises StreamOverflow once the client fell
        too far behind."""
        if self._overflowed:
            raise StreamOverflow()
        return await self._queue.get()

    def caught_up_position(self, position: Position) -> Position:
        """`position` moved on to the feed's, when every change this stream accepted
        before the feed's position was handed out (nothing is waiting in the queue)."""
        if not self._queue.empty():
            return position
        return {p: max(position.get(p, 0), o) for p, o in self._feed.position.items()}

    def close(self) -> None:
        self._feed.unsubscribe(self)


class LiveFeed:
    """This replica's reader of the live-change topic and its subscribers."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._topic = settings.topic_name(CONVERSATION_CHANGED.name)
        self._consumer: AIOKafkaConsumer | None = None
        self._position: Position = {}
        self._subscribers: set[Subscription] = set()

    def _new_consumer(self, purpose: str) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap,
            group_id=None,
            client_id=f"parley-conversation-{purpose}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            fetch_max_wait_ms=100,
            **kafka_client_options(self._settings),
        )

    async def start(self) -> None:
        """Connect and place the reader at the topic's current end (the runtime created the
        topic before the wiring runs)."""
        partitions = await topic_partitions(self._settings, CONVERSATION_CHANGED.name)
        consumer = self._new_consumer("live")
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            self._position = {tp.partition: await consumer.position(tp) for tp in partitions}
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer

    async def stop(self) -> None:
        """Close the reader (after the runtime stopped `follow`)."""
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def follow(self) -> None:
        """Read changes and fan them out to the subscribers, until an error (the runtime
        supervises this and starts it again)."""
        assert self._consumer is not None, "start() first"
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000, max_records=500)
            for records in batches.values():
                for record in records:
                    # No await from here to the fan-out: a stream subscribing in between
                    # sees either the new position and the change, or neither.
                    self._position[record.partition] = record.offset + 1
                    change = _decode(record)
                    if change is not None:
                        for subscriber in list(self._subscribers):
                            subscriber.offer(change)

    @property
    def connections(self) -> int:
        return len(self._subscribers)

    @property
    def capacity(self) -> int:
        return self._settings.stream_max_connections

    @property
    def position(self) -> Position:
        """The next offset this replica will read, per partition."""
        return dict(self._position)

    def subscribe(self, accept: Accept) -> Subscription:
        """A new stream's subscription to the changes `accept` lets through."""
        if len(self._subscribers) >= self._settings.stream_max_connections:
            raise Unavailable("too many live streams on this server; retry shortly")
        subscription = Subscription(
            self, accept, dict(self._position), self._settings.stream_queue_size
        )
        self._subscribers.add(subscription)
        metrics.LIVE_STREAMS.set(len(self._subscribers))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        metrics.LIVE_STREAMS.set(len(self._subscribers))

    async def replay(
        self, since: Position, until: Position, accept: Accept
    ) -> list[LiveChange] | None:
        """The accepted changes between two positions, read from the topic; None when they
        cannot all be read (beyond retention, or more than the replay bound)."""
        wanted = {p: (since.get(p), end) for p, end in until.items() if since.get(p, -1) < end}
        if not wanted:
            return []
        if any(start is None for start, _ in wanted.values()):
            return None  # the client's position predates a partition: it must reload
        consumer = self._new_consumer("replay")
        await consumer.start()
        try:
            return await asyncio.wait_for(
                self._read_range(consumer, wanted, accept), timeout=REPLAY_TIMEOUT_S
            )
        except TimeoutError:
            return None
        finally:
            await consumer.stop()

    async def _read_range(
        self, consumer: AIOKafkaConsumer, wanted: dict[int, tuple[int | None, int]], accept: Accept
    ) -> list[LiveChange] | None:
        partitions = {p: TopicPartition(self._topic, p) for p in wanted}
        consumer.assign(list(partitions.values()))
        beginnings = await consumer.beginning_offsets(list(partitions.values()))
        budget = self._settings.stream_replay_max_events
        if sum(end - (start or 0) for start, end in wanted.values()) > budget:
            return None
        for p, (start, _) in wanted.items():
            assert start is not None
            if start < beginnings[partitions[p]]:
                return None  # deleted by retention
            consumer.seek(partitions[p], start)
        changes: list[LiveChange] = []
        remaining = {p: end for p, (_, end) in wanted.items()}
        while remaining:
            batches = await consumer.getmany(
                *(partitions[p] for p in remaining), timeout_ms=500, max_records=500
            )
            for tp, records in batches.items():
                end = remaining.get(tp.partition)
                if end is None:
                    continue
                for record in records:
                    if record.offset >= end:
                        break
                    change = _decode(record)
                    if change is not None and accept(change):
                        changes.append(change)
            for p, end in list(remaining.items()):
                if await consumer.position(partitions[p]) >= end:
                    del remaining[p]
        return changes
