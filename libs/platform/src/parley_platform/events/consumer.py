"""Consuming events: at-least-once delivery made effectively-once by the handlers' inbox.

Offsets are committed by hand, per partition, only after the handler returned (its
transaction is committed). A handler that raises is retried with exponential backoff and
jitter; after `consumer_max_attempts` the record goes to the group's dead-letter topic with
the error, and the partition moves on. Each handler attempt runs in a CONSUMER span whose
parent is the trace context in the record's headers, with the event's tenant in context.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
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
from parley_platform.settings import ServiceSettings

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)


class PermanentEventError(Exception):
    """Raised by a handler when retrying cannot help (bad payload, impossible request): the
    event goes to the dead-letter topic at once."""


@dataclass(frozen=True)
class ConsumedEvent:
    """One decoded event handed to a handler."""

    topic: Topic
    envelope: Envelope
    payload: Message
    key: str
    partition: int
    offset: int
    attempt: int

    @property
    def event_id(self) -> str:
        return self.envelope.event_id

    @property
    def tenant_id(self) -> UUID:
        return UUID(self.envelope.tenant_id)


Handler = Callable[[ConsumedEvent], Awaitable[None]]


class _CommitOnRevoke(ConsumerRebalanceListener):
    """Waits for the batch in progress (which commits its own offsets) before partitions
    are taken away, so another member does not start from stale offsets."""

    def __init__(self, consumer: EventConsumer) -> None:
        self._owner = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._owner.processing:
            pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info(
            "partitions assigned", extra={"group": self._owner.group_id, "count": len(assigned)}
        )


class EventConsumer:
    """A consumer group member that routes each topic's records to its handler."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        group_id: str,
        handlers: Mapping[Topic, Handler],
        producer: EventProducer,
        max_batch: int = 50,
    ) -> None:
        if not handlers:
            raise ValueError("a consumer needs at least one topic handler")
        self.settings = settings
        self.group_id = group_id
        self._handlers = {settings.topic_name(t.name): (t, h) for t, h in handlers.items()}
        self._producer = producer
        self._dead_letter_topic = settings.topic_name(dead_letter_topic(group_id))
        self._max_batch = max_batch
        self.processing = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Create missing topics, join the group and start consuming in the background."""
        await ensure_topics(
            self.settings,
            [t.name for t, _ in self._handlers.values()] + [dead_letter_topic(self.group_id)],
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            # The prefix that separates environments' topics separates their groups too.
            group_id=self.settings.topic_name(self.group_id),
            client_id=f"parley-{self.settings.service_name}-{self.group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self._max_batch,
            fetch_max_wait_ms=50,
            max_poll_interval_ms=600_000,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=3_000,
        )
        self._consumer.subscribe(list(self._handlers), listener=_CommitOnRevoke(self))
        await self._consumer.start()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"consumer:{self.group_id}")

    async def stop(self) -> None:
        """Finish the batch in progress (bounded), commit it and leave the group."""
        self._stopping = True
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=15)
            except TimeoutError:
                self._task.cancel()
            except Exception:
                log.exception("consumer task failed")
            self._task = None
        if self._consumer is not None:
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
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        assert self._consumer is not None
        while not self._stopping:
            try:
                share = self._per_partition()
                batches = await self._consumer.getmany(timeout_ms=500, max_records=share)
            except KafkaError:
                log.warning("fetch failed; retrying", exc_info=True)
                await asyncio.sleep(1)
                continue
            if not batches:
                continue
            batches = await self._top_up(batches, share)
            async with self.processing:
                # Partitions are independent: process them concurrently, each in order.
                done = await asyncio.gather(
                    *(self._process_partition(tp, records) for tp, records in batches.items())
                )
                await self._commit({tp: offset for tp, offset in done if offset is not None})

    def _per_partition(self) -> int:
        """One partition's share of a batch."""
        assert self._consumer is not None
        return max(1, self._max_batch // max(1, len(self._consumer.assignment())))

    async def _top_up(
        self, batches: dict[TopicPartition, list[ConsumerRecord]], share: int
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        """Add the records already fetched for the other assigned partitions.

        Under a backlog aiokafka fills a batch from one partition while it has records
        buffered, so partitions would be handled one after another; a handler that waits on
        I/O (the WhatsApp sender waits on Meta) would then run with no concurrency at all.
        Each partition gives at most `share`, its part of `max_batch`, so a batch stays bounded: a
        batch is a barrier (its offsets are committed, and the next fetch is made, once all of
        it is handled), and a large one would make records wait behind it. Nothing is waited
        for here."""
        assert self._consumer is not None
        for tp in self._consumer.assignment():
            if tp not in batches:
                try:
                    more = await self._consumer.getmany(tp, timeout_ms=0, max_records=share)
                except KafkaError:
                    break  # e.g. a rebalance under way: handle what is already here
                batches.update(more)
        return batches

    async def _process_partition(
        self, tp: TopicPartition, records: list[ConsumerRecord]
    ) -> tuple[TopicPartition, int | None]:
        """Handle `records` in order; returns the offset to commit (None: nothing done)."""
        assert self._consumer is not None
        next_offset: int | None = None
        try:
            for record in records:
                if self._stopping:
                    break
                await self._process_record(record)
                next_offset = record.offset + 1
        except Exception:
            # Could not even dead-letter (Kafka down): leave this record for the next fetch.
            log.exception("record not processed; it will be fetched again")
            failed_at = records[0].offset if next_offset is None else next_offset
            self._consumer.seek(tp, failed_at)
        if next_offset is not None:
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                metrics.CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(
                    max(0, highwater - next_offset)
                )
        return tp, next_offset

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit the batch's offsets in one request, after every handler returned."""
        assert self._consumer is not None
        if not offsets:
            return
        try:
            await self._consumer.commit(
                {tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()}
            )
        except (CommitFailedError, KafkaError):
            # The partition moved to another member; it will redeliver from the last commit
            # and the handlers' inbox makes the repeat harmless.
            log.warning("offset commit failed", exc_info=True, extra={"group": self.group_id})

    async def _process_record(self, record: ConsumerRecord) -> None:
        topic, handler = self._handlers[record.topic]
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
        last_error: BaseException | None = None
        for attempt in range(1, max_attempts + 1):
            event = ConsumedEvent(
                topic=topic,
                envelope=envelope,
                payload=payload,
                key=(record.key or b"").decode(errors="replace"),
                partition=record.partition,
                offset=record.offset,
                attempt=attempt,
            )
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
                    log.warning(
                        "handler failed",
                        extra={
                            "group": self.group_id,
                            "topic": topic.name,
                            "event_id": envelope.event_id,
                            "attempt": attempt,
                            "error": type(exc).__name__,
                        },
                    )
                else:
                    metrics.HANDLER_LATENCY.labels(self.group_id, topic.name).observe(
                        time.perf_counter() - started
                    )
                    metrics.EVENTS_CONSUMED.labels(self.group_id, topic.name, "ok").inc()
                    return
            if attempt < max_attempts:
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
        canonical = self._handlers[record.topic][0].name
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
        # A PublishError propagates: the record is not committed and will be fetched again.
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
