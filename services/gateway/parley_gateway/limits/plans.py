"""Plans: what a tenant's API use may be at the edge, by the plan the tenant is on.

Which plan a tenant is on lives with the tenant in the auth service (`tenants.plan`, set by
the operator with `python -m parley_auth set-plan`); what each plan allows is the gateway's
configuration (`PARLEY_GATEWAY_API_PLANS`), since the gateway enforces it. The gateway asks
auth once per tenant per `PLAN_CACHE_TTL_S`; when auth cannot answer, the default plan
applies for a few seconds rather than failing the request (a limit is a protection, not an
authorisation).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from uuid import UUID

from parley_platform.cache import Found, TtlCache
from parley_platform.errors import ParleyError
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

FALLBACK_TTL_S = 5.0


class ApiPlan(BaseModel):
    """What one plan allows. Rates are token buckets: the per-minute figure is also the burst."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # API requests of the whole tenant (every user and key together), and of one API key.
    requests_per_minute: int = Field(gt=0)
    api_key_requests_per_minute: int = Field(gt=0)
    # Live streams (/api/v1/events) open at once: the tenant's, and one user's or key's.
    streams: int = Field(gt=0)
    streams_per_principal: int = Field(gt=0)
    # Live streams resumed with Last-Event-ID (each replays history) per user or key.
    replays_per_minute: int = Field(gt=0)


DEFAULT_PLANS: dict[str, ApiPlan] = {
    "free": ApiPlan(
        requests_per_minute=300,
        api_key_requests_per_minute=120,
        streams=20,
        streams_per_principal=3,
        replays_per_minute=10,
    ),
    "standard": ApiPlan(
        requests_per_minute=1200,
        api_key_requests_per_minute=600,
        streams=200,
        streams_per_principal=5,
        replays_per_minute=20,
    ),
    "enterprise": ApiPlan(
        requests_per_minute=6000,
        api_key_requests_per_minute=3000,
        streams=1000,
        streams_per_principal=10,
        replays_per_minute=60,
    ),
}

# Auth's answer: the tenant's plan name.
FetchPlanName = Callable[[UUID], Awaitable[str]]


class PlanDirectory:
    """The plan of each tenant, remembered for `ttl_s`."""

    def __init__(
        self,
        fetch: FetchPlanName,
        plans: Mapping[str, ApiPlan],
        default: str,
        *,
        ttl_s: float,
        max_entries: int = 100_000,
    ) -> None:
        if default not in plans:
            raise ValueError(f"the default plan {default!r} is not among the plans")
        self._fetch = fetch
        self._plans = dict(plans)
        self._default = plans[default]
        self._cache: TtlCache[UUID, ApiPlan] = TtlCache(
            ttl_s=ttl_s, negative_ttl_s=FALLBACK_TTL_S, max_entries=max_entries
        )

    async def plan_of(self, tenant_id: UUID) -> ApiPlan:
        """The tenant's plan (the default one for an unknown plan name, or while auth is
        unreachable)."""
        return await self._cache.get(tenant_id, lambda: self._load(tenant_id)) or self._default

    async def _load(self, tenant_id: UUID) -> ApiPlan | Found[ApiPlan]:
        try:
            name = await self._fetch(tenant_id)
        except ParleyError as exc:
            log.warning(
                "tenant's plan unknown (%s); the default plan applies",
                exc.code,
                extra={"tenant_id": str(tenant_id)},
            )
            return Found(self._default, FALLBACK_TTL_S)
        plan = self._plans.get(name)
        if plan is None:
            log.warning(
                "tenant is on plan %r, which the gateway does not define; the default applies",
                name,
                extra={"tenant_id": str(tenant_id)},
            )
            return self._default
        return plan
