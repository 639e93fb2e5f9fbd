"""Periodic clean-up (scheduled by the runtime): early updates nobody claimed (statuses for
wamids that never became known) and expired Idempotency-Keys. Consumer dedupe records are
pruned by the runtime itself (one pruner, `INBOX_RETENTION_DAYS`).

Pruning crosses tenants, so it calls a narrow SECURITY DEFINER function the migrations
created; it only deletes rows older than the ages it is given. Several replicas may prune
at once: deleting old rows twice is harmless.
"""

from __future__ import annotations

from datetime import timedelta

from parley_platform.db import Database
from sqlalchemy import text

from parley_conversation.config import Settings


async def prune(database: Database, settings: Settings) -> int:
    """Delete what is past its retention; returns how many rows went."""
    async with database.system_session() as session:
        removed = (
            await session.execute(
                text("SELECT conversation_prune(:early, :keys)"),
                {
                    "early": timedelta(seconds=settings.early_update_ttl_s),
                    "keys": timedelta(seconds=settings.idempotency_key_ttl_s),
                },
            )
        ).scalar_one()
    return int(removed)
