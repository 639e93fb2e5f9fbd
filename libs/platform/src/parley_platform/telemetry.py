"""OpenTelemetry set-up shared by every service.

Spans are exported over OTLP when an endpoint is configured, through a batch processor with
short timeouts so that a missing collector never blocks a request or a shutdown. Without an
endpoint, spans are still created (trace ids reach logs and Kafka headers) but not exported.
HTTP (FastAPI), gRPC, httpx and redis are instrumented here, SQL statements only when
`trace_database_statements` asks for it (a span per statement costs CPU on every event);
`trace_sample_ratio` records a share of the traces; Kafka spans are made
by parley_platform.events itself because the aiokafka instrumentation ends its consumer span
before the handler runs (STYLE.md, "Known traps").
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.instrumentation.grpc import filters
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

if TYPE_CHECKING:
    from fastapi import FastAPI

    from parley_platform.settings import ServiceSettings

log = logging.getLogger(__name__)

# Probes and scrapes would otherwise be most of the traces.
UNTRACED_HTTP_PATHS = "/healthz,/readyz,/metrics"

_provider: TracerProvider | None = None


def setup_telemetry(
    settings: ServiceSettings, extra_processors: list[SpanProcessor] | None = None
) -> TracerProvider:
    """Install the process-wide tracer provider once and instrument the client libraries."""
    global _provider
    if _provider is not None:
        for processor in extra_processors or []:
            _provider.add_span_processor(processor)
        return _provider
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": f"parley-{settings.service_name}",
                "deployment.environment": settings.environment.value,
            }
        ),
        # A trace begun upstream (a webhook, a Kafka record) keeps its caller's decision, so
        # one customer message is recorded whole or not at all.
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
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
    RedisInstrumentor().instrument(tracer_provider=provider)
    return provider


def instrument_fastapi(app: FastAPI) -> None:
    """HTTP server spans for `app`, except health, readiness and metrics."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # One server span per request. The per-message "receive"/"send" child spans cost CPU on
    # every request (and on every chunk of a live stream) and tell nothing the server span
    # and the handler's own spans do not.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls=UNTRACED_HTTP_PATHS, exclude_spans=["receive", "send"]
    )


def instrument_engine(sync_engine: object) -> None:
    """Database spans for one SQLAlchemy engine."""
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().instrument(engine=sync_engine, enable_commenter=False)


def grpc_server_interceptor() -> object:
    """gRPC server spans, with health checks kept out of traces."""
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return aio_server_interceptor(filter_=filters.negate(filters.health_check()))


def grpc_client_interceptors() -> list[object]:
    """gRPC client spans that also inject the trace context into call metadata."""
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return list(aio_client_interceptors(filter_=filters.negate(filters.health_check())))


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
