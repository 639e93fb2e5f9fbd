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


class ApiKeyRepository:
    """API keys of one tenant (the session's). The secret's digest is read only by
    `get_with_digest`."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    def _of_tenant(self, key_id: UUID) -> Any:
        return (api_keys.c.tenant_id == self._tenant_id) & (api_keys.c.id == key_id)

    async def create(
        self,
        key_id: UUID,
        *,
        name: str,
        role: Role,
        scopes: frozenset[str],
        secret_digest: bytes,
        created_by: UUID,
        expires_at: datetime | None,
    ) -> ApiKey:
        row = (
            await self._session.execute(
                insert(api_keys)
                .values(
                    tenant_id=self._tenant_id,
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

    async def get(self, key_id: UUID) -> ApiKey | None:
        row = (
            await self._session.execute(select(*_PUBLIC_COLUMNS).where(self._of_tenant(key_id)))
        ).first()
        return _api_key(row) if row else None

    async def get_with_digest(self, key_id: UUID) -> tuple[ApiKey, bytes] | None:
        """The key and its secret's digest (to verify a presented key)."""
        row = (await self._session.execute(select(api_keys).where(self._of_tenant(key_id)))).first()
        return (_api_key(row), row.secret_digest) if row else None

    async def list(self) -> list[ApiKey]:
        rows = await self._session.execute(
            select(*_PUBLIC_COLUMNS)
            .where(api_keys.c.tenant_id == self._tenant_id)
            .order_by(api_keys.c.created_at.desc(), api_keys.c.id)
        )
        return [_api_key(row) for row in rows]

    async def revoke(self, key_id: UUID) -> None:
        """Revoke the key (a revoked key keeps its first revocation time)."""
        await self._session.execute(
            update(api_keys)
            .where(self._of_tenant(key_id), api_keys.c.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )
