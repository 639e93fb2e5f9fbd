"""Queries about early updates: a delivery status or media notice that arrived before the
message it is about was known, parked until it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_conversation.repository.tables import early_updates


class EarlyUpdateKind(StrEnum):
    STATUS = "status"  # a parley.whatsapp.v1.MessageStatus
    MEDIA = "media"  # a parley.whatsapp.v1.MediaStored


@dataclass(frozen=True)
class EarlyUpdate:
    id: int
    wamid: str
    kind: EarlyUpdateKind
    payload: bytes


class EarlyUpdateRepository:
    """Early updates of one tenant (the session's)."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def park(self, wamid: str, kind: EarlyUpdateKind, payload: bytes) -> None:
        await self._session.execute(
            insert(early_updates).values(
                tenant_id=self._tenant_id, wamid=wamid, kind=kind.value, payload=payload
            )
        )

    async def take(self, wamids: Sequence[str]) -> list[EarlyUpdate]:
        """Remove and return the updates parked for `wamids`, in arrival order."""
        if not wamids:
            return []
        rows = (
            await self._session.execute(
                delete(early_updates)
                .where(
                    early_updates.c.tenant_id == self._tenant_id,
                    early_updates.c.wamid.in_(list(wamids)),
                )
                .returning(
                    early_updates.c.id,
                    early_updates.c.wamid,
                    early_updates.c.kind,
                    early_updates.c.payload,
                )
            )
        ).all()
        return sorted(
            (EarlyUpdate(r.id, r.wamid, EarlyUpdateKind(r.kind), bytes(r.payload)) for r in rows),
            key=lambda u: u.id,
        )
