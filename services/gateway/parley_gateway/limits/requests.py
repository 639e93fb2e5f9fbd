"""Request limits at the API edge: each tenant's API calls, and each API key's, are token
buckets in Redis (shared by every gateway replica), sized by the tenant's plan.

Every limited answer says where the caller stands with the IETF draft headers
(draft-ietf-httpapi-ratelimit-headers-07): `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset` of the tightest bucket, and `RateLimit-Policy` listing each bucket that
applies. A refused call is 429 with `Retry-After`. Only authenticated `/api/v1` calls are
counted: webhooks from Meta never pass here, so a tenant's API use can never hold up its
customers' messages, and sign-in has its own throttling in auth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from parley_platform.errors import RateLimited
from parley_platform.identity import Principal
from parley_platform.ratelimit import Decision, Limit, RateLimiter, tenant_key
from prometheus_client import Counter

from parley_gateway.limits.plans import ApiPlan, PlanDirectory

WINDOW_S = 60

REFUSED = Counter(
    "parley_gateway_rate_limited_total",
    "API calls and stream resumptions refused by a limit",
    ["limit"],
)


@dataclass(frozen=True)
class Quota:
    """Where a caller stands after a call: the tightest bucket's limit, what is left of it
    and when it is full again, and every bucket that applied."""

    limit: int
    remaining: int
    reset_s: int
    policy: str

    def headers(self) -> dict[str, str]:
        """The RateLimit headers of this standing."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
            "RateLimit-Policy": self.policy,
        }


class QuotaExceeded(RateLimited):
    """A call beyond the tenant's or the key's rate (429 with Retry-After and RateLimit)."""

    def __init__(self, message: str, *, retry_after_s: float, quota: Quota, **kw: Any) -> None:
        super().__init__(message, retry_after_s=retry_after_s, **kw)
        self.quota = quota

    def headers(self) -> dict[str, str]:
        """Retry-After and the RateLimit headers."""
        return {
            "Retry-After": str(max(1, math.ceil(self.retry_after_s or 0))),
            **self.quota.headers(),
        }


def _standing(buckets: list[tuple[str, int]], decision: Decision) -> Quota:
    """The quota of the bucket with the fewest calls left."""
    tightest = min(range(len(buckets)), key=lambda i: decision.remaining[i])
    per_minute = buckets[tightest][1]
    left = max(0.0, decision.remaining[tightest])
    rate = per_minute / WINDOW_S
    return Quota(
        limit=per_minute,
        remaining=int(left),
        reset_s=math.ceil((per_minute - left) / rate),
        policy=", ".join(f'{n};w={WINDOW_S};comment="{name}"' for name, n in buckets),
    )


class RequestLimits:
    """Admits an authenticated API call, or refuses it with the wait."""

    def __init__(self, limiter: RateLimiter, plans: PlanDirectory) -> None:
        self._limiter = limiter
        self._plans = plans

    async def admit(self, principal: Principal) -> Quota:
        """Count one call of `principal` against its tenant's (and API key's) rate."""
        plan = await self._plans.plan_of(principal.tenant_id)
        buckets = [("tenant", plan.requests_per_minute)]
        keys = [tenant_key(principal.tenant_id, "api-requests")]
        if principal.api_key_id is not None:
            buckets.append(("api-key", plan.api_key_requests_per_minute))
            keys.append(tenant_key(principal.tenant_id, "api-requests", str(principal.api_key_id)))
        decision = await self._limiter.try_acquire_all(
            [(key, Limit.per(n, WINDOW_S)) for key, (_, n) in zip(keys, buckets, strict=True)]
        )
        quota = _standing(buckets, decision)
        if not decision.allowed:
            left_in = zip(buckets, decision.remaining, strict=True)
            empty = [name for (name, _), left in left_in if left < 1]
            REFUSED.labels(empty[0] if empty else "tenant").inc()
            raise QuotaExceeded(
                "too many requests for your plan; slow down and retry after the indicated time",
                retry_after_s=decision.retry_after_s,
                quota=quota,
            )
        return quota

    async def admit_replay(self, principal: Principal, plan: ApiPlan) -> None:
        """Count a live-stream resumption (Last-Event-ID) of `principal`: each one re-reads
        history, so they have a rate of their own."""
        key = tenant_key(principal.tenant_id, "stream-replays", principal_id(principal))
        limit = Limit.per(plan.replays_per_minute, WINDOW_S)
        decision = await self._limiter.try_acquire(key, limit)
        if not decision.allowed:
            REFUSED.labels("stream-replay").inc()
            quota = _standing([("stream-replays", plan.replays_per_minute)], decision)
            raise QuotaExceeded(
                "the live stream was resumed too often; retry after the indicated time",
                retry_after_s=decision.retry_after_s,
                quota=quota,
            )

    async def plan_of(self, principal: Principal) -> ApiPlan:
        """The plan of `principal`'s tenant."""
        return await self._plans.plan_of(principal.tenant_id)


def principal_id(principal: Principal) -> str:
    """`user:<id>` or `api-key:<id>`: who, within a tenant, a per-caller limit counts."""
    if principal.api_key_id is not None:
        return f"api-key:{principal.api_key_id}"
    return f"user:{principal.user_id}"
