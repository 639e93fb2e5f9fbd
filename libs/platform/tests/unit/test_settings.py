"""Settings every service shares: what they refuse to start with."""

from __future__ import annotations

import pytest
from parley_platform.settings import ServiceSettings
from pydantic import ValidationError


def test_processed_event_ids_must_outlive_kafkas_retention_by_a_day() -> None:
    ServiceSettings(kafka_retention_hours=168, inbox_retention_days=8)
    with pytest.raises(ValidationError, match="could be applied twice"):
        ServiceSettings(kafka_retention_hours=168, inbox_retention_days=7)
    with pytest.raises(ValidationError, match="INBOX_RETENTION_DAYS"):
        ServiceSettings(kafka_retention_hours=30 * 24, inbox_retention_days=14)
