"""`GET /api/v1/analytics/summary`: how the AI and the team did over a period.

Conversation figures are computed here, where conversations, messages and transitions live.
LLM tokens and cost per day are the ai service's record (the same one its budget is enforced
on), asked for over its usage API (`GET /api/v1/ai/usage?from=&to=`, whose `days` list only the
days with usage) with the caller's principal, so ai applies its own rules: an API key without
`settings:write` gets `llm: null`. When ai does not answer in time the summary still comes,
with `llm: null` and `ai` named under `unavailable`. Owners and admins (and admin API keys
with `conversations:read`) only.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import httpx
from fastapi import APIRouter, Query, Request
from parley_platform.errors import PermissionDenied
from parley_platform.grpc.credentials import ServiceTokenIssuer
from parley_platform.http.internal import CurrentPrincipal, internal_headers
from parley_platform.identity import Principal, Role
from pydantic import BaseModel, Field, ValidationError

from parley_conversation.api.dependencies import READ_SCOPE, ServicesDep
from parley_conversation.config import Settings
from parley_conversation.domain.analytics import (
    Period,
    daily_series,
    deflection_rate,
    handoffs_by_reason,
)
from parley_conversation.repository.analytics import AnalyticsQueries, ResponseTimes

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])


class PeriodOut(BaseModel):
    start: datetime = Field(description="Start of the first UTC day of the period")
    end: datetime = Field(description="When the summary was computed")
    days: int


class HandoffOut(BaseModel):
    reason: str = Field(
        description="customer_asked, no_grounded_answer, empty_answer, model_failed, "
        "budget_exhausted, policy, taken_over (the team took over from the AI) or other"
    )
    label: str
    count: int


class ResponseTimeOut(BaseModel):
    count: int = Field(description="Customer turns answered")
    p50_s: float | None = Field(description="Median seconds to the reply")
    p90_s: float | None


class FirstResponseOut(BaseModel):
    ai: ResponseTimeOut
    people: ResponseTimeOut


class ConversationDayOut(BaseModel):
    day: date
    conversations: int
    messages_in: int
    messages_out: int
    messages_out_ai: int


class ConversationFigures(BaseModel):
    conversations: int = Field(description="Conversations in which the customer wrote")
    new_conversations: int
    messages_in: int
    messages_out: int = Field(description="Replies sent (by the AI and people; notes excluded)")
    messages_out_ai: int
    resolved_by_ai: int = Field(
        description="Conversations the AI answered with no handoff or takeover in the period"
    )
    deflection_rate: float | None = Field(description="resolved_by_ai / conversations")
    handoffs: list[HandoffOut]
    first_response: FirstResponseOut
    daily: list[ConversationDayOut]


class LlmDayOut(BaseModel):
    day: date
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class _ReportedDay(BaseModel):
    """One row of ai's usage answer (`UsageDayOut` there): every figure required, so that a
    renamed field fails here instead of reading as zero."""

    day: date
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class _UsageReport(BaseModel):
    """The part of ai's `UsageOut` the summary reads."""

    days: list[_ReportedDay]


class LlmUsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    daily: list[LlmDayOut]


class AnalyticsSummary(BaseModel):
    """The analytics of a period, optionally of one team (conversations assigned to it)."""

    period: PeriodOut
    team_id: UUID | None
    conversations: ConversationFigures
    llm: LlmUsageOut | None = Field(
        description="Tokens and cost per day (whole tenant); null when ai did not answer (then "
        "named under `unavailable`) or when the caller may not see AI usage (an API key "
        "without `settings:write`)"
    )
    unavailable: list[str] = Field(description="Services that did not answer (their part null)")


def _times(found: ResponseTimes | None) -> ResponseTimeOut:
    if found is None:
        return ResponseTimeOut(count=0, p50_s=None, p90_s=None)
    return ResponseTimeOut(count=found.count, p50_s=found.p50_s, p90_s=found.p90_s)


class LlmUsageWithheld(Exception):
    """The ai service refused the caller its usage (an API key without `settings:write`)."""


