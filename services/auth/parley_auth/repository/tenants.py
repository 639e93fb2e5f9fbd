"""Queries on the tenant row (one per tenant, visible only to itself)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.models import Tenant
from parley_auth.repository.tables import tenants


def _tenant(row: Any) -> Tenant:
    return Tenant(id=row.tenant_id, name=row.name, created_at=row.created_at, plan=row.plan)


class TenantRepository:
    """The row of one tenant (the session's)."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def create(self, name: str) -> Tenant:
        """Create the tenant (sign-up)."""
        row = (
            await self._session.execute(
                insert(tenants).values(tenant_id=self._tenant_id, name=name).returning(*tenants.c)
            )
        ).one()
        return _tenant(row)

    async def get(self) -> Tenant | None:
        row = (
            await self._session.execute(
                select(tenants).where(tenants.c.tenant_id == self._tenant_id)
            )
        ).first()
        return _tenant(row) if row else None

    async def change_plan(self, plan: str) -> bool:
        """Put the tenant on `plan`; False when the tenant does not exist."""
        changed = await self._session.scalar(
            update(tenants)
            .where(tenants.c.tenant_id == self._tenant_id)
            .values(plan=plan)
            .returning(tenants.c.tenant_id)
        )
        return changed is not None

    async def lock(self) -> None:
        """Hold the tenant row until the transaction ends, which serialises changes that must
        see a consistent set of owners."""
        await self._session.execute(
            select(tenants.c.tenant_id)
            .where(tenants.c.tenant_id == self._tenant_id)
            .with_for_update()
        )
