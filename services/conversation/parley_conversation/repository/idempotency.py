"""Queries about idempotency keys: an agent's send repeated with the same key returns the
message the first one created instead of sending again."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from parley_platform.db import driver
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from parley_conversation.repository.tables import idempotency_keys


@dataclass(frozen=True)
class RememberedSend:
    request_hash: str
    message_id: UUID


class IdempotencyRepository:
    """Idempotency keys of one tenant (the session's), per actor."""

    def __init__(self, session: driver.SqlSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def find(self, actor: str, key: str) -> RememberedSend | None:
        row = (
            await driver.sqlalchemy_session(self._session).execute(
                select(idempotency_keys.c.request_hash, idempotency_keys.c.message_id).where(
                    idempotency_keys.c.tenant_id == self._tenant_id,
                    idempotency_keys.c.actor == actor,
                    idempotency_keys.c.key == key,
                )
            )
        ).first()
        return RememberedSend(row.request_hash, row.message_id) if row else None

    async def remember(self, actor: str, key: str, request_hash: str, message_id: UUID) -> bool:
        """Record the key; False when a concurrent request took it first."""
        inserted = await driver.sqlalchemy_session(self._session).execute(
            insert(idempotency_keys)
            .values(
                tenant_id=self._tenant_id,
                actor=actor,
                key=key,
                request_hash=request_hash,
                message_id=message_id,
            )
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        return inserted.first() is not None
