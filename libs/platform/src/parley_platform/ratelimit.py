"""Rate limits shared by every replica of a service, kept in Redis.

A token bucket per key, updated atomically by a Lua script on the Redis server (using the
server's clock, so replicas with skewed clocks still agree). Used for Meta's per-number
throughput and per-recipient pair limits, login throttling and per-tenant API limits. Keys
start with the tenant id where a tenant owns them (see `tenant_key`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from ipaddress import IPv6Address, ip_address, ip_network
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError

from parley_platform import metrics

log = logging.getLogger(__name__)


# Lua shared by the scripts below (each script is sent whole; these are its first lines).
# A token bucket is a hash {tokens, at (ms)}; a missing bucket is a full one.
_BUCKET_LUA = """
local function refilled(key, rate, burst, now)
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local current = tonumber(state[1])
  if current == nil then
    return burst
  end
  return math.min(burst, current + (now - tonumber(state[2])) * rate / 1000)
end
local function store(key, rate, burst, left, now)
  redis.call('HSET', key, 'tokens', left, 'at', now)
  -- kept until it would be full again
  redis.call('PEXPIRE', key, math.ceil((burst - left) * 1000 / rate) + 1000)
end
local function now_ms(t)
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""
# A sliding window is a sorted set of requests scored by when they left (Redis server time,
# us). A request enters when fewer than `limit` are in the window, and stays in it, scored
# `hold` ahead, until it reports that it left (_LEFT_SCRIPT): so requests let in but delayed
# on their way out are counted however late they leave.
_WINDOW_LUA = """
local function entered(key, limit, window, member, hold, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, now + hold, member)
    redis.call('PEXPIRE', key, math.ceil((window + hold) / 1000) + 1000)
    return true
  end
  return false
end
local function now_us(t)
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""

# KEYS: one or more buckets; ARGV[1] cost, ARGV[2] mode, then rate (tokens/s) and burst
# (capacity) of each bucket in turn. Modes: 0 take the tokens from every bucket only if each
# has them now; 1 reserve (take them even when that means waiting); 2 only look; 3 give them
# back (never above the burst).
# Returns {allowed (1/0), wait_ms, milli-tokens left in each bucket...}: with mode 1 the
# caller may proceed after wait_ms.
_BUCKET_SCRIPT = (
    _BUCKET_LUA
    + """
local cost = tonumber(ARGV[1])
local mode = tonumber(ARGV[2])
local now = now_ms(redis.call('TIME'))
local tokens = {}
local allowed = 1
local wait_ms = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[1 + 2 * i])
  local current = refilled(key, rate, tonumber(ARGV[2 + 2 * i]), now)
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
    store(key, rate, burst, left, now)
  end
  result[2 + i] = math.floor(left * 1000)
end
return result
"""
)
_TAKE, _RESERVE, _LOOK, _GIVE_BACK = 0, 1, 2, 3


# KEYS[1]: the window (_WINDOW_LUA); ARGV: limit, window (us), member, hold (us). Returns
# {allowed (1/0), wait_us}: until the oldest place that left drops out of the window, or a
# tenth of the window while every place is still held.
_WINDOW_SCRIPT = (
    _WINDOW_LUA
    + """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = now_us(redis.call('TIME'))
if entered(KEYS[1], limit, window, ARGV[3], tonumber(ARGV[4]), now) then
  return {1, 0}
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
if oldest > now then
  -- every place is held by a request still on its way: one frees when its answer comes
  -- back, which nobody knows in advance (waiting for the hold would wait for a crash)
  return {0, math.max(1000, math.floor(window / 10))}
end
return {0, math.max(1000, oldest + window - now)}
"""
)
# The next slot of an even pace and, when that slot is now, a place in the sliding window: one
# round trip instead of two where the pace has a free slot (`RateLimiter.paced_window`).
# KEYS[1]: the pace's bucket (as _BUCKET_SCRIPT's, cost 1, mode reserve); KEYS[2]: the window
# (as _WINDOW_SCRIPT's); ARGV: rate, burst, limit, window (us), member, hold (us). A slot in
# the future takes no place (a place held while sleeping would count before its request could
# leave): the caller waits for the slot, then for the window as `sliding_window` does.
# Returns {wait_ms, admitted (1/0)}.
_PACED_WINDOW_SCRIPT = (
    _BUCKET_LUA
    + _WINDOW_LUA
    + """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = now_ms(t)
local current = refilled(KEYS[1], rate, burst, now)
store(KEYS[1], rate, burst, math.min(burst, current - 1), now)
if current < 1 then
  return {math.ceil((1 - current) * 1000 / rate), 0}
end
local limit, window, hold = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
if entered(KEYS[2], limit, window, ARGV[5], hold, now_us(t)) then
  return {0, 1}
