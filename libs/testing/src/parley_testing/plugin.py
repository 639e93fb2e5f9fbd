"""Pytest plugin (enabled in the root pyproject): session infrastructure and the fixtures
every service's tests use."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from parley_devstack.services import prepare_database, service
from parley_platform.db.provision import ServiceDatabase, drop
from parley_platform.settings import PLACEHOLDER_PREFIXES, ServiceSettings
from pydantic import SecretStr

from parley_testing.infrastructure import Infrastructure, test_infrastructure
from parley_testing.kafka import delete_topics

SettingsFactory = Callable[..., Awaitable[ServiceSettings]]


# Fixtures that need (or start) the real infrastructure; unit tests may use none of them.
INFRASTRUCTURE_FIXTURES = frozenset(
    {"infra", "service_databases", "topic_prefix", "settings_factory"}
)


def pytest_report_header(config: pytest.Config) -> str:
    return "parley: real Kafka, PostgreSQL and Redis (see parley_testing.infrastructure)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "unit: pure logic, no infrastructure (every test under a tests/unit folder)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under a `tests/unit/` folder are unit tests (`make test-unit` runs only them)."""
    for item in items:
        if "unit" in item.path.parent.parts and "tests" in item.path.parent.parts:
            item.add_marker(pytest.mark.unit)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A unit test that asks for infrastructure is a mistake: fail it, whatever it tests."""
    if item.get_closest_marker("unit") is None:
        return
    used = INFRASTRUCTURE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    if used:
        pytest.fail(
            f"{item.nodeid} is a unit test but uses {', '.join(sorted(used))}: unit tests must "
            "run without infrastructure (move it out of tests/unit)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    """The session's real Kafka, PostgreSQL and Redis."""
    with test_infrastructure() as infrastructure:
        yield infrastructure


@pytest.fixture(scope="session")
def session_tag() -> str:
    """Distinguishes this session's databases and topics from any other run's."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def service_token_secret() -> str:
    return secrets.token_urlsafe(32)


class ServiceDatabases:
    """Each service's database for this session, provisioned and migrated on first use."""

    def __init__(self, infra: Infrastructure, tag: str) -> None:
        self._infra = infra
        self._tag = tag
        self._databases: dict[str, ServiceDatabase] = {}
        self._lock = asyncio.Lock()

    async def get(self, name: str) -> ServiceDatabase:
        async with self._lock:
            if name not in self._databases:
                spec = service(name)
                db = spec.database(
                    host=self._infra.postgres_host,
                    port=self._infra.postgres_port,
                    passwords={
                        "owner": secrets.token_urlsafe(16),
                        "app": secrets.token_urlsafe(16),
                    },
                    suffix=f"_{self._tag}",
                )
                await prepare_database(self._infra.postgres_admin_dsn, spec, db)
                self._databases[name] = db
            return self._databases[name]

    async def drop_all(self) -> None:
        for db in self._databases.values():
            await drop(self._infra.postgres_admin_dsn, db)


@pytest.fixture(scope="session")
async def service_databases(
    infra: Infrastructure, session_tag: str
) -> AsyncIterator[ServiceDatabases]:
    databases = ServiceDatabases(infra, session_tag)
    yield databases
    await databases.drop_all()


@pytest.fixture
async def topic_prefix(infra: Infrastructure, session_tag: str) -> AsyncIterator[str]:
    """A topic (and consumer group) prefix of this test alone: its events never meet another
    test's. The test's topics are deleted when it ends."""
    prefix = f"{session_tag}-{uuid.uuid4().hex[:6]}."
    yield prefix
    await delete_topics(infra.kafka_bootstrap, prefix)


@pytest.fixture(scope="session")
def placeholder_secrets() -> dict[str, str]:
    """One test value per secret setting left at a placeholder, for the whole session: a
    service started again within the session sees the same secrets, as a restarted service
    would (auth, for one, must open again what it sealed with its encryption key)."""
    return {}


@pytest.fixture
def settings_factory(
    infra: Infrastructure,
    service_databases: ServiceDatabases,
    topic_prefix: str,
    service_token_secret: str,
    placeholder_secrets: dict[str, str],
) -> SettingsFactory:
    """`await settings_factory("auth", **overrides)`: a service's settings for this test,
    pointing at the session's infrastructure, its database, and the test's topics."""

    async def make(name: str, **overrides: Any) -> ServiceSettings:
        spec = service(name)
        cls = spec.settings_class()
        values: dict[str, Any] = {
            "environment": "test",
            "kafka_bootstrap": infra.kafka_bootstrap,
            "kafka_topic_prefix": topic_prefix,
            "kafka_partitions": 3,
            "redis_url": infra.redis_url,
            "service_token_secret": service_token_secret,
            "http_port": 0,
            "grpc_port": 0,
            "ops_port": 0,
            "consumer_backoff_initial_s": 0.05,
            "consumer_backoff_max_s": 0.2,
        }
        # Secrets left at a development placeholder get a random test value (per session).
        for field, info in cls.model_fields.items():
            default = info.default
            if isinstance(default, SecretStr) and default.get_secret_value().startswith(
                PLACEHOLDER_PREFIXES
            ):
                values.setdefault(
                    field,
                    placeholder_secrets.setdefault(f"{name}.{field}", secrets.token_urlsafe(32)),
                )
        if spec.migrations_dir() is not None:
            values["database_url"] = (await service_databases.get(name)).app_url()
        values.update(overrides)
        return cls(**values)

    return make
