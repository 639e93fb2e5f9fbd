"""`/api/v1/ai`: the tenant's AI settings, the presets, and usage (owner/admin).

Only requests the gateway forwarded with a verified principal pass; the tenant is the
principal's, never a parameter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from parley_platform.errors import InvalidRequest
from parley_platform.http.errors import error_responses as errors
from parley_platform.http.internal import CurrentPrincipal
from parley_platform.identity import Principal, Role

from parley_ai.api.dependencies import ComponentsDep
from parley_ai.api.schemas import PresetOut, SettingsIn, SettingsOut, UsageOut
from parley_ai.domain.presets import PRESETS
from parley_ai.service.settings import KEEP_KEY
from parley_ai.service.usage import usage_report

router = APIRouter(prefix="/api/v1/ai", tags=["ai"])

SCOPE = "settings:write"
MAX_USAGE_DAYS = 366


def _admin(principal: Principal) -> None:
    principal.require_role(Role.ADMIN)
    principal.require_scope(SCOPE)


@router.get("/settings", summary="The AI settings (owner/admin)", responses=errors(401, 403))
async def get_settings(principal: CurrentPrincipal, components: ComponentsDep) -> SettingsOut:
    _admin(principal)
    return SettingsOut.of(await components.settings.view(principal.tenant_id))


@router.put(
    "/settings",
    summary="Replace the AI settings (owner/admin); a model provider is checked by a test call",
    responses=errors(400, 401, 403, 422),
)
async def put_settings(
    body: SettingsIn, principal: CurrentPrincipal, components: ComponentsDep
) -> SettingsOut:
    _admin(principal)
    if "api_key" not in body.model_fields_set:
        api_key: object = KEEP_KEY
    else:
        api_key = body.api_key.get_secret_value() if body.api_key is not None else None
    view = await components.settings.save(
        principal.tenant_id, body.settings(), api_key, updated_by=principal.user_id
    )
    return SettingsOut.of(view)


@router.get("/presets", summary="Named provider configurations", responses=errors(401))
async def list_presets(principal: CurrentPrincipal) -> list[PresetOut]:
    return [
        PresetOut(
            name=name,
            description=p.description,
            base_url=p.base_url,
            model=p.model,
            fallback_model=p.fallback_model,
        )
        for name, p in PRESETS.items()
    ]


@router.get(
    "/usage",
    summary="Usage per day: answers, handoffs, tokens, cost, latency (owner/admin)",
    responses=errors(400, 401, 403),
    response_model=UsageOut,
)
async def get_usage(
    principal: CurrentPrincipal,
    components: ComponentsDep,
    first_day: Annotated[date | None, Query(alias="from")] = None,
    last_day: Annotated[date | None, Query(alias="to")] = None,
) -> JSONResponse:
    _admin(principal)
    today = datetime.now(UTC).date()
    last = last_day or today
    first = first_day or (last - timedelta(days=29))
    if first > last:
        raise InvalidRequest("`from` must not be after `to`", code="invalid_range")
    if (last - first).days >= MAX_USAGE_DAYS:
        raise InvalidRequest(
            f"a usage report covers at most {MAX_USAGE_DAYS} days", code="invalid_range"
        )
    report = await usage_report(components.database, principal.tenant_id, first, last)
    return JSONResponse(UsageOut.of(report).model_dump(mode="json", by_alias=True))
