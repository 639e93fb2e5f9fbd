"""Usage counters per tenant and UTC day: LLM calls per model, and the AI's outcomes. Each
write is an upsert that adds to one of the day's rows, in the same transaction as the reply.

A row is locked from its upsert until the reply's transaction commits, so one row per
(tenant, day, outcome) made a tenant's answers wait for each other. Each counter is spread
over `COUNTER_SHARDS` rows instead, chosen by the writing backend's process id: transactions
on different connections (whose ids are mostly consecutive) add to different rows, and the
reads add the shards up.

The two writes run on every answer, and the month's spending is read before every paid model
call, so they are plain SQL (`parley_platform.db.driver`: prepared once per connection) rather
than Core upserts, which SQLAlchemy compiles anew each time (it never caches a PostgreSQL
upsert, sqlalchemy#10445), and they run in the handler's plain tenant transaction. The usage
report's reads (an API call) stay SQLAlchemy, in a tenant session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from parley_platform.db import driver
from sqlalchemy import func, select

from parley_ai.repository.tables import ai_model_usage, ai_outcomes

COUNTER_SHARDS = 64
_SHARD = f"pg_backend_pid() % {COUNTER_SHARDS}"

_COUNT_CALLS = f"""
    INSERT INTO ai_model_usage AS u (tenant_id, day, shard, model, calls, failed_calls,
                                     prompt_tokens, completion_tokens, cost_usd, latency_ms_sum)
    SELECT $1, $2, {_SHARD}, m.*
      FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                  $8::numeric[], $9::bigint[]) AS m
    ON CONFLICT (tenant_id, day, model, shard) DO UPDATE
       SET calls = u.calls + excluded.calls,
           failed_calls = u.failed_calls + excluded.failed_calls,
           prompt_tokens = u.prompt_tokens + excluded.prompt_tokens,
           completion_tokens = u.completion_tokens + excluded.completion_tokens,
           cost_usd = u.cost_usd + excluded.cost_usd,
           latency_ms_sum = u.latency_ms_sum + excluded.latency_ms_sum
"""  # noqa: S608 - only a constant fragment is formatted in; every value is a parameter
_COUNT_OUTCOME = f"""
    INSERT INTO ai_outcomes AS o (tenant_id, day, shard, outcome, count, latency_ms_sum,
                                  latency_ms_max)
    VALUES ($1, $2, {_SHARD}, $3, 1, $4, $4)
    ON CONFLICT (tenant_id, day, outcome, shard) DO UPDATE
       SET count = o.count + 1,
           latency_ms_sum = o.latency_ms_sum + excluded.latency_ms_sum,
           latency_ms_max = greatest(o.latency_ms_max, excluded.latency_ms_max)
"""  # noqa: S608 - only a constant fragment is formatted in; every value is a parameter
# The tenant is named as well as bound (row-level security) so the tenant-first key is used.
_SPENT_SINCE = (
    "SELECT coalesce(sum(cost_usd), 0) FROM ai_model_usage WHERE tenant_id = $1 AND day >= $2"
)


@dataclass(frozen=True)
class ModelCall:
    """One LLM attempt to count."""

    model: str
    ok: bool
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: int


@dataclass
class _ModelTotals:
    """One model's calls of one request, added up."""

    calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0

    def add(self, call: ModelCall) -> None:
        self.calls += 1
        self.failed_calls += 0 if call.ok else 1
        self.prompt_tokens += call.prompt_tokens
        self.completion_tokens += call.completion_tokens
        self.cost_usd += call.cost_usd
        self.latency_ms += call.latency_ms


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
    """Usage of one tenant, inside that tenant's transaction (counting and spending in a
    plain transaction or a session, the report's reads in a session)."""

    def __init__(self, session: driver.SqlSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def count_calls(self, day: date, calls: Sequence[ModelCall]) -> None:
        """Add `calls` (attempts sent to a model) to the day's per-model counters."""
        if not calls:
            return
        totals: dict[str, _ModelTotals] = {}
        for call in calls:
            totals.setdefault(call.model, _ModelTotals()).add(call)
        # One row per model, in a fixed order (no deadlocks), in one statement.
        rows = [totals[model] for model in sorted(totals)]
        await driver.execute(
            self._session,
            _COUNT_CALLS,
            self._tenant_id,
            day,
            sorted(totals),
            [r.calls for r in rows],
            [r.failed_calls for r in rows],
            [r.prompt_tokens for r in rows],
            [r.completion_tokens for r in rows],
            [Decimal(str(round(r.cost_usd, 8))) for r in rows],
            [r.latency_ms for r in rows],
        )

    async def count_outcome(self, day: date, outcome: str, latency_ms: int) -> None:
        """Add one outcome (answer, clarification, handoff:<reason>, superseded)."""
        await driver.execute(
            self._session, _COUNT_OUTCOME, self._tenant_id, day, outcome, latency_ms
        )

    async def spent_since(self, first_day: date) -> float:
        """US dollars spent on LLM calls from `first_day` on."""
        row = await driver.fetch_one(self._session, _SPENT_SINCE, self._tenant_id, first_day)
        return float(row[0]) if row is not None else 0.0

    async def model_usage(self, first_day: date, last_day: date) -> list[ModelUsageRow]:
        """Per day and model, the shards added up."""
        u = ai_model_usage.c
        rows = await driver.sqlalchemy_session(self._session).execute(
            select(
                u.day,
                u.model,
                func.sum(u.calls).label("calls"),
                func.sum(u.failed_calls).label("failed_calls"),
                func.sum(u.prompt_tokens).label("prompt_tokens"),
                func.sum(u.completion_tokens).label("completion_tokens"),
                func.sum(u.cost_usd).label("cost_usd"),
                func.sum(u.latency_ms_sum).label("latency_ms_sum"),
            )
            .where(u.day.between(first_day, last_day))
            .group_by(u.day, u.model)
            .order_by(u.day, u.model)
        )
        return [
            ModelUsageRow(
                day=r.day,
                model=r.model,
                calls=int(r.calls),
                failed_calls=int(r.failed_calls),
                prompt_tokens=int(r.prompt_tokens),
                completion_tokens=int(r.completion_tokens),
                cost_usd=float(r.cost_usd),
                latency_ms_sum=int(r.latency_ms_sum),
            )
            for r in rows
        ]

    async def outcomes(self, first_day: date, last_day: date) -> list[OutcomeRow]:
        """Per day and outcome, the shards added up."""
        o = ai_outcomes.c
        rows = await driver.sqlalchemy_session(self._session).execute(
            select(
                o.day,
                o.outcome,
                func.sum(o.count).label("times"),  # `count` is a Row method
                func.sum(o.latency_ms_sum).label("latency_ms_sum"),
                func.max(o.latency_ms_max).label("latency_ms_max"),
            )
            .where(o.day.between(first_day, last_day))
            .group_by(o.day, o.outcome)
            .order_by(o.day, o.outcome)
        )
        return [
            OutcomeRow(r.day, r.outcome, int(r.times), int(r.latency_ms_sum), int(r.latency_ms_max))
            for r in rows
        ]
