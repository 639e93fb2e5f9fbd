"""The FastAPI application every service serves: its routes plus `/healthz` (alive) and
`/readyz` (ready or not, without details), the standard error format, request metrics and
HTTP server spans. `/metrics` and the readiness details are on the operations port
(parley_platform.http.ops), never on this one."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley_platform import metrics, telemetry
from parley_platform.http.errors import install_error_handlers
from parley_platform.http.ops import readiness_response

if TYPE_CHECKING:
    from parley_platform.runtime import ServiceRuntime

C = TypeVar("C")


class RequestMetricsMiddleware:
    """Counts requests and observes latency by route template (pure ASGI: cheap)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            if template not in ("/metrics", "/healthz", "/readyz"):
                method = scope["method"]
                metrics.HTTP_REQUESTS.labels(method, template, str(status)).inc()
                metrics.HTTP_LATENCY.labels(method, template).observe(time.perf_counter() - started)


def component_dependency(kind: type[C]) -> Callable[[Request], Awaitable[C]]:
    """A FastAPI dependency giving routes what the service's wiring returned:

    ComponentsDep = Annotated[Components, Depends(component_dependency(Components))]
    """

    # async: FastAPI runs a plain `def` dependency in a worker thread, a thread hand-off on
    # every request of every route for what is an attribute read.
    async def components(request: Request) -> C:
        wired = request.app.state.runtime.components
        if not isinstance(wired, kind):
            raise TypeError(f"the runtime's components are not {kind.__name__}")
        return wired

    return components


# HTTP server spans come from the OpenTelemetry instrumentation (`telemetry.instrument_fastapi`).
# FastAPI's own telemetry (0.163+) sees it and records nothing, but still ran on every request
# once a tracer provider was set: a route lookup and a walk of the middleware stack, 10-15 %
# of the gateway's CPU per webhook.
_NO_NATIVE_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


def create_service_app(
    runtime: ServiceRuntime[Any],
    *,
    title: str,
    description: str = "",
    routers: Sequence[APIRouter] = (),
    public_edge: bool = False,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """A FastAPI app wired to `runtime`'s lifespan and readiness checks. `public_edge`: the
    internet calls it (the gateway), so a caller's trace context is ignored."""
    app = FastAPI(
        title=title,
        description=description,
        lifespan=runtime.lifespan,
        telemetry=_NO_NATIVE_TELEMETRY,
        **fastapi_kwargs,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.add_middleware(RequestMetricsMiddleware)
    telemetry.instrument_fastapi(app, trust_caller_trace_context=not public_edge)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Dependencies are reachable")
    async def readyz() -> JSONResponse:
        # Which dependency fails is for the operations port only.
        return readiness_response(await runtime.readiness(), detailed=False)

    for router in routers:
        app.include_router(router)
    return app
