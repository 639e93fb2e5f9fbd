"""Fixtures of the platform library's tests: a database of their own (built by the same
migration helpers services use) and settings pointing at the session's infrastructure."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import pytest
from parley.whatsapp.v1.events_pb2 import InboundMessage, Text
from parley_platform.db import Database
from parley_platform.db import migrations as db_migrations
from parley_platform.db.provision import ServiceDatabase, drop, provision
from parley_platform.events import EventProducer, OutgoingEvent, conversation_key
from parley_platform.events.topics import WHATSAPP_INBOUND
from parley_platform.settings import ServiceSettings, service_config

HERE = Path(__file__).resolve().parent


class PlatformTestSettings(ServiceSettings):
    model_config = service_config("platformtest")
    service_name: ClassVar[str] = "platformtest"


@pytest.fixture(scope="session")
async def platform_db(infra, session_tag) -> AsyncIterator[ServiceDatabase]:
    db = ServiceDatabase(
        database=f"parley_platformtest_{session_tag}",
        owner_role=f"parley_platformtest_{session_tag}_owner",
        owner_password=secrets.token_urlsafe(16),
        app_role=f"parley_platformtest_{session_tag}_app",
        app_password=secrets.token_urlsafe(16),
        host=infra.postgres_host,
        port=infra.postgres_port,
    )
    await provision(infra.postgres_admin_dsn, db)
    await asyncio.to_thread(db_migrations.upgrade, HERE / "migrations", db.owner_url())
    yield db
    await drop(infra.postgres_admin_dsn, db)


@pytest.fixture
async def database(platform_db) -> AsyncIterator[Database]:
    db = Database(platform_db.app_url(), pool_size=4)
    yield db
    await db.dispose()


@pytest.fixture
def settings(infra, platform_db, topic_prefix, service_token_secret) -> PlatformTestSettings:
    return PlatformTestSettings(
        environment="test",
        kafka_bootstrap=infra.kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        kafka_partitions=3,
        redis_url=infra.redis_url,
        database_url=platform_db.app_url(),
        service_token_secret=service_token_secret,
        consumer_max_attempts=3,
        consumer_backoff_initial_s=0.05,
        consumer_backoff_max_s=0.2,
        grpc_port=0,
        ops_port=0,
    )


def inbound(body: str, tenant: uuid.UUID, customer: str = "447700900123") -> OutgoingEvent:
    """A customer's text message as the gateway publishes it."""
    return OutgoingEvent(
        topic=WHATSAPP_INBOUND,
        key=conversation_key(tenant, customer),
        payload=InboundMessage(from_wa_id=customer, type="text", text=Text(body=body)),
        tenant_id=tenant,
    )


@pytest.fixture
async def producer(settings) -> AsyncIterator[EventProducer]:
    """A started producer for the test's settings."""
    p = EventProducer(settings)
    await p.start()
    yield p
    await p.stop()
