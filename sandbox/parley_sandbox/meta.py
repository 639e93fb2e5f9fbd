"""Meta's wire formats, as the sandbox produces them: Graph API error bodies, webhook
notifications (bytes encoded the way Meta encodes them) and their signature.

Tests use these builders too, so a payload a test sends is shaped exactly like one the
sandbox (and Meta) would send.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

# code -> (HTTP status, title). The HTTP statuses follow a BSP's copy of Meta's table
# (WHATSAPP.md §5); clients must act on the code, never on the status.
ERRORS: dict[int, tuple[int, str]] = {
    1: (500, "API Unknown"),
    2: (503, "API Service"),
    4: (429, "Application request limit reached"),
    100: (400, "Invalid parameter"),
    190: (401, "Access token has expired"),
    368: (403, "Temporarily blocked for policies violations"),
    80007: (429, "Rate limit issues"),
    130429: (429, "Rate limit hit"),
    131000: (500, "Something went wrong"),
    131005: (403, "Access denied"),
    131008: (400, "Required parameter is missing"),
    131009: (400, "Parameter value is not valid"),
    131016: (503, "Service unavailable"),
    131026: (400, "Message undeliverable"),
    131047: (400, "Re-engagement message"),
    131048: (400, "Spam rate limit hit"),
    131049: (400, "Meta chose not to deliver"),
    131050: (400, "Unable to deliver message"),
    131051: (400, "Unsupported message type"),
    131052: (400, "Media download error"),
    131053: (400, "Media upload error"),
    131056: (429, "(Business Account, Consumer Account) pair rate limit hit"),
    131057: (503, "Account in maintenance mode"),
    132000: (400, "Number of parameters does not match the expected number of params"),
    132001: (404, "Template does not exist"),
    133004: (503, "Server temporarily unavailable"),
}


def graph_error(code: int, details: str = "", message: str | None = None) -> tuple[int, dict]:
    """The HTTP status and body Meta answers a failed Graph API call with."""
    status, title = ERRORS.get(code, (400, "Error"))
    body = {
        "error": {
            "message": message or f"(#{code}) {title}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or title},
            "fbtrace_id": base64.b64encode(secrets.token_bytes(15)).decode().rstrip("="),
        }
    }
    return status, body


def new_wamid() -> str:
    """A message id shaped like Meta's (`wamid.` + base64)."""
    return "wamid." + base64.b64encode(secrets.token_bytes(30)).decode()


def encode_like_meta(payload: Mapping[str, Any]) -> bytes:
    """JSON bytes the way Meta writes them: non-ASCII as `\\uXXXX` escapes and `/` as `\\/`.

    A receiver that re-serialises the parsed body gets different bytes, so its signature
    check fails; that is exactly the trap Parley must not fall into.
    """
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")


def signature(app_secret: str, raw: bytes) -> str:
    """The `X-Hub-Signature-256` header value for `raw` signed with `app_secret`."""
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


def notification(
    waba_id: str,
    phone_number_id: str,
    display_phone_number: str,
    *,
    messages: Iterable[Mapping[str, Any]] = (),
    statuses: Iterable[Mapping[str, Any]] = (),
    contacts: Iterable[Mapping[str, Any]] = (),
    errors: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """One webhook notification with one entry and one `messages` change."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": display_phone_number,
            "phone_number_id": phone_number_id,
        },
    }
    for name, items in (
        ("contacts", contacts),
        ("messages", messages),
        ("statuses", statuses),
        ("errors", errors),
    ):
        if items := list(items):
            value[name] = items
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"field": "messages", "value": value}]}],
    }


def contact(wa_id: str | None, name: str, user_id: str | None = None) -> dict[str, Any]:
    """A `contacts[]` item; `wa_id` is None for a user who hides the number (BSUID only)."""
    item: dict[str, Any] = {"profile": {"name": name}}
    if wa_id:
        item["wa_id"] = wa_id
    if user_id:
        item["user_id"] = user_id
    return item


def message(
    sender_wa_id: str | None,
    kind: str,
    body: Any,
    *,
    wamid: str | None = None,
    sender_user_id: str | None = None,
    at: float | None = None,
    context: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A `messages[]` item of type `kind` whose body object is `body`."""
    item: dict[str, Any] = {
        "id": wamid or new_wamid(),
        "timestamp": str(int(at if at is not None else time.time())),
        "type": kind,
    }
    if sender_wa_id:
        item["from"] = sender_wa_id
    if sender_user_id:
        item["from_user_id"] = sender_user_id
    if context:
        item["context"] = dict(context)
    if body is not None:
        item[kind] = body
    item.update(extra)
    return item


def status(
    wamid: str,
    state: str,
    recipient_wa_id: str | None,
    *,
    recipient_user_id: str | None = None,
    at: float | None = None,
    callback_data: str | None = None,
    errors: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A `statuses[]` item about an outbound message."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(int(at if at is not None else time.time())),
    }
    if recipient_wa_id:
        item["recipient_id"] = recipient_wa_id
    if recipient_user_id:
        item["recipient_user_id"] = recipient_user_id
    if callback_data:
        item["biz_opaque_callback_data"] = callback_data
    if state in ("sent", "read"):
        item["pricing"] = {
            "billable": True,
            "pricing_model": "PMP",
            "type": "regular",
            "category": "service",
        }
    if errors := list(errors):
        item["errors"] = errors
    return item
