"""Rate limits shared by every replica of a service, kept in Redis.

A token bucket per key, updated atomically by a Lua script on the Redis server (using the
server's clock, so replicas with skewed clocks still agree). Used for Meta's per-number
throughput and per-recipient pair limits, login throttling and per-tenant API limits. Keys
start with the tenant id where a tenant owns them (see `tenant_key`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address, ip_address, ip_network
from uuid import UUID

from redis.asyncio import Redis

from parley_platform import metrics

# KEYS: one or more buckets; ARGV[1] cost, ARGV[2] mode, then rate (tokens/s) and burst
# (capacity) of each bucket in turn. Modes: 0 take the tokens from every bucket only if each
# has them now; 1 reserve (take them even when that means waiting); 2 only look; 3 give them
# back (never above the burst).
# Returns {allowed (1/0), wait_ms, milli-tokens left in each bucket...}: with mode 1 the
# caller may proceed after wait_ms.
_BUCKET_SCRIPT = """
local cost = tonumber(ARGV[1])
local mode = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tokens = {}
local allowed = 1
local wait_ms = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local current = tonumber(state[1])
  local at = tonumber(state[2])
  if current == nil then
    current = burst
    at = now
  end
  current = math.min(burst, current + (now - at) * rate / 1000)
  tokens[i] = current
  if current < cost then
    allowed = 0
    wait_ms = math.max(wait_ms, math.ceil((cost - current) * 1000 / rate))
  end
end
if mode == 1 or mode == 3 then
  allowed = 1
end
if mode == 3 then
  cost = -cost
  wait_ms = 0
end
local result = {allowed, wait_ms}
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local left = tokens[i]
  if allowed == 1 and mode ~= 2 then
    left = math.min(burst, left - cost)
    redis.call('HSET', key, 'tokens', left, 'at', now)
    -- kept until it would be full again (a missing bucket is a full one)
    redis.call('PEXPIRE', key, math.ceil((burst - left) * 1000 / rate) + 1000)
  end
  result[2 + i] = math.floor(left * 1000)
end
return result
"""
_TAKE, _RESERVE, _LOOK, _GIVE_BACK = 0, 1, 2, 3


@dataclass(frozen=True)
class Limit:
    """`rate` tokens per second, bursts of up to `burst`."""

    rate: float
    burst: float

    @classmethod
    def per(cls, count: float, seconds: float, burst: float | None = None) -> Limit:
        return cls(rate=count / seconds, burst=burst if burst is not None else count)


@dataclass(frozen=True)
class Decision:
    """Whether the tokens were (or would be) granted; if not, how long until they would be;
    and the tokens left in each bucket asked about, in the order given."""

    allowed: bool
    retry_after_s: float
    remaining: tuple[float, ...] = ()


def address_bucket(address: str) -> str:
    """What per-address limits count by: an IPv4 address as it is, an IPv6 address by its /64
    network (one subscriber is routinely given a whole /64, i.e. 2^64 addresses to rotate
    through), an IPv4 address written as IPv6 (`::ffff:a.b.c.d`) as the IPv4 address.
    Anything that is not an address is returned as it is."""
    try:
        parsed = ip_address(address.strip())
    except ValueError:
        return address
    if isinstance(parsed, IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def tenant_key(tenant_id: UUID | str, *parts: str) -> str:
    """A Redis key owned by a tenant: the tenant id first, as ARCHITECTURE.md requires."""
    return ":".join((str(tenant_id), *parts))


class RateLimiter:
    """Token buckets in Redis."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._namespace = namespace
        self._script = redis.register_script(_BUCKET_SCRIPT)

    def _key(self, key: str) -> str:
        return f"{key}:ratelimit:{self._namespace}"

    async def _run(self, buckets: Sequence[tuple[str, Limit]], cost: float, mode: int) -> Decision:
        args: list[float] = [cost, mode]
        for _, limit in buckets:
            args += [limit.rate, limit.burst]
        allowed, wait_ms, *left = await self._script(
            keys=[self._key(key) for key, _ in buckets], args=args
        )
        return Decision(bool(allowed), int(wait_ms) / 1000, tuple(int(m) / 1000 for m in left))

    async def try_acquire(self, key: str, limit: Limit, cost: float = 1) -> Decision:
        """Take `cost` tokens if available now; otherwise say how long until they would be."""
        return await self._run([(key, limit)], cost, _TAKE)

    async def try_acquire_all(
        self, buckets: Sequence[tuple[str, Limit]], cost: float = 1
    ) -> Decision:
        """Take `cost` tokens from every bucket, or from none when one lacks them (then
        `retry_after_s` is the longest wait among them)."""
        return await self._run(buckets, cost, _TAKE)

    async def check_all(self, buckets: Sequence[tuple[str, Limit]], cost: float = 1) -> Decision:
        """Whether every bucket has `cost` tokens now, taking nothing."""
        return await self._run(buckets, cost, _LOOK)

    async def give_back(self, buckets: Sequence[tuple[str, Limit]], cost: float = 1) -> None:
        """Return tokens taken for something that, after all, does not count (never above a
        bucket's burst)."""
        await self._run(buckets, cost, _GIVE_BACK)

    async def acquire(
        self, key: str, limit: Limit, cost: float = 1, max_wait_s: float | None = None
    ) -> float:
        """Reserve `cost` tokens and sleep until they are due; returns the time waited.

        With `max_wait_s`, a reservation that would wait longer is not taken and
        `TimeoutError` is raised, so a caller can put the work back instead of blocking.
        """
        if max_wait_s is not None:
            decision = await self.try_acquire(key, limit, cost)
            if decision.allowed:
                metrics.RATE_LIMIT_WAIT.labels(self._namespace).observe(0)
                return 0.0
            if decision.retry_after_s > max_wait_s:
                raise TimeoutError(f"rate limit {key}: next slot in {decision.retry_after_s:.2f}s")
        _, wait_ms, *_ = await self._script(
            keys=[self._key(key)], args=[cost, _RESERVE, limit.rate, limit.burst]
        )
        wait_s = int(wait_ms) / 1000
        metrics.RATE_LIMIT_WAIT.labels(self._namespace).observe(wait_s)
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        return wait_s

    async def reset(self, key: str) -> None:
        """Forget `key`'s bucket (e.g. after a successful login)."""
        await self._redis.delete(self._key(key))
