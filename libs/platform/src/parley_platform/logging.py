"""Structured JSON logs with service, trace id, span id and tenant id on every line.

Secrets never belong in logs; as a safety net a filter masks anything shaped like a bearer
token, a JWT, an API key or a webhook signature before a record is written.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from parley_platform.context import current_tenant

# Shapes of credentials that must never reach a log line, whatever the call site did.
_SECRET_PATTERNS = [
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # JWT
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"sha256=[0-9a-fA-F]{16,}"),
    re.compile(r"\bpk_[A-Za-z0-9_-]{20,}"),  # Parley API keys (auth issues them as pk_...)
]
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """Mask credential-shaped substrings of `text`."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.re.groups else "") + REDACTED, text)
    return text


class ContextFilter(logging.Filter):
    """Adds service, trace/span ids and tenant id; masks credential-shaped text."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = format(span_context.trace_id, "032x")
            record.span_id = format(span_context.span_id, "016x")
        tenant = current_tenant()
        if tenant is not None:
            record.tenant_id = str(tenant)
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


class ParleyJsonFormatter(JsonFormatter):
    """JSON lines with stable field names (ts, level, logger, message, ...)."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
            timestamp=False,
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        for key, value in list(log_data.items()):
            if isinstance(value, str):
                log_data[key] = redact(value)
        return log_data


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record of the process to stdout as one JSON object per line."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(ParleyJsonFormatter())
    handler.addFilter(ContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party chatter that would otherwise log request lines or payloads at INFO.
    for noisy in ("aiokafka", "httpx", "httpcore", "uvicorn.access", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
