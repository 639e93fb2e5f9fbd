"""The chaos suite's report: the figures of a run as Markdown tables (for the terminal and
docs/reliability.md) and as JSON (for tests and for comparing runs)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from parley_devstack.chaos.checker import FaultFigures, Outcome, Verdict


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def as_markdown(verdict: Verdict, rows: list[FaultFigures], context: dict[str, Any]) -> str:
    """The run's summary table, one row per fault, and the verdict."""
    lines = [
        "| messages sent | answered | handed off | lost | not accepted | duplicates "
        "(flagged possible_duplicate) | unflagged duplicates | webhooks refused, then "
        "accepted on a retry | faults' lag consumed (first zero lag) | dead letters (without "
        "reason) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {len(verdict.outcomes)} | {verdict.count(Outcome.ANSWERED)} "
        f"| {verdict.count(Outcome.HANDED_OFF)} | {verdict.count(Outcome.LOST)} "
        f"| {verdict.count(Outcome.NOT_ACCEPTED)} | {verdict.duplicates_flagged} "
        f"| {verdict.duplicates_unflagged} | {verdict.webhooks_refused_then_accepted} "
        f"| {_seconds(verdict.lag_recovery_s)} ({_seconds(verdict.lag_zero_s)}) "
        f"| {verdict.dead_letters} ({verdict.dead_letters_without_reason}) |",
        "",
        "| fault | lasted | messages sent meanwhile | answered | handed off | lost | "
        "recovery (fault end → a new question answered) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {_seconds(row.duration_s)} | {row.sent} | {row.answered} "
            f"| {row.handed_off} | {row.failed} | {_seconds(row.recovery_s)} |"
        )
    lines.append("")
    for key, value in context.items():
        lines.append(f"- {key}: {value}")
    lines.append("")
    if verdict.passed:
        lines.append("**PASSED**: every promise held.")
    else:
        lines.append("**FAILED**:")
        lines += [f"- {failure}" for failure in verdict.failures]
    return "\n".join(lines)


def as_json(verdict: Verdict, rows: list[FaultFigures], context: dict[str, Any]) -> dict:
    """The same figures, machine-readable."""
    return {
        "passed": verdict.passed,
        "failures": verdict.failures,
        "messages": {o.value: verdict.count(o) for o in Outcome} | {"sent": len(verdict.outcomes)},
        "duplicates_flagged": verdict.duplicates_flagged,
        "duplicates_unflagged": verdict.duplicates_unflagged,
        "webhooks_refused_then_accepted": verdict.webhooks_refused_then_accepted,
        "webhook_attempts_failed": verdict.webhook_attempts_failed,
        "lag_recovery_s": verdict.lag_recovery_s,
        "lag_zero_s": verdict.lag_zero_s,
        "dead_letters": verdict.dead_letters,
        "dead_letters_without_reason": verdict.dead_letters_without_reason,
        "faults": [asdict(row) for row in rows],
        "context": context,
    }
