"""Periodic clean-up: consumer dedupe records, early updates nobody claimed (statuses for
wamids that never became known) and expired Idempotency-Keys.

Pruning crosses tenants, so it calls the narrow SECURITY DEFINER functions the migrations
created; each only deletes rows older than the age it is given. Several replicas may prune
at once: deleting old rows twice is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from parley_platform.db import Database
from sqlalchemy import text

from parley_conversation.config import Settings

log = logging.getLogger(__name__)


class Housekeeping:
    """Runs `prune()` every `housekeeping_interval_s` while the service runs."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._settings = settings
        self._task: asyncio.Task[None] | None = None

    async def prune(self) -> int:
        """Delete what is past its retention; returns how many rows went."""
        s = self._settings
        async with self._database.system_session() as session:
            inbox = (
                await session.execute(
                    text("SELECT parley_inbox_prune(:keep)"),
                    {"keep": timedelta(seconds=s.inbox_retention_s)},
                )
            ).scalar_one()
            ours = (
                await session.execute(
                    text("SELECT conversation_prune(:early, :keys)"),
                    {
                        "early": timedelta(seconds=s.early_update_ttl_s),
                        "keys": timedelta(seconds=s.idempotency_key_ttl_s),
                    },
                )
            ).scalar_one()
        return int(inbox) + int(ours)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._settings.housekeeping_interval_s)
            try:
                removed = await self.prune()
                log.info("housekeeping pruned rows", extra={"rows": removed})
            except Exception:
                log.warning("housekeeping failed; will retry", exc_info=True)
