"""The event envelope as Kafka headers.

The contract is `parley.common.v1.Envelope`: one header per field, named after the field
with dashes (`event_id` -> `event-id`), so adding a field to the proto adds a header. The
trace context travels in the same headers (`traceparent`, `tracestate`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from uuid import UUID

from google.protobuf.timestamp_pb2 import Timestamp
from parley.common.v1.envelope_pb2 import Envelope

Headers = list[tuple[str, bytes]]

# Namespace of event ids derived from natural keys (e.g. a WhatsApp wamid).
EVENT_ID_NAMESPACE = UUID("6f1d3c1e-7a8b-4c59-9d5e-2b3f4a5c6d7e")


class InvalidEnvelopeError(ValueError):
    """A record's headers do not form a valid envelope (it goes to the dead-letter topic)."""


def new_event_id() -> str:
    """A fresh, unique event id."""
    return str(uuid.uuid4())


def derived_event_id(*natural_key: str) -> str:
    """A deterministic event id for a fact that may be reported more than once (the same
    inputs always give the same id, so downstream dedupe catches the repeat)."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, "\x1f".join(natural_key)))


def header_name(field: str) -> str:
    return field.replace("_", "-")


def to_headers(envelope: Envelope) -> Headers:
    """Headers for `envelope` (empty fields are left out)."""
    headers: Headers = []
    for field, value in envelope.ListFields():
        if isinstance(value, Timestamp):
            encoded = value.ToDatetime(tzinfo=UTC).isoformat()
        else:
            encoded = str(value)
        headers.append((header_name(field.name), encoded.encode()))
    return headers


def from_headers(headers: Iterable[tuple[str, bytes]]) -> Envelope:
    """The envelope carried by `headers`; raises InvalidEnvelopeError when incomplete."""
    values: Mapping[str, bytes] = dict(headers)
    envelope = Envelope()
    try:
        for field in Envelope.DESCRIPTOR.fields:
            raw = values.get(header_name(field.name))
            if raw is None:
                continue
            text = raw.decode()
            if field.message_type is not None:
                getattr(envelope, field.name).FromDatetime(datetime.fromisoformat(text))
            elif field.type in (field.TYPE_UINT32, field.TYPE_INT32, field.TYPE_INT64):
                setattr(envelope, field.name, int(text))
            else:
                setattr(envelope, field.name, text)
        UUID(envelope.tenant_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEnvelopeError(f"malformed envelope header: {exc}") from exc
    if not envelope.event_id or not envelope.event_type:
        raise InvalidEnvelopeError("envelope lacks event-id or event-type")
    return envelope


def timestamp(at: datetime | None = None) -> Timestamp:
    """A protobuf Timestamp for `at` (default: now)."""
    ts = Timestamp()
    ts.FromDatetime(at or datetime.now(UTC))
    return ts
