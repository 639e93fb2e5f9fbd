"""Queries on refresh tokens (stored as digests, grouped in families: one family per
sign-in, each refresh adds the next token of the family)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.repository.tables import refresh_tokens


@dataclass(frozen=True)
class StoredRefreshToken:
    id: UUID
    family_id: UUID
    user_id: UUID
    secret_digest: bytes
    expires_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


class RefreshTokenRepository:
    """Refresh tokens of one tenant (the session's)."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def issue(
        self,
        token_id: UUID,
        *,
        family_id: UUID,
        user_id: UUID,
        secret_digest: bytes,
        expires_at: datetime,
    ) -> None:
        """Store the next token of `family_id` (a new family's first token)."""
        await self._session.execute(
            insert(refresh_tokens).values(
                tenant_id=self._tenant_id,
                id=token_id,
                family_id=family_id,
                user_id=user_id,
                secret_digest=secret_digest,
                expires_at=expires_at,
            )
        )

    async def get_for_update(self, token_id: UUID) -> StoredRefreshToken | None:
        """The token, locked: two refreshes with one token are decided one after the other."""
        row = (
            await self._session.execute(
                select(refresh_tokens)
                .where(
                    refresh_tokens.c.tenant_id == self._tenant_id,
                    refresh_tokens.c.id == token_id,
                )
                .with_for_update()
            )
        ).first()
        if row is None:
            return None
        return StoredRefreshToken(
            id=row.id,
            family_id=row.family_id,
            user_id=row.user_id,
            secret_digest=row.secret_digest,
            expires_at=row.expires_at,
            rotated_at=row.rotated_at,
            revoked_at=row.revoked_at,
        )

    async def mark_rotated(self, token_id: UUID) -> None:
        """The token was exchanged for the next one: presenting it again is reuse."""
        await self._session.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.tenant_id == self._tenant_id, refresh_tokens.c.id == token_id)
            .values(rotated_at=func.now())
        )

    async def revoke_family(self, family_id: UUID) -> None:
        """End one sign-in session: every token of its family."""
        await self._revoke_live(refresh_tokens.c.family_id == family_id)

    async def revoke_all_of_user(self, user_id: UUID) -> None:
        """End every session of one user."""
        await self._revoke_live(refresh_tokens.c.user_id == user_id)

    async def _revoke_live(self, which: ColumnElement[bool]) -> None:
        # A token already revoked keeps its first revocation time.
        await self._session.execute(
            update(refresh_tokens)
            .where(
                refresh_tokens.c.tenant_id == self._tenant_id,
                which,
                refresh_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=func.now())
        )
