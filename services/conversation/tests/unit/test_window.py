"""The 24-hour customer service window without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parley_conversation.domain.window import window_closes_at, window_is_open

LAST = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_the_window_closes_24_hours_after_the_customers_last_message() -> None:
    assert window_closes_at(LAST) == LAST + timedelta(hours=24)
    assert window_is_open(LAST, LAST)
    assert window_is_open(LAST, LAST + timedelta(hours=23, minutes=59, seconds=59))
    assert not window_is_open(LAST, LAST + timedelta(hours=24))
    assert not window_is_open(LAST, LAST + timedelta(days=3))


def test_a_customer_who_never_wrote_has_no_window() -> None:
    assert window_closes_at(None) is None
    assert not window_is_open(None, LAST)
