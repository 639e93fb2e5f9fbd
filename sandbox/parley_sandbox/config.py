"""Settings of the sandbox (environment variables `PARLEY_SANDBOX_*`).

The sandbox stands in for Meta, so its defaults copy Meta's behaviour (80 messages/s per
number, the pair limit, a 24-hour window, 5-minute media URLs, redelivery on non-200); tests
shorten the timings and make the randomness deterministic.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SandboxSettings(BaseSettings):
    """How the stand-in Cloud API behaves."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_SANDBOX_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8090
    # How Parley reaches the sandbox; media download URLs are built on it.
    public_base_url: str = "http://127.0.0.1:8090"
    log_level: str = "INFO"

    # Defaults for numbers registered without their own values.
    default_webhook_url: str = "http://127.0.0.1:8080/webhooks/whatsapp"
    default_app_secret: SecretStr = SecretStr("dev-insecure-sandbox-app-secret")
    default_messages_per_second: int = Field(default=80, ge=1)
    # Meta's pair limit: about one message per 6 s to one user, bursts of up to 45.
    pair_rate_per_s: float = Field(default=1 / 6, gt=0)
    pair_burst: int = Field(default=45, ge=1)

    customer_service_window_s: float = Field(default=24 * 3600, gt=0)
    media_url_ttl_s: float = Field(default=300, gt=0)
    max_media_bytes: int = Field(default=100 * 1024 * 1024, gt=0)

    # Like Meta, send a WABA's webhooks only once an app subscribed to it
    # (`POST /{waba-id}/subscribed_apps`, what Parley does when a number is connected). Off
    # by default so that tests can serve a number without connecting it; on in `make run`.
    require_app_subscription: bool = False

    # Webhook delivery, like Meta: retried on any non-200 with growing delays (Meta keeps
    # trying for 7 days; the sandbox stops after the last delay).
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_retry_delays_s: list[float] = [1, 2, 5, 10, 30, 60, 120, 300]

    # Status webhooks after each accepted send: sent, delivered, read.
    status_webhooks: bool = True
    status_delay_s: float = Field(default=0.2, ge=0)
    status_shuffle_probability: float = Field(default=0.2, ge=0, le=1)
    status_duplicate_probability: float = Field(default=0.1, ge=0, le=1)
    # Share of status webhooks never sent at all (Meta loses some; chaos runs raise it).
    status_drop_probability: float = Field(default=0.0, ge=0, le=1)
    seed: int | None = None  # fixed seed: the same run gives the same shuffles and duplicates

    # How long a "timeout" fault holds the request before answering 504.
    timeout_fault_hold_s: float = Field(default=30.0, gt=0)

    outbox_capacity: int = Field(default=50_000, ge=100)
