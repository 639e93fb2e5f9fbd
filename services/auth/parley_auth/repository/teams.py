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


class TeamRepository:
    """Teams of one tenant (the session's) and their members."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    def _select(self) -> Any:
        return select(*teams.c, _member_ids.label("member_ids")).where(
            teams.c.tenant_id == self._tenant_id
        )

    async def _with_unique_name(self, statement: Any) -> None:
        try:
            async with self._session.begin_nested():
                await self._session.execute(statement)
        except IntegrityError as exc:
            if violated_constraint(exc) == NAME_TAKEN:
                raise TeamNameTaken from None
            raise

    async def create(self, team_id: UUID, name: str) -> None:
        await self._with_unique_name(
            insert(teams).values(tenant_id=self._tenant_id, id=team_id, name=name)
        )

    async def rename(self, team_id: UUID, name: str) -> None:
        await self._with_unique_name(
            update(teams)
            .where(teams.c.tenant_id == self._tenant_id, teams.c.id == team_id)
            .values(name=name)
        )

    async def get(self, team_id: UUID) -> Team | None:
        row = (await self._session.execute(self._select().where(teams.c.id == team_id))).first()
        return _team(row) if row else None

    async def list(self) -> list[Team]:
        rows = await self._session.execute(self._select().order_by(teams.c.name, teams.c.id))
        return [_team(row) for row in rows]

    async def delete(self, team_id: UUID) -> bool:
        """Remove the team (its memberships go with it); False if there was none."""
        result = await self._session.execute(
            delete(teams)
            .where(teams.c.tenant_id == self._tenant_id, teams.c.id == team_id)
            .returning(teams.c.id)
        )
        return result.first() is not None

    async def add_member(self, team_id: UUID, user_id: UUID) -> None:
        """Make the user a member (already being one is fine)."""
        await self._session.execute(
            pg_insert(team_members)
            .values(tenant_id=self._tenant_id, team_id=team_id, user_id=user_id)
            .on_conflict_do_nothing()
        )

    async def remove_member(self, team_id: UUID, user_id: UUID) -> bool:
        """False when the user was not a member."""
        result = await self._session.execute(
            delete(team_members)
            .where(
                team_members.c.tenant_id == self._tenant_id,
                team_members.c.team_id == team_id,
                team_members.c.user_id == user_id,
            )
            .returning(team_members.c.user_id)
        )
        return result.first() is not None