end
return {0, 0}
"""
)
# KEYS[1], ARGV[1] member: the request has left (its answer came back); it is scored now.
_LEFT_SCRIPT = """
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], 'XX', tonumber(t[1]) * 1000000 + tonumber(t[2]), ARGV[1])
return 1
"""


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
        self._window_script = redis.register_script(_WINDOW_SCRIPT)
        self._left_script = redis.register_script(_LEFT_SCRIPT)
        self._paced_window_script = redis.register_script(_PACED_WINDOW_SCRIPT)

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
        loop = asyncio.get_running_loop()
        asked = loop.time()
        _, wait_ms, *_ = await self._script(
            keys=[self._key(key)], args=[cost, _RESERVE, limit.rate, limit.burst]
        )
        answered = loop.time()
        wait_s = int(wait_ms) / 1000
        metrics.RATE_LIMIT_WAIT.labels(self._namespace).observe(wait_s)
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        metrics.RATE_LIMIT_STEP.labels(self._namespace, "reservation").observe(answered - asked)
        late = loop.time() - (answered + wait_s)
        metrics.RATE_LIMIT_STEP.labels(self._namespace, "late_wake").observe(max(0.0, late))
        return wait_s

    @asynccontextmanager
    async def sliding_window(
        self, key: str, limit: int, window_s: float, *, hold_s: float = 60.0
    ) -> AsyncIterator[None]:
        """Wait until fewer than `limit` requests of `key` left within the last `window_s`
        (every replica's), then run the block, which sends the request; the request counts
        from when the block began until `window_s` after it ended, that is after its answer
        came back (for `hold_s` if the process dies in between): when exactly the request
        left the machine is not known, only that it was within the block.

        The far side counts a request after it left and before it answered, so what it can
        count in any `window_s` is then at most `limit`, however late requests were scheduled
        or delayed on their way out (event-loop lag, a busy machine, retries): each one it
        counted in the window before a new request arrives had not answered, or answered
        less than `window_s` before the new one was let in.
        """
        window_key = self._key(f"{key}:window")
        member = f"{uuid.uuid4()}"
        await self._enter_window(window_key, member, limit, window_s, hold_s)
        async with self._held(window_key, member):
            yield

    @asynccontextmanager
    async def paced_window(
        self, key: str, pace: Limit, limit: int, window_s: float, *, hold_s: float = 60.0
    ) -> AsyncIterator[None]:
        """`acquire(key, pace)` and then `sliding_window(key, limit, window_s)`, with the same
        guarantees, in one Redis round trip when the pace has a slot free now and the window
        has room (the usual case below the limit): the place is taken with the slot, judged as
        `sliding_window` would judge it a moment later. Otherwise two, as before."""
        window_key = self._key(f"{key}:window")
        member = f"{uuid.uuid4()}"
        loop = asyncio.get_running_loop()
        asked = loop.time()
        try:
            wait_ms, admitted = await self._paced_window_script(
                keys=[self._key(key), window_key],
                args=[
                    pace.rate,
                    pace.burst,
                    limit,
                    int(window_s * 1_000_000),
                    member,
                    int(hold_s * 1_000_000),
                ],
            )
            answered = loop.time()
            wait_s = int(wait_ms) / 1000
            metrics.RATE_LIMIT_WAIT.labels(self._namespace).observe(wait_s)
            metrics.RATE_LIMIT_STEP.labels(self._namespace, "reservation").observe(answered - asked)
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            late = loop.time() - (answered + wait_s)
            metrics.RATE_LIMIT_STEP.labels(self._namespace, "late_wake").observe(max(0.0, late))
            if admitted:
                metrics.RATE_LIMIT_STEP.labels(self._namespace, "window").observe(0.0)
            else:
                await self._enter_window(window_key, member, limit, window_s, hold_s)
        except BaseException:
            # Given up before leaving (cancelled, even while Redis answered): the request never
            # went, its place (if it was taken) is freed.
            await self._give_up(window_key, member)
            raise
        async with self._held(window_key, member):
            yield

    async def _give_up(self, window_key: str, member: str) -> None:
        try:
            await self._redis.zrem(window_key, member)
        except RedisError as exc:
            log.warning(
                "could not free the place of a request that never left; it is held",
                extra={"namespace": self._namespace, "error": type(exc).__name__},
            )

    async def _enter_window(
        self, window_key: str, member: str, limit: int, window_s: float, hold_s: float
    ) -> None:
        """Wait for a place in the window and take it (held until `_held` ends)."""
        args: list[int | str] = [limit, int(window_s * 1_000_000), member, int(hold_s * 1_000_000)]
        waited = 0.0
        while True:
            allowed, wait_us = await self._window_script(keys=[window_key], args=args)
            if allowed:
                break
            pause = int(wait_us) / 1_000_000
            waited += pause
            await asyncio.sleep(pause)
        metrics.RATE_LIMIT_STEP.labels(self._namespace, "window").observe(waited)

    @asynccontextmanager
    async def _held(self, window_key: str, member: str) -> AsyncIterator[None]:
        """Run the block (the request leaves), then score the place (if taken) when the block
        ended."""
        try:
            yield
        finally:
            try:
                await self._left_script(keys=[window_key], args=[member])
            except RedisError as exc:
                # The request went; only its place in the window is held until the hold
                # runs out: slower for a while, never above the limit.
                log.warning(
                    "could not record a request that left; its place is held",
                    extra={"namespace": self._namespace, "error": type(exc).__name__},
                )

    async def reset(self, key: str) -> None:
        """Forget `key`'s bucket (e.g. after a successful login)."""
        await self._redis.delete(self._key(key))
