"""Queries on the tenant row (one per tenant, visible only to itself)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.models import Tenant
from parley_auth.repository.tables import tenants


def _tenant(row: object) -> Tenant:
    return Tenant(id=row.tenant_id, name=row.name, created_at=row.created_at)  # type: ignore[attr-defined]


async def insert_tenant(session: AsyncSession, tenant_id: UUID, name: str) -> Tenant:
    row = (
        await session.execute(
            insert(tenants).values(tenant_id=tenant_id, name=name).returning(*tenants.c)
        )
    ).one()
    return _tenant(row)


async def get_tenant(
    session: AsyncSession, tenant_id: UUID, *, lock: bool = False
) -> Tenant | None:
    """The tenant row; with `lock`, held until the transaction ends, which serialises changes
    that must see a consistent set of owners."""
    query = select(tenants).where(tenants.c.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _tenant(row) if row else None
