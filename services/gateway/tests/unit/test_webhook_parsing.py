"""Reading Meta's notifications into event payloads, without I/O: the envelope, every message
type of WHATSAPP.md §3.2, statuses (§3.4), errors, batches, odd items, BSUIDs and missing
fields. (The HTTP and Kafka behaviour around it is tested in ../test_webhook_*.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from parley.whatsapp.v1 import events_pb2 as wa
from parley_gateway.webhooks.parsing import (
    Change,
    InvalidNotification,
    ParsedChange,
    iter_changes,
    parse_change,
)

RECEIVED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SENT = "1767225600"  # 2026-01-01T00:00:00Z
SENT_AT = datetime(2026, 1, 1, tzinfo=UTC)
WABA, NUMBER, DISPLAY = "102290129340398", "106540352242922", "15550001111"
ANA, ANA_BSUID = "447700900123", "GB.88120391"


def notification(*values: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    """A notification with one entry whose changes have these values (metadata added)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA,
                "changes": [
                    {
                        "field": field,
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": DISPLAY,
                                "phone_number_id": NUMBER,
                            },
                            **value,
                        },
                    }
                    for value in values
                ],
            }
        ],
    }


def parse(value: dict[str, Any]) -> ParsedChange:
    """The one change of a notification carrying `value`, parsed."""
    [change] = iter_changes(notification(value))
    return parse_change(change, RECEIVED_AT)


def message(kind: str, body: Any, **fields: Any) -> dict[str, Any]:
    item = {"from": ANA, "id": f"wamid.{kind}", "timestamp": SENT, "type": kind, kind: body}
    return {**item, **fields}


def one_message(item: Any, contacts: list[Any] | None = None) -> wa.InboundMessage:
    value: dict[str, Any] = {"messages": [item]}
    if contacts is not None:
        value["contacts"] = contacts
    parsed = parse(value)
    assert parsed.odd == []
    [only] = parsed.messages
    return only.payload


# --- the envelope -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        None,
        {},
        {"entry": {}},
        {"entry": "x"},
        {"object": "page", "entry": []},
        {"object": "instagram", "entry": [{"id": "1", "changes": []}]},
    ],
)
def test_a_body_without_the_notification_shape_is_refused(body: Any) -> None:
    with pytest.raises(InvalidNotification):
        list(iter_changes(body))


def test_every_change_of_every_entry_is_visited_and_odd_ones_skipped() -> None:
    body = {
        "entry": [  # no "object": Meta always sends it, but its absence is not fatal
            {
                "id": "waba-1",
                "changes": [
                    {"field": "messages", "value": {"metadata": {"phone_number_id": "1"}}},
                    "not a change",
                    {"field": "account_update", "value": {}},
                ],
            },
            "not an entry",
            {"id": "waba-2", "changes": [{"field": "messages", "value": {"metadata": {}}}]},
            {"id": "waba-3"},  # no changes at all
            {"id": "waba-4", "changes": None},
        ]
    }
    changes = list(iter_changes(body))
    assert [(c.waba_id, c.field, c.phone_number_id) for c in changes] == [
        ("waba-1", "messages", "1"),
        ("waba-1", "account_update", ""),
        ("waba-2", "messages", ""),
    ]


def test_the_business_number_and_waba_come_from_the_envelope() -> None:
    [change] = iter_changes(notification({"messages": [message("text", {"body": "hi"})]}))
    assert (change.waba_id, change.phone_number_id, change.display_phone_number) == (
        WABA,
        NUMBER,
        DISPLAY,
    )
    event = parse_change(change, RECEIVED_AT).messages[0].payload
    assert (event.waba_id, event.phone_number_id, event.display_phone_number) == (
        WABA,
        NUMBER,
        DISPLAY,
    )


def test_a_change_without_metadata_or_value_gives_empty_fields_not_an_error() -> None:
    [change] = iter_changes({"entry": [{"changes": [{"field": "messages"}]}]})
    assert change == Change(
        waba_id="", field="messages", phone_number_id="", display_phone_number="", value={}
    )
    assert parse_change(change, RECEIVED_AT) == ParsedChange()


