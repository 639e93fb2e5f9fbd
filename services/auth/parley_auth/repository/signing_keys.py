"""Queries on the platform's token-signing keys (not tenant data)."""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.signing_keys import SigningKeyRecord
from parley_auth.repository.tables import signing_keys

# Any constant: serialises rotations across auth replicas (this database only).
_ROTATION_LOCK = 0x6B657973  # "keys"


class SigningKeyRepository:
    """The signing keys (platform data: a session without a tenant)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def list(self) -> list[SigningKeyRecord]:
        rows = await self._session.execute(
            select(signing_keys).order_by(signing_keys.c.active_from)
        )
        return [
            SigningKeyRecord(
                kid=row.kid,
                public_key=Ed25519PublicKey.from_public_bytes(row.public_key),
                private_key_sealed=row.private_key_sealed,
                created_at=row.created_at,
                active_from=row.active_from,
            )
            for row in rows
        ]

    async def lock_rotation(self) -> None:
        """Hold the rotation lock until the transaction ends."""
        await self._session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ROTATION_LOCK}
        )

    async def add(
        self, *, kid: str, public_key: bytes, private_key_sealed: bytes, active_from: datetime
    ) -> None:
        """A new key, signing from `active_from` (published before that)."""
        await self._session.execute(
            insert(signing_keys).values(
                kid=kid,
                public_key=public_key,
                private_key_sealed=private_key_sealed,
                active_from=active_from,
            )
        )
