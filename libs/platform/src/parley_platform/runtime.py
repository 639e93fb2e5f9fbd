"""A service process's lifecycle: what it connects to, in which order it starts and stops,
and how it reports readiness.

A service's `main.py` declares what it needs (database, Redis, producer, outbox relay,
consumers, gRPC servicers, gRPC clients) on a `ServiceRuntime`; the runtime starts them in
dependency order when the app's lifespan begins, stops them in reverse order, and answers
`/readyz` by checking each one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import grpc
import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI
from grpc_health.v1 import health_pb2, health_pb2_grpc

from parley_platform import telemetry
from parley_platform.db.session import Database
from parley_platform.events.admin import ensure_topics
from parley_platform.events.consumer import EventConsumer, Handler
from parley_platform.events.inbox import prune_inbox
from parley_platform.events.outbox import OutboxRelay
from parley_platform.events.producer import EventProducer
from parley_platform.events.topics import Topic
from parley_platform.grpc.client import create_channel
from parley_platform.grpc.server import GrpcServer
from parley_platform.logging import configure_logging
from parley_platform.settings import ServiceSettings

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]
READINESS_TIMEOUT_S = 2.0


class ServiceRuntime:
    """Owns the connections and background work of one service process."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        database: bool = False,
        redis: bool = False,
        producer: bool = False,
        outbox_relay: bool = False,
        topics: Sequence[Topic] = (),
    ) -> None:
        self.settings = settings
        self._want_database = database or outbox_relay
        self._want_redis = redis
        self._want_producer = producer or outbox_relay
        self._want_relay = outbox_relay
        self._topics = list(topics)
        self._consumer_specs: list[tuple[str, Mapping[Topic, Handler], int]] = []
        self._grpc_spec: dict[str, Any] | None = None
        self._client_specs: dict[str, str] = {}
        self._checks: dict[str, ReadinessCheck] = {}
        self._on_start: list[Callable[[], Awaitable[None]]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []

        self.database: Database | None = None
        self.redis: aioredis.Redis | None = None
        self.producer: EventProducer | None = None
        self.relay: OutboxRelay | None = None
        self.consumers: list[EventConsumer] = []
        self.grpc_server: GrpcServer | None = None
        self.channels: dict[str, grpc.aio.Channel] = {}
        self._background: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ declaration

    def add_consumer(
        self, group_id: str, handlers: Mapping[Topic, Handler], *, max_batch: int = 50
    ) -> None:
        """Consume `handlers`' topics as a member of `group_id` once started.

        `max_batch` bounds the records handled between two offset commits, shared out among
        the assigned partitions (handled concurrently). Handlers that mostly wait on another
        system gain from a larger batch; CPU-bound ones from a small one (see EventConsumer).
        """
        self._want_producer = True  # dead letters are published
        self._consumer_specs.append((group_id, handlers, max_batch))

    def serve_grpc(
        self,
        register: Sequence[Callable[[grpc.aio.Server], None]],
        service_names: Sequence[str],
        allowed_callers: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Expose gRPC servicers (see parley_platform.grpc.server.GrpcServer)."""
        self._grpc_spec = {
            "register": register,
            "service_names": service_names,
            "allowed_callers": allowed_callers,
        }

    def grpc_client(self, target_service: str, target: str) -> None:
        """Open a channel to `target_service` at `target`; it must be healthy to be ready."""
        self._client_specs[target_service] = target

    def add_readiness_check(self, name: str, check: ReadinessCheck) -> None:
        self._checks[name] = check

    def on_start(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` after the built-in components started."""
        self._on_start.append(hook)

    def on_stop(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` before the built-in components stop."""
        self._on_stop.append(hook)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect and start everything declared, in dependency order."""
        s = self.settings
        telemetry.setup_telemetry(s)
        if self._want_database:
            if s.database_url is None:
                raise RuntimeError(f"{s.env_name('database_url')} is not set")
            self.database = Database(
                s.database_url.get_secret_value(), pool_size=s.database_pool_size
            )
            await self.database.verify_role()
            self._checks["database"] = self.database.ping
        if self._want_redis:
            self.redis = aioredis.from_url(s.redis_url, socket_timeout=2, socket_connect_timeout=2)
            self._checks["redis"] = self._ping_redis
        if self._topics:
            await ensure_topics(s, [t.name for t in self._topics])
        if self._want_producer:
            self.producer = EventProducer(s)
            await self.producer.start()
            self._checks["kafka"] = self.producer.ping
        if self._want_relay:
            assert self.database is not None and self.producer is not None
            self.relay = OutboxRelay(self.database, self.producer, s)
            await self.relay.start()
        for service, target in self._client_specs.items():
            self.channels[service] = create_channel(s, target, service)
            self._checks[f"grpc:{service}"] = self._grpc_health_check(service)
        if self._grpc_spec is not None:
            self.grpc_server = GrpcServer(s, **self._grpc_spec)
            await self.grpc_server.start()
        for hook in self._on_start:
            await hook()
        assert self.producer is not None or not self._consumer_specs
        if self.database is not None and self._consumer_specs:
            self._background.append(
                asyncio.create_task(self._prune_inbox_hourly(), name="inbox-pruning")
            )
        for group_id, handlers, max_batch in self._consumer_specs:
            consumer = EventConsumer(
                s,
                group_id=group_id,
                handlers=handlers,
                producer=self.producer,  # type: ignore[arg-type]
                max_batch=max_batch,
            )
            await consumer.start()
            self.consumers.append(consumer)
            self._checks[f"consumer:{group_id}"] = self._consumer_check(consumer)
        log.info("service started", extra={"service": s.service_name})

    async def stop(self) -> None:
        """Stop in reverse order: stop taking work, finish it, then close connections."""
        for consumer in reversed(self.consumers):
            await consumer.stop()
        self.consumers.clear()
        for task in self._background:
            task.cancel()
        self._background.clear()
        for hook in reversed(self._on_stop):
            try:
                await hook()
            except Exception:
                log.exception("stop hook failed")
        if self.grpc_server is not None:
            await self.grpc_server.stop()
        for channel in self.channels.values():
            await channel.close()
        self.channels.clear()
        if self.relay is not None:
            await self.relay.stop()
        if self.producer is not None:
            await self.producer.stop()
        if self.redis is not None:
            await self.redis.aclose()
        if self.database is not None:
            await self.database.dispose()
        telemetry.shutdown_telemetry()

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    # ------------------------------------------------------------------ readiness

    async def readiness(self) -> dict[str, str]:
        """Each check's result: "ok" or a short reason (never a secret)."""

        async def run(check: ReadinessCheck) -> str:
            try:
                await asyncio.wait_for(check(), timeout=READINESS_TIMEOUT_S)
            except TimeoutError:
                return "timeout"
            except Exception as exc:
                return f"failed: {type(exc).__name__}"
            return "ok"

        names = list(self._checks)
        results = await asyncio.gather(*(run(self._checks[n]) for n in names))
        return dict(zip(names, results, strict=True))

    async def _prune_inbox_hourly(self) -> None:
        assert self.database is not None
        while True:
            try:
                removed = await prune_inbox(self.database, self.settings.inbox_retention_days)
                if removed:
                    log.info("pruned inbox", extra={"removed": removed})
            except Exception:
                log.warning("inbox pruning failed; will retry", exc_info=True)
            await asyncio.sleep(3600)

    async def _ping_redis(self) -> None:
        assert self.redis is not None
        await self.redis.ping()

    def _grpc_health_check(self, service: str) -> ReadinessCheck:
        async def check() -> None:
            stub = health_pb2_grpc.HealthStub(self.channels[service])
            response = await stub.Check(
                health_pb2.HealthCheckRequest(), timeout=READINESS_TIMEOUT_S
            )
            if response.status != health_pb2.HealthCheckResponse.SERVING:
                raise RuntimeError("not serving")

        return check

    @staticmethod
    def _consumer_check(consumer: EventConsumer) -> ReadinessCheck:
        async def check() -> None:
            if not consumer.running:
                raise RuntimeError("consumer stopped")

        return check


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run a service's app in this process with Parley's logging (the `__main__` of each
    service)."""
    configure_logging(settings.service_name, settings.log_level)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        # The peer address stays the connection's: uvicorn would otherwise take it from
        # X-Forwarded-For sent by any local peer. The gateway decides which proxies to trust.
        proxy_headers=False,
    )