# --- WHATSAPP.md §3 example and common fields ----------------------------------------------


def test_the_documented_example_notification() -> None:
    body = json.loads(
        """
        {"object": "whatsapp_business_account",
         "entry": [{"id": "WABA_ID", "changes": [{"field": "messages", "value": {
           "messaging_product": "whatsapp",
           "metadata": {"display_phone_number": "15550001111",
                        "phone_number_id": "PHONE_NUMBER_ID"},
           "contacts": [{"profile": {"name": "Ana Example"}, "wa_id": "447700900123"}],
           "messages": [{"from": "447700900123", "from_user_id": "GB.88120391",
                         "id": "wamid.ABGGFlA5Fpa1", "timestamp": "1767225600", "type": "image",
                         "context": {"from": "15550001111", "id": "wamid.PREVIOUS_BIZ_MSG"},
                         "image": {"id": "1234567890123456", "mime_type": "image/jpeg",
                                   "sha256": "q1w2e3...=", "caption": "broken part"}}]}}]}]}
        """
    )
    [change] = iter_changes(body)
    [parsed] = parse_change(change, RECEIVED_AT).messages
    event = parsed.payload
    assert (event.waba_id, event.phone_number_id) == ("WABA_ID", "PHONE_NUMBER_ID")
    assert (event.wamid, event.type) == ("wamid.ABGGFlA5Fpa1", "image")
    assert (event.from_wa_id, event.from_user_id, event.contact_wa_id) == (
        ANA,
        ANA_BSUID,
        ANA,
    )
    assert event.profile_name == "Ana Example"
    assert event.sent_at.ToDatetime(tzinfo=UTC) == SENT_AT == parsed.sent_at
    assert (event.context.wamid, getattr(event.context, "from")) == (
        "wamid.PREVIOUS_BIZ_MSG",
        "15550001111",
    )
    media = event.media
    assert (media.kind, media.media_id, media.mime_type, media.sha256, media.caption) == (
        "image",
        "1234567890123456",
        "image/jpeg",
        "q1w2e3...=",
        "broken part",
    )
    assert parsed.customer_id == ANA


