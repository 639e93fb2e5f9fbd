"""Real Kafka, PostgreSQL and Redis for a test session, from the first source available:

1. addresses in environment variables (`PARLEY_TEST_POSTGRES_ADMIN_DSN`,
   `PARLEY_TEST_KAFKA_BOOTSTRAP`, `PARLEY_TEST_REDIS_URL`): used as they are;
2. a Docker engine: testcontainers (PostgreSQL with pgvector, Apache Kafka, Redis);
3. otherwise the local stack's `test` profile (parley_devstack), started if needed and
   stopped at the end if this session started it (`PARLEY_KEEP_TEST_STACK=1` keeps it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


@dataclass(frozen=True)
class Infrastructure:
    """Addresses of the session's infrastructure."""

    postgres_admin_dsn: str
    kafka_bootstrap: str
    redis_url: str
    source: str

    @property
    def postgres_host(self) -> str:
        return urlparse(self.postgres_admin_dsn).hostname or "127.0.0.1"

    @property
    def postgres_port(self) -> int:
        return urlparse(self.postgres_admin_dsn).port or 5432


def _docker_engine_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return (
            subprocess.run(
                ["docker", "info"],
                capture_output=True,
                timeout=5,
                check=False,
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def _from_testcontainers() -> Iterator[Infrastructure]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    with (
        PostgresContainer("pgvector/pgvector:pg18", driver=None) as pg,
        KafkaContainer("apache/kafka:4.1.1").with_kraft() as kafka,
        RedisContainer("redis:7-alpine") as redis,
    ):
        yield Infrastructure(
            postgres_admin_dsn=pg.get_connection_url(),
            kafka_bootstrap=kafka.get_bootstrap_server(),
            redis_url=f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0",
            source="testcontainers",
        )


@contextmanager
def _from_local_stack() -> Iterator[Infrastructure]:
    from parley_devstack.stack import Stack

    stack = Stack("test")
    was_running = all(stack.status().values())
    endpoints = stack.up()
    try:
        yield Infrastructure(
            postgres_admin_dsn=endpoints.postgres_admin_dsn,
            kafka_bootstrap=endpoints.kafka_bootstrap,
            redis_url=endpoints.redis_url,
            source="local stack (test profile)",
        )
    finally:
        if not was_running and os.environ.get("PARLEY_KEEP_TEST_STACK") != "1":
            with suppress(Exception):
                stack.down()


@contextmanager
def test_infrastructure() -> Iterator[Infrastructure]:
    """The session's infrastructure, from the first available source (module docstring)."""
    given = {
        k: os.environ.get(f"PARLEY_TEST_{k.upper()}")
        for k in ("postgres_admin_dsn", "kafka_bootstrap", "redis_url")
    }
    if all(given.values()):
        yield Infrastructure(**given, source="environment")  # type: ignore[arg-type]
    elif _docker_engine_available():
        with _from_testcontainers() as infra:
            yield infra
    else:
        with _from_local_stack() as infra:
            yield infra


@asynccontextmanager
async def disposable_kafka(workdir: Path) -> AsyncIterator[DisposableKafka]:
    """A Kafka node of its own (local jars, needs Java and Maven), for tests that stop and
    restart Kafka on purpose without disturbing the session's shared broker."""
    from parley_devstack.kafka import Kafka
    from parley_devstack.layout import StackLayout

    from parley_testing.services import free_port

    node = Kafka(StackLayout("test"), root=workdir, port=free_port(), controller_port=free_port())
    kafka = DisposableKafka(node)
    await kafka.start()
    try:
        yield kafka
    finally:
        await kafka.stop()


class DisposableKafka:
    """A throwaway Kafka node that a test may stop and start again."""

    def __init__(self, node: Any) -> None:
        self._node = node

    @property
    def bootstrap(self) -> str:
        return str(self._node.bootstrap)

    async def stop(self) -> None:
        await asyncio.to_thread(self._node.stop)

    async def start(self) -> None:
        await asyncio.to_thread(self._node.start)
