"""Settings of the auth service (environment variables `PARLEY_AUTH_*`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from parley_platform.access_tokens import MAX_TTL_S
from parley_platform.settings import ServiceSettings, service_config
from pydantic import Field, SecretStr


class Settings(ServiceSettings):
    """Tenants, users, credentials and the WhatsApp channel registry."""

    model_config = service_config("auth")
    service_name: ClassVar[str] = "auth"

    http_port: int = 8081
    grpc_port: int = 50051

    # Master secret of encryption at rest (signing keys' private halves, channel secrets):
    # AES-256-GCM keys are derived from it with HKDF, one per purpose.
    encryption_key: SecretStr = SecretStr("dev-insecure-auth-encryption-key")
    # Where clients reach Parley; channel responses build webhook URLs from it.
    public_base_url: str = "http://127.0.0.1:8080"

    # Meta's Graph API, which confirms that whoever registers a WhatsApp number controls it
    # (the sandbox is just another base URL). The version is pinned, never discovered.
    graph_api_base_url: str = "https://graph.facebook.com"
    graph_api_version: str = Field(default="v25.0", pattern=r"^v\d+\.\d+$")
    graph_timeout_s: float = Field(default=10.0, gt=0)

    token_issuer: str = "parley-auth"  # noqa: S105 - a name
    token_audience: str = "parley-api"  # noqa: S105 - a name
    access_token_ttl_s: int = Field(default=MAX_TTL_S, gt=0, le=MAX_TTL_S)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)
    invitation_ttl_s: int = Field(default=7 * 24 * 3600, gt=0)
    api_key_marker_keep_s: int = Field(default=24 * 3600, gt=0)

    # A rotated-in key is published this long before it signs, so that verifiers already
    # hold it (longer than the gateway's JWKS cache age, PARLEY_GATEWAY_JWKS_MAX_AGE_S).
    signing_key_publish_delay_s: float = Field(default=600.0, ge=0)
    # Rotate automatically when the signing key is this old (0: only by command).
    signing_key_max_age_days: float = Field(default=30.0, ge=0)
    # How often each replica re-reads the key set (to learn about keys others rotated in).
    signing_key_reload_s: float = Field(default=15.0, gt=0)

    # argon2id cost (RFC 9106's second recommended profile by default).
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=8 * 1024)
    password_hash_parallelism: int = Field(default=4, ge=1)

    # Sign-in throttling (token buckets in Redis) counts failures, never successful sign-ins,
    # per window: of one account from one client address (IPv6: its /64), of one address
    # whatever the account, and of one account from everywhere (a distributed guesser; set
    # higher, so that one address alone can never lock an account).
    login_failures_per_account_and_address: int = Field(default=10, ge=1)
    login_failures_per_address: int = Field(default=50, ge=1)
    login_failures_per_account: int = Field(default=100, ge=1)
    login_window_s: float = Field(default=900.0, gt=0)
    signups_per_address_per_hour: int = Field(default=20, ge=1)
    # Mail to one address (sign-up confirmations, invitations from any tenant) per hour, and
    # invitations one tenant sends per hour: nobody uses Parley to flood an inbox.
    signups_per_email_per_hour: int = Field(default=3, ge=1)
    invitations_per_email_per_hour: int = Field(default=5, ge=1)
    invitations_per_tenant_per_hour: int = Field(default=100, ge=1)

    # Email proves that whoever claims an address receives its mail (parley_auth.email):
    # `mailbox` keeps messages for /dev/mailbox (development, tests), `smtp` sends them.
    email_delivery: Literal["mailbox", "smtp"] = "mailbox"
    signup_confirmation_ttl_s: int = Field(default=24 * 3600, gt=0)
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_sender: str = "Parley <no-reply@parley.example>"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout_s: float = Field(default=10.0, gt=0)
