"""Teams of a tenant and their members.

A member must be a user of the same tenant: the look-up runs under row-level security and
the composite foreign key (tenant_id, user_id) refuses anything else. Team ids are part of a
user's access token, so changing someone's membership voids that user's access tokens (the
client refreshes and gets the new list).
"""

from __future__ import annotations

import uuid
from uuid import UUID

from parley_platform.errors import Conflict, NotFound
from parley_platform.identity import Principal, Role
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.models import Team
from parley_auth.repository.teams import TeamNameTaken, TeamRepository
from parley_auth.repository.users import UserRepository
from parley_auth.service.context import AuthContext
from parley_auth.service.sessions import void_access_tokens


def _not_found(team_id: UUID) -> NotFound:
    return NotFound(f"team {team_id} not found")


def _name_taken(name: str) -> Conflict:
    return Conflict(f"a team named {name!r} already exists", code="team_name_taken")


def _may_change_teams(actor: Principal) -> None:
    actor.require_role(Role.ADMIN)
    actor.require_scope("teams:write")


async def _team(teams: TeamRepository, team_id: UUID) -> Team:
    team = await teams.get(team_id)
    if team is None:
        raise _not_found(team_id)
    return team


async def list_teams(session: AsyncSession, actor: Principal) -> list[Team]:
    actor.require_scope("teams:read")
    return await TeamRepository(session, actor.tenant_id).list()


async def get_team(session: AsyncSession, actor: Principal, team_id: UUID) -> Team:
    actor.require_scope("teams:read")
    return await _team(TeamRepository(session, actor.tenant_id), team_id)


async def create_team(session: AsyncSession, actor: Principal, name: str) -> Team:
    _may_change_teams(actor)
    teams = TeamRepository(session, actor.tenant_id)
    team_id = uuid.uuid4()
    try:
        await teams.create(team_id, name)
    except TeamNameTaken:
        raise _name_taken(name) from None
    return await _team(teams, team_id)


async def rename_team(session: AsyncSession, actor: Principal, team_id: UUID, name: str) -> Team:
    _may_change_teams(actor)
    teams = TeamRepository(session, actor.tenant_id)
    await _team(teams, team_id)
    try:
        await teams.rename(team_id, name)
    except TeamNameTaken:
        raise _name_taken(name) from None
    return await _team(teams, team_id)


async def delete_team(
    ctx: AuthContext, session: AsyncSession, actor: Principal, team_id: UUID
) -> None:
    _may_change_teams(actor)
    teams = TeamRepository(session, actor.tenant_id)
    users = UserRepository(session, actor.tenant_id)
    team = await _team(teams, team_id)
    await teams.delete(team_id)
    for member_id in team.member_ids:
        member = await users.get(member_id)
        if member is not None:
            await void_access_tokens(ctx, session, member)


async def add_member(
    ctx: AuthContext, session: AsyncSession, actor: Principal, team_id: UUID, user_id: UUID
) -> Team:
    _may_change_teams(actor)
    teams = TeamRepository(session, actor.tenant_id)
    await _team(teams, team_id)
    user = await UserRepository(session, actor.tenant_id).get(user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if team_id not in user.team_ids:
        await teams.add_member(team_id, user_id)
        await void_access_tokens(ctx, session, user)
    return await _team(teams, team_id)


async def remove_member(
    ctx: AuthContext, session: AsyncSession, actor: Principal, team_id: UUID, user_id: UUID
) -> None:
    _may_change_teams(actor)
    teams = TeamRepository(session, actor.tenant_id)
    await _team(teams, team_id)
    user = await UserRepository(session, actor.tenant_id).get(user_id)
    if user is None or not await teams.remove_member(team_id, user_id):
        raise NotFound(f"user {user_id} is not a member of team {team_id}")
    await void_access_tokens(ctx, session, user)
