"""What other services may ask about a tenant and its people: the tenant (its plan), a user,
a team, a permission.

Every question runs in the calling tenant's transaction, so another tenant's id is simply
not found."""

from __future__ import annotations

from uuid import UUID

from parley_platform.errors import NotFound
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.models import Team, Tenant, User
from parley_auth.domain.roles import role_allows
from parley_auth.repository.teams import TeamRepository
from parley_auth.repository.tenants import TenantRepository
from parley_auth.repository.users import UserRepository


async def find_tenant(session: AsyncSession, tenant_id: UUID) -> Tenant:
    tenant = await TenantRepository(session, tenant_id).get()
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} not found")
    return tenant


async def find_user(session: AsyncSession, tenant_id: UUID, user_id: UUID) -> User:
    user = await UserRepository(session, tenant_id).get(user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


async def find_team(session: AsyncSession, tenant_id: UUID, team_id: UUID) -> Team:
    team = await TeamRepository(session, tenant_id).get(team_id)
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team


async def user_may(session: AsyncSession, tenant_id: UUID, user_id: UUID, permission: str) -> bool:
    """True when the user is active and its role grants `permission`."""
    user = await find_user(session, tenant_id, user_id)
    return user.active and role_allows(user.role, permission)