def test_raw_json_keeps_the_whole_item_in_canonical_form() -> None:
    item = message("text", {"body": "Olá 👋"}, extra_field={"b": 1, "a": [1, 2]})
    event = one_message(item)
    assert json.loads(event.raw_json) == item
    assert event.raw_json == json.dumps(
        item, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    assert "Olá 👋" in event.raw_json


@pytest.mark.parametrize("timestamp", [None, "", "yesterday", "9" * 30, {"s": 1}, -(10**20)])
def test_a_missing_or_absurd_timestamp_becomes_the_receive_time(timestamp: Any) -> None:
    item = message("text", {"body": "hi"}, timestamp=timestamp)
    if timestamp is None:
        del item["timestamp"]
    [parsed] = parse({"messages": [item]}).messages
    assert parsed.sent_at == RECEIVED_AT
    assert parsed.payload.sent_at.ToDatetime(tzinfo=UTC) == RECEIVED_AT


def test_forwarded_and_product_contexts() -> None:
    forwarded = one_message(message("text", {"body": "fw"}, context={"forwarded": True}))
    assert forwarded.context.forwarded and not forwarded.context.frequently_forwarded
    often = one_message(message("text", {"body": "fw"}, context={"frequently_forwarded": True}))
    assert often.context.frequently_forwarded
    product = one_message(
        message(
            "text",
            {"body": "is this in stock?"},
            context={
                "from": DISPLAY,
                "id": "wamid.CATALOG",
                "referred_product": {"catalog_id": "c-1", "product_retailer_id": "sku-9"},
            },
        )
    )
    assert (
        product.context.referred_product_catalog_id,
        product.context.referred_product_retailer_id,
    ) == ("c-1", "sku-9")
    # Only "true" counts as true: Meta's booleans are never strings.
    assert not one_message(message("text", {}, context={"forwarded": "yes"})).context.forwarded
    assert not one_message(message("text", {"body": "x"})).HasField("context")


def test_a_click_to_whatsapp_referral_is_kept() -> None:
    referral = {
        "source_url": "https://fb.me/ad",
        "source_id": "120",
        "source_type": "ad",
        "headline": "Spring sale",
        "body": "20% off",
        "media_type": "image",
        "ctwa_clid": "ARAkLkA",
    }
    event = one_message(message("text", {"body": "I saw your ad"}, referral=referral))
    assert (
        event.referral.source_url,
        event.referral.source_id,
        event.referral.source_type,
        event.referral.headline,
        event.referral.body,
        event.referral.ctwa_clid,
    ) == ("https://fb.me/ad", "120", "ad", "Spring sale", "20% off", "ARAkLkA")
    assert '"media_type":"image"' in event.raw_json  # not modelled, still kept
    assert not one_message(message("text", {"body": "x"})).HasField("referral")


# --- every message type (§3.2) ------------------------------------------------------------


def test_text() -> None:
    event = one_message(message("text", {"body": "Is my order shipped?"}))
    assert event.WhichOneof("content") == "text"
    assert event.text.body == "Is my order shipped?"


@pytest.mark.parametrize("kind", ["image", "video", "audio", "document", "sticker"])
def test_media_of_every_kind(kind: str) -> None:
    body = {
        "id": "1001",
        "mime_type": "application/octet-stream",
        "sha256": "c2hh",
        "caption": "look",
        "filename": "file.bin",
        "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1001",
        "voice": True,
        "animated": True,
    }
    media = one_message(message(kind, body)).media
    assert (media.kind, media.media_id, media.mime_type, media.sha256) == (
        kind,
        "1001",
        "application/octet-stream",
        "c2hh",
    )
    assert (media.caption, media.filename, media.url) == ("look", "file.bin", body["url"])
    assert media.voice and media.animated


def test_a_voice_note_and_a_plain_audio_file_differ() -> None:
    voice = one_message(message("audio", {"id": "1", "mime_type": "audio/ogg", "voice": True}))
    plain = one_message(message("audio", {"id": "2", "mime_type": "audio/mpeg"}))
    assert voice.media.voice and not plain.media.voice
    # Only JSON true is true.
    assert not one_message(message("audio", {"id": "3", "voice": "true"})).media.voice


def test_location() -> None:
    body = {
        "latitude": 51.5072,
        "longitude": -0.1276,
        "name": "Office",
        "address": "1 Main St",
        "url": "https://example.com",
    }
    location = one_message(message("location", body)).location
    assert (location.latitude, location.longitude) == (51.5072, -0.1276)
    assert (location.name, location.address, location.url) == (
        "Office",
        "1 Main St",
        "https://example.com",
    )


@pytest.mark.parametrize("bad", ["north", None, float("nan"), float("inf"), [1], {"a": 1}])
def test_a_location_with_unreadable_coordinates_reads_zero(bad: Any) -> None:
    location = one_message(message("location", {"latitude": bad, "longitude": "12.5"})).location
    assert (location.latitude, location.longitude) == (0.0, 12.5)


def test_shared_contact_cards() -> None:
    cards = [
        {
            "name": {"formatted_name": "Bo Diaz", "first_name": "Bo"},
            "phones": [
                {"phone": "+1 555 0100", "wa_id": "15550100", "type": "CELL"},
                {"phone": "+1 555 0101", "type": "WORK"},
            ],
            "emails": [{"email": "bo@example.com", "type": "WORK"}, "junk"],
            "vcard": "BEGIN:VCARD...",
        },
        "not a card",
    ]
    event = one_message(message("contacts", cards))
    first, second = event.contacts.contacts
    assert first.formatted_name == "Bo Diaz"
    assert list(first.phones) == ["+1 555 0100", "+1 555 0101"]
    assert list(first.wa_ids) == ["15550100"]
    assert list(first.emails) == ["bo@example.com"]
    assert second == wa.Contacts.Contact()  # an unreadable card keeps its place, empty
    assert "BEGIN:VCARD" in event.raw_json


def test_interactive_replies_to_buttons_lists_and_flows() -> None:
    button = one_message(
        message(
            "interactive", {"type": "button_reply", "button_reply": {"id": "k:1", "title": "Keep"}}
        )
    ).interactive_reply
    assert (button.kind, button.id, button.title) == ("button_reply", "k:1", "Keep")
    row = one_message(
        message(
            "interactive",
            {
                "type": "list_reply",
                "list_reply": {"id": "r1", "title": "Row", "description": "About the row"},
            },
        )
    ).interactive_reply
    assert (row.kind, row.id, row.title, row.description) == (
        "list_reply",
        "r1",
        "Row",
        "About the row",
    )
    flow = one_message(
        message(
            "interactive",
            {
                "type": "nfm_reply",
                "nfm_reply": {"name": "flow", "body": "Sent", "response_json": '{"a":1}'},
            },
        )
    ).interactive_reply
    assert (flow.kind, flow.description, flow.response_json) == ("nfm_reply", "Sent", '{"a":1}')


def test_a_template_quick_reply_button() -> None:
    button = one_message(message("button", {"payload": "confirm:881", "text": "Confirm"})).button
    assert (button.payload, button.text) == ("confirm:881", "Confirm")


def test_reactions_and_their_removal() -> None:
    added = one_message(message("reaction", {"message_id": "wamid.OUT1", "emoji": "👍"}))
    removed = one_message(message("reaction", {"message_id": "wamid.OUT1", "emoji": ""}))
    assert (added.reaction.message_wamid, added.reaction.emoji) == ("wamid.OUT1", "👍")
    assert removed.WhichOneof("content") == "reaction" and removed.reaction.emoji == ""


def test_an_order() -> None:
    body = {
        "catalog_id": "c1",
        "text": "for the shop",
        "product_items": [
            {"product_retailer_id": "sku", "quantity": 2, "item_price": 9.5, "currency": "EUR"},
            {"product_retailer_id": "big", "quantity": 1e30, "item_price": "x", "currency": "EUR"},
            "not an item",
        ],
    }
    order = one_message(message("order", body)).order
    assert (order.catalog_id, order.text) == ("c1", "for the shop")
    first, second = order.items
    assert (first.product_retailer_id, first.quantity, first.item_price, first.currency) == (
        "sku",
        2,
        9.5,
        "EUR",
    )
    # Numbers out of range or not numbers read as 0 rather than failing the message.
    assert (second.quantity, second.item_price) == (0, 0.0)


def test_a_system_message_about_a_changed_number() -> None:
    body = {
        "body": "Ana changed her number",
        "wa_id": "447700900999",
        "type": "user_changed_number",
    }
    system = one_message(message("system", body)).system
    assert (system.kind, system.body, system.new_wa_id) == (
        "user_changed_number",
        "Ana changed her number",
        "447700900999",
    )
    older = one_message(message("system", {"new_wa_id": "447700900998"})).system
    assert older.new_wa_id == "447700900998"


def test_an_unsupported_message_keeps_metas_errors() -> None:
    errors = [
        {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
    ]
    event = one_message(message("unsupported", {"type": "poll"}, errors=errors))
    assert event.WhichOneof("content") == "unsupported"
    assert event.unsupported.kind == "poll"
    [error] = event.errors
    assert (error.code, error.title, error.details) == (
        131051,
        "Message type unknown",
        "Message type is currently not supported.",
    )


def test_a_type_meta_adds_later_is_kept_as_unsupported_with_its_raw_json() -> None:
    event = one_message(message("hologram", {"depth": 3}))
    assert event.type == "hologram"
    assert event.WhichOneof("content") == "unsupported"
    assert event.unsupported.kind == "hologram"
    assert json.loads(event.raw_json)["hologram"] == {"depth": 3}


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("text", "text"),
        ("image", "media"),
        ("location", "location"),
        ("contacts", "contacts"),
        ("interactive", "interactive_reply"),
        ("button", "button"),
        ("reaction", "reaction"),
        ("order", "order"),
        ("system", "system"),
    ],
)
def test_a_type_without_its_body_still_gives_that_content_with_empty_fields(
    kind: str, content: str
) -> None:
    item = message(kind, None)
    del item[kind]
    event = one_message(item)
    assert event.WhichOneof("content") == content
    assert event.wamid == f"wamid.{kind}"


