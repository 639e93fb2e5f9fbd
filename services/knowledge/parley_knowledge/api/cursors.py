"""Opaque pagination cursors: base64url(JSON) of the (created_at, id) of a page's last item."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from uuid import UUID

from parley_platform.errors import InvalidRequest


def encode(created_at: datetime, item_id: UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(item_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, item_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(at), UUID(item_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidRequest("invalid cursor", code="invalid_cursor") from exc
