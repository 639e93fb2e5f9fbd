"""`make run`: the whole platform on one machine, in the foreground.

Starts the infrastructure, prepares each service's database, starts the WhatsApp sandbox and
the six services as separate processes, waits until every one is ready, makes sure a demo
tenant with a WhatsApp channel exists (served by the sandbox), prints where each listens, and
on Ctrl-C (or SIGTERM) stops services and then infrastructure. Data stays in .parley/run.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx

from parley_devstack.demo_knowledge import load_demo_knowledge
from parley_devstack.layout import port_offset
from parley_devstack.processes import StackError, read_pid, spawn, terminate, wait_until
from parley_devstack.seeding import (
    AuthApi,
    Sandbox,
    SeededChannel,
    SeedingError,
    WhatsAppNumber,
    seed_tenant_with_channel,
)
from parley_devstack.services import SERVICES, ServiceSpec, prepare_database, service
from parley_devstack.stack import Endpoints, Stack

# The WhatsApp sandbox (stand-in for Meta's Cloud API) and the demo business it serves.
SANDBOX_PORT = int(os.environ.get("PARLEY_SANDBOX_HTTP_PORT", str(8090 + port_offset())))
# The LLM stand-in (an OpenAI-compatible server), to try the AI's model path offline.
LLM_STUB_PORT = int(os.environ.get("PARLEY_LLM_STUB_HTTP_PORT", str(8095 + port_offset())))
DEMO_EMAIL = "demo@parley.example"
DEMO_PHONE_NUMBER_ID = "100000000000001"
DEMO_WABA_ID = "100000000000002"
DEMO_DISPLAY_NUMBER = "+1 555 010 0001"


class _AlreadyRunning(StackError):
    pass


def _acquire_supervisor_lock(stack: Stack) -> IO[str]:
    stack.layout.root.mkdir(parents=True, exist_ok=True)
    path = stack.layout.root / "supervisor.lock"
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        raise _AlreadyRunning(
            f"Parley is already running ({owner}); use that one, or stop it with Ctrl-C in its "
            "terminal (or `make stop`) before starting again"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
    handle.flush()
    (stack.layout.root / "supervisor.pid").write_text(str(os.getpid()))
    return handle


def stop_platform(stack: Stack, timeout_s: float = 60) -> bool:
    """Ask a running `make run` to stop (as Ctrl-C would) and wait; False if none runs."""
    pid = read_pid(stack.layout.root / "supervisor.pid")
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    wait_until(
        lambda: read_pid(stack.layout.root / "supervisor.pid") is None,
        timeout_s=timeout_s,
        what="stopping Parley",
    )
    return True


def service_environment(spec: ServiceSpec, stack: Stack, endpoints: Endpoints) -> dict[str, str]:
    """Environment variables of one service in the local platform."""
    layout = stack.layout
    p = spec.env_prefix()
    env = {
        **spec.wiring(),
        f"{p}ENVIRONMENT": "development",
        f"{p}KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        f"{p}REDIS_URL": endpoints.redis_url,
        f"{p}SERVICE_TOKEN_SECRET": layout.secret("service_token_secret"),
    }
    if spec.migrations_dir() is not None:
        db = spec.database(
            host=endpoints.postgres_host,
            port=endpoints.postgres_port,
            passwords={
                "owner": layout.secret(f"{spec.name}_owner_password"),
                "app": layout.secret(f"{spec.name}_app_password"),
            },
        )
        env[f"{p}DATABASE_URL"] = db.app_url()
    # Meta's side is the sandbox: one generated secret signs its webhooks and checks them.
    if spec.name == "gateway":
        env[f"{p}WHATSAPP_APP_SECRET"] = layout.secret("whatsapp_app_secret")
        env[f"{p}WHATSAPP_VERIFY_TOKEN"] = layout.secret("whatsapp_verify_token")
    if spec.name in ("whatsapp", "auth"):  # sending; verifying numbers as they connect
        env[f"{p}GRAPH_API_BASE_URL"] = f"http://127.0.0.1:{SANDBOX_PORT}"
    # On one machine the sites worth importing (a local help centre) are on loopback.
    if spec.name == "knowledge":
        env[f"{p}CRAWL_ALLOW_PRIVATE_ADDRESSES"] = "true"
    return env


def sandbox_environment(stack: Stack) -> dict[str, str]:
    """Environment of the WhatsApp sandbox in the local platform."""
    sandbox_url = f"http://127.0.0.1:{SANDBOX_PORT}"
    gateway_port = service("gateway").port("http_port")
    return {
        "PARLEY_SANDBOX_HTTP_PORT": str(SANDBOX_PORT),
        "PARLEY_SANDBOX_PUBLIC_BASE_URL": sandbox_url,
        "PARLEY_SANDBOX_DEFAULT_APP_SECRET": stack.layout.secret("whatsapp_app_secret"),
        "PARLEY_SANDBOX_DEFAULT_WEBHOOK_URL": f"http://127.0.0.1:{gateway_port}/webhooks/whatsapp",
        # Like Meta: no webhooks for a number until Parley subscribed to its WABA.
        "PARLEY_SANDBOX_REQUIRE_APP_SUBSCRIPTION": "true",
    }


def ensure_demo(stack: Stack) -> None:
    """A demo business with a WhatsApp number and a small knowledge base, and the sandbox
    serving that number.

    Through the public API, as a person would (parley_devstack.seeding): the sandbox (whose
    memory starts empty on every run) serves the number first, then the business signs up (or,
    on later runs, signs in) and registers the number unless it is there. Safe to run again."""
    layout = stack.layout
    number = WhatsAppNumber(
        phone_number_id=DEMO_PHONE_NUMBER_ID,
        waba_id=DEMO_WABA_ID,
        display_phone_number=DEMO_DISPLAY_NUMBER,
        access_token=layout.secret("demo_whatsapp_access_token"),
    )

    api_url = f"http://127.0.0.1:{service('gateway').port('http_port')}"
    auth_url = f"http://127.0.0.1:{service('auth').port('http_port')}"

    async def seed() -> SeededChannel:
        async with (
            httpx.AsyncClient(base_url=api_url, timeout=20) as api,
            httpx.AsyncClient(base_url=auth_url, timeout=10) as mailbox,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{SANDBOX_PORT}", timeout=10) as meta,
        ):
            return await seed_tenant_with_channel(
                # The gateway may learn auth's first signing key a few seconds late; the
                # sign-up link arrives in auth's local mailbox.
                AuthApi(api, keys_patience_s=30, mailbox=mailbox),
                number,
                # Webhook URL and signing secret: the sandbox's defaults (the gateway's).
                sandbox=Sandbox(meta),
                company="Demo Company",
                owner_name="Demo Owner",
                email=DEMO_EMAIL,
                password=layout.secret("demo_password"),
                existing_ok=True,
            )

    try:
        seeded = asyncio.run(seed())
    except SeedingError as exc:
        raise StackError(f"the demo tenant could not be prepared: {exc}") from None
    # A small knowledge base (opening hours, returns, shipping, prices): the AI answers the
    # sandbox's customers from it out of the box.
    with httpx.Client(base_url=api_url, timeout=20) as client:
        try:
            load_demo_knowledge(client, {"Authorization": f"Bearer {seeded.owner.access_token}"})
        except httpx.HTTPError as exc:
            raise StackError(f"the demo knowledge base could not be loaded: {exc}") from None


class Restarts:
    """Restarts a service that died, as compose's restart policy or Kubernetes would: after
    1 s, then 2, 4, ... up to 30 s while it keeps dying; a service that stayed up for a
    minute starts again from 1 s."""

    MIN_DELAY_S = 1.0
    MAX_DELAY_S = 30.0
    STABLE_AFTER_S = 60.0

    def __init__(self) -> None:
        self._start: dict[str, Callable[[], None]] = {}
        self._started_at: dict[str, float] = {}
        self._delay: dict[str, float] = {}
        self._due: dict[str, float] = {}

    def register(self, name: str, start: Callable[[], None]) -> None:
        self._start[name] = start
        self._delay[name] = self.MIN_DELAY_S

    def names(self) -> list[str]:
        """Services that are meant to be running (not waiting for their restart)."""
        return [name for name in self._start if name not in self._due]

    def start(self, name: str) -> None:
        self._start[name]()
        self._started_at[name] = time.monotonic()

    def exited(self, name: str, log_file: Path) -> None:
        """Note that `name` died and schedule its restart."""
        now = time.monotonic()
        if now - self._started_at.get(name, now) > self.STABLE_AFTER_S:
            self._delay[name] = self.MIN_DELAY_S
        delay = self._delay[name]
        self._due[name] = now + delay
        self._delay[name] = min(delay * 2, self.MAX_DELAY_S)
        print(f"!! {name} exited; restarting in {delay:.0f}s (log: {log_file})", flush=True)

    def restart_due(self) -> None:
        now = time.monotonic()
        for name, due in list(self._due.items()):
            if due <= now:
                del self._due[name]
                print(f"   restarting {name}", flush=True)
                self.start(name)


def _service_starter(
    spec: ServiceSpec, stack: Stack, endpoints: Endpoints, pid_dir: Path, log_dir: Path
) -> Callable[[], None]:
    def start() -> None:
        spawn(
            [sys.executable, "-m", spec.module],
            log_file=log_dir / f"{spec.name}.log",
            pid_file=pid_dir / f"{spec.name}.pid",
            env={**os.environ, **service_environment(spec, stack, endpoints)},
        )

    return start


def _ready(port: int, path: str = "/readyz") -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def run_platform(stack: Stack) -> None:
    """Bring everything up, serve until interrupted, then bring everything down."""
    lock = _acquire_supervisor_lock(stack)
    started_at = time.monotonic()
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    pid_dir = stack.layout.root / "pids"
    log_dir = stack.layout.root / "logs"
    try:
        print("Starting infrastructure (PostgreSQL, Redis, Kafka)...", flush=True)
        endpoints = stack.up()
        for spec in SERVICES:
            env = service_environment(spec, stack, endpoints)
            if f"{spec.env_prefix()}DATABASE_URL" in env:
                print(f"  migrating {spec.name} database...", flush=True)
                db = spec.database(
                    host=endpoints.postgres_host,
                    port=endpoints.postgres_port,
                    passwords={
                        "owner": stack.layout.secret(f"{spec.name}_owner_password"),
                        "app": stack.layout.secret(f"{spec.name}_app_password"),
                    },
                )
                asyncio.run(prepare_database(endpoints.postgres_admin_dsn, spec, db))
        pid_dir.mkdir(parents=True, exist_ok=True)
        terminate(pid_dir / "sandbox.pid")
        print("  starting the WhatsApp sandbox...", flush=True)
        spawn(
            [sys.executable, "-m", "parley_sandbox"],
            log_file=log_dir / "sandbox.log",
            pid_file=pid_dir / "sandbox.pid",
            env={**os.environ, **sandbox_environment(stack)},
        )
        wait_until(
            lambda: _ready(SANDBOX_PORT, "/healthz") or stopping,
            timeout_s=60,
            what=f"the WhatsApp sandbox (port {SANDBOX_PORT})",
            pid=read_pid(pid_dir / "sandbox.pid"),
            log_file=log_dir / "sandbox.log",
        )
        terminate(pid_dir / "llm_stub.pid")
        print("  starting the LLM stand-in...", flush=True)
        spawn(
            [sys.executable, "-m", "parley_llm_stub"],
            log_file=log_dir / "llm_stub.log",
            pid_file=pid_dir / "llm_stub.pid",
            env={**os.environ, "PARLEY_LLM_STUB_HTTP_PORT": str(LLM_STUB_PORT)},
        )
        wait_until(
            lambda: _ready(LLM_STUB_PORT, "/healthz") or stopping,
            timeout_s=60,
            what=f"the LLM stand-in (port {LLM_STUB_PORT})",
            pid=read_pid(pid_dir / "llm_stub.pid"),
            log_file=log_dir / "llm_stub.log",
        )
        restarts = Restarts()
        for spec in SERVICES:
            terminate(pid_dir / f"{spec.name}.pid")  # a leftover from a crashed run
            print(f"  starting {spec.name}...", flush=True)
            restarts.register(spec.name, _service_starter(spec, stack, endpoints, pid_dir, log_dir))
            restarts.start(spec.name)
        for spec in SERVICES:
            port = spec.port("http_port")

            def ready(port: int = port) -> bool:
                return _ready(port) or stopping

            wait_until(
                ready,
                timeout_s=90,
                what=f"{spec.name} (/readyz on port {port})",
                pid=read_pid(pid_dir / f"{spec.name}.pid"),
                log_file=log_dir / f"{spec.name}.log",
            )
        if stopping:
            return
        print("  preparing the demo tenant and its WhatsApp number...", flush=True)
        ensure_demo(stack)
        elapsed = time.monotonic() - started_at
        _print_summary(stack, endpoints, log_dir, elapsed)
        sandbox_reported = False
        while not stopping:
            for name in restarts.names():
                if read_pid(pid_dir / f"{name}.pid") is None:
                    restarts.exited(name, log_dir / f"{name}.log")
            restarts.restart_due()
            if not sandbox_reported and read_pid(pid_dir / "sandbox.pid") is None:
                # Not restarted: its memory (numbers, chats) would be gone; `make run` again.
                sandbox_reported = True
                print(f"!! the sandbox exited; see {log_dir / 'sandbox.log'}", flush=True)
            time.sleep(0.5)
    finally:
        print("\nStopping Parley...", flush=True)
        for spec in reversed(SERVICES):
            terminate(pid_dir / f"{spec.name}.pid")
        terminate(pid_dir / "sandbox.pid")
        terminate(pid_dir / "llm_stub.pid")
        stack.down()
        (stack.layout.root / "supervisor.pid").unlink(missing_ok=True)
        lock.close()
        print("Stopped. Data is kept in", stack.layout.root, flush=True)


def _print_summary(stack: Stack, endpoints: Endpoints, log_dir: Path, elapsed: float) -> None:
    lines = [f"\nParley is up ({elapsed:.1f}s). Ctrl-C stops everything.\n"]
    for spec in SERVICES:
        http = spec.port("http_port")
        grpc = spec.port("grpc_port")
        grpc_text = f"  gRPC 127.0.0.1:{grpc}" if grpc else ""
        lines.append(f"  {spec.name:13} http://127.0.0.1:{http}{grpc_text}")
    lines += [
        "",
        f"  API + docs     http://127.0.0.1:{SERVICES[-1].port('http_port')}/docs",
        f"  WhatsApp chat  http://127.0.0.1:{SANDBOX_PORT}/  (the sandbox: write as a customer "
        f"to {DEMO_DISPLAY_NUMBER})",
        f"  LLM stand-in   http://127.0.0.1:{LLM_STUB_PORT}/v1  (PUT /api/v1/ai/settings with "
        f'{{"preset": "local-stub", "base_url": "http://127.0.0.1:{LLM_STUB_PORT}/v1"}})',
        f"  demo login     {DEMO_EMAIL} / {stack.layout.secret('demo_password')}",
        f"  email outbox   http://127.0.0.1:{service('auth').port('http_port')}/dev/mailbox  "
        "(sign-up confirmations and invitations: Parley sends no real email here)",
        f"  PostgreSQL     127.0.0.1:{endpoints.postgres_port}   Redis {endpoints.redis_url}   "
        f"Kafka {endpoints.kafka_bootstrap}",
        f"  logs           {log_dir}/",
        f"  data           {stack.layout.root}/",
    ]
    print("\n".join(lines), flush=True)