def test_a_message_without_a_type_is_unsupported() -> None:
    event = one_message({"from": ANA, "id": "wamid.T", "timestamp": SENT})
    assert (event.type, event.WhichOneof("content"), event.unsupported.kind) == (
        "",
        "unsupported",
        "",
    )


# --- who sent it: numbers, contacts and BSUIDs ---------------------------------------------


def test_from_and_the_contacts_wa_id_are_both_kept_when_they_differ() -> None:
    # Brazil and Mexico numbers are rewritten: `from` and `wa_id` may not match.
    item = message("text", {"body": "oi"}, **{"from": "5511987654321"})
    contacts = [{"profile": {"name": "Bia"}, "wa_id": "551187654321"}]
    # The change's only message and only contact: the same person.
    [parsed] = parse({"messages": [item], "contacts": contacts}).messages
    event = parsed.payload
    assert (event.from_wa_id, event.contact_wa_id, event.profile_name) == (
        "5511987654321",
        "551187654321",
        "Bia",
    )
    assert parsed.customer_id == "5511987654321"
    # Matched by the BSUID both carry, whatever else the change holds.
    with_bsuid = [{**contacts[0], "user_id": "BR.55"}]
    other = message("text", {"body": "x"}, id="wamid.other", **{"from": "4915100000000"})
    matched = parse(
        {"messages": [{**item, "from_user_id": "BR.55"}, other], "contacts": with_bsuid}
    ).messages[0]
    assert matched.payload.contact_wa_id == "551187654321"


