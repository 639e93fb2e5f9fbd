"""Transport security settings: what a production service refuses to open in plaintext, and
what its Kafka clients are given."""

from __future__ import annotations

import ssl

import pytest
from parley_platform.settings import ServiceSettings
from parley_platform.transport import (
    PlaintextTransportError,
    kafka_client_options,
    plaintext_connections,
    require_encrypted_transport,
)
from pydantic import ValidationError

SECRET = "s3cure-and-long-enough-for-production"


def production(**overrides: object) -> ServiceSettings:
    values: dict[str, object] = {
        "environment": "production",
        "service_token_secret": SECRET,
        "database_url": "postgresql+asyncpg://app:pw@db.internal:5432/parley_x?ssl=verify-full",
        "redis_url": "rediss://:pw@redis.internal:6380/0",
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_username": "parley-gateway",
        "kafka_sasl_password": SECRET,
        "grpc_tls_cert_file": "/tls/tls.crt",
        "grpc_tls_key_file": "/tls/tls.key",
        "grpc_tls_ca_file": "/tls/ca.crt",
    }
    values.update(overrides)
    return ServiceSettings(**values)  # type: ignore[arg-type]


USES = {"database": True, "redis": True, "kafka": True, "grpc_used": True}


def test_a_production_service_with_every_connection_encrypted_starts() -> None:
    require_encrypted_transport(production(), **USES)


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"kafka_security_protocol": "PLAINTEXT"}, "Kafka"),
        ({"kafka_security_protocol": "SASL_PLAINTEXT"}, "Kafka"),
        (
            {"grpc_tls_cert_file": None, "grpc_tls_key_file": None, "grpc_tls_ca_file": None},
            "gRPC",
        ),
        ({"redis_url": "redis://:pw@redis.internal:6379/0"}, "Redis"),
        ({"database_url": "postgresql+asyncpg://app:pw@db/x"}, "PostgreSQL"),
        ({"database_url": "postgresql+asyncpg://app:pw@db/x?ssl=require"}, "PostgreSQL"),
    ],
)
def test_production_refuses_each_plaintext_connection(
    override: dict[str, object], named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGSSLMODE", raising=False)
    settings = production(**override)
    with pytest.raises(PlaintextTransportError, match=named):
        require_encrypted_transport(settings, **USES)
    assert [p.split(" ")[0] for p in plaintext_connections(settings, **USES)] == [named]


def test_only_the_connections_a_service_opens_are_checked(monkeypatch) -> None:
    monkeypatch.delenv("PGSSLMODE", raising=False)
    settings = production(redis_url="redis://127.0.0.1:6379/0")
    require_encrypted_transport(settings, database=True, redis=False, kafka=True, grpc_used=True)


def test_pgsslmode_in_the_environment_counts_as_postgres_tls(monkeypatch) -> None:
    monkeypatch.setenv("PGSSLMODE", "verify-full")
    settings = production(database_url="postgresql+asyncpg://app:pw@db/x")
    require_encrypted_transport(settings, **USES)


def test_a_mesh_may_take_over_encryption_when_it_says_so() -> None:
    settings = production(kafka_security_protocol="PLAINTEXT", allow_plaintext_transport=True)
    require_encrypted_transport(settings, **USES)


def test_development_and_test_environments_may_use_plaintext() -> None:
    for environment in ("development", "test"):
        require_encrypted_transport(
            production(environment=environment, kafka_security_protocol="PLAINTEXT"), **USES
        )


def test_kafka_clients_get_scram_over_tls() -> None:
    options = kafka_client_options(production())
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "parley-gateway"
    assert options["sasl_plain_password"] == SECRET
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_sasl_without_credentials_is_refused() -> None:
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        kafka_client_options(production(kafka_sasl_username=None))


def test_plaintext_kafka_gets_no_tls_options() -> None:
    assert kafka_client_options(ServiceSettings()) == {"security_protocol": "PLAINTEXT"}


def test_grpc_tls_files_come_together() -> None:
    with pytest.raises(ValidationError, match="set together"):
        production(grpc_tls_ca_file=None)


def test_a_placeholder_kafka_password_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_PASSWORD"):
        production(kafka_sasl_password="change-me")


def test_the_operations_port_sits_beside_the_http_port() -> None:
    assert ServiceSettings(http_port=8080).ops_port == 9080
    assert ServiceSettings(http_port=0).ops_port == 0
    assert ServiceSettings(http_port=8080, ops_port=9090).ops_port == 9090
