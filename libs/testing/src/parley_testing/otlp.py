"""An OTLP/gRPC trace receiver inside the test: services started with
`OTLP_ENDPOINT=receiver.endpoint` export their spans here, as they would to a collector, and
the test reads them back as plain records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

SPAN_KINDS = {
    0: "unspecified",
    1: "internal",
    2: "server",
    3: "client",
    4: "producer",
    5: "consumer",
}


@dataclass(frozen=True)
class ReceivedSpan:
    """One exported span, its ids as hex like the logs have them."""

    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    attributes: dict[str, Any] = field(hash=False, compare=False)


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    return getattr(value, which) if which else None


class _Collector(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, spans: list[ReceivedSpan]) -> None:
        self._spans = spans

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self._spans.append(
                        ReceivedSpan(
                            service=str(resource.get("service.name")),
                            name=span.name,
                            kind=SPAN_KINDS.get(span.kind, str(span.kind)),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex() or None,
                            attributes={a.key: _value(a.value) for a in span.attributes},
                        )
                    )
        return trace_service_pb2.ExportTraceServiceResponse()


@dataclass
class OtlpReceiver:
    """The spans received so far, and where to send them."""

    endpoint: str
    spans: list[ReceivedSpan]

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.trace_id == trace_id]


@asynccontextmanager
async def otlp_receiver() -> AsyncIterator[OtlpReceiver]:
    """A receiver on a free loopback port for the duration of the block."""
    spans: list[ReceivedSpan] = []
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Collector(spans), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield OtlpReceiver(endpoint=f"http://127.0.0.1:{port}", spans=spans)
    finally:
        await server.stop(0)
