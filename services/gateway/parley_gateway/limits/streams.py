"""Live streams held open at the edge: how many at once, and whether they may go on.

Each open stream holds a slot in two Redis sorted sets, its tenant's and its caller's (user
or API key), scored by a lease expiry: opening one beyond the plan's caps is refused (429),
and a gateway that dies without closing its streams frees their slots when the leases lapse.
While a stream is open its credential is checked again every `recheck_interval_s` (and
exactly when it expires): a deactivated or demoted user, a revoked key, or a credential past
its expiry ends the stream, and the slots' leases are renewed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from parley_platform.errors import RateLimited
from parley_platform.identity import Principal
from parley_platform.ratelimit import tenant_key
from prometheus_client import Counter, Gauge
from redis.asyncio import Redis

from parley_gateway.limits.plans import ApiPlan
from parley_gateway.limits.requests import REFUSED, principal_id

# KEYS: the slot sets (tenant, caller); ARGV[1] stream id, ARGV[2] lease ms, then each set's
# cap. Returns 0 when a slot was taken in every set, else the 1-based index of a full one.
_OPEN_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + lease, ARGV[1])
  redis.call('PEXPIRE', key, lease + 1000)
end
return 0
"""
# KEYS: the slot sets; ARGV[1] stream id, ARGV[2] lease ms. Renews the stream's leases.
_RENEW_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + lease, ARGV[1])
  redis.call('PEXPIRE', key, lease + 1000)
end
return 1
"""

OPEN_STREAMS = Gauge("parley_gateway_live_streams", "Live streams open through this gateway")
ENDED = Counter(
    "parley_gateway_live_streams_ended_total",
    "Live streams the gateway ended itself, by reason",
    ["reason"],
)


@dataclass(frozen=True)
class StreamSlot:
    """A stream's place in its tenant's and its caller's sets."""

    stream_id: str
    keys: tuple[str, str]


class TooManyStreams(RateLimited):
    """Opening one more live stream would pass the plan's cap (429)."""


class StreamSlots:
    """Counts open live streams per tenant and per caller, across gateway replicas."""

    def __init__(self, redis: Redis, *, lease_s: float) -> None:
        self._redis = redis
        self._lease_ms = int(lease_s * 1000)
        self._open = redis.register_script(_OPEN_SCRIPT)
        self._renew = redis.register_script(_RENEW_SCRIPT)

    async def take(self, principal: Principal, plan: ApiPlan) -> StreamSlot:
        """A slot for one more stream of `principal`, or TooManyStreams."""
        slot = StreamSlot(
            stream_id=uuid.uuid4().hex,
            keys=(
                tenant_key(principal.tenant_id, "live-streams"),
                tenant_key(principal.tenant_id, "live-streams", principal_id(principal)),
            ),
        )
        full = await self._open(
            keys=list(slot.keys),
            args=[slot.stream_id, self._lease_ms, plan.streams, plan.streams_per_principal],
        )
        if full:
            REFUSED.labels("streams-tenant" if full == 1 else "streams-caller").inc()
            whose = "your organisation's" if full == 1 else "your"
            raise TooManyStreams(
                f"too many live streams open: close one of {whose} other streams first",
                code="too_many_streams",
                retry_after_s=self._lease_ms / 1000 / 2,
            )
        OPEN_STREAMS.inc()
        return slot

    async def renew(self, slot: StreamSlot) -> None:
        """Keep the slot past its lease (the stream is still open)."""
        await self._renew(keys=list(slot.keys), args=[slot.stream_id, self._lease_ms])

    async def give_back(self, slot: StreamSlot) -> None:
        """The stream ended."""
        OPEN_STREAMS.dec()
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in slot.keys:
                pipe.zrem(key, slot.stream_id)
            await pipe.execute()
