"""Consuming events: at-least-once delivery made effectively-once by the handlers' inbox.

Records are handled in *lanes*: one lane per partition key (or per partition, with
`Ordering.PARTITION`). A lane handles its records one at a time, in offset order; different
lanes run concurrently, at most `concurrency` handlers at once. So one conversation's events
stay in order while a slow handler (a model that takes seconds, Meta that answers slowly)
holds up only its own conversation, never the rest of its partition, and there is no batch
barrier: a record is handed to its lane as soon as it is fetched.

Offsets are committed by hand: a partition's committed offset only ever moves past records
whose handler returned (their transaction committed), so a crash redelivers everything not
yet done and the inbox makes the repeat harmless. Commits are made in the background, at
most every `COMMIT_INTERVAL_S`, and when partitions are revoked or the consumer stops.

A handler that raises is retried with exponential backoff and jitter; after
`consumer_max_attempts` the record goes to the group's dead-letter topic with the error, and
the lane moves on. Failures that say a dependency is unreachable (`parley_platform.outages`:
PostgreSQL restarting, Redis stopped, ...) use up no attempt: the record is retried until the
outage ends, so an outage delays events but never dead-letters them.

Each handler attempt runs in a CONSUMER span whose parent is the trace
context in the record's headers, with the event's tenant in context.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata
from google.protobuf.message import DecodeError, Message
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from parley.common.v1.envelope_pb2 import Envelope

from parley_platform import metrics
from parley_platform.context import tenant_scope
from parley_platform.events.admin import ensure_topics
from parley_platform.events.envelope import InvalidEnvelopeError, from_headers
from parley_platform.events.producer import EventProducer, RawRecord
from parley_platform.events.topics import Topic, dead_letter_topic
from parley_platform.outages import is_outage
from parley_platform.settings import ServiceSettings
from parley_platform.transport import kafka_client_options

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)

P = TypeVar("P", bound=Message)
REVOKE_WAIT_S = 30.0
STOP_WAIT_S = 15.0
LAG_REPORT_INTERVAL_S = 15.0
# How often finished offsets are committed. It bounds only what a crash redelivers (a second
# of records, which the inbox drops: no handler pays for a model or a send twice), not
# what a rebalance or a stop does (both commit first); every commit is a request the broker
# writes to its log, three groups at 100 ms were 30 of them a second.
COMMIT_INTERVAL_S = 1.0


class PermanentEventError(Exception):
    """Raised by a handler when retrying cannot help (bad payload, impossible request): the
    event goes to the dead-letter topic at once."""


class Ordering(enum.Enum):
    """What a consumer keeps in order."""

    KEY = "key"  # records with the same key (one conversation), across a partition's keys
    PARTITION = "partition"  # every record of a partition, one after another


@dataclass(frozen=True)
class Pickup:
    """How soon a consumer must see a new record, traded against what waiting costs.

    aiokafka keeps one fetch in flight per broker, a long poll that the broker answers once
    `fetch_min_bytes` of records are waiting in its partitions, or after `fetch_wait_ms`; a
    partition whose records were just handled is asked for again only in the next fetch. So
    `fetch_wait_ms` bounds how long the next record of a busy conversation can wait, and an
    idle consumer sends 1000 / `fetch_wait_ms` fetches a second: measured on one broker, seven
    idle consumers at 50 ms cost the broker ~15 % of a core and the clients ~7 %; at 500 ms,
    under 1 % each (docs/performance.md, "Idle consumers"). With `fetch_min_bytes` 1 a busy
    consumer fetches once per record or so; a larger minimum makes it fetch once per
    `fetch_wait_ms` and take what came meanwhile."""

    fetch_wait_ms: int
    fetch_min_bytes: int


# The customer's answer path: a record is seen at once, and within ~50 ms even right after
# its partition was handled.
PROMPT = Pickup(fetch_wait_ms=50, fetch_min_bytes=1)
# Work nobody waits for by the millisecond (documents, crawls, media downloads): a tenth of
# the idle fetches, and records in half-second batches rather than a fetch each (the media
# group reads every inbound message: about two fetches a second at any rate, not one per
# message).
BACKGROUND = Pickup(fetch_wait_ms=500, fetch_min_bytes=1024 * 1024)


@dataclass(frozen=True)
class ConsumedEvent(Generic[P]):
    """One decoded event handed to a handler; `payload` has its topic's type."""

    topic: Topic[P]
    envelope: Envelope
    payload: P
    key: str
    partition: int
    offset: int
    attempt: int
    # Set when a newer record of the same lane (the same conversation) is waiting: a handler
    # whose result only matters while it is the latest (an AI answer) may give up early.
    superseded: asyncio.Event = field(default_factory=asyncio.Event, compare=False)

    @property
    def event_id(self) -> str:
        return self.envelope.event_id

    @property
    def tenant_id(self) -> UUID:
        return UUID(self.envelope.tenant_id)