def test_the_only_contact_is_not_borrowed_when_it_may_be_someone_else() -> None:
    contacts = [{"profile": {"name": "Bia"}, "wa_id": "551187654321", "user_id": "BR.55"}]
    # Two messages and one contact naming neither: whose is it?
    first = message("text", {"body": "1"}, id="wamid.1", **{"from": "4915100000001"})
    second = message("text", {"body": "2"}, id="wamid.2", **{"from": "4915100000002"})
    parsed = parse({"messages": [first, second], "contacts": contacts})
    assert [m.payload.profile_name for m in parsed.messages] == ["", ""]
    # One message, but its BSUID is another than the contact's.
    other = message("text", {"body": "3"}, from_user_id="BR.77")
    assert one_message(other, contacts).profile_name == ""


def test_a_user_with_a_username_and_no_number_is_known_by_the_bsuid() -> None:
    item: dict[str, Any] = {
        "from_user_id": "US.1349",
        "id": "wamid.U",
        "timestamp": SENT,
        "type": "text",
        "text": {"body": "hello"},
    }
    contacts = [{"profile": {"name": "Sam", "username": "@sam"}, "user_id": "US.1349"}]
    [parsed] = parse({"messages": [item], "contacts": contacts}).messages
    event = parsed.payload
    assert (event.from_wa_id, event.from_user_id, event.contact_wa_id) == ("", "US.1349", "")
    assert (event.profile_name, event.username) == ("Sam", "@sam")
    assert parsed.customer_id == "US.1349"


def test_the_bsuid_may_come_only_in_the_contact() -> None:
    contacts = [{"profile": {"name": "Ana"}, "wa_id": ANA, "user_id": ANA_BSUID}]
    event = one_message(message("text", {"body": "hi"}), contacts)
    assert (event.from_wa_id, event.from_user_id) == (ANA, ANA_BSUID)


