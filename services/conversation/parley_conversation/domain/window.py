"""WhatsApp's customer service window: free-form messages may be sent only within 24 hours
of the customer's last message; outside it only an approved template may start again."""

from __future__ import annotations

from datetime import datetime, timedelta

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)


def window_closes_at(last_inbound_at: datetime | None) -> datetime | None:
    """When the window closes (None: the customer never wrote, so it was never open)."""
    return None if last_inbound_at is None else last_inbound_at + CUSTOMER_SERVICE_WINDOW


def window_is_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Whether a free-form message may be sent at `now`."""
    closes_at = window_closes_at(last_inbound_at)
    return closes_at is not None and now < closes_at
