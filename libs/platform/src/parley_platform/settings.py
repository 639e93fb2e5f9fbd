"""Settings every service shares; each service extends `ServiceSettings` with its own prefix.

Configuration comes only from environment variables (and an optional `.env` file), read when a
settings object is created, never at import time. Outside development a service refuses to
start with a placeholder or missing secret.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that mark a secret as "not really set". Development defaults use the
# `dev-insecure-` prefix so that they are recognisable and refused elsewhere.
PLACEHOLDER_PREFIXES = ("dev-insecure-", "change-me", "changeme", "placeholder", "secret")
MIN_SECRET_LENGTH = 16
OPS_PORT_SHIFT = 1000


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class InsecureSettingsError(ValueError):
    """A secret is a placeholder (or too short) in a non-development environment."""


class ServiceSettings(BaseSettings):
    """Base settings. Subclasses set `model_config = service_config("AUTH")` and `service_name`."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", env_file=None)

    service_name: ClassVar[str] = "parley"
    # PostgreSQL extensions the service's database needs (created by provisioning, which
    # runs as a superuser; the service's roles cannot create extensions).
    database_extensions: ClassVar[tuple[str, ...]] = ()

    environment: Environment = Environment.DEVELOPMENT
    log_level: str = "INFO"

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 0  # used by services that serve gRPC; 0 picks a free port
    # The operations listener (`/metrics`, `/readyz` with details, `/healthz`), never
    # published. Unset: HTTP_PORT + 1000 (9080 gateway ... 9085 knowledge), or a free port
    # when HTTP_PORT is 0.
    ops_host: str = "127.0.0.1"
    ops_port: int | None = Field(default=None, ge=0, le=65535)

    kafka_bootstrap: str = "127.0.0.1:9092"
    # Transport security (parley_platform.transport): SASL_SSL with the service's own SCRAM
    # principal in production.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_file: str | None = None  # unset: the system's CAs verify the brokers
    # Lets several environments (or test runs) share one cluster without sharing topics
    # or consumer groups.
    kafka_topic_prefix: str = ""
    kafka_partitions: int = Field(default=12, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    # Bound on one publish (acks=all); past it the caller answers 503 and its sender retries.
    kafka_send_timeout_s: float = Field(default=5.0, gt=0)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_backoff_initial_s: float = Field(default=0.2, ge=0)
    consumer_backoff_max_s: float = Field(default=5.0, ge=0)

    # How long Kafka keeps the records of the topics a service creates (`retention.ms`).
    kafka_retention_hours: int = Field(default=7 * 24, ge=1)

    database_url: SecretStr | None = None  # app role: owns nothing, cannot bypass RLS
    database_pool_size: int = 10
    # Processed event ids are kept this long; a record can be redelivered for as long as
    # Kafka keeps it, so this must exceed the topics' retention by at least a day.
    inbox_retention_days: int = Field(default=14, ge=1)

    redis_url: str = "redis://127.0.0.1:6379/0"

    # Shared key for service-to-service gRPC credentials (see parley_platform.grpc.credentials).
    service_token_secret: SecretStr = SecretStr("dev-insecure-service-token-secret")
    grpc_deadline_s: float = Field(default=3.0, gt=0)
    # Mutual TLS on gRPC: this service's certificate (common name = its service name), its
    # key, and the CA that signs every service's certificate. All three or none.
    grpc_tls_cert_file: str | None = None
    grpc_tls_key_file: str | None = None
    grpc_tls_ca_file: str | None = None
    # A plaintext port that serves only grpc.health.v1, for the kubelet's gRPC probes (which
    # cannot speak TLS); unset: none.
    grpc_probe_port: int | None = Field(default=None, ge=0, le=65535)
    # Production refuses plaintext Kafka, gRPC, Redis and PostgreSQL connections unless a
    # service mesh encrypts them and this says so.
    allow_plaintext_transport: bool = False

    otlp_endpoint: str | None = None  # e.g. http://otel-collector:4317; unset: no export
    otlp_timeout_s: float = Field(default=2.0, gt=0)
    # Share of new traces recorded (a trace started upstream keeps its caller's decision);
    # trace ids still reach logs and Kafka headers when a trace is not recorded.
    trace_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    # A span per SQL statement: about a tenth of an event handler's CPU on the busiest paths
    # (docs/performance.md), so off unless asked for (debugging a slow query).
    trace_database_statements: bool = False

    def secret_fields(self) -> dict[str, SecretStr]:
        """Every secret-typed setting that is set, by name (never logged)."""
        return {
            name: value
            for name in type(self).model_fields
            if isinstance(value := getattr(self, name), SecretStr)
        }

    @model_validator(mode="after")
    def _grpc_tls_files_together(self) -> ServiceSettings:
        files = (self.grpc_tls_cert_file, self.grpc_tls_key_file, self.grpc_tls_ca_file)
        if any(files) and not all(files):
            raise ValueError(
                f"{self.env_name('grpc_tls_cert_file')}, {self.env_name('grpc_tls_key_file')} "
                f"and {self.env_name('grpc_tls_ca_file')} are set together or not at all"
            )
        return self

    @model_validator(mode="after")
    def _ops_port_beside_http_port(self) -> ServiceSettings:
        if self.ops_port is None:
            self.ops_port = self.http_port + OPS_PORT_SHIFT if self.http_port else 0
        return self

    @model_validator(mode="after")
    def _inbox_outlives_kafka_retention(self) -> ServiceSettings:
        if self.inbox_retention_days * 24 < self.kafka_retention_hours + 24:
            raise ValueError(
                f"{self.env_name('inbox_retention_days')}={self.inbox_retention_days} must "
                f"exceed Kafka's retention ({self.env_name('kafka_retention_hours')}="
                f"{self.kafka_retention_hours}) by at least a day, or a redelivered event "
                "could be applied twice"
            )
        return self

    @model_validator(mode="after")
    def _refuse_placeholders_outside_development(self) -> ServiceSettings:
        if self.environment == Environment.DEVELOPMENT:
            return self
        for name, value in self.secret_fields().items():
            if name.endswith("_url"):
                continue  # credentials inside a URL are checked by connecting
            raw = value.get_secret_value()
            if len(raw) < MIN_SECRET_LENGTH or raw.lower().startswith(PLACEHOLDER_PREFIXES):
                raise InsecureSettingsError(
                    f"{self.env_name(name)} is a placeholder or shorter than "
                    f"{MIN_SECRET_LENGTH} characters; set a real secret "
                    f"(environment={self.environment.value})"
                )
        return self

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable that sets `field`."""
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()

    def topic_name(self, canonical: str) -> str:
        """The physical topic name for a canonical one (adds the environment prefix)."""
        return f"{self.kafka_topic_prefix}{canonical}"


def service_config(prefix: str) -> SettingsConfigDict:
    """The settings config for a service: variables start with `PARLEY_<PREFIX>_`."""
    return SettingsConfigDict(env_prefix=f"PARLEY_{prefix.upper()}_", extra="ignore")
