"""A circuit breaker per provider and model, its state in Redis so that every replica of the
ai service sees the same breaker.

Closed: calls go through; `threshold` failures within `window_s` (consecutive: a success
resets the count) open it. Open: nothing is sent for `open_s`. Then exactly one caller, across
all replicas, gets to send a probe (a lease of `probe_lease_s`, so a probe that never reports
back is replaced); its success closes the breaker, its failure opens it again.

Each transition is one Lua script, so concurrent replicas cannot interleave a read and a
write, and the clock is Redis's own (`TIME`), so replicas' clocks do not matter.

Why not a library: the maintained asyncio breakers (aiobreaker, purgatory) keep state per
process or, for purgatory's Redis store, with read-modify-write updates and no single probe
(every replica probes at once), and its Redis extra pins redis<6 where we use 8. This is the
small piece we need, with the transitions unit-tested against a real Redis.

If Redis cannot be reached the breaker lets calls through (fails open): the provider's own
timeouts still bound every call.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum

import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

TRANSITIONS = Counter(
    "parley_ai_breaker_transitions_total",
    "Circuit breaker state changes, by new state",
    ["state"],
)
REFUSED = Counter("parley_ai_breaker_refused_total", "Calls not sent because a breaker was open")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerPolicy:
    threshold: int = 5
    window_s: float = 60.0
    open_s: float = 30.0
    probe_lease_s: float = 30.0


# KEYS[1]: the breaker's hash. ARGV: open_s, probe_lease_s.
# Returns {allowed (0/1), state}.
_ALLOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then
  return {1, 'closed'}
end
if state == 'open' then
  local until_ = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
  if now < until_ then
    return {0, 'open'}
  end
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until', now + tonumber(ARGV[2]))
  return {1, 'half_open'}
end
local probe_until = tonumber(redis.call('HGET', KEYS[1], 'probe_until') or '0')
if now < probe_until then
  return {0, 'half_open'}
end
redis.call('HSET', KEYS[1], 'probe_until', now + tonumber(ARGV[2]))
return {1, 'half_open'}
"""

# KEYS[1]: the breaker's hash. ARGV: threshold, window_s, open_s, ttl_s.
# Returns the state after the failure.
_FAILURE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'half_open' or state == 'open' then
  redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', now + tonumber(ARGV[3]),
             'failures', 0, 'probe_until', 0)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return 'open'
end
local first = tonumber(redis.call('HGET', KEYS[1], 'first_failure_at') or '0')
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')
if now - first > tonumber(ARGV[2]) then
  failures = 0
  first = now
end
failures = failures + 1
if failures >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', now + tonumber(ARGV[3]),
             'failures', 0, 'first_failure_at', 0)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return 'open'
end
redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', failures, 'first_failure_at', first)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 'closed'
"""

# KEYS[1]: the breaker's hash. Returns the previous state.
_SUCCESS = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
redis.call('DEL', KEYS[1])
return state
"""


def breaker_name(base_url: str, model: str) -> str:
    """The breaker of a model at a provider: the same for every tenant and replica that
    calls that model there."""
    provider = base_url.strip().rstrip("/").lower()
    digest = hashlib.sha256(f"{provider}\n{model}".encode()).hexdigest()[:24]
    return f"ai:breaker:{digest}"


class CircuitBreakers:
    """Every provider+model breaker, in one Redis."""

    def __init__(self, redis: aioredis.Redis, policy: BreakerPolicy) -> None:
        self._redis = redis
        self.policy = policy
        self._allow = redis.register_script(_ALLOW)
        self._failure = redis.register_script(_FAILURE)
        self._success = redis.register_script(_SUCCESS)

    @property
    def _ttl_s(self) -> int:
        # State outlives everything it measures, then disappears on its own.
        p = self.policy
        return int(max(p.window_s, p.open_s + p.probe_lease_s) * 2) + 60

    async def allow(self, name: str) -> bool:
        """Whether a call may be sent now (in half-open: whether this caller is the probe)."""
        try:
            allowed, state = await self._allow(
                keys=[name], args=[self.policy.open_s, self.policy.probe_lease_s]
            )
        except RedisError:
            log.warning("circuit breaker state unavailable; letting the call through")
            return True
        if not int(allowed):
            REFUSED.inc()
        elif _text(state) == BreakerState.HALF_OPEN:
            TRANSITIONS.labels(BreakerState.HALF_OPEN.value).inc()
        return bool(int(allowed))

    async def record_failure(self, name: str) -> BreakerState:
        p = self.policy
        try:
            state = BreakerState(
                _text(
                    await self._failure(
                        keys=[name], args=[p.threshold, p.window_s, p.open_s, self._ttl_s]
                    )
                )
            )
        except RedisError:
            log.warning("circuit breaker state unavailable; failure not recorded")
            return BreakerState.CLOSED
        if state == BreakerState.OPEN:
            TRANSITIONS.labels(BreakerState.OPEN.value).inc()
            log.warning("circuit breaker open", extra={"breaker": name})
        return state

    async def record_success(self, name: str) -> None:
        try:
            previous = _text(await self._success(keys=[name]))
        except RedisError:
            return
        if previous != BreakerState.CLOSED:
            TRANSITIONS.labels(BreakerState.CLOSED.value).inc()
            log.info("circuit breaker closed", extra={"breaker": name})

    async def state(self, name: str) -> BreakerState:
        """The breaker's stored state (for dashboards and tests)."""
        raw = await self._redis.hget(name, "state")
        return BreakerState(_text(raw)) if raw else BreakerState.CLOSED


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
