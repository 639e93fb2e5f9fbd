"""Periodic clean-up: refresh tokens long past their expiry and sign-ups nobody confirmed in
time are deleted (every tenant's, through SECURITY DEFINER functions). Scheduled by the
runtime (`resources.every`)."""

from __future__ import annotations

from parley_auth.repository.lookups import CrossTenantLookups
from parley_auth.service.context import AuthContext

PRUNE_INTERVAL_S = 3600.0
KEEP_EXPIRED_DAYS = 7  # kept a while so that a late reuse is still recognised as reuse


async def prune_refresh_tokens(ctx: AuthContext) -> int:
    """Delete refresh tokens expired more than KEEP_EXPIRED_DAYS ago; returns how many."""
    async with ctx.database.system_session() as session:
        return await CrossTenantLookups(session).prune_refresh_tokens(KEEP_EXPIRED_DAYS)


async def prune_signup_requests(ctx: AuthContext) -> int:
    """Delete sign-up requests whose confirmation link expired; returns how many."""
    async with ctx.database.system_session() as session:
        return await CrossTenantLookups(session).prune_signup_requests()
