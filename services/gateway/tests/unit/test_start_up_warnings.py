"""Start-up warnings of the gateway: a configuration that weakens a control is said out loud."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from parley_gateway.api.edge import warn_without_trusted_proxies
from parley_gateway.config import Settings

SECRETS: dict[str, Any] = {
    "service_token_secret": "a-long-enough-service-token-secret",
    "whatsapp_app_secret": "a-long-enough-whatsapp-app-secret",
    "whatsapp_verify_token": "a-long-enough-whatsapp-verify-token",
}


def _warnings(caplog: pytest.LogCaptureFixture, settings: Settings) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="parley_gateway.api.edge"):
        warn_without_trusted_proxies(settings)
    return [r.getMessage() for r in caplog.records]


def test_no_trusted_proxies_outside_development_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for environment in ("test", "production"):
        warned = _warnings(caplog, Settings(environment=environment, **SECRETS))
        assert any("PARLEY_GATEWAY_TRUSTED_PROXIES" in w for w in warned), environment


def test_no_warning_with_trusted_proxies_or_in_development(
    caplog: pytest.LogCaptureFixture,
) -> None:
    behind_a_balancer = Settings(
        environment="production", trusted_proxies=["10.0.0.0/8"], **SECRETS
    )
    assert _warnings(caplog, behind_a_balancer) == []
    assert _warnings(caplog, Settings(environment="development")) == []
