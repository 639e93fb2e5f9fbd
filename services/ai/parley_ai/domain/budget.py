"""The monthly LLM budget of a tenant, enforced before each call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class WhenExhausted(StrEnum):
    """What the AI does once a tenant's month's budget is spent."""

    EXTRACTIVE = "extractive"  # answer from the knowledge base without a model
    HANDOFF = "handoff"  # hand every conversation to a person


@dataclass(frozen=True)
class BudgetCheck:
    allowed: bool
    spent_usd: float
    budget_usd: float | None


def month_start(day: date) -> date:
    """The first day of `day`'s month (budgets run per calendar month, UTC)."""
    return day.replace(day=1)


def check(spent_usd: float, budget_usd: float | None, next_call_usd: float) -> BudgetCheck:
    """Whether a call that may cost up to `next_call_usd` fits what is left of the month's
    budget (no budget: always). Checking the call's worst case, not only what was spent,
    keeps a single call from going past the budget."""
    if budget_usd is None:
        return BudgetCheck(True, spent_usd, None)
    return BudgetCheck(spent_usd + next_call_usd <= budget_usd, spent_usd, budget_usd)
