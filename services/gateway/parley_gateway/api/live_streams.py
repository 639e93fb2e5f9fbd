"""Live streams (`/api/v1/events`) through the edge: admitted within the plan's caps, relayed
from a connection pool of their own, and ended when the caller's credential stops being
valid.

A stream holds an upstream connection for as long as the client listens, so streams get
their own bounded pool: when it is full the next stream is refused at once (503), and API
calls, which use the other pool, are never starved by streams. Before a stream opens, a
resumption (`Last-Event-ID`, which replays history) is counted against the plan's replay
rate and the stream takes its slots (limits.streams). While it is open, the credential it
was opened with is verified again every `recheck_interval_s` and at its expiry, exactly as a
new request would be (signature, expiry, revocation markers, an API key's creator); a
refusal ends the stream and the client reconnects with whatever credential it now holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import anyio
import httpx
from parley_platform.errors import ParleyError
from redis.exceptions import RedisError

from parley_gateway.authn.authenticator import Authenticated, Authenticator
from parley_gateway.limits.requests import RequestLimits
from parley_gateway.limits.streams import ENDED, StreamSlot, StreamSlots

log = logging.getLogger(__name__)


class LiveStreams:
    """Admits live streams and watches them while they are open."""

    def __init__(
        self,
        authenticator: Authenticator,
        limits: RequestLimits,
        slots: StreamSlots,
        *,
        recheck_interval_s: float,
    ) -> None:
        self._authenticator = authenticator
        self._limits = limits
        self._slots = slots
        self._recheck_interval_s = recheck_interval_s

    async def admit(self, caller: Authenticated, resuming: bool) -> StreamSlot:
        """Count a resumption, then take the stream's slots (429 beyond the plan)."""
        plan = await self._limits.plan_of(caller.principal)
        if resuming:
            await self._limits.admit_replay(caller.principal, plan)
        return await self._slots.take(caller.principal, plan)

    async def release(self, slot: StreamSlot) -> None:
        """Give the slots back (the stream ended, or never started)."""
        with anyio.CancelScope(shield=True):
            try:
                await self._slots.give_back(slot)
            except Exception:  # the lease frees it anyway
                log.warning("live stream slot not given back; its lease will lapse")

    async def watch(
        self,
        upstream: httpx.Response,
        chunks: AsyncIterator[bytes],
        *,
        authorization: str | None,
        caller: Authenticated,
        slot: StreamSlot,
    ) -> AsyncIterator[bytes]:
        """Relay `chunks` (the body of `upstream`) until they end, the client leaves, or the
        credential is no longer valid (then `upstream` is closed, which ends `chunks`); the
        slots are given back however it ends."""
        watcher = asyncio.create_task(self._watch(upstream, authorization, caller, slot))
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            watcher.cancel()
            with anyio.CancelScope(shield=True), contextlib.suppress(BaseException):
                await watcher
            await self.release(slot)

    async def _watch(
        self,
        upstream: httpx.Response,
        authorization: str | None,
        caller: Authenticated,
        slot: StreamSlot,
    ) -> None:
        expires_at = caller.expires_at
        while True:
            next_check = time.time() + self._recheck_interval_s
            if expires_at is not None:
                next_check = min(next_check, expires_at)
            await asyncio.sleep(max(0.0, next_check - time.time()))
            try:
                reason = await self._reason_to_end(authorization, caller)
            except Exception:  # a check that cannot be made ends the stream (fail closed)
                log.exception("live stream check failed; the stream is ended")
                reason = "check_failed"
            if reason is not None:
                ENDED.labels(reason).inc()
                log.info(
                    "live stream ended: %s",
                    reason,
                    extra={"tenant_id": str(caller.principal.tenant_id)},
                )
                await upstream.aclose()
                return
            try:
                await self._slots.renew(slot)
            except RedisError:
                log.warning("live stream slot not renewed")

    async def _reason_to_end(self, authorization: str | None, caller: Authenticated) -> str | None:
        if caller.expires_at is not None and time.time() >= caller.expires_at:
            return "expired"
        try:
            again = await self._authenticator.verify(authorization)
        except ParleyError as exc:
            return "unavailable" if exc.http_status >= 500 else "revoked"
        if again.principal != caller.principal:
            return "changed"  # e.g. an API key narrowed by its creator's demotion
        return None