def test_each_message_of_a_change_gets_its_own_contact() -> None:
    contacts = [
        {"profile": {"name": "Ana"}, "wa_id": ANA},
        {"profile": {"name": "Ben"}, "wa_id": "5511987654321"},
        {"profile": {"name": "Sam"}, "user_id": "US.1349"},
    ]
    items = [
        message("text", {"body": "1"}, id="wamid.1"),
        message("text", {"body": "2"}, id="wamid.2", **{"from": "5511987654321"}),
        {"from_user_id": "US.1349", "id": "wamid.3", "type": "text", "text": {"body": "3"}},
        message("text", {"body": "4"}, id="wamid.4", **{"from": "4915100000000"}),
    ]
    parsed = parse({"messages": items, "contacts": [*contacts, "junk"]})
    assert [m.payload.profile_name for m in parsed.messages] == ["Ana", "Ben", "Sam", ""]


def test_a_message_naming_nobody_borrows_the_only_contact_of_its_change() -> None:
    item = {"id": "wamid.N", "type": "text", "text": {"body": "?"}}
    [parsed] = parse(
        {"messages": [item], "contacts": [{"profile": {"name": "Ana"}, "wa_id": ANA}]}
    ).messages
    assert (parsed.payload.contact_wa_id, parsed.customer_id) == (ANA, ANA)


# --- statuses (§3.4) ---------------------------------------------------------------------


def status(state: str, **fields: Any) -> dict[str, Any]:
    return {"id": "wamid.OUT1", "status": state, "timestamp": SENT, "recipient_id": ANA, **fields}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("sent", wa.DELIVERY_STATUS_SENT),
        ("delivered", wa.DELIVERY_STATUS_DELIVERED),
        ("read", wa.DELIVERY_STATUS_READ),
        ("played", wa.DELIVERY_STATUS_PLAYED),
        ("failed", wa.DELIVERY_STATUS_FAILED),
        ("deleted", wa.DELIVERY_STATUS_UNSPECIFIED),  # a state Meta might add: kept raw
    ],
)
def test_every_delivery_state(state: str, expected: int) -> None:
    [parsed] = parse({"statuses": [status(state)]}).statuses
    assert (parsed.payload.status, parsed.payload.status_raw) == (expected, state)
    assert (parsed.payload.wamid, parsed.payload.phone_number_id) == ("wamid.OUT1", NUMBER)
    assert parsed.at == SENT_AT == parsed.payload.at.ToDatetime(tzinfo=UTC)
    assert parsed.customer_id == ANA


def test_pricing_and_callback_data_are_kept() -> None:
    item = status(
        "sent",
        biz_opaque_callback_data="order-42",
        recipient_user_id=ANA_BSUID,
        pricing={
            "billable": True,
            "pricing_model": "PMP",
            "type": "regular",
            "category": "utility",
        },
    )
    payload = parse({"statuses": [item]}).statuses[0].payload
    assert (payload.biz_opaque_callback_data, payload.pricing_category, payload.pricing_type) == (
        "order-42",
        "utility",
        "regular",
    )
    assert (payload.recipient_wa_id, payload.recipient_user_id) == (ANA, ANA_BSUID)


def test_a_failed_status_keeps_its_error_with_or_without_contacts() -> None:
    errors = [
        {
            "code": 131026,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "Recipient cannot receive"},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }
    ]
    without_contacts = parse({"statuses": [status("failed", errors=errors)]})
    # pywa#227: a failed status with a contact holding only wa_id, and no recipient_id.
    item = status("failed", errors=errors)
    del item["recipient_id"]
    with_contact = parse({"statuses": [item], "contacts": [{"wa_id": ANA}]})
    for parsed in (without_contacts, with_contact):
        [only] = parsed.statuses
        [error] = only.payload.errors
        assert (error.code, error.title, error.details) == (
            131026,
            "Message undeliverable",
            "Recipient cannot receive",
        )
        assert error.href.startswith("https://developers.facebook.com/")
        assert (only.payload.recipient_wa_id, only.customer_id) == (ANA, ANA)


