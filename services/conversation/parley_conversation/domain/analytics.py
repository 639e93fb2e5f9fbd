"""The pure parts of the analytics summary: the period asked for, why conversations went to
people (from the reasons recorded on transitions), and the share the AI resolved alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

# Why a conversation went to people, by the start of the transition's recorded reason (the
# reasons are written by service/ai.py and domain/handoff.py), most specific first.
HANDOFF_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("customer_asked", "the customer asked for a person", "The customer asked for a person"),
    ("no_grounded_answer", "the AI found no grounded answer", "No answer in the knowledge"),
    ("empty_answer", "the AI returned an empty answer", "The AI gave no answer"),
    ("model_failed", "the AI model failed", "The AI model failed"),
    ("budget_exhausted", "the AI budget is exhausted", "The AI budget ran out"),
    ("policy", "the AI may not answer this", "Not for the AI (policy)"),
)
TAKEN_OVER = ("taken_over", "The team took over from the AI")
OTHER = ("other", "Other reasons")
LABELS = {key: label for key, _, label in HANDOFF_CATEGORIES} | dict([TAKEN_OVER, OTHER])


@dataclass(frozen=True)
class Period:
    """[start, end): the last `days` days up to `end`, counted in whole UTC days."""

    start: datetime
    end: datetime

    @classmethod
    def last_days(cls, days: int, now: datetime | None = None) -> Period:
        end = now or datetime.now(UTC)
        first_day = (end - timedelta(days=days - 1)).date()
        return cls(datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC), end)

    def days(self) -> list[date]:
        """Every UTC day of the period, in order."""
        first, last = self.start.date(), self.end.date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class Handoff:
    """One transition that gave a conversation to people: to `waiting_human` (a handoff), or
    from `ai` straight to `human` (the team took over)."""

    to_state: str
    actor_kind: str
    reason: str


def handoff_category(handoff: Handoff) -> str:
    """The category key of one handoff (or takeover from the AI)."""
    if handoff.to_state == "human" and handoff.actor_kind in ("user", "api_key"):
        return TAKEN_OVER[0]
    reason = handoff.reason.casefold()
    for key, prefix, _ in HANDOFF_CATEGORIES:
        if reason.startswith(prefix.casefold()):
            return key
    return OTHER[0]


def handoffs_by_reason(handoffs: Iterable[Handoff]) -> list[tuple[str, str, int]]:
    """(category, label, count), most frequent first."""
    counts = Counter(handoff_category(h) for h in handoffs)
    return [(key, LABELS[key], n) for key, n in sorted(counts.items(), key=lambda kv: -kv[1])]


def deflection_rate(resolved_by_ai: int, conversations: int) -> float | None:
    """The share of conversations the AI resolved without a person (None when there were
    none)."""
    return resolved_by_ai / conversations if conversations else None


def daily_series(
    days: list[date], values: Mapping[date, Mapping[str, int]], keys: Iterable[str]
) -> list[dict[str, object]]:
    """One row per day with every key (0 where nothing happened)."""
    wanted = tuple(keys)
    return [{"day": day, **{k: int(values.get(day, {}).get(k, 0)) for k in wanted}} for day in days]
