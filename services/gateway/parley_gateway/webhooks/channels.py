"""Which tenant and channel a business number belongs to, asked of the auth service's channel
registry and remembered briefly.

Answers are cached in this process for `ttl_s`; "no such channel" is cached too (for a
shorter time) so that a flood of unknown numbers or channel ids cannot hammer auth.
Concurrent look-ups of one key share one call (parley_platform.cache). Look-ups of channel
ids (which anyone can put in a URL, before any signature can be checked) spend from a small
per-second budget once the cache misses.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass
from uuid import UUID

import grpc
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from parley_platform.cache import TtlCache
from parley_platform.errors import Unavailable
from parley_platform.grpc import domain_error


@dataclass(frozen=True)
class ChannelRoute:
    """What the webhook needs to know about a channel (secrets never logged)."""

    channel_id: str
    tenant_id: UUID
    phone_number_id: str
    waba_id: str
    uses_own_app: bool
    app_secret: str
    verify_token: str

    def __repr__(self) -> str:  # keep the secrets out of any accidental log line
        return f"ChannelRoute(channel_id={self.channel_id!r}, tenant_id={self.tenant_id!s})"


class _Budget:
    """A token bucket in this process (`rate` per second)."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._tokens = rate
        self._at = time.monotonic()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = time.monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class ChannelDirectory:
    """Channel look-ups through auth's `ResolveChannel` and `GetChannel`, cached
    (parley_platform.cache: bounded, single flight, "unknown" cached for `unknown_ttl_s`)."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        ttl_s: float,
        unknown_ttl_s: float,
        max_entries: int = 10_000,
        channel_id_lookups_per_s: float = 20,
    ) -> None:
        self._stub = auth_pb2_grpc.AuthServiceStub(channel)
        self._cache: TtlCache[tuple[str, str], ChannelRoute] = TtlCache(
            ttl_s=ttl_s, negative_ttl_s=unknown_ttl_s, max_entries=max_entries
        )
        self._channel_id_budget = _Budget(channel_id_lookups_per_s)

    async def by_phone_number_id(self, phone_number_id: str) -> ChannelRoute | None:
        """The channel of a business number, or None when no tenant registered it."""
        if not phone_number_id.isdigit():
            return None  # not a phone number id at all: no need to ask
        return await self._cache.get(
            ("phone", phone_number_id),
            lambda: self._ask(
                self._stub.ResolveChannel(
                    auth_pb2.ResolveChannelRequest(phone_number_id=phone_number_id)
                )
            ),
        )

    async def by_channel_id(self, channel_id: str) -> ChannelRoute | None:
        """A channel by its registry id, or None when there is none."""
        try:
            channel_id = str(UUID(channel_id))
        except ValueError:
            return None
        key = ("channel", channel_id)
        fresh, _ = self._cache.peek(key)
        if not fresh and not self._channel_id_budget.take():
            # Too many unknown ids this second: answer "unknown" without asking auth.
            return None
        return await self._cache.get(
            key,
            lambda: self._ask(
                self._stub.GetChannel(auth_pb2.GetChannelRequest(channel_id=channel_id))
            ),
        )

    @staticmethod
    async def _ask(call: Awaitable[auth_pb2.Channel]) -> ChannelRoute | None:
        try:
            channel = await call
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            error = domain_error(exc)
            # Whatever went wrong in the registry, Meta must retry later (503), not drop it.
            raise Unavailable(f"channel registry unavailable: {error.code}") from exc
        try:
            tenant = UUID(channel.tenant_id)
        except ValueError:
            return None
        return ChannelRoute(
            channel_id=channel.channel_id,
            tenant_id=tenant,
            phone_number_id=channel.phone_number_id,
            waba_id=channel.waba_id,
            uses_own_app=channel.uses_own_app,
            app_secret=channel.app_secret,
            verify_token=channel.verify_token,
        )