Handler = Callable[[ConsumedEvent[P]], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """A topic and the handler of its records (make one with `on`)."""

    topic: Topic[Any]
    handler: Handler[Any]


def on(topic: Topic[P], handler: Callable[[ConsumedEvent[P]], Awaitable[None]]) -> Subscription:
    """Subscribe `handler` to `topic`; the type checker makes the two agree on the payload."""
    return Subscription(topic, handler)


class _Progress:
    """A partition's fetched offsets, and the offset that may be committed: the one after the
    longest run of finished records from the start."""

    def __init__(self) -> None:
        self.open: deque[int] = deque()
        self.finished: set[int] = set()
        self.committable: int | None = None
        self.committed: int | None = None

    def fetched(self, offset: int) -> None:
        self.open.append(offset)

    def finish(self, offset: int) -> None:
        self.finished.add(offset)
        while self.open and self.open[0] in self.finished:
            done = self.open.popleft()
            self.finished.discard(done)
            self.committable = done + 1

    def to_commit(self) -> int | None:
        if self.committable is not None and self.committable != self.committed:
            return self.committable
        return None


@dataclass
class _Lane:
    """Records of one key (or partition) waiting to be handled, in order."""

    partition: TopicPartition
    records: deque[ConsumerRecord] = field(default_factory=deque)
    current: ConsumedEvent[Any] | None = None
    task: asyncio.Task[None] | None = None
    revoked: bool = False  # its partition went to another member: handle nothing more


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, consumer: EventConsumer) -> None:
        self._owner = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._owner._release(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._owner._take(assigned)


class EventConsumer:
    """A consumer group member that routes each topic's records to its handler."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        group_id: str,
        subscriptions: Sequence[Subscription],
        producer: EventProducer,
        concurrency: int = 16,
        ordering: Ordering = Ordering.KEY,
        pickup: Pickup = PROMPT,
    ) -> None:
        if not subscriptions:
            raise ValueError("a consumer needs at least one subscription")
        self.settings = settings
        self.group_id = group_id
        self._routes = {settings.topic_name(s.topic.name): s for s in subscriptions}
        self._producer = producer
        self._dead_letter_topic = settings.topic_name(dead_letter_topic(group_id))
        self._ordering = ordering
        self._pickup = pickup
        self._slots = asyncio.Semaphore(concurrency)
        # Records fetched and not yet handled; fetching pauses at the bound (backpressure).
        self._max_buffered = max(100, concurrency * 8)
        self._buffered = 0
        self._room = asyncio.Event()
        self._room.set()
        self._lanes: dict[tuple[TopicPartition, Hashable], _Lane] = {}
        self._progress: dict[TopicPartition, _Progress] = {}
        self._commit_lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Create missing topics, join the group and start consuming in the background."""
        await ensure_topics(
            self.settings,
            [s.topic.name for s in self._routes.values()] + [dead_letter_topic(self.group_id)],
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            # The prefix that separates environments' topics separates their groups too.
            group_id=self.settings.topic_name(self.group_id),
            client_id=f"parley-{self.settings.service_name}-{self.group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self._max_buffered,
            fetch_max_wait_ms=self._pickup.fetch_wait_ms,
            fetch_min_bytes=self._pickup.fetch_min_bytes,
            max_poll_interval_ms=600_000,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=3_000,
            **kafka_client_options(self.settings),
        )
        self._consumer.subscribe(list(self._routes), listener=_Rebalance(self))
        await self._consumer.start()
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._fetch_forever(), name=f"consumer:{self.group_id}"),
            asyncio.create_task(self._commit_forever(), name=f"commits:{self.group_id}"),
            asyncio.create_task(self._report_lag_forever(), name=f"lag:{self.group_id}"),
        ]

    async def stop(self) -> None:
        """Finish the handlers in progress (bounded), commit and leave the group."""
        self._stopping = True
        self._room.set()
        fetcher, committer, lag_reporter = self._tasks or (None, None, None)
        if lag_reporter is not None:
            lag_reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await lag_reporter
        if fetcher is not None:
            fetcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await fetcher
        await self._drain_lanes(lambda _: True, STOP_WAIT_S)
        if committer is not None:
            committer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await committer
        self._tasks = []
        if self._consumer is not None:
            await self._commit()
            try:
                await asyncio.wait_for(self._consumer.stop(), timeout=10)
            except (TimeoutError, KafkaError):
                log.warning("consumer did not leave its group cleanly", exc_info=True)
            self._consumer = None

    async def wait_until_assigned(self, timeout_s: float = 30.0) -> None:
        """Wait until the group gave this member partitions (benchmarks measure from there)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not (self._consumer and self._consumer.assignment()):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{self.group_id}: no partitions assigned within {timeout_s}s")
            await asyncio.sleep(0.05)

    @property
    def topics(self) -> tuple[str, ...]:
        """The canonical names of the topics this group subscribes to."""
        return tuple(s.topic.name for s in self._routes.values())

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not self._tasks[0].done()

    # ------------------------------------------------------------------ fetching

    async def _fetch_forever(self) -> None:
        assert self._consumer is not None
        while not self._stopping:
            await self._room.wait()
            if self._stopping:
                return
            try:
                batches = await self._consumer.getmany(
                    timeout_ms=500, max_records=max(1, self._max_buffered - self._buffered)
                )
            except KafkaError:
                log.warning("fetch failed; retrying", exc_info=True)
                await asyncio.sleep(1)
                continue
            for tp, records in batches.items():
                progress = self._progress.setdefault(tp, _Progress())
                for record in records:
                    progress.fetched(record.offset)
                    self._dispatch(tp, record)

    def _dispatch(self, tp: TopicPartition, record: ConsumerRecord) -> None:
        lane_id = (tp, record.key if self._ordering is Ordering.KEY else None)
        lane = self._lanes.get(lane_id)
        if lane is None or lane.revoked:
            lane = self._lanes[lane_id] = _Lane(tp)
        lane.records.append(record)
        if lane.current is not None:
            lane.current.superseded.set()
        self._buffered += 1
        if self._buffered >= self._max_buffered:
            self._room.clear()
        if lane.task is None:
            lane.task = asyncio.create_task(self._run_lane(lane_id, lane))

    async def _run_lane(self, lane_id: tuple[TopicPartition, Hashable], lane: _Lane) -> None:
        """Handle the lane's records in order until none is left (a lane lives as long as it
        has records)."""
        try:
            while lane.records and not (self._stopping or lane.revoked):
                record = lane.records[0]
                async with self._slots:
                    handled = await self._handle_until_done(record, lane)
                if not handled:
                    break
                lane.records.popleft()
                self._finished(lane.partition, record.offset)
        finally:
            lane.task = None
            lane.current = None
            # Records not handled (stopping, or the partition left) are redelivered from
            # the last commit to whoever owns the partition next.
            self._buffered -= len(lane.records)
            lane.records.clear()
            if self._buffered < self._max_buffered:
                self._room.set()
            if self._lanes.get(lane_id) is lane:
                del self._lanes[lane_id]

    def _finished(self, tp: TopicPartition, offset: int) -> None:
        progress = self._progress.get(tp)
        if progress is not None:
            progress.finish(offset)
        self._buffered -= 1
        if self._buffered < self._max_buffered:
            self._room.set()

    async def _handle_until_done(self, record: ConsumerRecord, lane: _Lane) -> bool:
        """Handle (or dead-letter) `record`. If even the dead-letter publish fails (Kafka
        down) the record is tried again after a pause, as long as this member owns it;
        returns False when it gave up because the partition left or the consumer stops."""
        pause = 1.0
        while not (self._stopping or lane.revoked):
            try:
                await self._process_record(record, lane)
                return True
            except Exception:
                log.exception("record not processed; retrying", extra={"group": self.group_id})
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)
        return False

    # ------------------------------------------------------------------ commits & rebalance

    async def _commit_forever(self) -> None:
        while not self._stopping:
            await asyncio.sleep(COMMIT_INTERVAL_S)
            await self._commit()

    async def _commit(self, only: set[TopicPartition] | None = None) -> None:
        """Commit every partition's finished prefix (all partitions in one request)."""
        if self._consumer is None:
            return
        async with self._commit_lock:
            offsets = {
                tp: offset
                for tp, progress in self._progress.items()
                if (only is None or tp in only) and (offset := progress.to_commit()) is not None
            }
            if not offsets:
                return
            try:
                await self._consumer.commit(
                    {tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()}
                )
            except (CommitFailedError, KafkaError):
                # The partition moved to another member; it redelivers from the last commit
                # and the handlers' inbox makes the repeat harmless.
                log.warning("offset commit failed", exc_info=True, extra={"group": self.group_id})
                return
            for tp, offset in offsets.items():
                if (progress := self._progress.get(tp)) is not None:
                    progress.committed = offset
                highwater = self._consumer.highwater(tp)
                if highwater is not None:
                    metrics.CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(
                        max(0, highwater - offset)
                    )

    async def _report_lag_forever(self) -> None:
        """Publish each assigned partition's lag, from the broker's end offsets and the
        group's committed offsets: a consumer whose handlers are stuck commits nothing and
        fetches nothing, and its lag must still be seen growing."""
        while not self._stopping:
            await asyncio.sleep(LAG_REPORT_INTERVAL_S)
            try:
                await self.report_lag()
            except (KafkaError, TimeoutError):
                log.warning("could not read end offsets", extra={"group": self.group_id})

    async def report_lag(self) -> None:
        """Set `parley_consumer_lag` for every assigned partition now."""
        consumer = self._consumer
        if consumer is None or not (assigned := consumer.assignment()):
            return
        ends = await asyncio.wait_for(consumer.end_offsets(list(assigned)), timeout=10)
        for tp, end in ends.items():
            progress = self._progress.get(tp)
            committed = progress.committed if progress is not None else None
            if committed is None:
                committed = await consumer.committed(tp) or 0
            metrics.CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(
                max(0, end - committed)
            )

    def _take(self, assigned: set[TopicPartition]) -> None:
        for tp in assigned:
            self._progress.setdefault(tp, _Progress())
        log.info("partitions assigned", extra={"group": self.group_id, "count": len(assigned)})

    async def _release(self, revoked: set[TopicPartition]) -> None:
        """Before partitions go to another member: let their handlers in progress finish,
        drop records not started (the new owner fetches them from the commit), commit."""
        if not revoked:
            return
        for (tp, _), lane in self._lanes.items():
            if tp in revoked:
                lane.revoked = True
        await self._drain_lanes(lambda tp: tp in revoked, REVOKE_WAIT_S)
        await self._commit(only=revoked)
        for tp in revoked:
            self._progress.pop(tp, None)
            # The new owner reports this partition's lag from now on.
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_LAG.remove(self.group_id, tp.topic, str(tp.partition))

    async def _drain_lanes(self, which: Callable[[TopicPartition], bool], timeout_s: float) -> None:
        tasks = [lane.task for (tp, _), lane in self._lanes.items() if lane.task and which(tp)]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1)
                log.warning(
                    "handlers did not finish in time; their records will be redelivered",
                    extra={"group": self.group_id, "count": len(pending)},
                )

    # ------------------------------------------------------------------ one record

    async def _process_record(self, record: ConsumerRecord, lane: _Lane) -> None:
        route = self._routes[record.topic]
        topic, handler = route.topic, route.handler
        headers = list(record.headers or ())
        try:
            envelope = from_headers(headers)
            if envelope.event_type != topic.event_type:
                raise InvalidEnvelopeError(
                    f"{record.topic} carries {topic.event_type}, got {envelope.event_type}"
                )
            payload = topic.payload_type.FromString(record.value or b"")
        except (InvalidEnvelopeError, DecodeError) as exc:
            await self._dead_letter(record, exc, attempts=0)
            return

        parent = propagate.extract({k: v.decode(errors="replace") for k, v in headers})
        max_attempts = self.settings.consumer_max_attempts
        superseded = asyncio.Event()
        last_error: BaseException | None = None
        attempt = outages = 0
        while attempt < max_attempts:
            attempt += 1
            waiting_for_dependency = False
            event: ConsumedEvent[Any] = ConsumedEvent(
                topic=topic,
                envelope=envelope,
                payload=payload,
                key=(record.key or b"").decode(errors="replace"),
                partition=record.partition,
                offset=record.offset,
                attempt=attempt,
                superseded=superseded,
            )
            lane.current = event
            if len(lane.records) > 1:
                superseded.set()
            with (
                _tracer.start_as_current_span(
                    f"{topic.name} process",
                    context=parent,
                    kind=SpanKind.CONSUMER,
                    attributes={
                        "messaging.system": "kafka",
                        "messaging.destination.name": topic.name,
                        "messaging.consumer.group.name": self.group_id,
                        "messaging.message.id": envelope.event_id,
                        "messaging.kafka.offset": record.offset,
                        "parley.attempt": attempt,
                    },
                    record_exception=False,
                    set_status_on_exception=False,
                ) as span,
                tenant_scope(envelope.tenant_id),
            ):
                started = time.perf_counter()
                try:
                    await handler(event)
                except PermanentEventError as exc:
                    span.record_exception(exc)
                    span.set_status(Status(StatusCode.ERROR, str(exc)))
                    await self._dead_letter(record, exc, attempts=attempt)
                    return
                except Exception as exc:
                    span.record_exception(exc)
                    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                    last_error = exc
                    outage = is_outage(exc)
                    log.warning(
                        "handler failed; waiting for a dependency" if outage else "handler failed",
                        extra={
                            "group": self.group_id,
                            "topic": topic.name,
                            "event_id": envelope.event_id,
                            "attempt": attempt,
                            "error": type(exc).__name__,
                        },
                    )
                    if outage and (self._stopping or lane.revoked):
                        raise  # not finished: whoever owns the partition next redelivers it
                    waiting_for_dependency = outage
                else:
                    metrics.HANDLER_LATENCY.labels(self.group_id, topic.name).observe(
                        time.perf_counter() - started
                    )
                    metrics.EVENTS_CONSUMED.labels(self.group_id, topic.name, "ok").inc()
                    return
            if waiting_for_dependency:
                # Not the event's fault: wait the outage out without using up its attempts.
                attempt -= 1
                outages += 1
                metrics.HANDLER_RETRIES.labels(self.group_id, topic.name).inc()
                await asyncio.sleep(self._backoff(min(outages, 10)))
            elif attempt < max_attempts:
                metrics.HANDLER_RETRIES.labels(self.group_id, topic.name).inc()
                await asyncio.sleep(self._backoff(attempt))
        assert last_error is not None
        await self._dead_letter(record, last_error, attempts=max_attempts)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter, capped."""
        ceiling = min(
            self.settings.consumer_backoff_max_s,
            self.settings.consumer_backoff_initial_s * 2 ** (attempt - 1),
        )
        return ceiling * random.uniform(0.5, 1.0)

    async def _dead_letter(
        self, record: ConsumerRecord, error: BaseException, attempts: int
    ) -> None:
        """Move `record` to the dead-letter topic, keeping its key, value and headers."""
        canonical = self._routes[record.topic].topic.name
        reason = f"{type(error).__name__}: {error}"[:2000]
        headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlq-")]
        headers += [
            ("dlq-error", reason.encode()),
            ("dlq-original-topic", record.topic.encode()),
            ("dlq-original-partition", str(record.partition).encode()),
            ("dlq-original-offset", str(record.offset).encode()),
            ("dlq-attempts", str(attempts).encode()),
            ("dlq-consumer-group", self.group_id.encode()),
            ("dlq-failed-at", datetime.now(UTC).isoformat().encode()),
        ]
        # A PublishError propagates: the record is not finished and is tried again.
        await self._producer.publish_raw(
            [RawRecord(self._dead_letter_topic, record.key or b"", record.value or b"", headers)],
            label=dead_letter_topic(self.group_id),
        )
        metrics.DEAD_LETTERS.labels(self.group_id, canonical).inc()
        metrics.EVENTS_CONSUMED.labels(self.group_id, canonical, "dead_lettered").inc()
        log.error(
            "event moved to dead-letter topic",
            extra={
                "group": self.group_id,
                "topic": canonical,
                "offset": record.offset,
                "attempts": attempts,
                "error": type(error).__name__,
            },
        )
