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
from pathlib import Path
from typing import IO

import httpx

from parley_devstack.layout import port_offset
from parley_devstack.processes import StackError, read_pid, spawn, terminate, wait_until
from parley_devstack.services import SERVICES, ServiceSpec, prepare_database, service
from parley_devstack.stack import Endpoints, Stack

# The WhatsApp sandbox (stand-in for Meta's Cloud API) and the demo business it serves.
SANDBOX_PORT = int(os.environ.get("PARLEY_SANDBOX_HTTP_PORT", str(8090 + port_offset())))
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
    if spec.name == "whatsapp":
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
    }


def ensure_demo(stack: Stack) -> None:
    """A demo business with a WhatsApp number, and the sandbox serving that number.

    Through the public API, as a person would: sign up (or, on later runs, sign in), register
    the number unless it is there, then tell the sandbox (whose memory starts empty on every
    run) about it. Safe to run again."""
    layout = stack.layout
    password = layout.secret("demo_password")
    access_token = layout.secret("demo_whatsapp_access_token")
    api = f"http://127.0.0.1:{service('gateway').port('http_port')}"
    with httpx.Client(base_url=api, timeout=20) as client:
        signup = client.post(
            "/api/v1/signup",
            json={
                "company_name": "Demo Company",
                "name": "Demo Owner",
                "email": DEMO_EMAIL,
                "password": password,
            },
        )
        if signup.status_code == 409:
            signup = client.post(
                "/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": password}
            )
        if signup.status_code not in (200, 201):
            raise StackError(f"demo sign-up failed ({signup.status_code}): {signup.text[:300]}")
        headers = {"Authorization": f"Bearer {signup.json()['access_token']}"}
        # A gateway that started before auth's signing key existed learns it within seconds.
        deadline = time.monotonic() + 30
        while True:
            channels = client.get("/api/v1/channels/whatsapp", headers=headers)
            if channels.status_code != 401 or time.monotonic() > deadline:
                break
            time.sleep(1)
        channels.raise_for_status()
        if not any(c["phone_number_id"] == DEMO_PHONE_NUMBER_ID for c in channels.json()):
            created = client.post(
                "/api/v1/channels/whatsapp",
                headers=headers,
                json={
                    "phone_number_id": DEMO_PHONE_NUMBER_ID,
                    "waba_id": DEMO_WABA_ID,
                    "display_phone_number": DEMO_DISPLAY_NUMBER,
                    "access_token": access_token,
                },
            )
            if created.status_code != 201:
                raise StackError(
                    f"demo channel registration failed ({created.status_code}): "
                    f"{created.text[:300]}"
                )
    with httpx.Client(base_url=f"http://127.0.0.1:{SANDBOX_PORT}", timeout=10) as sandbox:
        sandbox.post(
            "/sandbox/numbers",
            json={
                "phone_number_id": DEMO_PHONE_NUMBER_ID,
                "waba_id": DEMO_WABA_ID,
                "display_phone_number": DEMO_DISPLAY_NUMBER,
                "access_token": access_token,
            },
        ).raise_for_status()


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
        for spec in SERVICES:
            pid_file = pid_dir / f"{spec.name}.pid"
            terminate(pid_file)  # a leftover from a crashed run
            print(f"  starting {spec.name}...", flush=True)
            spawn(
                [sys.executable, "-m", spec.module],
                log_file=log_dir / f"{spec.name}.log",
                pid_file=pid_file,
                env={**os.environ, **service_environment(spec, stack, endpoints)},
            )
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
        exited: set[str] = set()
        while not stopping:
            for name in (*(spec.name for spec in SERVICES), "sandbox"):
                if name not in exited and read_pid(pid_dir / f"{name}.pid") is None:
                    exited.add(name)
                    print(f"!! {name} exited; see {log_dir / (name + '.log')}", flush=True)
            time.sleep(1)
    finally:
        print("\nStopping Parley...", flush=True)
        for spec in reversed(SERVICES):
            terminate(pid_dir / f"{spec.name}.pid")
        terminate(pid_dir / "sandbox.pid")
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
        f"  demo login     {DEMO_EMAIL} / {stack.layout.secret('demo_password')}",
        f"  PostgreSQL     127.0.0.1:{endpoints.postgres_port}   Redis {endpoints.redis_url}   "
        f"Kafka {endpoints.kafka_bootstrap}",
        f"  logs           {log_dir}/",
        f"  data           {stack.layout.root}/",
    ]
    print("\n".join(lines), flush=True)
