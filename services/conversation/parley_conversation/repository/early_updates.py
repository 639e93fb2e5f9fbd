"""Queries about early updates: a delivery status or media notice that arrived before the
message it is about was known, parked until it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from parley_platform.db import driver

# Plain SQL through asyncpg: statuses and media notices run them (parley_platform.db.driver).
_PARK = "INSERT INTO early_updates (tenant_id, wamid, kind, payload) VALUES ($1, $2, $3, $4)"
_TAKE = """
    DELETE FROM early_updates WHERE tenant_id = $1 AND wamid = ANY($2::text[])
    RETURNING id, wamid, kind, payload
"""


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

    def __init__(self, session: driver.SqlSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def park(self, wamid: str, kind: EarlyUpdateKind, payload: bytes) -> None:
        await driver.execute(self._session, _PARK, self._tenant_id, wamid, kind.value, payload)

    async def take(self, wamids: Sequence[str]) -> list[EarlyUpdate]:
        """Remove and return the updates parked for `wamids`, in arrival order."""
        if not wamids:
            return []
        rows = await driver.fetch_all(self._session, _TAKE, self._tenant_id, list(wamids))
        return sorted(
            (
                EarlyUpdate(r["id"], r["wamid"], EarlyUpdateKind(r["kind"]), bytes(r["payload"]))
                for r in rows
            ),
            key=lambda u: u.id,
        )
