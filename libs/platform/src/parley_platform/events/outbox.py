"""Transactional outbox: events written in the same transaction as the state they describe,
then published by one active relay per service.

The row stores the trace context of the span that wrote it; the relay publishes under a
producer span parented on that context, so one customer message stays one trace. Only one
relay per service database is active at a time (a PostgreSQL advisory lock), so one key's
events are published in the order they were written. A commit that staged events wakes the
relay of its own process, or, when another replica leads, NOTIFYs it; a poll catches the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

import asyncpg
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from parley_platform import metrics
from parley_platform.db import driver
from parley_platform.db.session import Database
from parley_platform.events.producer import EventProducer, OutgoingEvent, RawRecord
from parley_platform.events.schema import OUTBOX_CHANNEL, OUTBOX_TABLE
from parley_platform.jobs import BackgroundWork, SupervisedTask
from parley_platform.settings import ServiceSettings

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)

# One statement (prepared once per connection) for any number of events: plain SQL through
# asyncpg, since every handled event stages some (parley_platform.db.driver).
_INSERT = (
    f"INSERT INTO {OUTBOX_TABLE} (tenant_id, event_id, topic, key, payload, headers) "
    "SELECT tenant_id, event_id, topic, key, payload, CAST(headers AS jsonb) "
    "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::bytea[], $6::text[]) "
    "AS staged (tenant_id, event_id, topic, key, payload, headers)"
)
_TRACE_HEADERS = ("traceparent", "tracestate")
# Any constant works: each service has its own database, so locks never collide.
_RELAY_LOCK_KEY = 0x7061726C6579  # "parley"


async def add_to_outbox(session: driver.SqlSession, *events: OutgoingEvent) -> None:
    """Stage `events` for publishing when (and only if) `session`'s transaction (a session
    or a plain `Database.tenant_transaction`) commits."""
    if not events:
        return
    await driver.execute(
        session,
        _INSERT,
        [event.tenant_id for event in events],
        [event.event_id for event in events],
        [event.topic.name for event in events],
        [event.key.encode() for event in events],
        [event.payload.SerializeToString() for event in events],
        [json.dumps({k: v.decode() for k, v in event.headers()}) for event in events],
    )
    driver.mark_events_staged(session)


class OutboxRelay(BackgroundWork):
    """Publishes committed outbox rows and deletes them once Kafka acknowledged them.

    Runs as a supervised task: one pass connects, waits to become the leader, and relays
    until it fails or is asked to stop; a failed pass is restarted with backoff."""

    name = "outbox-relay"

    def __init__(
        self,
        database: Database,
        producer: EventProducer,
        settings: ServiceSettings,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._database = database
        self._producer = producer
        self._settings = settings
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._telling: asyncio.Task[None] | None = None
        self._tell_again = False
        self._task = SupervisedTask(
            self.name,
            self._lead_and_relay,
            request_stop=self._request_stop,
            min_pause_s=poll_interval_s,
        )
        self.is_leader = False

    async def start(self) -> None:
        self._stopping = False
        await self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
        if self._telling is not None:
            await asyncio.gather(self._telling, return_exceptions=True)

    def _request_stop(self) -> None:
        self._stopping = True
        self._wakeup.set()

    def events_committed(self) -> None:
        """Rows were just committed in this process (`Database.when_events_commit`): the
        leader relays them now; a standby tells the leader, which may be another replica."""
        if self.is_leader:
            self._wakeup.set()
        elif self._telling is None or self._telling.done():
            self._telling = asyncio.create_task(self._tell_leader())
        else:
            self._tell_again = True

    async def _tell_leader(self) -> None:
        """NOTIFY the leader, in a transaction of its own: a NOTIFY takes a database-wide lock
        from its commit until the commit is durable, so one inside the writing transactions
        made every writer's commit wait for every other's. Commits that arrive while one NOTIFY
        is on its way share the next one."""
        while True:
            self._tell_again = False
            try:
                async with self._database.system_transaction() as session:
                    await driver.execute(session, "SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
            except (OSError, asyncpg.PostgresError) as exc:
                # The leader's poll finds the rows within a poll interval.
                log.warning("could not wake the outbox relay", extra={"error": str(exc)})
                return
            if not self._tell_again:
                return

    async def relay_once(self) -> int:
        """Publish up to one batch of pending rows; returns how many were published."""
        # A plain transaction: both statements are plain SQL (parley_platform.db.driver).
        async with self._database.system_transaction() as session:
            rows = await driver.fetch_all(
                session, "SELECT * FROM parley_outbox_claim($1)", self._batch_size
            )
            if not rows:
                metrics.OUTBOX_OLDEST_AGE.set(0)
                return 0
            # Set before publishing: while Kafka refuses, the age keeps growing pass after pass.
            oldest = min(row["created_at"] for row in rows)
            metrics.OUTBOX_OLDEST_AGE.set((datetime.now(UTC) - oldest).total_seconds())
            records = [self._record(row) for row in rows]
            await self._producer.publish_raw(records, label="outbox")
            await driver.execute(
                session, "SELECT parley_outbox_delete($1::bigint[])", [row["id"] for row in rows]
            )
        acknowledged_at = datetime.now(UTC)
        for row in rows:
            metrics.OUTBOX_RELAYED.labels(row["topic"]).inc()
            metrics.OUTBOX_DELAY.observe((acknowledged_at - row["created_at"]).total_seconds())
        return len(rows)

    def _record(self, row: object) -> RawRecord:
        stored: dict[str, str] = dict(row["headers"])  # type: ignore[index]
        parent = propagate.extract({k: stored[k] for k in _TRACE_HEADERS if k in stored})
        topic = row["topic"]  # type: ignore[index]
        with _tracer.start_as_current_span(
            f"{topic} publish",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": topic,
                "messaging.message.id": row["event_id"],  # type: ignore[index]
                "parley.outbox": True,
            },
        ):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
        # Re-attach the trace, replacing (never duplicating) the stored trace headers.
        headers = [(k, v.encode()) for k, v in stored.items() if k not in _TRACE_HEADERS]
        headers += [(k, v.encode()) for k, v in carrier.items() if k in _TRACE_HEADERS]
        return RawRecord(
            topic=self._settings.topic_name(topic),
            key=bytes(row["key"]),  # type: ignore[index]
            value=bytes(row["payload"]),  # type: ignore[index]
            headers=headers,
        )

    async def _lead_and_relay(self) -> None:
        """One pass: connect, become the leader (or wait as a standby), relay until stopped.
        Closing the connection releases the advisory lock."""
        # The engine's own connect arguments, so TLS options on the URL (?ssl=...) apply here too.
        engine = self._database.engine
        _, options = engine.dialect.create_connect_args(engine.url)
        conn = await asyncpg.connect(**options)
        try:
            if not await self._lead(conn):
                return
            await conn.add_listener(OUTBOX_CHANNEL, lambda *_: self._wakeup.set())
            await self._relay_while_leader(conn)
        finally:
            self.is_leader = False
            await conn.close(timeout=2)

    async def _lead(self, conn: asyncpg.Connection) -> bool:
        """Wait (as a standby) until this relay holds the service's relay lock."""
        while not self._stopping:
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK_KEY):
                self.is_leader = True
                return True
            await self._sleep(self._poll_interval_s)
        return False

    async def _relay_while_leader(self, conn: asyncpg.Connection) -> None:
        woken = True
        while not self._stopping and not conn.is_closed():
            self._wakeup.clear()
            published = await self.relay_once()
            metrics.OUTBOX_PASSES.labels("published" if published else "empty").inc()
            if published >= self._batch_size:
                continue  # more are waiting
            if published == 0 and not woken:
                # An idle poll: rows still waiting are locked by another session (a former
                # leader's unfinished pass). Not counted after a wake-up: under load most empty
                # passes are wakes for rows the previous pass took, and it costs a transaction.
                async with self._database.system_transaction() as session:
                    pending = await driver.fetch_one(session, "SELECT parley_outbox_pending()")
                metrics.OUTBOX_PENDING.set((pending[0] if pending else None) or 0)
            woken = await self._sleep(self._poll_interval_s)

    async def _sleep(self, seconds: float) -> bool:
        """Wait until woken (True) or for `seconds` (False)."""
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True
