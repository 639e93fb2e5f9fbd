"""The usage report of a tenant: per UTC day, what the AI decided (answers, clarifying
questions, handoffs by reason, superseded requests) with its step latency, and the LLM calls
per model with tokens, cost and latency; totals over the range; the month's budget."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from uuid import UUID

from parley_platform.db import Database

from parley_ai.domain import budget
from parley_ai.repository.settings import SettingsRepository
from parley_ai.repository.usage import ModelUsageRow, OutcomeRow, UsageRepository


@dataclass
class ModelDay:
    model: str
    calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms_sum: int = 0

    def add(self, row: ModelUsageRow) -> None:
        self.calls += row.calls
        self.failed_calls += row.failed_calls
        self.prompt_tokens += row.prompt_tokens
        self.completion_tokens += row.completion_tokens
        self.cost_usd += row.cost_usd
        self.latency_ms_sum += row.latency_ms_sum

    @property
    def average_latency_ms(self) -> float | None:
        return round(self.latency_ms_sum / self.calls, 1) if self.calls else None


@dataclass
class UsageDay:
    """One day (or the whole range, for totals)."""

    day: date | None
    requests: int = 0
    answers: int = 0
    clarifications: int = 0
    handoffs: int = 0
    superseded: int = 0
    handoffs_by_reason: dict[str, int] = field(default_factory=dict)
    latency_ms_sum: int = 0
    latency_ms_max: int = 0
    models: dict[str, ModelDay] = field(default_factory=dict)

    def add_outcome(self, row: OutcomeRow) -> None:
        self.requests += row.count
        self.latency_ms_sum += row.latency_ms_sum
        self.latency_ms_max = max(self.latency_ms_max, row.latency_ms_max)
        if row.outcome == "answer":
            self.answers += row.count
        elif row.outcome == "clarification":
            self.clarifications += row.count
        elif row.outcome == "superseded":
            self.superseded += row.count
        elif row.outcome.startswith("handoff:"):
            self.handoffs += row.count
            reason = row.outcome.split(":", 1)[1]
            self.handoffs_by_reason[reason] = self.handoffs_by_reason.get(reason, 0) + row.count

    def add_model(self, row: ModelUsageRow) -> None:
        self.models.setdefault(row.model, ModelDay(row.model)).add(row)

    @property
    def average_latency_ms(self) -> float | None:
        return round(self.latency_ms_sum / self.requests, 1) if self.requests else None

    @property
    def llm_calls(self) -> int:
        return sum(m.calls for m in self.models.values())

    @property
    def failed_llm_calls(self) -> int:
        return sum(m.failed_calls for m in self.models.values())

    @property
    def prompt_tokens(self) -> int:
        return sum(m.prompt_tokens for m in self.models.values())

    @property
    def completion_tokens(self) -> int:
        return sum(m.completion_tokens for m in self.models.values())

    @property
    def cost_usd(self) -> float:
        return round(sum(m.cost_usd for m in self.models.values()), 8)


@dataclass(frozen=True)
class BudgetView:
    monthly_budget_usd: float | None
    spent_this_month_usd: float
    when_exhausted: str

    @property
    def remaining_usd(self) -> float | None:
        if self.monthly_budget_usd is None:
            return None
        return round(max(0.0, self.monthly_budget_usd - self.spent_this_month_usd), 8)


@dataclass(frozen=True)
class UsageReport:
    first_day: date
    last_day: date
    days: list[UsageDay]
    totals: UsageDay
    budget: BudgetView


async def usage_report(
    database: Database, tenant_id: UUID, first_day: date, last_day: date
) -> UsageReport:
    """The tenant's usage from `first_day` to `last_day` (inclusive, UTC days)."""
    month = budget.month_start(datetime.now(UTC).date())
    async with database.tenant_session(tenant_id) as session:
        usage = UsageRepository(session, tenant_id)
        outcomes = await usage.outcomes(first_day, last_day)
        models = await usage.model_usage(first_day, last_day)
        spent = await usage.spent_since(month)
        settings = (await SettingsRepository(session, tenant_id).load()).settings
    days: dict[date, UsageDay] = defaultdict(lambda: UsageDay(None))
    totals = UsageDay(None)
    for row in outcomes:
        days[row.day].add_outcome(row)
        totals.add_outcome(row)
    for model_row in models:
        days[model_row.day].add_model(model_row)
        totals.add_model(model_row)
    ordered = []
    for day in sorted(days):
        days[day].day = day
        ordered.append(days[day])
    return UsageReport(
        first_day=first_day,
        last_day=last_day,
        days=ordered,
        totals=totals,
        budget=BudgetView(
            settings.monthly_budget_usd, round(spent, 8), settings.when_budget_exhausted.value
        ),
    )
