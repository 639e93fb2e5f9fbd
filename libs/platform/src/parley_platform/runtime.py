"""A service process's lifecycle: what it connects to, in which order it starts and stops,
and how it reports readiness.

A service declares what it needs (database, Redis, producer, outbox relay, gRPC clients) and
gives a `wire` function. When the app's lifespan begins, the runtime connects everything
declared and calls `wire(resources)` with those connections typed and ready (never None);
the wiring builds the service's components, and declares on `resources` its consumers, gRPC
servicers, periodic jobs and readiness checks. Then the runtime starts the gRPC server, the
background work and, last, the consumers; it stops them in reverse order.

    async def wire(resources: Resources) -> Components:
        events = ConversationEvents(resources.database, settings)
        resources.consume("conversation", events.subscriptions())
        resources.every("housekeeping", settings.housekeeping_interval_s, events.prune)
        return Components(database=resources.database)

    runtime = ServiceRuntime(settings, wire, database=True, outbox_relay=True)

Routes reach the components through `component_dependency(Components)` (parley_platform.http).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import grpc
import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from parley_platform import telemetry
from parley_platform.db.session import Database
from parley_platform.events.admin import ensure_topics
from parley_platform.events.consumer import PROMPT, EventConsumer, Ordering, Pickup, Subscription
from parley_platform.events.inbox import prune_inbox
from parley_platform.events.outbox import OutboxRelay
from parley_platform.events.producer import EventProducer
from parley_platform.events.topics import Topic
from parley_platform.grpc.client import create_channel
from parley_platform.grpc.server import GrpcServer
from parley_platform.http.ops import SERVER_OPTIONS, OpsServer
from parley_platform.jobs import BackgroundWork, PeriodicJob, SupervisedTask
from parley_platform.logging import configure_logging
from parley_platform.settings import ServiceSettings
from parley_platform.transport import require_encrypted_transport

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]
READINESS_TIMEOUT_S = 2.0
INBOX_PRUNING_INTERVAL_S = 3600.0
GRPC_HEALTH_INTERVAL_S = 5.0

C = TypeVar("C")


REDIS_MAX_CONNECTIONS = 100
REDIS_POOL_WAIT_S = 5.0


class RuntimeNotStartedError(RuntimeError):
    """A resource was asked for before the runtime started it (or one never declared)."""


@dataclass(frozen=True)
class _WantedConsumer:
    """A consumer group a service declared, started once the service is wired."""

    group_id: str
    subscriptions: Sequence[Subscription]
    concurrency: int
    ordering: Ordering
    pickup: Pickup


class Resources:
    """What a started runtime hands a service's wiring: its connections, typed and ready,
    and the place to declare consumers, gRPC servicers and background work."""

    def __init__(self, runtime: ServiceRuntime[Any]) -> None:
        self._runtime = runtime
        self.settings = runtime.settings

    # ------------------------------------------------------------------ connections

    @property
    def database(self) -> Database:
        return self._require(self._runtime._database, "database=True")

    @property
    def redis(self) -> aioredis.Redis:
        return self._require(self._runtime._redis, "redis=True")

    @property
    def producer(self) -> EventProducer:
        return self._require(self._runtime._producer, "producer=True")

    def channel(self, service: str) -> grpc.aio.Channel:
        """The gRPC channel to `service` (declared in `grpc_clients`)."""
        channel = self._runtime._channels.get(service)
        return self._require(channel, f"grpc_clients={{{service!r}: ...}}")

    # ------------------------------------------------------------------ declarations

    def consume(
        self,
        group_id: str,
        subscriptions: Sequence[Subscription],
        *,
        concurrency: int = 16,
        ordering: Ordering = Ordering.KEY,
        pickup: Pickup = PROMPT,
    ) -> None:
        """Join `group_id` for the subscriptions' topics once the service is wired.

        At most `concurrency` handlers run at once; records with the same key (one
        conversation) are handled one after another (`Ordering.PARTITION`: a partition's).
        `pickup=BACKGROUND` for groups nobody waits for by the millisecond (fewer fetches,
        see `Pickup`)."""
        self._runtime._declaring("consume")
        self._runtime._consumers_wanted.append(
            _WantedConsumer(group_id, subscriptions, concurrency, ordering, pickup)
        )

    def serve_grpc(
        self,
        register: Sequence[Callable[[grpc.aio.Server], None]],
        service_names: Sequence[str],
        allowed_callers: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Expose gRPC servicers (see parley_platform.grpc.server.GrpcServer)."""
        self._runtime._declaring("serve_grpc")
        self._runtime._grpc_server = GrpcServer(
            self.settings,
            register=register,
            service_names=service_names,
            allowed_callers=allowed_callers,
        )

    def every(
        self,
        name: str,
        interval_s: float,
        job: Callable[[], Awaitable[object]],
        *,
        initial_delay_s: float | None = None,
    ) -> PeriodicJob:
        """Run `job` every `interval_s` while the service runs (failures logged, counted and
        retried at the next run)."""
        self._runtime._declaring("every")
        periodic = PeriodicJob(name, interval_s, job, initial_delay_s=initial_delay_s)
        self._runtime._background.append(periodic)
        return periodic

    def supervise(self, name: str, work: Callable[[], Awaitable[None]]) -> SupervisedTask:
        """Keep `work` running while the service runs (restarted with backoff on failure)."""
        self._runtime._declaring("supervise")
        task = SupervisedTask(name, work)
        self._runtime._background.append(task)
        return task

    def on_stop(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` when the service stops (after consumers and background work stopped,
        before connections close)."""
        self._runtime._stop_hooks.append(hook)

    def readiness_check(self, name: str, check: ReadinessCheck) -> None:
        """Add a check to `/readyz` (it raises when not ready)."""
        self._runtime._checks[name] = check

    @staticmethod
    def _require(value: Any, declaration: str) -> Any:
        if value is None:
            raise RuntimeNotStartedError(
                f"not available: declare {declaration} on the ServiceRuntime"
            )
        return value


class ServiceRuntime(Generic[C]):
    """Owns the connections and background work of one service process; `C` is the type of
    the components its wiring returns."""

    def __init__(
        self,
        settings: ServiceSettings,
        wire: Callable[[Resources], Awaitable[C]],
        *,
        database: bool = False,
        redis: bool = False,
        producer: bool = False,
        outbox_relay: bool = False,
        topics: Sequence[Topic[Any]] = (),
        grpc_clients: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self._wire = wire
        self._want_database = database or outbox_relay
        self._want_redis = redis
        self._want_producer = producer or outbox_relay
        self._want_relay = outbox_relay
        self._topics = list(topics)
        self._client_targets = dict(grpc_clients or {})

        self._database: Database | None = None
        self._redis: aioredis.Redis | None = None
        self._producer: EventProducer | None = None
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._resources: Resources | None = None
        self._components: C | None = None
        self._wiring = False
        self._consumers_wanted: list[_WantedConsumer] = []
        self._grpc_server: GrpcServer | None = None
        self._background: list[BackgroundWork] = []
        self._stop_hooks: list[Callable[[], Awaitable[None]]] = []
        self._checks: dict[str, ReadinessCheck] = {}
        self.consumers: list[EventConsumer] = []
        self.relay: OutboxRelay | None = None
        # Set by `serve` (a service process, one app): freeze the heap once started.
        self.freeze_heap_once_started = False
        self._ops_server: OpsServer | None = None

    # ------------------------------------------------------------------ what tests and routes see

    @property
    def resources(self) -> Resources:
        """The started resources (raises before start)."""
        if self._resources is None:
            raise RuntimeNotStartedError("the runtime has not started")
        return self._resources

    @property
    def components(self) -> C:
        """What the service's wiring returned (raises before start)."""
        if self._resources is None:
            raise RuntimeNotStartedError("the runtime has not started")
        return self._components  # type: ignore[return-value]  # set with _resources

    @property
    def grpc_server(self) -> GrpcServer | None:
        """The gRPC server, when the wiring declared one."""
        return self._grpc_server

    @property
    def grpc_port(self) -> int:
        """The port the gRPC server listens on (raises without one)."""
        if self._grpc_server is None or self._grpc_server.port is None:
            raise RuntimeNotStartedError("no gRPC server is running")
        return self._grpc_server.port

    @property
    def declared_topics(self) -> tuple[str, ...]:
        """The canonical names of the topics the service produces (created at start)."""
        return tuple(topic.name for topic in self._topics)

    @property
    def ops_port(self) -> int:
        """The port of the operations listener (`/metrics`, detailed `/readyz`)."""
        if self._ops_server is None or self._ops_server.port is None:
            raise RuntimeNotStartedError("the operations listener is not running")
        return self._ops_server.port

    def _declaring(self, what: str) -> None:
        if not self._wiring:
            raise RuntimeError(f"{what}() is for the service's wire function only")

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect, wire the service, then start serving and consuming."""
        s = self.settings
        require_encrypted_transport(
            s,
            database=self._want_database,
            redis=self._want_redis,
            kafka=self._want_producer or bool(self._topics),
            grpc_used=bool(self._client_targets),
        )
        telemetry.setup_telemetry(s)
        if self._want_database:
            if s.database_url is None:
                raise RuntimeError(f"{s.env_name('database_url')} is not set")
            self._database = Database(
                s.database_url.get_secret_value(),
                pool_size=s.database_pool_size,
                instrument=s.trace_database_statements,
            )
            await self._database.verify_role()
            self._checks["database"] = self._database.ping
        if self._want_redis:
            # A blocking pool: with the default one, the 101st concurrent command raised
            # MaxConnectionsError (a backlog of sends failed after being marked in flight);
            # now it waits for a free connection, up to the pool's timeout.
            pool = aioredis.BlockingConnectionPool.from_url(
                s.redis_url,
                max_connections=REDIS_MAX_CONNECTIONS,
                timeout=REDIS_POOL_WAIT_S,
                socket_timeout=2,
                socket_connect_timeout=2,
                # A pooled connection left over from before a Redis restart fails once on its
                # next use; reconnect and try again instead of failing the caller's request
                # (the chaos suite saw sign-ins answered 500 long after Redis was back).
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
            )
            self._redis = aioredis.Redis(connection_pool=pool)
            self._checks["redis"] = self._ping_redis
        if self._topics:
            await ensure_topics(s, [t.name for t in self._topics])
        if self._want_producer:
            self._producer = EventProducer(s)
            await self._producer.start()
            self._checks["kafka"] = self._producer.ping
        for service, target in self._client_targets.items():
            self._channels[service] = create_channel(s, target, service)
            self._checks[f"grpc:{service}"] = self._grpc_health_check(service)

        resources = Resources(self)
        self._wiring = True
        try:
            self._components = await self._wire(resources)
        finally:
            self._wiring = False
        self._resources = resources

        if self._want_relay:
            assert self._database is not None and self._producer is not None
            self.relay = OutboxRelay(self._database, self._producer, s)
            self._database.when_events_commit(self.relay.events_committed)
            self._background.append(self.relay)
        if self._database is not None and self._consumers_wanted:
            database = self._database
            self._background.append(
                PeriodicJob(
                    "inbox-pruning",
                    INBOX_PRUNING_INTERVAL_S,
                    lambda: prune_inbox(database, s.inbox_retention_days),
                )
            )
        if self._grpc_server is not None:
            await self._grpc_server.start()
            self._background.append(
                PeriodicJob(
                    "grpc-health",
                    GRPC_HEALTH_INTERVAL_S,
                    self._sync_grpc_health,
                    initial_delay_s=0,
                )
            )
        for work in self._background:
            await work.start()
        if self._consumers_wanted and self._producer is None:
            raise RuntimeError("consumers dead-letter through a producer: declare producer=True")
        for wanted in self._consumers_wanted:
            assert self._producer is not None
            consumer = EventConsumer(
                s,
                group_id=wanted.group_id,
                subscriptions=wanted.subscriptions,
                producer=self._producer,
                concurrency=wanted.concurrency,
                ordering=wanted.ordering,
                pickup=wanted.pickup,
            )
            await consumer.start()
            self.consumers.append(consumer)
            self._checks[f"consumer:{wanted.group_id}"] = self._consumer_check(consumer)
        assert s.ops_port is not None  # the settings fill it in
        self._ops_server = OpsServer(self.readiness, s.ops_host, s.ops_port)
        await self._ops_server.start()
        log.info("service started", extra={"service": s.service_name})

    async def stop(self) -> None:
        """Stop in reverse order: stop taking work, finish it, then close connections."""
        if self._ops_server is not None:
            await self._ops_server.stop()
            self._ops_server = None
        for consumer in reversed(self.consumers):
            await consumer.stop()
        self.consumers.clear()
        for work in reversed(self._background):
            try:
                await work.stop()
            except Exception:
                log.exception("background work did not stop cleanly", extra={"job": work.name})
        self._background.clear()
        for hook in reversed(self._stop_hooks):
            try:
                await hook()
            except Exception:
                log.exception("stop hook failed")
        self._stop_hooks.clear()
        if self._grpc_server is not None:
            await self._grpc_server.stop()
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
        if self._producer is not None:
            await self._producer.stop()
        if self._redis is not None:
            await self._redis.aclose()
        if self._database is not None:
            await self._database.dispose()
        telemetry.shutdown_telemetry()

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        try:
            await self.start()
        except BaseException:
            await self.stop()  # close what did start
            raise
        if self.freeze_heap_once_started:
            # Everything alive now (modules, the app, schemas, descriptors) lives as long as
            # the process: out of the collector's sight, a full collection no longer walks it
            # and pauses requests for tens of milliseconds.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await self.stop()

    # ------------------------------------------------------------------ readiness

    def add_readiness_check(self, name: str, check: ReadinessCheck) -> None:
        """Add a check to `/readyz` from outside the wiring (tests, embedding apps)."""
        self._checks[name] = check

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

    async def _sync_grpc_health(self) -> None:
        """grpc.health.v1's `readiness` entry is SERVING only while every check passes."""
        if self._grpc_server is not None:
            checks = await self.readiness()
            await self._grpc_server.set_ready(all(r == "ok" for r in checks.values()))

    async def _ping_redis(self) -> None:
        assert self._redis is not None
        await self._redis.ping()

    def _grpc_health_check(self, service: str) -> ReadinessCheck:
        async def check() -> None:
            stub = health_pb2_grpc.HealthStub(self._channels[service])
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
    app.state.runtime.freeze_heap_once_started = True  # one app per process: see lifespan
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        timeout_graceful_shutdown=20,
        **SERVER_OPTIONS,  # type: ignore[arg-type]
    )
