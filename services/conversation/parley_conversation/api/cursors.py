"""Opaque pagination cursors: the keyset position of the last item of a page.

A cursor is base64url(JSON) of a kind tag and the key of the last item returned; the next
page starts strictly after that key. Clients must treat cursors as opaque.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from parley_platform.errors import InvalidRequest

T = TypeVar("T")


def page_of(
    found: Sequence[T], limit: int, kind: str, key: Callable[[T], tuple[Any, ...]]
) -> tuple[list[T], str | None]:
    """The page (the first `limit` of `found`, which was queried with `limit + 1`) and the
    cursor after its last item (None: this was the last page)."""
    page = list(found[:limit])
    return page, (encode(kind, *key(page[-1])) if len(found) > limit else None)


def encode(kind: str, *key: Any) -> str:
    raw = json.dumps([kind, *(str(k) if not isinstance(k, int) else k for k in key)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(kind: str, cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidRequest("invalid cursor", code="invalid_cursor") from exc
    if not isinstance(values, list) or len(values) != size + 1 or values[0] != kind:
        raise InvalidRequest(
            "invalid cursor (it belongs to another listing)", code="invalid_cursor"
        )
    return values[1:]


def conversation_key(cursor: str) -> tuple[datetime, UUID]:
    """(last_activity_at, id) of a conversation-list cursor."""
    try:
        at, conversation_id = _decode("conversations", cursor, 2)
        return datetime.fromisoformat(at), UUID(conversation_id)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest("invalid cursor", code="invalid_cursor") from exc


def message_key(cursor: str, order: str) -> tuple[datetime, int]:
    """(occurred_at, seq) of a message-timeline cursor made for the same `order`."""
    try:
        at, seq = _decode(f"messages:{order}", cursor, 2)
        return datetime.fromisoformat(at), int(seq)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest("invalid cursor", code="invalid_cursor") from exc


def transition_key(cursor: str) -> int:
    try:
        (last_id,) = _decode("transitions", cursor, 1)
        return int(last_id)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest("invalid cursor", code="invalid_cursor") from exc


def contact_key(cursor: str) -> tuple[str, UUID]:
    try:
        name, contact_id = _decode("contacts", cursor, 2)
        return str(name), UUID(contact_id)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest("invalid cursor", code="invalid_cursor") from exc
