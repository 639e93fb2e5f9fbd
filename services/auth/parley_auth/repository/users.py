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

# An address bound to an account anywhere (it has a password), or present in this tenant.
EMAIL_TAKEN = frozenset({"users_email_key", "users_tenant_email_key"})

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


class UserRepository:
    """Users of one tenant (the session's)."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    def _select(self) -> Any:
        return select(*users.c, _team_ids.label("team_ids")).where(
            users.c.tenant_id == self._tenant_id
        )

    async def add_owner(self, user_id: UUID, *, email: str, name: str, password_hash: str) -> User:
        """The first user of a new tenant, with the password chosen at sign-up."""
        return await self._add(
            user_id, email=email, name=name, role=Role.OWNER, password_hash=password_hash
        )

    async def add_invited(self, user_id: UUID, *, email: str, name: str, role: Role) -> User:
        """A user who will choose a password when accepting an invitation (`renew_invitation`
        gives them one)."""
        return await self._add(user_id, email=email, name=name, role=role)

    async def _add(self, user_id: UUID, *, role: Role, **columns: Any) -> User:
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    insert(users).values(
                        tenant_id=self._tenant_id, id=user_id, role=role.value, **columns
                    )
                )
        except IntegrityError as exc:
            if violated_constraint(exc) in EMAIL_TAKEN:
                raise EmailTaken(columns["email"]) from None
            raise
        user = await self.get(user_id)
        assert user is not None
        return user

    async def get(self, user_id: UUID, *, lock: bool = False) -> User | None:
        """One user; with `lock`, the row is held until the transaction ends."""
        row = (await self._session.execute(self._by_id(user_id, lock))).first()
        return _user(row) if row else None

    async def get_credentials(self, user_id: UUID, *, lock: bool = False) -> Credentials | None:
        """The user with its password hash, token state and invitation; with `lock`, the row
        is held until the transaction ends."""
        row = (await self._session.execute(self._by_id(user_id, lock))).first()
        if row is None:
            return None
        return Credentials(
            user=_user(row),
            password_hash=row.password_hash,
            tokens_valid_after=row.tokens_valid_after,
            invitation_digest=row.invitation_digest,
            invitation_expires_at=row.invitation_expires_at,
        )

    def _by_id(self, user_id: UUID, lock: bool) -> Any:
        query = self._select().where(users.c.id == user_id)
        return query.with_for_update(of=users) if lock else query

    async def list(self) -> list[User]:
        rows = await self._session.execute(self._select().order_by(users.c.created_at, users.c.id))
        return [_user(row) for row in rows]

    async def count_active_owners(self) -> int:
        value = await self._session.scalar(
            select(func.count()).where(
                users.c.tenant_id == self._tenant_id,
                users.c.role == Role.OWNER.value,
                users.c.active,
            )
        )
        return int(value or 0)

    async def set_password(self, user_id: UUID, password_hash: str) -> None:
        """A new password (changed, or the same one hashed with today's parameters)."""
        await self._change(user_id, password_hash=password_hash)

    async def accept_invitation(self, user_id: UUID, password_hash: str, name: str | None) -> None:
        """The invitee's chosen password (and name, if given); the invitation is used up.
        EmailTaken when the address is already bound to an account elsewhere."""
        named = {"name": name} if name else {}
        try:
            async with self._session.begin_nested():
                await self._change(
                    user_id,
                    password_hash=password_hash,
                    invitation_digest=None,
                    invitation_expires_at=None,
                    **named,
                )
        except IntegrityError as exc:
            if violated_constraint(exc) in EMAIL_TAKEN:
                raise EmailTaken() from None
            raise

    async def renew_invitation(
        self, user_id: UUID, invitation_digest: bytes, expires_at: datetime
    ) -> None:
        """A new invitation replaces the previous one, which stops working."""
        await self._change(
            user_id, invitation_digest=invitation_digest, invitation_expires_at=expires_at
        )

    async def rename(self, user_id: UUID, name: str) -> None:
        await self._change(user_id, name=name)

    async def change_role(self, user_id: UUID, role: Role) -> None:
        await self._change(user_id, role=role.value)

    async def set_active(self, user_id: UUID, active: bool) -> None:
        """Deactivate (False) or reactivate (True) a user."""
        await self._change(user_id, active=active)

    async def void_tokens_issued_before(self, user_id: UUID, instant: datetime) -> None:
        """Access tokens of the user issued before `instant` are no longer valid."""
        await self._change(user_id, tokens_valid_after=instant)

    async def _change(self, user_id: UUID, **columns: Any) -> None:
        # Private: each public method above names the one change it makes.
        await self._session.execute(
            update(users)
            .where(users.c.tenant_id == self._tenant_id, users.c.id == user_id)
            .values(**columns, updated_at=func.now())
        )
