"""What a customer message says, without I/O: the stored content of every type (media by
reference), its text rendition, what the customer typed (only that is checked for a
request for a person), whether it wants an answer, and the inbox preview."""

from __future__ import annotations

import pytest
from parley.common.v1.envelope_pb2 import MetaError
from parley.whatsapp.v1 import events_pb2 as wa
from parley_conversation.domain.content import PREVIEW_LENGTH, customer_content, preview


def inbound(type_: str = "", **content) -> wa.InboundMessage:
    return wa.InboundMessage(wamid="wamid.1", from_wa_id="447700900123", type=type_, **content)


@pytest.mark.parametrize(
    ("message", "type_", "text", "typed"),
    [
        (inbound("text", text=wa.Text(body="Hi!")), "text", "Hi!", "Hi!"),
        (
            inbound("image", media=wa.Media(kind="image", media_id="1", caption="broken part")),
            "image",
            "broken part",
            "broken part",
        ),
        (inbound("image", media=wa.Media(kind="image", media_id="1")), "image", "[image]", None),
        (
            inbound("audio", media=wa.Media(kind="audio", media_id="2", voice=True)),
            "audio",
            "[voice message]",
            None,
        ),
        (
            inbound("document", media=wa.Media(kind="document", filename="invoice.pdf")),
            "document",
            "[document: invoice.pdf]",
            None,
        ),
        # No type string from Meta: the media kind stands in.
        (inbound(media=wa.Media(kind="sticker")), "sticker", "[sticker]", None),
        (
            inbound("location", location=wa.Location(name="Shop", address="1 High St")),
            "location",
            "[location: Shop, 1 High St]",
            None,
        ),
        (inbound("location", location=wa.Location(latitude=1.0)), "location", "[location]", None),
        (
            inbound(
                "contacts",
                contacts=wa.Contacts(
                    contacts=[
                        wa.Contacts.Contact(formatted_name="Ana"),
                        wa.Contacts.Contact(formatted_name="Bea"),
                    ]
                ),
            ),
            "contacts",
            "[contact card: Ana, Bea]",
            None,
        ),
        (
            inbound(
                "interactive",
                interactive_reply=wa.InteractiveReply(kind="button_reply", id="x", title="Yes"),
            ),
            "interactive",
            "Yes",
            "Yes",
        ),
        (
            inbound("button", button=wa.ButtonReply(payload="p", text="Talk to an agent")),
            "button",
            "Talk to an agent",
            "Talk to an agent",
        ),
        (
            inbound("reaction", reaction=wa.Reaction(message_wamid="wamid.0", emoji="👍")),
            "reaction",
            "[reaction 👍]",
            None,
        ),
        (
            inbound("reaction", reaction=wa.Reaction(message_wamid="wamid.0")),
            "reaction",
            "[reaction removed]",
            None,
        ),
        (
            inbound("order", order=wa.Order(items=[wa.Order.Item(), wa.Order.Item()])),
            "order",
            "[order of 2 item(s)]",
            None,
        ),
        (inbound("order", order=wa.Order(text="for Friday")), "order", "for Friday", None),
        (
            inbound("system", system=wa.System(body="Ana changed her number")),
            "system",
            "Ana changed her number",
            None,
        ),
        (inbound("system", system=wa.System()), "system", "[system notice]", None),
        (
            inbound("unsupported", unsupported=wa.Unsupported(kind="poll")),
            "unsupported",
            "[unsupported poll]",
            None,
        ),
        (inbound("poll"), "poll", "[unsupported poll]", None),  # a type we do not model
    ],
)
def test_every_type_has_a_stored_type_a_text_and_what_was_typed(
    message, type_, text, typed
) -> None:
    content = customer_content(message)
    assert (content.type, content.text, content.typed_text) == (type_, text, typed)


def test_the_content_is_stored_by_type_with_media_by_reference_only() -> None:
    content = customer_content(
        inbound(
            "image",
            media=wa.Media(kind="image", media_id="987", mime_type="image/jpeg", sha256="q1"),
        )
    )
    assert content.content == {
        "media": {"kind": "image", "media_id": "987", "mime_type": "image/jpeg", "sha256": "q1"}
    }


def test_reply_context_ad_referral_and_meta_errors_are_kept() -> None:
    message = inbound(
        "unsupported",
        unsupported=wa.Unsupported(kind="poll"),
        context=wa.Context(wamid="wamid.quoted", forwarded=True),
        referral=wa.Referral(source_id="ad-1", headline="Spring sale"),
        errors=[MetaError(code=131051, title="Unsupported message type")],
    )
    content = customer_content(message).content
    assert content["context"] == {"wamid": "wamid.quoted", "forwarded": True}
    assert content["referral"] == {"source_id": "ad-1", "headline": "Spring sale"}
    assert content["errors"] == [{"code": "131051", "title": "Unsupported message type"}]
    assert content["unsupported"] == {"kind": "poll"}


def test_a_message_with_no_content_at_all_is_stored_as_unsupported() -> None:
    content = customer_content(inbound())
    assert (content.type, content.content, content.text) == (
        "unsupported",
        {},
        "[unsupported message]",
    )


@pytest.mark.parametrize(
    ("message", "wants"),
    [
        (inbound("text", text=wa.Text(body="?")), True),
        (inbound("image", media=wa.Media(kind="image")), True),
        (inbound("location", location=wa.Location()), True),
        (inbound("reaction", reaction=wa.Reaction(emoji="❤")), False),
        (inbound("system", system=wa.System(body="new number")), False),
    ],
)
def test_reactions_and_system_notices_never_ask_for_an_answer(message, wants) -> None:
    assert customer_content(message).wants_answer is wants


def test_an_empty_text_has_no_typed_text() -> None:
    assert customer_content(inbound("text", text=wa.Text(body=""))).typed_text is None


def test_the_preview_is_one_short_line() -> None:
    assert preview(None) is None and preview("") is None
    assert preview("  Where\n\nis   my\torder?  ") == "Where is my order?"
    exact = "x" * PREVIEW_LENGTH
    assert preview(exact) == exact
    long = preview("word " * 100)
    assert long is not None and len(long) == PREVIEW_LENGTH and long.endswith("…")
