"""Spans are recorded only when something exports them; trace ids travel either way."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from parley_platform.telemetry import _RecordWhenExported


def _provider(sampler: _RecordWhenExported) -> tuple[TracerProvider, InMemorySpanExporter]:
    provider = TracerProvider(sampler=sampler)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_without_an_exporter_spans_record_nothing_but_still_carry_a_trace_id() -> None:
    sampler = _RecordWhenExported()
    provider, exporter = _provider(sampler)
    with provider.get_tracer("t").start_as_current_span("work") as span:
        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier)
        assert not span.is_recording()
        assert span.get_span_context().trace_id != 0
    assert exporter.get_finished_spans() == ()
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert carrier["traceparent"].startswith(f"00-{trace_id}-")
    flags = int(carrier["traceparent"].rsplit("-", 1)[1], 16)
    assert flags & 0x01 == 0  # not sampled: downstream services record nothing either


def test_once_spans_are_exported_the_configured_ratio_decides() -> None:
    sampler = _RecordWhenExported()
    sampler.recording = True
    provider, exporter = _provider(sampler)
    with provider.get_tracer("t").start_as_current_span("work"):
        pass
    assert [s.name for s in exporter.get_finished_spans()] == ["work"]

    sampler.ratio = ParentBased(TraceIdRatioBased(0.0))
    with provider.get_tracer("t").start_as_current_span("unsampled"):
        pass
    assert [s.name for s in exporter.get_finished_spans()] == ["work"]
