"""Reading Meta's webhook notifications into Parley's event payloads (plain Python, no I/O).

Parsing is defensive: every entry, change, message and status is visited (Meta batches up to
1000 updates per POST); a field Meta left out becomes an empty value; one item that cannot be
read is reported as an `OddItem` and never spoils the rest of the batch. Only the top-level
shape is required, and its absence is the one thing that rejects a whole request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from parley.common.v1.envelope_pb2 import MetaError
from parley.whatsapp.v1 import events_pb2 as wa

MESSAGES_FIELD = "messages"
MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
DELIVERY_STATUSES = {
    "sent": wa.DELIVERY_STATUS_SENT,
    "delivered": wa.DELIVERY_STATUS_DELIVERED,
    "read": wa.DELIVERY_STATUS_READ,
    "played": wa.DELIVERY_STATUS_PLAYED,
    "failed": wa.DELIVERY_STATUS_FAILED,
}


class InvalidNotification(ValueError):
    """The body is not a WhatsApp webhook notification at all."""


@dataclass(frozen=True)
class Change:
    """One `entry[].changes[]` item: which business number it is about and its value."""

    waba_id: str
    field: str
    phone_number_id: str
    display_phone_number: str
    value: Mapping[str, Any]


@dataclass(frozen=True)
class ParsedMessage:
    """A customer message, ready to publish once its channel is known."""

    payload: wa.InboundMessage
    customer_id: str
    sent_at: datetime


@dataclass(frozen=True)
class ParsedStatus:
    """A delivery status of an outbound message."""

    payload: wa.MessageStatus
    customer_id: str
    at: datetime


@dataclass(frozen=True)
class OddItem:
    """An item that could not be read; kept whole so that nothing Meta sent is lost."""

    kind: str
    reason: str
    raw_json: str


@dataclass
class ParsedChange:
    """Everything one change carried."""

    messages: list[ParsedMessage] = field(default_factory=list)
    statuses: list[ParsedStatus] = field(default_factory=list)
    errors: list[MetaError] = field(default_factory=list)
    errors_json: str = ""
    odd: list[OddItem] = field(default_factory=list)


def iter_changes(notification: Any) -> Iterator[Change]:
    """Every change of every entry. Raises InvalidNotification when the body does not have
    the notification's shape (an object with an `entry` list)."""
    if not isinstance(notification, dict) or not isinstance(notification.get("entry"), list):
        raise InvalidNotification("expected an object with an 'entry' list")
    if notification.get("object", "whatsapp_business_account") != "whatsapp_business_account":
        raise InvalidNotification("not a whatsapp_business_account notification")
    for entry in notification["entry"]:
        if not isinstance(entry, dict):
            continue
        waba_id = _text(entry, "id")
        for change in entry.get("changes") or ():
            if not isinstance(change, dict):
                continue
            value = _obj(change, "value")
            metadata = _obj(value, "metadata")
            yield Change(
                waba_id=waba_id,
                field=_text(change, "field"),
                phone_number_id=_text(metadata, "phone_number_id"),
                display_phone_number=_text(metadata, "display_phone_number"),
                value=value,
            )


def parse_change(change: Change, received_at: datetime) -> ParsedChange:
    """The messages, statuses and errors of one `messages` change."""
    parsed = ParsedChange()
    value = change.value
    contacts = [c for c in _list(value, "contacts") if isinstance(c, dict)]
    messages, statuses = _list(value, "messages"), _list(value, "statuses")
    for item in messages:
        try:
            parsed.messages.append(
                _message(change, item, contacts, received_at, sole=len(messages) == 1)
            )
        except _Unreadable as exc:
            parsed.odd.append(OddItem("message", str(exc), _json(item)))
    for item in statuses:
        try:
            parsed.statuses.append(
                _status(change, item, contacts, received_at, sole=len(statuses) == 1)
            )
        except _Unreadable as exc:
            parsed.odd.append(OddItem("status", str(exc), _json(item)))
    errors = _list(value, "errors")
    if errors:
        parsed.errors = _meta_errors(errors)
        parsed.errors_json = _json(errors)
    return parsed


class _Unreadable(ValueError):
    pass


