"""Usage counters per tenant and UTC day: LLM calls per model, and the AI's outcomes. Each
write is an upsert that adds to the day's row, in the same transaction as the reply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_ai.repository.tables import ai_model_usage, ai_outcomes


@dataclass(frozen=True)
class ModelCall:
    """One LLM attempt to count."""

    model: str
    ok: bool
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: int


@dataclass(frozen=True)
class ModelUsageRow:
    day: date
    model: str
    calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms_sum: int


@dataclass(frozen=True)
class OutcomeRow:
    day: date
    outcome: str
    count: int
    latency_ms_sum: int
    latency_ms_max: int


class UsageRepository:
    """Usage of one tenant, inside that tenant's session."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def count_calls(self, day: date, calls: Sequence[ModelCall]) -> None:
        """Add `calls` (attempts sent to a model) to the day's per-model counters."""
        by_model: dict[str, ModelCall] = {}
        failed: dict[str, int] = {}
        counted: dict[str, int] = {}
        for call in calls:
            total = by_model.get(call.model)
            by_model[call.model] = ModelCall(
                call.model,
                True,
                call.prompt_tokens + (total.prompt_tokens if total else 0),
                call.completion_tokens + (total.completion_tokens if total else 0),
                call.cost_usd + (total.cost_usd if total else 0.0),
                call.latency_ms + (total.latency_ms if total else 0),
            )
            counted[call.model] = counted.get(call.model, 0) + 1
            failed[call.model] = failed.get(call.model, 0) + (0 if call.ok else 1)
        for model, total in sorted(by_model.items()):  # a fixed order: no deadlocks
            statement = insert(ai_model_usage).values(
                tenant_id=self._tenant_id,
                day=day,
                model=model,
                calls=counted[model],
                failed_calls=failed[model],
                prompt_tokens=total.prompt_tokens,
                completion_tokens=total.completion_tokens,
                cost_usd=Decimal(str(round(total.cost_usd, 8))),
                latency_ms_sum=total.latency_ms,
            )
            excluded = statement.excluded
            await self._session.execute(
                statement.on_conflict_do_update(
                    index_elements=[
                        ai_model_usage.c.tenant_id,
                        ai_model_usage.c.day,
                        ai_model_usage.c.model,
                    ],
                    set_={
                        "calls": ai_model_usage.c.calls + excluded.calls,
                        "failed_calls": ai_model_usage.c.failed_calls + excluded.failed_calls,
                        "prompt_tokens": ai_model_usage.c.prompt_tokens + excluded.prompt_tokens,
                        "completion_tokens": ai_model_usage.c.completion_tokens
                        + excluded.completion_tokens,
                        "cost_usd": ai_model_usage.c.cost_usd + excluded.cost_usd,
                        "latency_ms_sum": ai_model_usage.c.latency_ms_sum + excluded.latency_ms_sum,
                    },
                )
            )

    async def count_outcome(self, day: date, outcome: str, latency_ms: int) -> None:
        """Add one outcome (answer, clarification, handoff:<reason>, superseded)."""
        statement = insert(ai_outcomes).values(
            tenant_id=self._tenant_id,
            day=day,
            outcome=outcome,
            count=1,
            latency_ms_sum=latency_ms,
            latency_ms_max=latency_ms,
        )
        excluded = statement.excluded
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[ai_outcomes.c.tenant_id, ai_outcomes.c.day, ai_outcomes.c.outcome],
                set_={
                    "count": ai_outcomes.c.count + 1,
                    "latency_ms_sum": ai_outcomes.c.latency_ms_sum + excluded.latency_ms_sum,
                    "latency_ms_max": func.greatest(
                        ai_outcomes.c.latency_ms_max, excluded.latency_ms_max
                    ),
                },
            )
        )

    async def spent_since(self, first_day: date) -> float:
        """US dollars spent on LLM calls from `first_day` on."""
        total = await self._session.scalar(
            select(func.coalesce(func.sum(ai_model_usage.c.cost_usd), 0)).where(
                ai_model_usage.c.day >= first_day
            )
        )
        return float(total or 0)

    async def model_usage(self, first_day: date, last_day: date) -> list[ModelUsageRow]:
        rows = await self._session.execute(
            select(ai_model_usage)
            .where(ai_model_usage.c.day.between(first_day, last_day))
            .order_by(ai_model_usage.c.day, ai_model_usage.c.model)
        )
        return [
            ModelUsageRow(
                day=r.day,
                model=r.model,
                calls=r.calls,
                failed_calls=r.failed_calls,
                prompt_tokens=r.prompt_tokens,
                completion_tokens=r.completion_tokens,
                cost_usd=float(r.cost_usd),
                latency_ms_sum=r.latency_ms_sum,
            )
            for r in rows
        ]

    async def outcomes(self, first_day: date, last_day: date) -> list[OutcomeRow]:
        rows = await self._session.execute(
            select(ai_outcomes)
            .where(ai_outcomes.c.day.between(first_day, last_day))
            .order_by(ai_outcomes.c.day, ai_outcomes.c.outcome)
        )
        return [
            OutcomeRow(r["day"], r["outcome"], r["count"], r["latency_ms_sum"], r["latency_ms_max"])
            for r in rows.mappings()
        ]