def test_a_status_to_a_bsuid_only_user_is_keyed_by_the_bsuid() -> None:
    item = {"id": "wamid.OUT2", "status": "read", "recipient_user_id": "US.1349"}
    [parsed] = parse({"statuses": [item]}).statuses
    assert (parsed.payload.recipient_wa_id, parsed.customer_id) == ("", "US.1349")
    assert parsed.at == RECEIVED_AT  # no timestamp: the receive time


def test_a_status_naming_no_recipient_is_keyed_by_its_message() -> None:
    [parsed] = parse({"statuses": [{"id": "wamid.OUT3", "status": "sent"}]}).statuses
    assert parsed.customer_id == "wamid.OUT3"


# --- errors, odd items and batches ---------------------------------------------------------


def test_change_level_errors_are_read_and_kept_as_json() -> None:
    errors = [
        {"code": 131000, "title": "Something went wrong", "message": "oops"},
        "not an error",
        {"code": "not a number"},
    ]
    parsed = parse({"errors": errors})
    assert [(e.code, e.title, e.message) for e in parsed.errors] == [
        (131000, "Something went wrong", "oops"),
        (0, "", ""),
    ]
    assert json.loads(parsed.errors_json) == errors
    assert parse({}).errors_json == ""


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("not even an object", "message item is not an object"),
        (["a", "list"], "message item is not an object"),
        ({"from": ANA, "type": "text", "text": {"body": "no id"}}, "message without id"),
        ({"id": "wamid.X", "type": "text", "text": {"body": "?"}}, "message without sender"),
    ],
)
def test_an_unreadable_message_is_kept_as_an_odd_item_and_spoils_nothing(
    item: Any, reason: str
) -> None:
    good = message("text", {"body": "fine"})
    parsed = parse({"messages": [good, item, good]})
    assert [m.payload.text.body for m in parsed.messages] == ["fine", "fine"]
    [odd] = parsed.odd
    assert (odd.kind, json.loads(odd.raw_json)) == ("message", item)
    assert odd.reason.startswith(reason)


@pytest.mark.parametrize(
    "item",
    ["junk", {"status": "read"}, {"id": "wamid.X"}, {"id": "", "status": "read"}],
)
def test_an_unreadable_status_is_kept_as_an_odd_item(item: Any) -> None:
    parsed = parse({"statuses": [status("read"), item]})
    assert len(parsed.statuses) == 1
    [odd] = parsed.odd
    assert (odd.kind, json.loads(odd.raw_json)) == ("status", item)


@pytest.mark.parametrize("value", [{"messages": "x"}, {"statuses": {}}, {"contacts": 7}])
def test_lists_that_are_not_lists_are_read_as_empty(value: dict[str, Any]) -> None:
    assert parse(value) == ParsedChange()


def test_a_batch_of_1000_updates_is_read_whole_and_in_order() -> None:
    messages = [message("text", {"body": str(i)}, id=f"wamid.M{i}") for i in range(600)]
    statuses = [status("delivered", id=f"wamid.S{i}") for i in range(400)]
    parsed = parse({"messages": messages, "statuses": statuses})
    assert [m.payload.text.body for m in parsed.messages] == [str(i) for i in range(600)]
    assert [s.payload.wamid for s in parsed.statuses] == [f"wamid.S{i}" for i in range(400)]


def test_a_change_may_carry_messages_and_statuses_and_errors_together() -> None:
    parsed = parse(
        {
            "messages": [message("text", {"body": "hi"})],
            "statuses": [status("read")],
            "errors": [{"code": 1}],
        }
    )
    assert (len(parsed.messages), len(parsed.statuses), len(parsed.errors)) == (1, 1, 1)