def _message(
    change: Change,
    item: Any,
    contacts: list[dict[str, Any]],
    received_at: datetime,
    *,
    sole: bool,
) -> ParsedMessage:
    if not isinstance(item, dict):
        raise _Unreadable("message item is not an object")
    wamid = _text(item, "id")
    if not wamid:
        raise _Unreadable("message without id")
    sender = _text(item, "from")
    sender_user_id = _text(item, "from_user_id")
    contact = _matching_contact(contacts, sender, sender_user_id, sole=sole)
    contact_wa_id = _text(contact, "wa_id")
    user_id = sender_user_id or _text(contact, "user_id")
    customer_id = sender or contact_wa_id or user_id
    if not customer_id:
        raise _Unreadable("message without sender (no from, wa_id or user id)")
    profile = _obj(contact, "profile")
    kind = _text(item, "type")
    sent_at = _unix_time(item.get("timestamp"), received_at)
    message = wa.InboundMessage(
        waba_id=change.waba_id,
        phone_number_id=change.phone_number_id,
        display_phone_number=change.display_phone_number,
        wamid=wamid,
        from_wa_id=sender,
        from_user_id=user_id,
        contact_wa_id=contact_wa_id,
        profile_name=_text(profile, "name"),
        username=_text(profile, "username"),
        type=kind,
        errors=_meta_errors(_list(item, "errors")),
        raw_json=_json(item),
    )
    message.sent_at.FromDatetime(sent_at)
    if isinstance(item.get("context"), dict):
        message.context.CopyFrom(_context(item["context"]))
    if isinstance(item.get("referral"), dict):
        message.referral.CopyFrom(_referral(item["referral"]))
    _fill_content(message, kind, item)
    return ParsedMessage(payload=message, customer_id=customer_id, sent_at=sent_at)


def _fill_content(message: wa.InboundMessage, kind: str, item: dict[str, Any]) -> None:
    """Set the oneof `content` for `kind`; unknown kinds become `unsupported`."""
    body = item.get(kind)
    obj: dict[str, Any] = body if isinstance(body, dict) else {}
    if kind == "text":
        message.text.body = _text(obj, "body")
    elif kind in MEDIA_KINDS:
        message.media.CopyFrom(
            wa.Media(
                kind=kind,
                media_id=_text(obj, "id"),
                mime_type=_text(obj, "mime_type"),
                sha256=_text(obj, "sha256"),
                caption=_text(obj, "caption"),
                filename=_text(obj, "filename"),
                url=_text(obj, "url"),
                voice=obj.get("voice") is True,
                animated=obj.get("animated") is True,
            )
        )
    elif kind == "location":
        message.location.CopyFrom(
            wa.Location(
                latitude=_number(obj.get("latitude")),
                longitude=_number(obj.get("longitude")),
                name=_text(obj, "name"),
                address=_text(obj, "address"),
                url=_text(obj, "url"),
            )
        )
    elif kind == "contacts":
        cards = body if isinstance(body, list) else []
        message.contacts.CopyFrom(wa.Contacts(contacts=[_contact_card(c) for c in cards]))
    elif kind == "interactive":
        reply_kind = _text(obj, "type")
        reply = _obj(obj, reply_kind)
        message.interactive_reply.CopyFrom(
            wa.InteractiveReply(
                kind=reply_kind,
                id=_text(reply, "id"),
                title=_text(reply, "title"),
                description=_text(reply, "description") or _text(reply, "body"),
                response_json=_text(reply, "response_json"),
            )
        )
    elif kind == "button":
        message.button.CopyFrom(
            wa.ButtonReply(payload=_text(obj, "payload"), text=_text(obj, "text"))
        )
    elif kind == "reaction":
        message.reaction.CopyFrom(
            wa.Reaction(message_wamid=_text(obj, "message_id"), emoji=_text(obj, "emoji"))
        )
    elif kind == "order":
        message.order.CopyFrom(
            wa.Order(
                catalog_id=_text(obj, "catalog_id"),
                text=_text(obj, "text"),
                items=[
                    wa.Order.Item(
                        product_retailer_id=_text(i, "product_retailer_id"),
                        quantity=_integer(i.get("quantity")),
                        item_price=_number(i.get("item_price")),
                        currency=_text(i, "currency"),
                    )
                    for i in _list(obj, "product_items")
                    if isinstance(i, dict)
                ],
            )
        )
    elif kind == "system":
        message.system.CopyFrom(
            wa.System(
                kind=_text(obj, "type"),
                body=_text(obj, "body"),
                new_wa_id=_text(obj, "wa_id") or _text(obj, "new_wa_id"),
            )
        )
    else:
        # `unsupported` itself, and any type Meta adds later: raw_json keeps the details.
        message.unsupported.kind = _text(obj, "type") if kind == "unsupported" else kind


