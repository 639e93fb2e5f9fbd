"""Settings refuse placeholder secrets outside development; logs are JSON with trace and
tenant ids and never carry credentials."""

from __future__ import annotations

import io
import json
import logging
import uuid
from typing import ClassVar

import pytest
from opentelemetry import trace
from parley_platform.context import tenant_scope
from parley_platform.logging import ContextFilter, ParleyJsonFormatter, configure_logging
from parley_platform.settings import InsecureSettingsError, ServiceSettings, service_config
from parley_platform.telemetry import setup_telemetry
from pydantic import SecretStr, ValidationError


class DemoSettings(ServiceSettings):
    model_config = service_config("demo")
    service_name: ClassVar[str] = "demo"
    channel_key: SecretStr = SecretStr("dev-insecure-channel-key")


def test_development_accepts_the_placeholder_defaults() -> None:
    assert (
        DemoSettings(environment="development")
        .channel_key.get_secret_value()
        .startswith("dev-insecure")
    )


@pytest.mark.parametrize("environment", ["production", "test"])
def test_other_environments_refuse_placeholder_or_short_secrets(environment) -> None:
    with pytest.raises(ValidationError, match="PARLEY_DEMO_CHANNEL_KEY is a placeholder"):
        DemoSettings(environment=environment, service_token_secret="x" * 40)
    with pytest.raises(ValidationError, match="PARLEY_DEMO_SERVICE_TOKEN_SECRET"):
        DemoSettings(environment=environment, channel_key="k" * 40, service_token_secret="short")
    ok = DemoSettings(environment=environment, channel_key="k" * 40, service_token_secret="s" * 40)
    assert ok.channel_key.get_secret_value() == "k" * 40
    assert issubclass(InsecureSettingsError, ValueError)


def test_settings_come_from_prefixed_environment_variables(monkeypatch) -> None:
    monkeypatch.setenv("PARLEY_DEMO_KAFKA_BOOTSTRAP", "kafka.internal:9092")
    monkeypatch.setenv("PARLEY_OTHER_KAFKA_BOOTSTRAP", "wrong:1")
    assert DemoSettings().kafka_bootstrap == "kafka.internal:9092"
    assert "kafka.internal" not in repr(DemoSettings().service_token_secret)


def _capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ParleyJsonFormatter())
    handler.addFilter(ContextFilter("demo"))
    logger = logging.getLogger(f"test.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


def test_log_lines_are_json_with_trace_and_tenant_ids(settings) -> None:
    setup_telemetry(settings)
    logger, stream = _capture()
    tenant = uuid.uuid4()
    with trace.get_tracer("t").start_as_current_span("work") as span, tenant_scope(tenant):
        logger.info("conversation %s handed over", "c-1", extra={"conversation_id": "c-1"})
    line = json.loads(stream.getvalue())
    assert line["message"] == "conversation c-1 handed over"
    assert line["tenant_id"] == str(tenant)
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert (
        line["service"] == "demo" and line["level"] == "INFO" and line["conversation_id"] == "c-1"
    )


def test_credentials_are_masked_even_when_a_call_site_logs_them() -> None:
    logger, stream = _capture()
    jwt_like = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJlLXZhbHVl"
    logger.warning(
        "auth failed for Authorization: Bearer abcdefghijklmnop1234 token=%s",
        jwt_like,
        extra={"signature": "sha256=" + "ab" * 32, "key": "pk_live_0123456789abcdefghijklmnop"},
    )
    out = stream.getvalue()
    for secret in ("abcdefghijklmnop1234", jwt_like, "ab" * 32, "0123456789abcdefghijklmnop"):
        assert secret not in out
    assert out.count("[redacted]") == 4


def test_configure_logging_writes_json_to_stdout(capsys) -> None:
    configure_logging("demo")
    logging.getLogger("parley.demo").info("service started")
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["message"] == "service started"
