"""Settings of the gateway service (environment variables `PARLEY_GATEWAY_*`)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from parley_platform.settings import Environment, ServiceSettings, service_config
from pydantic import Field, SecretStr, model_validator

from parley_gateway.limits.plans import DEFAULT_PLANS, ApiPlan


class Settings(ServiceSettings):
    """The public edge: webhook ingress and the REST API."""

    model_config = service_config("gateway")
    service_name: ClassVar[str] = "gateway"

    http_port: int = 8080

    auth_grpc_target: str = "127.0.0.1:50051"

    # Services behind the public REST API (see parley_gateway.api.routes for who owns what).
    auth_http_url: str = "http://127.0.0.1:8081"
    conversation_http_url: str = "http://127.0.0.1:8082"
    knowledge_http_url: str = "http://127.0.0.1:8085"
    ai_http_url: str = "http://127.0.0.1:8083"
    whatsapp_http_url: str = "http://127.0.0.1:8084"
    # Bound on waiting for an upstream's answer (streams such as /api/v1/events excepted).
    upstream_timeout_s: float = Field(default=30.0, gt=0)
    upstream_connect_timeout_s: float = Field(default=2.0, gt=0)
    # Connections to the services: API calls and live streams have separate pools, so that
    # streams (each holds a connection while open) can never starve API calls. A stream
    # finding its pool full waits this long, then gets 503.
    api_pool_size: int = Field(default=500, ge=1)
    stream_pool_size: int = Field(default=2000, ge=1)
    stream_pool_wait_s: float = Field(default=1.0, gt=0)
    # An open live stream's credential is verified again this often (and at its expiry).
    stream_recheck_interval_s: float = Field(default=15.0, gt=0)
    # A stream's slot (per tenant and per caller caps) lapses this long after its gateway
    # last renewed it (a gateway that died without closing its streams).
    stream_slot_lease_s: float = Field(default=60.0, gt=0)

    # Request limits by plan (limits.plans): the plans (JSON: {"name": {...}}) and the one
    # that applies when a tenant's plan is not among them. A tenant's plan is re-read from
    # auth this often.
    api_plans: dict[str, ApiPlan] = Field(default_factory=lambda: dict(DEFAULT_PLANS))
    default_api_plan: str = "standard"
    plan_cache_ttl_s: float = Field(default=60.0, ge=0)
    # Request bodies: API calls, and document uploads (/api/v1/knowledge/documents...).
    api_body_limit_bytes: int = Field(default=1024 * 1024, gt=0)
    upload_body_limit_bytes: int = Field(default=25 * 1024 * 1024, gt=0)

    # Access tokens (must match the auth service's issuer and audience).
    token_issuer: str = "parley-auth"  # noqa: S105 - a name
    token_audience: str = "parley-api"  # noqa: S105 - a name
    # Tolerated clock difference with auth when checking `exp` and `iat`.
    access_token_leeway_s: int = Field(default=10, ge=0, le=60)
    # The JWKS is re-read from auth this often, and at most once per
    # `jwks_min_refresh_interval_s` when a token names an unknown key.
    jwks_max_age_s: float = Field(default=300.0, gt=0)
    jwks_min_refresh_interval_s: float = Field(default=5.0, ge=0)
    # API keys verified by auth are remembered this long (revocation markers in Redis make
    # a revoked key fail at once; this is the bound if a marker were lost).
    api_key_cache_ttl_s: float = Field(default=30.0, ge=0)
    api_key_cache_size: int = Field(default=10_000, ge=1)

    # Client addresses (login throttling): by default the connection's peer. Only when the
    # peer is one of these networks (e.g. your load balancer) is `client_address_header`
    # read, right to left, skipping these networks. JSON list, e.g. ["10.0.0.0/8"].
    trusted_proxies: list[str] = Field(default_factory=list)
    client_address_header: str = "x-forwarded-for"

    # The merged OpenAPI document is rebuilt from the services at most this often.
    openapi_cache_s: float = Field(default=60.0, ge=0)

    # WhatsApp webhooks (docs/whatsapp.md). The platform's Meta app signs every webhook of
    # the channels on it; businesses with their own app have theirs in the channel registry.
    whatsapp_app_secret: SecretStr = SecretStr("dev-insecure-whatsapp-app-secret")
    whatsapp_verify_token: SecretStr = SecretStr("dev-insecure-whatsapp-verify-token")
    webhook_max_body_bytes: int = Field(default=3 * 1024 * 1024, ge=1024)
    webhook_channel_cache_ttl_s: float = Field(default=30.0, ge=0)
    webhook_unknown_channel_cache_ttl_s: float = Field(default=10.0, ge=0)
    # Benchmarks only (ingest cost without Kafka); refused in production.
    webhook_publish_events: bool = True

    # The dashboard (parley_gateway.web): where its built pages are (default: the build that
    # `make web` writes into this package), and its session cookies. Secure cookies are the
    # default everywhere but in development, which runs on http://127.0.0.1.
    dashboard_dir: Path | None = None
    session_cookie_secure: bool | None = None
    session_max_age_s: int = Field(default=30 * 24 * 3600, gt=0)

    @model_validator(mode="after")
    def _default_plan_exists(self) -> Settings:
        if self.default_api_plan not in self.api_plans:
            raise ValueError(
                f"{self.env_name('default_api_plan')}={self.default_api_plan!r} is not one of "
                f"{self.env_name('api_plans')}: {', '.join(sorted(self.api_plans))}"
            )
        return self

    @model_validator(mode="after")
    def _webhooks_publish_in_production(self) -> Settings:
        if self.environment == Environment.PRODUCTION and not self.webhook_publish_events:
            raise ValueError("webhook_publish_events=false would drop every webhook")
        return self
