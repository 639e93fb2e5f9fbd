"""What a customer message says, in the forms the service needs: the stored content (every
type, media by reference), a short text for previews and the AI, and whether it asks for
an answer at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.json_format import MessageToDict
from parley.whatsapp.v1.events_pb2 import InboundMessage

# Types that never get an AI answer: a reaction is not a question, a system notice (the
# customer changed number) is not from the customer's keyboard.
NO_ANSWER_TYPES = frozenset({"reaction", "system"})
PREVIEW_LENGTH = 200


@dataclass(frozen=True)
class CustomerContent:
    """One customer message, ready to store and to act on."""

    type: str
    content: dict[str, Any]
    # A text rendition: the body, a caption, a button's title or a short description.
    text: str
    # What the customer typed or chose (None for media without a caption, locations...):
    # only this is checked for a request to talk to a person.
    typed_text: str | None
    wants_answer: bool


def _as_dict(message: Any) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def _describe(inbound: InboundMessage, kind: str) -> tuple[str, str | None]:
    """(text rendition, typed text) of the message's content."""
    if kind == "text":
        return inbound.text.body, inbound.text.body
    if kind == "media":
        media = inbound.media
        if media.caption:
            return media.caption, media.caption
        label = "voice message" if media.voice else (media.kind or "media")
        return f"[{label}{': ' + media.filename if media.filename else ''}]", None
    if kind == "location":
        place = ", ".join(p for p in (inbound.location.name, inbound.location.address) if p)
        return f"[location{': ' + place if place else ''}]", None
    if kind == "contacts":
        names = ", ".join(c.formatted_name for c in inbound.contacts.contacts if c.formatted_name)
        return f"[contact card{': ' + names if names else ''}]", None
    if kind == "interactive_reply":
        return inbound.interactive_reply.title, inbound.interactive_reply.title
    if kind == "button":
        return inbound.button.text, inbound.button.text
    if kind == "reaction":
        emoji = inbound.reaction.emoji
        return (f"[reaction {emoji}]" if emoji else "[reaction removed]"), None
    if kind == "order":
        return inbound.order.text or f"[order of {len(inbound.order.items)} item(s)]", None
    if kind == "system":
        return inbound.system.body or "[system notice]", None
    # Meta says `type: unsupported` and names the type it could not deliver inside.
    what = inbound.unsupported.kind if kind == "unsupported" else ""
    return f"[unsupported {what or inbound.type or 'message'}]", None


def customer_content(inbound: InboundMessage) -> CustomerContent:
    """The stored form of an inbound message."""
    content: dict[str, Any] = {}
    kind = inbound.WhichOneof("content")
    if kind is not None:
        content[kind] = _as_dict(getattr(inbound, kind))
    kind = kind or "unsupported"
    message_type = inbound.type or (inbound.media.kind if kind == "media" else kind)
    if inbound.HasField("context"):
        content["context"] = _as_dict(inbound.context)
    if inbound.HasField("referral"):
        content["referral"] = _as_dict(inbound.referral)
    if inbound.errors:
        content["errors"] = [_as_dict(e) for e in inbound.errors]
    text, typed = _describe(inbound, kind)
    return CustomerContent(
        type=message_type,
        content=content,
        text=text,
        typed_text=typed or None,
        wants_answer=message_type not in NO_ANSWER_TYPES,
    )


def preview(text: str | None) -> str | None:
    """The first line-ish of `text`, short enough for an inbox list."""
    if not text:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_LENGTH else flat[: PREVIEW_LENGTH - 1] + "…"
