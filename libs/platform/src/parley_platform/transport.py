"""Transport security: how a service's connections to Kafka, its gRPC peers, Redis and
PostgreSQL are encrypted and authenticated, from its settings.

- Kafka: `KAFKA_SECURITY_PROTOCOL=SASL_SSL` with SCRAM credentials of the service's own Kafka
  principal (per-service ACLs: it writes only the topics it produces, reads only those it
  consumes; docs/operations.md), brokers verified against `KAFKA_SSL_CA_FILE` or the system
  CAs.
- gRPC: mutual TLS when `GRPC_TLS_CERT_FILE`, `GRPC_TLS_KEY_FILE` and `GRPC_TLS_CA_FILE` are
  set. Each service has its own certificate whose common name is its service name; a server
  accepts a call only when the caller's certificate names the same service as its service
  credential, so a service holding the shared token secret still cannot pose as another.
- Redis: a `rediss://` URL (with its password and `ssl_ca_certs=` when the CA is private).
- PostgreSQL: `?ssl=verify-full` on the URL, or `PGSSLMODE=verify-full` (and
  `PGSSLROOTCERT`) in the environment, which asyncpg reads.

In production the runtime refuses to start when a connection it opens would be plaintext
(`require_encrypted_transport`), unless `ALLOW_PLAINTEXT_TRANSPORT` says a service mesh
encrypts it.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc

from parley_platform.settings import Environment, ServiceSettings

VERIFYING_POSTGRES_MODES = ("verify-ca", "verify-full")


class PlaintextTransportError(RuntimeError):
    """A production service would open a connection that is not encrypted."""


def kafka_client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for every aiokafka producer, consumer and admin client."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(cafile=settings.kafka_ssl_ca_file)
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
            raise ValueError(
                f"{settings.env_name('kafka_security_protocol')}={protocol} needs "
                f"{settings.env_name('kafka_sasl_username')} and "
                f"{settings.env_name('kafka_sasl_password')}"
            )
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def grpc_tls_enabled(settings: ServiceSettings) -> bool:
    """Whether this service speaks mutual TLS on gRPC (its certificate files are set)."""
    return settings.grpc_tls_cert_file is not None


def _read(path: str | None) -> bytes:
    assert path is not None
    return Path(path).read_bytes()


def grpc_server_credentials(settings: ServiceSettings) -> grpc.ServerCredentials | None:
    """The server's certificate, requiring a client certificate signed by the cluster CA;
    None without TLS."""
    if not grpc_tls_enabled(settings):
        return None
    return grpc.ssl_server_credentials(
        [(_read(settings.grpc_tls_key_file), _read(settings.grpc_tls_cert_file))],
        root_certificates=_read(settings.grpc_tls_ca_file),
        require_client_auth=True,
    )


def grpc_channel_credentials(settings: ServiceSettings) -> grpc.ChannelCredentials | None:
    """This service's certificate for calls to others, trusting the cluster CA; None
    without TLS."""
    if not grpc_tls_enabled(settings):
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=_read(settings.grpc_tls_ca_file),
        private_key=_read(settings.grpc_tls_key_file),
        certificate_chain=_read(settings.grpc_tls_cert_file),
    )


def peer_service(context: grpc.aio.ServicerContext) -> str | None:
    """The service named by the caller's verified certificate (its common name), if any."""
    names = context.auth_context().get("x509_common_name") or []
    return names[0].decode() if names else None


def _postgres_mode(database_url: str) -> str | None:
    query = parse_qs(urlsplit(database_url).query)
    modes = query.get("ssl") or query.get("sslmode")
    return modes[0] if modes else os.environ.get("PGSSLMODE")


def plaintext_connections(
    settings: ServiceSettings, *, database: bool, redis: bool, kafka: bool, grpc_used: bool
) -> list[str]:
    """The connections this service would open without encryption (empty: none)."""
    problems = []
    if kafka and settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        problems.append(
            f"Kafka ({settings.env_name('kafka_security_protocol')}="
            f"{settings.kafka_security_protocol})"
        )
    if grpc_used and not grpc_tls_enabled(settings):
        problems.append(f"gRPC (no {settings.env_name('grpc_tls_cert_file')})")
    if redis and not settings.redis_url.startswith("rediss://"):
        problems.append(f"Redis ({settings.env_name('redis_url')} is not rediss://)")
    if database and settings.database_url is not None:
        mode = _postgres_mode(settings.database_url.get_secret_value())
        if mode not in VERIFYING_POSTGRES_MODES:
            problems.append(
                f"PostgreSQL (ssl={mode or 'unset'}; want ?ssl=verify-full or PGSSLMODE)"
            )
    return problems


def require_encrypted_transport(
    settings: ServiceSettings, *, database: bool, redis: bool, kafka: bool, grpc_used: bool
) -> None:
    """In production, refuse to start with a plaintext connection (unless a mesh encrypts
    them: `ALLOW_PLAINTEXT_TRANSPORT`)."""
    if settings.environment != Environment.PRODUCTION or settings.allow_plaintext_transport:
        return
    problems = plaintext_connections(
        settings, database=database, redis=redis, kafka=kafka, grpc_used=grpc_used
    )
    if problems:
        raise PlaintextTransportError(
            "production connections must be encrypted and authenticated: "
            + "; ".join(problems)
            + f" (set {settings.env_name('allow_plaintext_transport')}=true only behind a "
            "service mesh that encrypts them)"
        )
