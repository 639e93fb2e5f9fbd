"""Consumer-side dedupe: record each event id in the same transaction as its effects."""

from __future__ import annotations

from sqlalchemy import text

from parley_platform.db import driver
from parley_platform.db.session import Database
from parley_platform.events.consumer import ConsumedEvent
from parley_platform.events.schema import INBOX_TABLE

# Plain SQL through asyncpg: one statement of every handled event (parley_platform.db.driver).
_CLAIM = (
    f"INSERT INTO {INBOX_TABLE} (tenant_id, consumer, event_id) "
    "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1"
)


async def first_delivery(session: driver.SqlSession, consumer: str, event: ConsumedEvent) -> bool:
    """True the first time `consumer` sees `event` (and records it); False for a repeat.

    Call it inside the tenant transaction that applies the event's effects (a session or a
    plain `Database.tenant_transaction`): if that transaction rolls back, the event counts as
    unseen and will be processed again.
    """
    claimed = await driver.fetch_one(session, _CLAIM, event.tenant_id, consumer, event.event_id)
    return claimed is not None


_SEEN = f"SELECT 1 FROM {INBOX_TABLE} WHERE consumer = $1 AND event_id = $2"


async def seen_before(session: driver.SqlSession, consumer: str, event: ConsumedEvent) -> bool:
    """Whether `consumer` already finished `event` (read only: for handlers that do slow or
    costly work before their transaction, such as calling a model, and want to skip it for a
    redelivery; `first_delivery` in the transaction still decides)."""
    return await driver.fetch_one(session, _SEEN, consumer, event.event_id) is not None


async def prune_inbox(database: Database, keep_days: int) -> int:
    """Forget event ids processed more than `keep_days` ago (longer than Kafka keeps
    records, so no redelivery can still arrive for them); returns how many were removed."""
    async with database.system_session() as session:
        result = await session.execute(
            text("SELECT parley_inbox_prune(make_interval(days => :days))"), {"days": keep_days}
        )
        return int(result.scalar() or 0)
