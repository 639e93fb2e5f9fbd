"""Revocation markers: what auth writes, every gateway replica reads at once."""

from __future__ import annotations

import time
import uuid

import pytest
from parley_platform.identity import Principal, Role
from parley_platform.revocation import RevocationList
from redis.asyncio import Redis


@pytest.fixture
async def redis(infra):
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()


async def test_tokens_issued_before_the_marker_are_void(redis, infra) -> None:
    writer, reader = RevocationList(redis), RevocationList(Redis.from_url(infra.redis_url))
    user = Principal(tenant_id=uuid.uuid4(), role=Role.AGENT, user_id=uuid.uuid4())
    now = int(time.time())
    assert user.user_id is not None
    assert not await reader.is_revoked(user, now - 100)

    await writer.void_user_tokens(user.tenant_id, user.user_id, now, keep_s=60)
    assert await reader.is_revoked(user, now - 1)
    assert not await reader.is_revoked(user, now)
    # A marker never moves back (replicas racing with older instants).
    await writer.void_user_tokens(user.tenant_id, user.user_id, now - 50, keep_s=60)
    assert await reader.is_revoked(user, now - 1)
    other = Principal(tenant_id=user.tenant_id, role=Role.AGENT, user_id=uuid.uuid4())
    assert not await reader.is_revoked(other, now - 1)
    ttl = await redis.ttl(f"{user.tenant_id}:revocation:user:{user.user_id}")
    assert 0 < ttl <= 60  # the key starts with the tenant id and expires


async def test_a_revoked_api_key_is_revoked_everywhere(redis) -> None:
    key = Principal(tenant_id=uuid.uuid4(), role=Role.AGENT, api_key_id=uuid.uuid4())
    revocations = RevocationList(redis)
    assert key.api_key_id is not None
    assert not await revocations.is_revoked(key)
    await revocations.revoke_api_key(key.tenant_id, key.api_key_id, keep_s=60)
    assert await revocations.is_revoked(key)
