"""Queries on teams and their members."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.models import Team
from parley_auth.repository.errors import violated_constraint
from parley_auth.repository.tables import team_members, teams

NAME_TAKEN = "teams_tenant_name_key"

_member_ids = (
    select(func.array_agg(aggregate_order_by(team_members.c.user_id, team_members.c.added_at)))
    .where(team_members.c.tenant_id == teams.c.tenant_id, team_members.c.team_id == teams.c.id)
    .scalar_subquery()
)


class TeamNameTaken(Exception):
    """The tenant already has a team with this name."""


def _team(row: Any) -> Team:
    return Team(
        tenant_id=row.tenant_id,
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        member_ids=tuple(row.member_ids or ()),
    )


async def _unique_name(session: AsyncSession, statement: Any) -> None:
    try:
        async with session.begin_nested():
            await session.execute(statement)
    except IntegrityError as exc:
        if violated_constraint(exc) == NAME_TAKEN:
            raise TeamNameTaken from None
        raise


async def insert_team(session: AsyncSession, tenant_id: UUID, team_id: UUID, name: str) -> None:
    await _unique_name(session, insert(teams).values(tenant_id=tenant_id, id=team_id, name=name))


async def rename_team(session: AsyncSession, team_id: UUID, name: str) -> None:
    await _unique_name(session, update(teams).where(teams.c.id == team_id).values(name=name))


async def get_team(session: AsyncSession, team_id: UUID) -> Team | None:
    row = (
        await session.execute(
            select(*teams.c, _member_ids.label("member_ids")).where(teams.c.id == team_id)
        )
    ).first()
    return _team(row) if row else None


async def list_teams(session: AsyncSession) -> list[Team]:
    rows = await session.execute(
        select(*teams.c, _member_ids.label("member_ids")).order_by(teams.c.name, teams.c.id)
    )
    return [_team(row) for row in rows]


async def delete_team(session: AsyncSession, team_id: UUID) -> bool:
    result = await session.execute(delete(teams).where(teams.c.id == team_id).returning(teams.c.id))
    return result.first() is not None


async def add_member(session: AsyncSession, tenant_id: UUID, team_id: UUID, user_id: UUID) -> None:
    await session.execute(
        pg_insert(team_members)
        .values(tenant_id=tenant_id, team_id=team_id, user_id=user_id)
        .on_conflict_do_nothing()
    )


async def remove_member(session: AsyncSession, team_id: UUID, user_id: UUID) -> bool:
    result = await session.execute(
        delete(team_members)
        .where(team_members.c.team_id == team_id, team_members.c.user_id == user_id)
        .returning(team_members.c.user_id)
    )
    return result.first() is not None
