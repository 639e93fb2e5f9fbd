"""The operations listener: `/metrics`, `/readyz` with each check's result, and `/healthz`, on
a port of their own that is never published.

The public port (the gateway's faces the internet) keeps only a minimal `/healthz` and a
`/readyz` that says ready or not: metric names, label values and which dependency is failing
tell an attacker how the platform is built and when it is weak. Kubernetes probes and
Prometheus reach the operations port on the pod's address; nothing routes to it from outside
(see docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

log = logging.getLogger(__name__)

# How every Parley HTTP server runs uvicorn (services, the operations port, tests' servers).
SERVER_OPTIONS: dict[str, object] = {
    "log_config": None,  # Parley's logging (parley_platform.logging)
    "access_log": False,
    # The peer address stays the connection's: uvicorn would otherwise take it from
    # X-Forwarded-For sent by any local peer. The gateway decides which proxies to trust.
    "proxy_headers": False,
    # Each request in a context of its own. Otherwise, after a body larger than uvicorn's read
    # buffer, the next request on the kept-alive connection ran in a copy of that request's
    # context (python/cpython#140947): its server span became a child of the previous
    # request's, two requests in one trace.
    "reset_contextvars": True,
}

Readiness = Callable[[], Awaitable[dict[str, str]]]
START_TIMEOUT_S = 10.0


def readiness_response(checks: dict[str, str], *, detailed: bool) -> JSONResponse:
    """200 when every check is "ok", else 503; the checks' results only when `detailed`."""
    ready = all(result == "ok" for result in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "not_ready"}
    if detailed:
        body["checks"] = checks
    return JSONResponse(body, status_code=200 if ready else 503)


def create_ops_app(readiness: Readiness) -> FastAPI:
    """The operations app: metrics, detailed readiness and liveness."""
    app = FastAPI(title="Parley operations", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        return readiness_response(await readiness(), detailed=True)

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that runs beside the service's own: the service's server handles
    SIGTERM/SIGINT and stops this one through the runtime, so this one must not take the
    signals over."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class OpsServer:
    """Serves the operations app on `host:port` (0: a free port) in the running loop."""

    def __init__(self, readiness: Readiness, host: str, port: int) -> None:
        self._host, self._port = host, port
        config = uvicorn.Config(
            create_ops_app(readiness),
            lifespan="off",
            **SERVER_OPTIONS,  # type: ignore[arg-type]
        )
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None
        self.port: int | None = None

    async def start(self) -> int:
        """Bind and serve; returns the bound port. A port already taken raises OSError here
        (uvicorn would exit the process)."""
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        self.port = int(sock.getsockname()[1])
        self._task = asyncio.create_task(self._server.serve([sock]), name="ops-server")
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it (port taken, ...)
                raise RuntimeError("the operations server stopped during start-up")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the operations server did not start")
            await asyncio.sleep(0.01)
        log.info("operations listener ready", extra={"port": self.port})
        return self.port

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            try:
                await asyncio.wait_for(self._task, timeout=5)
            except (TimeoutError, SystemExit):
                self._task.cancel()
            self._task = None
