"""OpenTelemetry set-up shared by every service.

Spans are exported over OTLP when an endpoint is configured, through a batch processor with
short timeouts so that a missing collector never blocks a request or a shutdown. Without an
endpoint (and no other span processor), spans still carry trace ids (to logs, Kafka headers
and gRPC metadata) but record nothing: recording spans that nobody exports cost 3-8 % of
every service's CPU (docs/performance.md).
HTTP (FastAPI), gRPC, the httpx and aiohttp clients and redis are instrumented here, SQL
statements only when `trace_database_statements` asks for it (a span per statement costs CPU
on every event); `trace_sample_ratio` records a share of the traces; Kafka spans are made
by parley_platform.events itself because the aiokafka instrumentation ends its consumer span
before the handler runs (STYLE.md, "Known traps").
"""

from __future__ import annotations

import logging
import types
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.context import Context
    from starlette.types import ASGIApp, Receive, Scope, Send

    from parley_platform.settings import ServiceSettings

log = logging.getLogger(__name__)

# Probes and scrapes would otherwise be most of the traces.
UNTRACED_HTTP_PATHS = "/healthz,/readyz,/metrics"


class _RecordWhenExported(Sampler):
    """`ratio`'s decision once something exports spans; before that, none is recorded (the
    span still gets ids, which propagate as not sampled)."""

    def __init__(self) -> None:
        self.ratio: Sampler = ParentBased(TraceIdRatioBased(1.0))
        self.recording = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if not self.recording:
            return ALWAYS_OFF.should_sample(parent_context, trace_id, name)
        return self.ratio.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"RecordWhenExported{{{self.ratio.get_description()}}}"


_sampler = _RecordWhenExported()
_provider: TracerProvider | None = None


def setup_telemetry(
    settings: ServiceSettings, extra_processors: list[SpanProcessor] | None = None
) -> TracerProvider:
    """Install the process-wide tracer provider once and instrument the client libraries."""
    global _provider
    if _provider is not None:
        for processor in extra_processors or []:
            _provider.add_span_processor(processor)
            _sampler.recording = True
        return _provider
    # A trace begun upstream (a webhook, a Kafka record) keeps its caller's decision, so one
    # customer message is recorded whole or not at all.
    _sampler.ratio = ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": f"parley-{settings.service_name}",
                "deployment.environment": settings.environment.value,
            }
        ),
        sampler=_sampler,
    )
    _sampler.recording = bool(settings.otlp_endpoint or extra_processors)
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(
            endpoint=settings.otlp_endpoint, insecure=True, timeout=settings.otlp_timeout_s
        )
        # The batch processor drops spans when its queue is full instead of blocking callers.
        provider.add_span_processor(
            BatchSpanProcessor(
                exporter,
                max_queue_size=8192,
                schedule_delay_millis=1000,
                export_timeout_millis=int(settings.otlp_timeout_s * 1000),
            )
        )
    for processor in extra_processors or []:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _provider = provider
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    AioHttpClientInstrumentor().instrument(tracer_provider=provider)
    RedisInstrumentor().instrument(tracer_provider=provider)
    return provider


class IgnoreCallerTraceContext:
    """ASGI middleware that drops a caller's trace context (W3C `traceparent`, `tracestate`,
    `baggage`) before the server span starts, for the public edge: there, whoever calls
    (Meta, a browser, an API client, an attacker) must not choose our trace ids, our baggage
    or whether we record the trace (the sampler follows a parent's decision)."""

    HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = scope["headers"]
            if any(name in self.HEADERS for name, _ in headers):
                kept = [(name, value) for name, value in headers if name not in self.HEADERS]
                scope = {**scope, "headers": kept}
        await self.app(scope, receive, send)


def instrument_fastapi(app: FastAPI, *, trust_caller_trace_context: bool = True) -> None:
    """HTTP server spans for `app`, except health, readiness and metrics. A service behind
    the gateway continues its caller's trace; the public edge does not
    (`trust_caller_trace_context=False`) and starts a trace of its own."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # One server span per request. The per-message "receive"/"send" child spans cost CPU on
    # every request (and on every chunk of a live stream) and tell nothing the server span
    # and the handler's own spans do not.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls=UNTRACED_HTTP_PATHS, exclude_spans=["receive", "send"]
    )
    if not trust_caller_trace_context:
        # The instrumentation's middleware is the outermost layer of the stack it builds, so
        # the headers must go before that whole stack, not in a middleware inside it.
        instrumented = app.build_middleware_stack

        def build_middleware_stack(self: FastAPI) -> ASGIApp:
            return IgnoreCallerTraceContext(instrumented())

        app.build_middleware_stack = types.MethodType(build_middleware_stack, app)  # type: ignore[method-assign]


def instrument_engine(sync_engine: object) -> None:
    """Database spans for one SQLAlchemy engine."""
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().instrument(engine=sync_engine, enable_commenter=False)


def not_a_health_check(details: object) -> bool:
    """Whether a gRPC call (server `HandlerCallDetails` or client `ClientCallDetails`) is
    traced: every call but the health checks. The instrumentation's own filter tries several
    isinstance checks against ABCs per call: 2-3 % of knowledge's CPU under load."""
    method = getattr(details, "method", "")
    if isinstance(method, bytes):  # some grpc versions give the client's method as bytes
        method = method.decode()
    return not method.lstrip("/").startswith("grpc.health.v1.Health")


def grpc_server_interceptor() -> object:
    """gRPC server spans, with health checks kept out of traces."""
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return aio_server_interceptor(filter_=not_a_health_check)


def grpc_client_interceptors() -> list[object]:
    """gRPC client spans that also inject the trace context into call metadata."""
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return list(aio_client_interceptors(filter_=not_a_health_check))


def shutdown_telemetry() -> None:
    """Flush what can be flushed quickly; never waits long for a missing collector."""
    if _provider is not None:
        try:
            _provider.force_flush(timeout_millis=2000)
        except Exception:  # a flush failure must not fail a shutdown
            log.warning("span flush failed at shutdown", exc_info=True)


def tracer(name: str) -> trace.Tracer:
    """A tracer for Parley code (`name` is the module)."""
    return trace.get_tracer(name)
