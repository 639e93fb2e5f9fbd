"""The analytics summary's pure decisions: the period's days, handoff categories from the
recorded reasons (as service/ai.py and the handoff phrases write them), deflection."""

from __future__ import annotations

from datetime import UTC, date, datetime

from parley.ai.v1 import events_pb2 as ai_events
from parley_conversation.domain.analytics import (
    Handoff,
    Period,
    deflection_rate,
    handoff_category,
    handoffs_by_reason,
)
from parley_conversation.service.ai import HANDOFF_REASONS


def test_a_period_covers_whole_utc_days_up_to_now() -> None:
    now = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    period = Period.last_days(7, now)
    assert period.start == datetime(2026, 3, 4, tzinfo=UTC)
    assert period.end == now
    assert period.days() == [date(2026, 3, d) for d in range(4, 11)]
    assert Period.last_days(1, now).days() == [date(2026, 3, 10)]


def test_every_reason_the_service_records_has_its_category() -> None:
    expected = {
        ai_events.HANDOFF_REASON_NO_GROUNDED_ANSWER: "no_grounded_answer",
        ai_events.HANDOFF_REASON_CUSTOMER_ASKED_FOR_HUMAN: "customer_asked",
        ai_events.HANDOFF_REASON_MODEL_FAILED: "model_failed",
        ai_events.HANDOFF_REASON_BUDGET_EXHAUSTED: "budget_exhausted",
        ai_events.HANDOFF_REASON_POLICY: "policy",
    }
    for reason, category in expected.items():
        recorded = f"{HANDOFF_REASONS[reason]}: some detail"
        assert handoff_category(Handoff("waiting_human", "ai", recorded)) == category
    asked = 'the customer asked for a person ("humano")'
    assert handoff_category(Handoff("waiting_human", "customer", asked)) == "customer_asked"
    assert handoff_category(Handoff("human", "user", "taken over")) == "taken_over"
    assert handoff_category(Handoff("waiting_human", "ai", "the AI handed off")) == "other"


def test_handoffs_are_counted_most_frequent_first() -> None:
    asked = Handoff("waiting_human", "customer", "the customer asked for a person (agent)")
    taken = Handoff("human", "api_key", "taken over")
    counted = handoffs_by_reason([taken, asked, asked])
    assert [(key, n) for key, _, n in counted] == [("customer_asked", 2), ("taken_over", 1)]


def test_deflection_is_a_share_of_conversations_or_nothing() -> None:
    assert deflection_rate(1, 4) == 0.25
    assert deflection_rate(0, 0) is None