async def llm_usage(settings: Settings, principal: Principal, period: Period) -> LlmUsageOut | None:
    """The ai service's usage per day over the period, or None if it cannot tell now.

    Raises LlmUsageWithheld when ai answers that this principal may not see it."""
    issuer = ServiceTokenIssuer(settings.service_token_secret.get_secret_value(), "conversation")
    days = period.days()
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=settings.analytics_ai_timeout_s) as c:
            response = await c.get(
                settings.ai_http_url.rstrip("/") + "/api/v1/ai/usage",
                params={"from": days[0].isoformat(), "to": days[-1].isoformat()},
                headers=internal_headers(issuer, "ai", principal),
            )
        if response.status_code == httpx.codes.FORBIDDEN:
            raise LlmUsageWithheld
        response.raise_for_status()
        reported = _UsageReport.model_validate(response.json()).days
    except (httpx.HTTPError, ValueError, ValidationError):
        log.info("LLM usage unavailable for the analytics summary", exc_info=True)
        return None
    by_day = {d.day: LlmDayOut(**d.model_dump()) for d in reported}
    daily = [by_day.get(day, LlmDayOut(day=day)) for day in days]
    return LlmUsageOut(
        prompt_tokens=sum(d.prompt_tokens for d in daily),
        completion_tokens=sum(d.completion_tokens for d in daily),
        cost_usd=round(sum(d.cost_usd for d in daily), 6),
        daily=daily,
    )


@router.get("/summary", summary="Analytics of a period", response_model=AnalyticsSummary)
async def summary(
    request: Request,
    principal: CurrentPrincipal,
    services: ServicesDep,
    days: Annotated[int, Query(ge=1, le=366, description="The last N days (UTC)")] = 7,
    team_id: Annotated[
        UUID | None, Query(description="Only conversations assigned to this team")
    ] = None,
) -> AnalyticsSummary:
    """Conversations, messages in and out, the share the AI resolved alone (deflection),
    handoffs by reason, first-response time p50/p90 of the AI and of people, per day; and
    LLM tokens and cost per day."""
    principal.require_scope(READ_SCOPE)
    if principal.role not in (Role.OWNER, Role.ADMIN):
        raise PermissionDenied("analytics are for owners and admins")
    period = Period.last_days(days)
    async with services.reading(principal) as session:
        queries = AnalyticsQueries(session, period, team_id)
        per_day = await queries.messages_per_day()
        totals = await queries.totals()
        handoffs = await queries.handoffs()
        responses = await queries.first_responses()
    keys = ("conversations", "messages_in", "messages_out", "messages_out_ai")
    daily = daily_series(period.days(), per_day, keys)
    figures = ConversationFigures(
        conversations=totals.conversations,
        new_conversations=totals.new_conversations,
        messages_in=sum(d["messages_in"] for d in per_day.values()),
        messages_out=sum(d["messages_out"] for d in per_day.values()),
        messages_out_ai=sum(d["messages_out_ai"] for d in per_day.values()),
        resolved_by_ai=totals.resolved_by_ai,
        deflection_rate=deflection_rate(totals.resolved_by_ai, totals.conversations),
        handoffs=[
            HandoffOut(reason=key, label=label, count=n)
            for key, label, n in handoffs_by_reason(handoffs)
        ],
        first_response=FirstResponseOut(
            ai=_times(responses.get("ai")), people=_times(responses.get("agent"))
        ),
        daily=[ConversationDayOut.model_validate(d) for d in daily],
    )
    settings: Settings = request.app.state.runtime.settings
    try:
        llm = await llm_usage(settings, principal, period)
        unavailable = [] if llm is not None else ["ai"]
    except LlmUsageWithheld:
        llm, unavailable = None, []
    return AnalyticsSummary(
        period=PeriodOut(start=period.start, end=period.end, days=days),
        team_id=team_id,
        conversations=figures,
        llm=llm,
        unavailable=unavailable,
    )
