"""The services the end-to-end and WhatsApp benchmarks run, each as its own process (as in
production, so the load generator never shares an event loop with what it measures), at log
level INFO as in production, on the benchmark's infrastructure (bench/infra.py: by default a
durable PostgreSQL and a Kafka node of the benchmark's own; the test profile's broker carries
every test run's topics, thousands of partitions, which no production broker of this size
would); plus a tenant with a channel registered in auth (parley_devstack.seeding)."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from parley_devstack.seeding import (
    AuthApi,
    Sandbox,
    SeededChannel,
    WhatsAppNumber,
    seed_tenant_with_channel,
)
from parley_devstack.services import prepare_database, service
from parley_platform.db.provision import ServiceDatabase, drop
from parley_platform.grpc.credentials import ServiceTokenIssuer
from parley_testing.services import free_port

from bench.infra import BenchInfrastructure, bench_infrastructure, cpu_seconds


@dataclass
class Process:
    """A service running as a child process."""

    name: str
    proc: subprocess.Popen[bytes]
    http_port: int
    log: Path
    grpc_port: int | None = None
    ops_port: int | None = None  # `/metrics` and the detailed `/readyz` (not the sandbox's)


class BenchStack:
    """Starts services as child processes and cleans everything up afterwards."""

    def __init__(self, bench: BenchInfrastructure) -> None:
        self.bench = bench
        self.infra = bench.infra
        self.kafka_bootstrap = bench.infra.kafka_bootstrap
        self.tag = f"bench{uuid.uuid4().hex[:6]}"
        self.topic_prefix = f"{self.tag}."
        self.service_token_secret = secrets.token_urlsafe(32)
        self.meta_url = ""  # the sandbox auth verifies numbers with (start_auth)
        self._databases: list[ServiceDatabase] = []
        self._processes: list[Process] = []
        self._logs = Path(tempfile.mkdtemp(prefix="parley-bench-"))

    async def database_url(self, name: str) -> str:
        """A fresh, migrated database for service `name` (its app role's URL)."""
        spec = service(name)
        db = spec.database(
            host=self.infra.postgres_host,
            port=self.infra.postgres_port,
            passwords={"owner": secrets.token_urlsafe(16), "app": secrets.token_urlsafe(16)},
            suffix=f"_{self.tag}",
        )
        await prepare_database(self.infra.postgres_admin_dsn, spec, db)
        self._databases.append(db)
        return db.app_url()

    def common_env(self, name: str) -> dict[str, str]:
        """Settings every service of the benchmark shares (prefix of `name`)."""
        p = f"PARLEY_{name.upper()}_"
        return {
            f"{p}ENVIRONMENT": "development",
            f"{p}LOG_LEVEL": "INFO",  # as in production
            f"{p}KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            f"{p}KAFKA_TOPIC_PREFIX": self.topic_prefix,
            f"{p}REDIS_URL": self.infra.redis_url,
            f"{p}SERVICE_TOKEN_SECRET": self.service_token_secret,
        }

    async def start(
        self,
        name: str,
        module: str,
        env: dict[str, str],
        *,
        grpc: bool = False,
        http_port: int | None = None,
        grpc_port: int | None = None,
    ) -> Process:
        """Run `python -m module` with `env` and wait until its /readyz (or /healthz) says so."""
        prefix = f"PARLEY_{name.upper()}_"
        http_port = http_port or free_port()
        grpc_port = (grpc_port or free_port()) if grpc else None
        full_env = {**os.environ, **env, f"{prefix}HTTP_PORT": str(http_port)}
        # The operations listener would default to the HTTP port + 1000, which may be taken.
        ops_port = None if module == "parley_sandbox" else free_port()
        if ops_port:
            full_env[f"{prefix}OPS_PORT"] = str(ops_port)
        if grpc_port:
            full_env[f"{prefix}GRPC_PORT"] = str(grpc_port)
        log = self._logs / f"{name}-{len(self._processes)}.log"
        proc = await asyncio.to_thread(_spawn, [sys.executable, "-m", module], full_env, log)
        process = Process(name, proc, http_port, log, grpc_port, ops_port)
        self._processes.append(process)
        probe = "/healthz" if module == "parley_sandbox" else "/readyz"
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited; see {log}:\n{log.read_text()[-3000:]}")
                try:
                    if (
                        await client.get(f"http://127.0.0.1:{http_port}{probe}")
                    ).status_code == 200:
                        return process
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not ready in 60 s; see {log}")
                await asyncio.sleep(0.2)

    async def start_sandbox(self, **env: str) -> Process:
        """The WhatsApp sandbox (Meta's stand-in), `env` being PARLEY_SANDBOX_* settings."""
        port = free_port()
        return await self.start(
            "sandbox",
            "parley_sandbox",
            {
                "PARLEY_SANDBOX_HTTP_PORT": str(port),
                "PARLEY_SANDBOX_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                "PARLEY_SANDBOX_LOG_LEVEL": "WARNING",
                **env,
            },
        )

    async def start_auth(self, meta: Process | None = None) -> Process:
        """The auth service with a database of its own, verifying numbers with the sandbox
        `meta` (one of its own, without webhooks, by default)."""
        if meta is None:
            meta = await self.start_sandbox(PARLEY_SANDBOX_STATUS_WEBHOOKS="false")
        self.meta_url = f"http://127.0.0.1:{meta.http_port}"
        env = {
            **self.common_env("auth"),
            "PARLEY_AUTH_DATABASE_URL": await self.database_url("auth"),
            "PARLEY_AUTH_ENCRYPTION_KEY": secrets.token_urlsafe(32),
            "PARLEY_AUTH_GRAPH_API_BASE_URL": self.meta_url,
        }
        return await self.start("auth", "parley_auth", env, grpc=True)

    async def new_tenant_with_channel(
        self, auth: Process, *, messages_per_second: int = 80, sandbox: Sandbox | None = None
    ) -> SeededChannel:
        """Sign a business up and register a number, through auth's API (as the gateway
        forwards it), the number created first at the sandbox auth verifies with (`sandbox`,
        a client of that one with webhook settings of its own, when given)."""
        issuer = ServiceTokenIssuer(self.service_token_secret, "gateway")
        base = f"http://127.0.0.1:{auth.http_port}"
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as client,
            httpx.AsyncClient(base_url=self.meta_url, timeout=10) as meta,
        ):
            return await seed_tenant_with_channel(
                AuthApi(client, as_gateway=issuer),
                WhatsAppNumber.random(messages_per_second=messages_per_second),
                sandbox=sandbox or Sandbox(meta),
                company=f"Bench {self.tag}",
                email=f"{self.tag}@example.com",
            )

    @property
    def processes(self) -> list[Process]:
        """Every process started so far, in start order."""
        return list(self._processes)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each service (replicas of one service added up)."""
        used: dict[str, float] = {}
        for process in self._processes:
            if process.proc.poll() is None:
                used[process.name] = used.get(process.name, 0.0) + cpu_seconds(process.proc.pid)
        return used

    async def close(self) -> None:
        """Stop every process and drop the benchmark's databases."""
        for process in reversed(self._processes):
            process.proc.terminate()
        for process in reversed(self._processes):
            try:
                process.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.proc.kill()
        for db in self._databases:
            await drop(self.infra.postgres_admin_dsn, db)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


def env_json(value: Any) -> str:
    """A list or dict setting as the JSON text pydantic-settings reads from the environment."""
    import json

    return json.dumps(value)


@asynccontextmanager
async def bench_stack(
    fresh_kafka: bool = True, durable: bool = True, statement_stats: bool = False
) -> AsyncIterator[BenchStack]:
    """The benchmark's infrastructure (bench/infra.py) and the processes started on it."""
    async with bench_infrastructure(
        durable=durable, own_kafka=fresh_kafka, statement_stats=statement_stats
    ) as bench:
        stack = BenchStack(bench)
        try:
            yield stack
        finally:
            await stack.close()
