"""Queries on API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from parley_platform.identity import Role
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.models import ApiKey
from parley_auth.repository.tables import api_keys

_PUBLIC_COLUMNS = [c for c in api_keys.c if c.name != "secret_digest"]


def _api_key(row: Any) -> ApiKey:
    return ApiKey(
        tenant_id=row.tenant_id,
        id=row.id,
        name=row.name,
        role=Role(row.role),
        scopes=frozenset(row.scopes),
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


async def insert_api_key(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    key_id: UUID,
    name: str,
    role: Role,
    scopes: frozenset[str],
    secret_digest: bytes,
    created_by: UUID,
    expires_at: datetime | None,
) -> ApiKey:
    row = (
        await session.execute(
            insert(api_keys)
            .values(
                tenant_id=tenant_id,
                id=key_id,
                name=name,
                role=role.value,
                scopes=sorted(scopes),
                secret_digest=secret_digest,
                created_by=created_by,
                expires_at=expires_at,
            )
            .returning(*_PUBLIC_COLUMNS)
        )
    ).one()
    return _api_key(row)


async def get_api_key(session: AsyncSession, key_id: UUID) -> ApiKey | None:
    row = (await session.execute(select(*_PUBLIC_COLUMNS).where(api_keys.c.id == key_id))).first()
    return _api_key(row) if row else None


async def get_api_key_with_digest(
    session: AsyncSession, key_id: UUID
) -> tuple[ApiKey, bytes] | None:
    row = (await session.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
    return (_api_key(row), row.secret_digest) if row else None


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    rows = await session.execute(
        select(*_PUBLIC_COLUMNS).order_by(api_keys.c.created_at.desc(), api_keys.c.id)
    )
    return [_api_key(row) for row in rows]


async def revoke_api_key(session: AsyncSession, key_id: UUID) -> None:
    await session.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
