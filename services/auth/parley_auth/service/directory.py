"""What other services may ask about a tenant's people: a user, a team, a permission.

Every question runs in the calling tenant's transaction, so another tenant's id is simply
not found."""

from __future__ import annotations

from uuid import UUID

from parley_platform.errors import NotFound
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.models import Team, User
from parley_auth.domain.roles import role_allows
from parley_auth.repository import teams, users


async def find_user(session: AsyncSession, user_id: UUID) -> User:
    user = await users.get_user(session, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


async def find_team(session: AsyncSession, team_id: UUID) -> Team:
    team = await teams.get_team(session, team_id)
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team


async def user_may(session: AsyncSession, user_id: UUID, permission: str) -> bool:
    """True when the user is active and its role grants `permission`."""
    user = await find_user(session, user_id)
    return user.active and role_allows(user.role, permission)
