"""Publishing events: an idempotent producer with acks=all and a bound on every publish."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from google.protobuf.message import Message
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from parley.common.v1.envelope_pb2 import Envelope

from parley_platform import metrics
from parley_platform.events.envelope import Headers, new_event_id, timestamp, to_headers
from parley_platform.events.topics import Topic
from parley_platform.settings import ServiceSettings
from parley_platform.transport import kafka_client_options

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)


class PublishError(RuntimeError):
    """Kafka did not acknowledge a publish within the bound. Whoever asked for it must be
    told to retry (HTTP 503, a redelivered event, an outbox row left in place)."""


@dataclass
class OutgoingEvent:
    """One event to publish: its topic, partition key, payload and envelope facts."""

    topic: Topic
    key: str
    payload: Message
    tenant_id: UUID
    event_id: str = field(default_factory=new_event_id)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if not isinstance(self.payload, self.topic.payload_type):
            raise TypeError(
                f"{self.topic.name} carries {self.topic.event_type}, "
                f"not {type(self.payload).__name__}"
            )

    def envelope(self) -> Envelope:
        return Envelope(
            event_id=self.event_id,
            event_type=self.topic.event_type,
            tenant_id=str(self.tenant_id),
            schema_version=self.topic.schema_version,
            occurred_at=timestamp(self.occurred_at),
        )

    def headers(self) -> Headers:
        """Envelope headers plus the current trace context."""
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        headers = to_headers(self.envelope())
        headers += [
            (k, v.encode()) for k, v in carrier.items() if k in ("traceparent", "tracestate")
        ]
        return headers


@dataclass
class RawRecord:
    """A record already encoded (outbox rows, dead letters)."""

    topic: str  # physical name
    key: bytes
    value: bytes
    headers: Headers


class EventProducer:
    """Publishes events with `enable_idempotence=True` and `acks="all"`; every publish call
    either completes within `kafka_send_timeout_s` or raises PublishError."""

    def __init__(self, settings: ServiceSettings, *, client_id: str | None = None) -> None:
        self.settings = settings
        self._timeout = settings.kafka_send_timeout_s
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=client_id or f"parley-{settings.service_name}",
            enable_idempotence=True,
            acks="all",
            linger_ms=1,
            request_timeout_ms=max(1000, int(self._timeout * 1000)),
            max_batch_size=1024 * 1024,
            compression_type=None,
            **kafka_client_options(settings),
        )
        self._started = False

    async def start(self) -> None:
        await asyncio.wait_for(self._producer.start(), timeout=max(10.0, self._timeout))
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            try:
                await asyncio.wait_for(self._producer.stop(), timeout=self._timeout)
            except (TimeoutError, KafkaError):
                log.warning("producer did not stop cleanly", exc_info=True)

    async def publish(self, *events: OutgoingEvent) -> None:
        """Publish `events` and return once Kafka acknowledged all of them (acks=all)."""
        records = []
        for event in events:
            with _tracer.start_as_current_span(
                f"{event.topic.name} publish",
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": event.topic.name,
                    "messaging.message.id": event.event_id,
                    "parley.tenant_id": str(event.tenant_id),
                },
            ):
                records.append(
                    RawRecord(
                        topic=self.settings.topic_name(event.topic.name),
                        key=event.key.encode(),
                        value=event.payload.SerializeToString(),
                        headers=event.headers(),
                    )
                )
        await self.publish_raw(records, label=events[0].topic.name if events else "")

    async def publish_raw(self, records: Sequence[RawRecord], *, label: str = "") -> None:
        """Publish encoded records and wait for all acknowledgements, within the bound."""
        if not records:
            return
        topic_label = label or records[0].topic
        started = time.perf_counter()

        async def send_all() -> None:
            futures = [
                await self._producer.send(r.topic, r.value, key=r.key, headers=r.headers)
                for r in records
            ]
            await asyncio.gather(*futures)

        try:
            await asyncio.wait_for(send_all(), timeout=self._timeout)
        except (TimeoutError, KafkaError) as exc:
            metrics.PUBLISH_FAILURES.labels(topic_label).inc(len(records))
            raise PublishError(
                f"Kafka did not acknowledge {len(records)} record(s) within {self._timeout}s: "
                f"{type(exc).__name__}"
            ) from exc
        metrics.PUBLISH_LATENCY.labels(topic_label).observe(time.perf_counter() - started)
        metrics.EVENTS_PUBLISHED.labels(topic_label).inc(len(records))

    async def ping(self) -> None:
        """Raise unless the cluster answers a metadata request."""
        if not self._started:
            raise PublishError("producer not started")
        try:
            await asyncio.wait_for(
                self._producer.client.fetch_all_metadata(), timeout=self._timeout
            )
        except (TimeoutError, KafkaError) as exc:
            raise PublishError(f"Kafka metadata unavailable: {type(exc).__name__}") from exc