def _status(
    change: Change,
    item: Any,
    contacts: list[dict[str, Any]],
    received_at: datetime,
    *,
    sole: bool,
) -> ParsedStatus:
    if not isinstance(item, dict):
        raise _Unreadable("status item is not an object")
    wamid = _text(item, "id")
    state = _text(item, "status")
    if not wamid or not state:
        raise _Unreadable("status without id or status")
    recipient = _text(item, "recipient_id")
    recipient_user_id = _text(item, "recipient_user_id")
    # Failed statuses may come without contacts, or with a contact holding only wa_id.
    contact = _matching_contact(contacts, recipient, recipient_user_id, sole=sole)
    recipient = recipient or _text(contact, "wa_id")
    recipient_user_id = recipient_user_id or _text(contact, "user_id")
    pricing = _obj(item, "pricing")
    at = _unix_time(item.get("timestamp"), received_at)
    status = wa.MessageStatus(
        phone_number_id=change.phone_number_id,
        wamid=wamid,
        status=DELIVERY_STATUSES.get(state, wa.DELIVERY_STATUS_UNSPECIFIED),
        status_raw=state,
        recipient_wa_id=recipient,
        recipient_user_id=recipient_user_id,
        biz_opaque_callback_data=_text(item, "biz_opaque_callback_data"),
        pricing_category=_text(pricing, "category"),
        pricing_type=_text(pricing, "type"),
        errors=_meta_errors(_list(item, "errors")),
    )
    status.at.FromDatetime(at)
    # A status about a message to nobody known still has to be ordered by something stable.
    return ParsedStatus(payload=status, customer_id=recipient or recipient_user_id or wamid, at=at)


def _matching_contact(
    contacts: list[dict[str, Any]], wa_id: str, user_id: str, *, sole: bool
) -> dict[str, Any]:
    """The contact an item is about: the one with its number or BSUID; else the change's only
    contact, when the item names nobody, or when it is the change's only item of its kind and
    no BSUID says otherwise (Meta rewrites some numbers, Brazil's and Mexico's, so `from` and
    the contact's `wa_id` may differ for one person)."""
    for contact in contacts:
        if (wa_id and _text(contact, "wa_id") == wa_id) or (
            user_id and _text(contact, "user_id") == user_id
        ):
            return contact
    if len(contacts) != 1:
        return {}
    [only] = contacts
    other_person = bool(user_id and _text(only, "user_id"))  # both have BSUIDs, not equal
    return only if not (wa_id or user_id) or (sole and not other_person) else {}


def _context(obj: dict[str, Any]) -> wa.Context:
    product = _obj(obj, "referred_product")
    return wa.Context(
        wamid=_text(obj, "id"),
        forwarded=obj.get("forwarded") is True,
        frequently_forwarded=obj.get("frequently_forwarded") is True,
        referred_product_catalog_id=_text(product, "catalog_id"),
        referred_product_retailer_id=_text(product, "product_retailer_id"),
        **{"from": _text(obj, "from")},
    )


def _referral(obj: dict[str, Any]) -> wa.Referral:
    return wa.Referral(
        source_url=_text(obj, "source_url"),
        source_id=_text(obj, "source_id"),
        source_type=_text(obj, "source_type"),
        headline=_text(obj, "headline"),
        body=_text(obj, "body"),
        ctwa_clid=_text(obj, "ctwa_clid"),
    )


def _contact_card(card: Any) -> wa.Contacts.Contact:
    if not isinstance(card, dict):
        return wa.Contacts.Contact()
    name = _obj(card, "name")
    phones = [p for p in _list(card, "phones") if isinstance(p, dict)]
    return wa.Contacts.Contact(
        formatted_name=_text(name, "formatted_name"),
        phones=[_text(p, "phone") for p in phones if _text(p, "phone")],
        wa_ids=[_text(p, "wa_id") for p in phones if _text(p, "wa_id")],
        emails=[_text(e, "email") for e in _list(card, "emails") if isinstance(e, dict)],
    )


def _meta_errors(items: list[Any]) -> list[MetaError]:
    errors = []
    for item in items:
        if not isinstance(item, dict):
            continue
        data = _obj(item, "error_data")
        errors.append(
            MetaError(
                code=_integer(item.get("code")),
                title=_text(item, "title"),
                message=_text(item, "message"),
                details=_text(data, "details"),
                href=_text(item, "href"),
            )
        )
    return errors


def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def _obj(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _list(obj: Mapping[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number and abs(number) != float("inf") else 0.0


def _integer(value: Any) -> int:
    """An int64 field's value; 0 for anything that is not a number in range."""
    number = _number(value)
    return int(number) if abs(number) < 2**63 else 0


def _unix_time(value: Any, fallback: datetime) -> datetime:
    """Meta's Unix-seconds string; the receive time when it is missing or absurd."""
    try:
        return datetime.fromtimestamp(int(str(value)), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
