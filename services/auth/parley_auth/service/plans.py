"""Which plan a tenant is on (an operator's decision; the gateway's request limits follow)."""

from __future__ import annotations

import re
from uuid import UUID

from parley_platform.db import Database
from parley_platform.errors import InvalidRequest, NotFound

from parley_auth.domain.models import PLAN_NAME_PATTERN
from parley_auth.repository.tenants import TenantRepository


async def put_on_plan(database: Database, tenant_id: UUID, plan: str) -> None:
    """Put the tenant on `plan` (a name the gateway's PARLEY_GATEWAY_API_PLANS defines; an
    unknown name gets the gateway's default plan)."""
    if not re.fullmatch(PLAN_NAME_PATTERN, plan):
        raise InvalidRequest(f"{plan!r} is not a plan name (lowercase letters, digits, dashes)")
    async with database.tenant_session(tenant_id) as session:
        if not await TenantRepository(session, tenant_id).change_plan(plan):
            raise NotFound(f"tenant {tenant_id} not found")
