"""Live changes for dashboards: every replica reads all of `conversation.changed.v1` and
`knowledge.document-changed.v1` and fans each change out to the event streams connected
to it.

The changes are written to the outbox in the transaction that made them, so the topics are
the complete, ordered (per conversation, per document) record of what dashboards must hear.
Each replica reads every partition of both without a consumer group (manual assignment,
starting at the end, nothing committed): a broadcast, since any replica may hold the stream
of any user.

A stream's position is the set of next offsets per partition of each topic. It is the SSE
event id, so a client that reconnects (`Last-Event-ID`, to any replica: offsets are the
topics', not the replica's) is caught up by reading the topics from its position to the live
position; a client too far behind (or past a topic's retention) is told to reload instead.
Each stream has a bounded queue; a client that does not keep up is disconnected (and catches
up the same way when it reconnects) rather than growing this process's memory.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from google.protobuf.message import DecodeError
from parley.conversation.v1.events_pb2 import ConversationChanged
from parley.knowledge.v1.events_pb2 import DocumentChanged
from parley_platform.errors import Unavailable
from parley_platform.events.admin import topic_partitions
from parley_platform.events.envelope import InvalidEnvelopeError, from_headers
from parley_platform.events.topics import CONVERSATION_CHANGED, KNOWLEDGE_DOCUMENT_CHANGED, Topic
from parley_platform.transport import kafka_client_options

from parley_conversation import metrics
from parley_conversation.config import Settings

log = logging.getLogger(__name__)

# The topics of the feed, each with the letter that names it in a position (the SSE id).
CONVERSATIONS = "c"
DOCUMENTS = "k"
SOURCES: dict[str, Topic[ConversationChanged] | Topic[DocumentChanged]] = {
    CONVERSATIONS: CONVERSATION_CHANGED,
    DOCUMENTS: KNOWLEDGE_DOCUMENT_CHANGED,
}
Place = tuple[str, int]  # (topic letter, partition)
Position = dict[Place, int]  # place -> next offset to read
REPLAY_TIMEOUT_S = 15.0
# One `<letter><partition>-<offset>` of an SSE id. An id of the format before knowledge
# changes joined the stream (no letter: `0-12.1-7`) is read as conversation positions; it
# says nothing of the document topic, so the replay answers it with `resync` (the
# client reloads once) rather than guessing which document changes it missed.
_PLACE = re.compile(r"([a-z]?)([0-9]+)-([0-9]+)")


@dataclass(frozen=True)
class LiveChange:
    """One change read from a topic of the feed, with where it was read."""

    tenant_id: UUID
    place: Place
    offset: int
    change: ConversationChanged | DocumentChanged


Accept = Callable[[LiveChange], bool]


def encode_position(position: Position) -> str:
    """`c0-12.c1-7.k0-3`: topic letter, partition and next offset (the SSE event id)."""
    return ".".join(f"{letter}{p}-{o}" for (letter, p), o in sorted(position.items()))


def decode_position(text: str | None) -> Position | None:
    """The position in an SSE event id; None when absent or not one of ours."""
    if not text:
        return None
    position: Position = {}
    for item in text.strip().split("."):
        matched = _PLACE.fullmatch(item)
        if matched is None:
            return None
        letter = matched[1] or CONVERSATIONS
        if letter not in SOURCES:
            return None
        position[(letter, int(matched[2]))] = int(matched[3])
    return position


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
    """This replica's reader of the live-change topics and its subscribers."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # The topics' full names (with the environment's prefix) and their letters.
        self._topics = {letter: settings.topic_name(t.name) for letter, t in SOURCES.items()}
        self._letters = {name: letter for letter, name in self._topics.items()}
        self._consumer: AIOKafkaConsumer | None = None
        self._position: Position = {}
        self._subscribers: set[Subscription] = set()

    def _new_consumer(self, purpose: str, *, fetch_min_bytes: int = 1) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap,
            group_id=None,
            client_id=f"parley-conversation-{purpose}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            fetch_max_wait_ms=100,
            fetch_min_bytes=fetch_min_bytes,
            **kafka_client_options(self._settings),
        )

    def _place(self, tp: TopicPartition) -> Place:
        return (self._letters[tp.topic], tp.partition)

    def _partition(self, place: Place) -> TopicPartition:
        letter, partition = place
        return TopicPartition(self._topics[letter], partition)

    def _decode(self, record: ConsumerRecord) -> LiveChange | None:
        letter = self._letters.get(record.topic)
        if letter is None:
            return None
        topic = SOURCES[letter]
        try:
            envelope = from_headers(record.headers or ())
            if envelope.event_type != topic.event_type:
                return None
            change = topic.payload_type.FromString(record.value or b"")
            place = (letter, record.partition)
            return LiveChange(UUID(envelope.tenant_id), place, record.offset, change)
        except (InvalidEnvelopeError, DecodeError, ValueError):
            log.warning(
                "undecodable live change skipped",
                extra={"topic": record.topic, "offset": record.offset},
            )
            return None

    async def start(self) -> None:
        """Connect and place the reader at the topics' current ends (the runtime created
        the topics before the wiring runs)."""
        partitions = [
            tp for t in SOURCES.values() for tp in await topic_partitions(self._settings, t.name)
        ]
        # People read the changes: up to a tenth of a second for them to gather into one
        # fetch is unnoticeable, and saves the broker (and this process) a fetch per change.
        consumer = self._new_consumer("live", fetch_min_bytes=1024 * 1024)
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            self._position = {self._place(tp): await consumer.position(tp) for tp in partitions}
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
            for tp, records in batches.items():
                place = self._place(tp)
                for record in records:
                    # No await from here to the fan-out: a stream subscribing in between
                    # sees either the new position and the change, or neither.
                    self._position[place] = record.offset + 1
                    if not self._subscribers:
                        continue  # nobody to tell: only the position matters
                    change = self._decode(record)
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
        """The next offset this replica will read, per partition of each topic."""
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
        """The accepted changes between two positions, read from the topics; None when they
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
        self,
        consumer: AIOKafkaConsumer,
        wanted: dict[Place, tuple[int | None, int]],
        accept: Accept,
    ) -> list[LiveChange] | None:
        partitions = {p: self._partition(p) for p in wanted}
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
                end = remaining.get(self._place(tp))
                if end is None:
                    continue
                for record in records:
                    if record.offset >= end:
                        break
                    change = self._decode(record)
                    if change is not None and accept(change):
                        changes.append(change)
            for p, end in list(remaining.items()):
                if await consumer.position(partitions[p]) >= end:
                    del remaining[p]
        return changes
