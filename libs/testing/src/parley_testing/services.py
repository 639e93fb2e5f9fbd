"""Running Parley services in tests: settings for the session's infrastructure, an app served
over real HTTP in the test's event loop, or a service in a child process."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from parley_platform.db import Database
from parley_platform.grpc.credentials import ServiceTokenIssuer
from parley_platform.http.internal import internal_headers
from parley_platform.http.ops import SERVER_OPTIONS
from parley_platform.identity import Principal
from parley_platform.settings import ServiceSettings
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import text


async def outbox_drained(settings: ServiceSettings) -> bool:
    """Whether the service's outbox is empty. A test that kills a service waits for this
    first: the session's tests share each service's database, and rows left behind would be
    relayed again, by the next test's service, into that test's topics."""
    assert settings.database_url is not None
    database = Database(settings.database_url.get_secret_value(), pool_size=1, instrument=False)
    try:
        async with database.system_session() as session:
            pending = (await session.execute(text("SELECT parley_outbox_pending()"))).scalar()
            return pending == 0
    finally:
        await database.engine.dispose()


# Ports are handed out from below the kernel's ephemeral range (32768 and up on Linux), where
# outgoing connections take their source ports: a free port picked there could become the
# source port of some connection before its server bound it (a test then failed with "address
# already in use"). 10000-19999 holds none of the stacks' fixed ports.
_PORTS = range(10_000, 20_000)
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, never handed out before in this process."""
    for _ in range(200):
        port = random.choice(_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port left below the ephemeral range")


@dataclass
class RunningApp:
    """An app served on loopback: its base URL, a client, and the app itself; `ops` is a
    client of a service's operations listener (`/metrics`, detailed `/readyz`), or of the
    app itself when it has no runtime (the sandbox, the LLM stand-in)."""

    app: FastAPI
    base_url: str
    client: httpx.AsyncClient
    ops: httpx.AsyncClient

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


@asynccontextmanager
async def serve_app(app: FastAPI, port: int | None = None) -> AsyncIterator[RunningApp]:
    """Serve `app` (lifespan included) on a free loopback port until the block ends."""
    # Bound now and handed to the server: a port merely found free could be taken (as the
    # source port of a connection the app's start-up opens) before the server bound it, and
    # uvicorn's SystemExit on that escaped into whichever test ran next.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port or 0))
    port = int(listener.getsockname()[1])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="on",
        **SERVER_OPTIONS,  # type: ignore[arg-type]  # as the services run
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if task.done():
                task.result()  # start-up failed: raise its error
                raise RuntimeError("server stopped during start-up")
            await asyncio.sleep(0.02)
        base_url = f"http://127.0.0.1:{port}"
        runtime = getattr(app.state, "runtime", None)
        ops_url = f"http://127.0.0.1:{runtime.ops_port}" if runtime is not None else None
        async with (
            httpx.AsyncClient(base_url=base_url, timeout=15) as client,
            httpx.AsyncClient(base_url=ops_url or base_url, timeout=15) as ops,
        ):
            yield RunningApp(app=app, base_url=base_url, client=client, ops=ops)
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, timeout=30)
        finally:
            listener.close()


@dataclass
class ChildProcess:
    """A Python module run in a child process with its own environment (for crash tests)."""

    args: list[str]
    env: Mapping[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> ChildProcess:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, *self.args],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def settings_env(settings: ServiceSettings, prefix: str | None = None) -> dict[str, str]:
    """Environment variables that reproduce `settings` in a child process (optionally under
    another settings class's prefix)."""
    own_prefix = type(settings).model_config.get("env_prefix", "")
    env = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        elif hasattr(value, "value"):
            value = value.value
        elif isinstance(value, list | dict | BaseModel):
            # JSON is how pydantic-settings reads complex values (models such as plans too).
            value = json.dumps(to_jsonable_python(value))
        env[f"{prefix or own_prefix}{name}".upper()] = str(value)
    return env


def principal_headers(
    settings: ServiceSettings, principal: Principal | None, caller: str = "gateway"
) -> dict[str, str]:
    """Headers of a request forwarded by the gateway on behalf of `principal` to the service
    configured by `settings` (what the gateway sends after authenticating a user)."""
    issuer = ServiceTokenIssuer(settings.service_token_secret.get_secret_value(), caller)
    return internal_headers(issuer, settings.service_name, principal)
