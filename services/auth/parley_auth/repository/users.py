"""Queries on users (and the team ids each belongs to)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from parley_platform.identity import Role
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.models import User
from parley_auth.repository.errors import violated_constraint
from parley_auth.repository.tables import team_members, users

EMAIL_TAKEN = "users_email_key"

_team_ids = (
    select(func.array_agg(team_members.c.team_id))
    .where(team_members.c.tenant_id == users.c.tenant_id, team_members.c.user_id == users.c.id)
    .scalar_subquery()
)


@dataclass(frozen=True)
class Credentials:
    """What signing a user in needs beyond the user itself."""

    user: User
    password_hash: str | None
    tokens_valid_after: datetime | None
    invitation_digest: bytes | None
    invitation_expires_at: datetime | None


class EmailTaken(Exception):
    """Another account already uses this email address."""


def _user(row: Any) -> User:
    return User(
        tenant_id=row.tenant_id,
        id=row.id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        active=row.active,
        has_password=row.password_hash is not None,
        created_at=row.created_at,
        team_ids=frozenset(row.team_ids or ()),
    )


def _select_users() -> Any:
    return select(*users.c, _team_ids.label("team_ids"))


async def insert_user(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    user_id: UUID,
    email: str,
    name: str,
    role: Role,
    password_hash: str | None = None,
    invitation_digest: bytes | None = None,
    invitation_expires_at: datetime | None = None,
) -> User:
    try:
        async with session.begin_nested():
            await session.execute(
                insert(users).values(
                    tenant_id=tenant_id,
                    id=user_id,
                    email=email,
                    name=name,
                    role=role.value,
                    password_hash=password_hash,
                    invitation_digest=invitation_digest,
                    invitation_expires_at=invitation_expires_at,
                )
            )
    except IntegrityError as exc:
        if violated_constraint(exc) == EMAIL_TAKEN:
            raise EmailTaken(email) from None
        raise
    user = await get_user(session, user_id)
    assert user is not None
    return user


async def get_user(session: AsyncSession, user_id: UUID, *, lock: bool = False) -> User | None:
    query = _select_users().where(users.c.id == user_id)
    if lock:
        query = query.with_for_update(of=users)
    row = (await session.execute(query)).first()
    return _user(row) if row else None


async def get_credentials(
    session: AsyncSession, user_id: UUID, *, lock: bool = False
) -> Credentials | None:
    """The user with its password hash, token state and invitation; with `lock`, the row is
    held until the transaction ends."""
    query = _select_users().where(users.c.id == user_id)
    if lock:
        query = query.with_for_update(of=users)
    row = (await session.execute(query)).first()
    if row is None:
        return None
    return Credentials(
        user=_user(row),
        password_hash=row.password_hash,
        tokens_valid_after=row.tokens_valid_after,
        invitation_digest=row.invitation_digest,
        invitation_expires_at=row.invitation_expires_at,
    )


async def list_users(session: AsyncSession) -> list[User]:
    rows = await session.execute(_select_users().order_by(users.c.created_at, users.c.id))
    return [_user(row) for row in rows]


async def count_active_owners(session: AsyncSession) -> int:
    value = await session.scalar(
        select(func.count()).where(users.c.role == Role.OWNER.value, users.c.active)
    )
    return int(value or 0)


async def update_user(session: AsyncSession, user_id: UUID, **values: Any) -> None:
    """Change columns of one user (the caller decided that the change is allowed)."""
    await session.execute(
        update(users).where(users.c.id == user_id).values(**values, updated_at=func.now())
    )


async def existing_user_ids(session: AsyncSession, user_ids: set[UUID]) -> set[UUID]:
    rows = await session.execute(select(users.c.id).where(users.c.id.in_(user_ids)))
    return {row.id for row in rows}
