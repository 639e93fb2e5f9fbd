"""Batches as Meta sends them: every item becomes one event, every message type is read,
odd items never fail the batch, and Meta's repeated deliveries are deduplicated downstream by
the derived event ids.

Each test reads the topics up to marker events posted after the batch under test (one per
customer and topic), so "exactly N events" means that no extra one was published before the
markers, not that none showed up within some seconds."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from parley.whatsapp.v1 import events_pb2 as wa
from parley_platform.db import Database
from parley_platform.events import ConsumedEvent, EventConsumer, EventProducer, first_delivery, on
from parley_platform.events.topics import (
    WHATSAPP_INBOUND,
    WHATSAPP_STATUS,
    WHATSAPP_WEBHOOK_ERROR,
    Topic,
)
from parley_sandbox import meta
from parley_testing.kafka import header, new_marker, read_until_marker
from parley_testing.polling import eventually
from parley_testing.whatsapp import (
    new_tenant_with_channel,
    post_signed,
    running_auth,
    running_gateway,
)

ANA, BEN = "447700900123", "5511987654321"
ANA_BSUID = "GB.88120391"


@pytest.fixture
async def stack(settings_factory):
    async with running_auth(settings_factory) as auth:
        channel = await new_tenant_with_channel(auth)
        async with running_gateway(settings_factory, auth) as gateway:
            secret = gateway.runtime.settings.whatsapp_app_secret.get_secret_value()
            yield gateway, channel, secret


# Marker events of `post_markers` per topic: a message from each customer; a status to Ana;
# one webhook error.
MARKERS: dict[Topic[Any], int] = {
    WHATSAPP_INBOUND: 2,
    WHATSAPP_STATUS: 1,
    WHATSAPP_WEBHOOK_ERROR: 1,
}


async def post_markers(gateway, channel, secret) -> str:
    """Post, after the thing under test, one notification whose items carry a fresh marker
    text with the keys the tests' items have (Ana's and Ben's conversations, the number's
    webhook errors); returns the marker text."""
    marker = new_marker()
    notification = meta.notification(
        channel.waba_id,
        channel.phone_number_id,
        channel.display_phone_number,
        messages=[
            meta.message(who, "text", {"body": marker}, wamid=f"wamid.{marker}.{who}")
            for who in (ANA, BEN)
        ],
        statuses=[meta.status(f"wamid.{marker}", "delivered", ANA)],
        contacts=[meta.contact(ANA, "Ana"), meta.contact(BEN, "Ben")],
        errors=[{"code": 131000, "title": marker}],
    )
    response = await post_signed(gateway.client, meta.encode_like_meta(notification), secret)
    assert response.json() == {"events": sum(MARKERS.values()), "skipped": 0}
    return marker


async def read(gateway, topic: Topic[Any], marker: str):
    """The records of `topic` published before the markers."""
    settings = gateway.runtime.settings
    return await read_until_marker(
        settings.kafka_bootstrap, settings.topic_name(topic.name), marker, markers=MARKERS[topic]
    )


def mixed_batch(channel, messages: int, statuses: int) -> dict:
    """One notification with `messages` customer messages and `statuses` statuses, spread
    over two entries the way Meta batches them."""
    items = [
        meta.message(ANA if i % 2 else BEN, "text", {"body": f"message {i}"}, at=1767225600 + i)
        for i in range(messages)
    ]
    states = ["sent", "delivered", "read", "failed"]
    status_items = [
        meta.status(f"wamid.OUT{i // 4}", states[i % 4], ANA, at=1767225600 + i)
        for i in range(statuses)
    ]
    first = meta.notification(
        channel.waba_id,
        channel.phone_number_id,
        channel.display_phone_number,
        messages=items[: messages // 2],
        statuses=status_items[: statuses // 2],
        contacts=[meta.contact(ANA, "Ana"), meta.contact(BEN, "Ben")],
    )
    second = meta.notification(
        channel.waba_id,
        channel.phone_number_id,
        channel.display_phone_number,
        messages=items[messages // 2 :],
        statuses=status_items[statuses // 2 :],
        contacts=[meta.contact(ANA, "Ana"), meta.contact(BEN, "Ben")],
    )
    first["entry"] += second["entry"]
    return first


async def test_a_batch_of_50_mixed_items_gives_50_events(stack) -> None:
    gateway, channel, secret = stack
    raw = meta.encode_like_meta(mixed_batch(channel, messages=30, statuses=20))
    response = await post_signed(gateway.client, raw, secret)
    assert response.status_code == 200
    assert response.json() == {"events": 50, "skipped": 0}

    marker = await post_markers(gateway, channel, secret)
    inbound = await read(gateway, WHATSAPP_INBOUND, marker)
    statuses = await read(gateway, WHATSAPP_STATUS, marker)
    assert len(inbound) == 30 and len(statuses) == 20
    bodies = sorted(wa.InboundMessage.FromString(r.value).text.body for r in inbound)
    assert bodies == sorted(f"message {i}" for i in range(30))
    # One conversation's events share a key, so they stay in order on one partition.
    ana = [r for r in inbound if r.key.decode().endswith(ANA)]
    assert len({r.partition for r in ana}) == 1
    assert [wa.InboundMessage.FromString(r.value).text.body for r in ana] == [
        f"message {i}" for i in range(30) if i % 2
    ]
    parsed = [wa.MessageStatus.FromString(r.value) for r in statuses]
    assert sorted(p.status_raw for p in parsed).count("failed") == 5
    assert all(p.channel_id == channel.channel_id for p in parsed)
    assert {(header(r, "occurred-at") or "")[:10] for r in statuses} == {"2026-01-01"}


async def test_the_same_batch_delivered_three_times_reaches_downstream_once(
    stack, settings_factory
) -> None:
    gateway, channel, secret = stack
    raw = meta.encode_like_meta(mixed_batch(channel, messages=30, statuses=20))
    for _ in range(3):  # Meta retries, and retries to every subscribed app
        assert (await post_signed(gateway.client, raw, secret)).status_code == 200

    marker = await post_markers(gateway, channel, secret)
    inbound = await read(gateway, WHATSAPP_INBOUND, marker)
    statuses = await read(gateway, WHATSAPP_STATUS, marker)
    assert len(inbound) == 90 and len(statuses) == 60
    ids = [str(header(r, "event-id")) for r in inbound + statuses]
    assert len(set(ids)) == 50  # the repeats carry the same derived event ids

    # A downstream consumer deduplicating with its inbox (as conversation does) applies each
    # message and each status exactly once.
    downstream = await settings_factory(
        "whatsapp", kafka_topic_prefix=gateway.runtime.settings.kafka_topic_prefix
    )
    database = Database(downstream.database_url.get_secret_value(), pool_size=4)
    producer = EventProducer(downstream)
    applied: list[str] = []
    markers_applied: list[str] = []

    async def apply(event: ConsumedEvent[Any]) -> None:
        async with database.tenant_session(event.tenant_id) as session:
            if await first_delivery(session, "downstream-test", event):
                is_marker = marker in event.payload.wamid
                (markers_applied if is_marker else applied).append(event.event_id)

    consumer = EventConsumer(
        downstream,
        group_id=f"downstream-{uuid.uuid4().hex[:6]}",
        subscriptions=[on(WHATSAPP_INBOUND, apply), on(WHATSAPP_STATUS, apply)],
        producer=producer,
    )
    await producer.start()
    await consumer.start()
    try:
        # One conversation's events are handled in order: once the markers of Ana's and
        # Ben's conversations are applied, everything before them was handled too.
        async def markers_reached() -> bool:
            return len(markers_applied) == MARKERS[WHATSAPP_INBOUND] + MARKERS[WHATSAPP_STATUS]

        await eventually(markers_reached, timeout_s=30)
    finally:
        await consumer.stop()
        await producer.stop()
        await database.dispose()
    assert sorted(applied) == sorted(set(ids))


async def test_every_message_type_is_read_into_the_event(stack) -> None:
    gateway, channel, secret = stack
    m = meta.message
    items = [
        m(ANA, "text", {"body": "hi"}, context={"from": "15550001111", "id": "wamid.PREV"}),
        m(
            ANA,
            "image",
            {"id": "1001", "mime_type": "image/jpeg", "sha256": "q1w2", "caption": "part"},
        ),
        m(ANA, "video", {"id": "1002", "mime_type": "video/mp4", "sha256": "v"}),
        m(ANA, "audio", {"id": "1003", "mime_type": "audio/ogg", "sha256": "a", "voice": True}),
        m(
            ANA,
            "document",
            {
                "id": "1004",
                "mime_type": "application/pdf",
                "sha256": "d",
                "filename": "invoice.pdf",
            },
        ),
        m(
            ANA,
            "sticker",
            {"id": "1005", "mime_type": "image/webp", "sha256": "s", "animated": True},
        ),
        m(ANA, "location", {"latitude": 51.5, "longitude": -0.12, "name": "Office"}),
        m(
            ANA,
            "contacts",
            [{"name": {"formatted_name": "Bo"}, "phones": [{"phone": "+1 555", "wa_id": "1555"}]}],
        ),
        m(
            ANA,
            "interactive",
            {"type": "button_reply", "button_reply": {"id": "keep:881", "title": "Keep"}},
        ),
        m(
            ANA,
            "interactive",
            {"type": "list_reply", "list_reply": {"id": "r1", "title": "Row", "description": "d"}},
        ),
        m(ANA, "button", {"payload": "confirm:881", "text": "Confirm"}),
        m(ANA, "reaction", {"message_id": "wamid.OUT1", "emoji": ""}),
        m(
            ANA,
            "order",
            {
                "catalog_id": "c1",
                "text": "t",
                "product_items": [
                    {
                        "product_retailer_id": "sku",
                        "quantity": 2,
                        "item_price": 9.5,
                        "currency": "EUR",
                    }
                ],
            },
        ),
        m(
            ANA,
            "system",
            {"body": "Ana changed number", "wa_id": "447700900999", "type": "user_changed_number"},
        ),
        m(
            ANA,
            "unsupported",
            {"type": "poll"},
            errors=[
                {
                    "code": 131051,
                    "title": "Unsupported message type",
                    "error_data": {"details": "poll"},
                }
            ],
        ),
        m(ANA, "future_type", {"x": 1}),
        m(None, "text", {"body": "no number, only a BSUID"}, sender_user_id="US.1349"),
    ]
    notification = meta.notification(
        channel.waba_id,
        channel.phone_number_id,
        channel.display_phone_number,
        messages=items,
        contacts=[meta.contact(ANA, "Ana", ANA_BSUID)],
    )
    response = await post_signed(gateway.client, meta.encode_like_meta(notification), secret)
    assert response.json() == {"events": len(items), "skipped": 0}
    records = await read(gateway, WHATSAPP_INBOUND, await post_markers(gateway, channel, secret))
    assert len(records) == len(items)
    by_wamid = {wa.InboundMessage.FromString(r.value).wamid: r for r in records}
    events = [wa.InboundMessage.FromString(by_wamid[i["id"]].value) for i in items]
    content = [e.WhichOneof("content") for e in events]
    assert content == [
        "text",
        "media",
        "media",
        "media",
        "media",
        "media",
        "location",
        "contacts",
        "interactive_reply",
        "interactive_reply",
        "button",
        "reaction",
        "order",
        "system",
        "unsupported",
        "unsupported",
        "text",
    ]
    text, image, video, audio, document, sticker, location, contacts = events[:8]
    assert text.context.wamid == "wamid.PREV" and getattr(text.context, "from") == "15550001111"
    assert (image.media.kind, image.media.media_id, image.media.caption) == (
        "image",
        "1001",
        "part",
    )
    assert video.media.kind == "video" and audio.media.voice and sticker.media.animated
    assert document.media.filename == "invoice.pdf"
    assert (location.location.latitude, location.location.name) == (51.5, "Office")
    assert contacts.contacts.contacts[0].wa_ids == ["1555"]
    button_reply, list_reply, button, reaction, order, system, unsupported, future = events[8:16]
    assert (button_reply.interactive_reply.kind, button_reply.interactive_reply.id) == (
        "button_reply",
        "keep:881",
    )
    assert list_reply.interactive_reply.description == "d"
    assert button.button.payload == "confirm:881"
    assert reaction.reaction.message_wamid == "wamid.OUT1" and reaction.reaction.emoji == ""
    assert order.order.items[0].quantity == 2 and order.order.items[0].currency == "EUR"
    assert system.system.new_wa_id == "447700900999"
    assert unsupported.unsupported.kind == "poll" and unsupported.errors[0].code == 131051
    assert future.unsupported.kind == "future_type" and '"x":1' in future.raw_json
    bsuid_only = events[16]
    assert (bsuid_only.from_wa_id, bsuid_only.from_user_id) == ("", "US.1349")
    assert by_wamid[items[16]["id"]].key.decode() == f"{channel.tenant_id}:US.1349"
    assert all(e.profile_name == "Ana" for e in events[:16])


async def test_odd_items_and_failed_statuses_never_fail_the_batch(stack) -> None:
    gateway, channel, secret = stack
    failed_without_contacts = meta.status(
        "wamid.OUT9",
        "failed",
        ANA,
        errors=[{"code": 131026, "title": "Message undeliverable", "error_data": {"details": "x"}}],
    )
    bsuid_status = meta.status("wamid.OUT8", "read", None, recipient_user_id=ANA_BSUID)
    odd_messages: list[Any] = [
        {"from": ANA, "type": "text", "text": {"body": "no id"}},  # cannot be deduplicated
        "not even an object",
        meta.message(ANA, "text", {"body": "fine"}),
    ]
    notification = meta.notification(
        channel.waba_id,
        channel.phone_number_id,
        channel.display_phone_number,
        messages=odd_messages,
        statuses=[failed_without_contacts, bsuid_status, {"id": "wamid.X"}],
        errors=[{"code": 131000, "title": "Something went wrong", "message": "oops"}],
    )
    response = await post_signed(gateway.client, meta.encode_like_meta(notification), secret)
    assert response.status_code == 200
    # 1 message + 2 statuses + 1 webhook error + 3 unreadable items kept as webhook errors
    assert response.json() == {"events": 7, "skipped": 0}

    marker = await post_markers(gateway, channel, secret)
    [message] = await read(gateway, WHATSAPP_INBOUND, marker)
    assert wa.InboundMessage.FromString(message.value).text.body == "fine"
    status_records = await read(gateway, WHATSAPP_STATUS, marker)
    assert len(status_records) == 2
    statuses = {s.wamid: s for s in (wa.MessageStatus.FromString(r.value) for r in status_records)}
    failed = statuses["wamid.OUT9"]
    assert failed.status == wa.DELIVERY_STATUS_FAILED
    assert (failed.errors[0].code, failed.errors[0].details) == (131026, "x")
    assert statuses["wamid.OUT8"].recipient_user_id == ANA_BSUID
    errors = [
        wa.WebhookError.FromString(r.value)
        for r in await read(gateway, WHATSAPP_WEBHOOK_ERROR, marker)
    ]
    assert len(errors) == 4
    assert sorted(e.errors[0].code for e in errors) == [0, 0, 0, 131000]
    assert any('"body":"no id"' in e.raw_json for e in errors)
