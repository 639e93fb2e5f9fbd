"""Periodic clean-up: refresh tokens long past their expiry are deleted (every tenant's,
through a SECURITY DEFINER function)."""

from __future__ import annotations

import asyncio
import logging

from parley_auth.repository import lookups
from parley_auth.service.context import AuthContext

log = logging.getLogger(__name__)

PRUNE_INTERVAL_S = 3600
KEEP_EXPIRED_DAYS = 7  # kept a while so that a late reuse is still recognised as reuse


async def prune_forever(ctx: AuthContext) -> None:
    while True:
        try:
            async with ctx.database.system_session() as session:
                pruned = await lookups.prune_refresh_tokens(session, KEEP_EXPIRED_DAYS)
            if pruned:
                log.info("expired refresh tokens deleted", extra={"count": pruned})
        except Exception:
            log.warning("refresh-token clean-up failed; will retry", exc_info=True)
        await asyncio.sleep(PRUNE_INTERVAL_S)
