"""Customer messages through the real topic: conversations and contacts, every message type,
duplicates and reordering, the AI request they cause, and bad events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from parley.whatsapp.v1 import events_pb2 as whatsapp
from parley_platform.events.topics import (
    CONVERSATION_AI_REQUESTED,
    WHATSAPP_INBOUND,
    dead_letter_topic,
)
from parley_testing.kafka import header, new_marker, read_until_marker
from parley_testing.polling import eventually


async def test_a_first_message_opens_a_conversation_that_the_ai_is_asked_to_answer(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant, name="Ana Example")
    admin = harness.admin(tenant)

    sent = await harness.customer_says(ana, "Where is my order #881?")

    conversation = await harness.conversation_of(admin, ana)
    assert conversation["state"] == "ai"
    assert conversation["contact"]["wa_id"] == ana.wa_id
    assert conversation["contact"]["profile_name"] == "Ana Example"
    assert conversation["unread_count"] == 1
    assert conversation["window"]["open"] is True
    assert conversation["last_message_preview"] == "Where is my order #881?"
    assert conversation["ai_request_in_flight"] is True
    (message,) = await harness.messages(admin, conversation["id"])
    assert message["author"] == "customer" and message["direction"] == "inbound"
    assert message["wamid"] == sent.wamid and message["status"] == "received"

    # A marker: the customer's next message. Everything the first one caused comes before
    # its events (same conversation, same partitions), a late duplicate included.
    marker = await harness.marker_from(ana)
    ((record, request),) = await harness.emitted_before(CONVERSATION_AI_REQUESTED, marker)
    assert request.conversation_id == conversation["id"]
    assert request.message_id == message["id"]
    assert request.customer_text == "Where is my order #881?"
    assert request.contact_name == "Ana Example"
    assert request.message_type == "text"
    assert list(request.history) == []
    assert record.key.decode() == f"{tenant}:{ana.wa_id}"
    assert header(record, "tenant-id") == str(tenant)

    (command,) = await harness.send_commands_before(marker)
    assert command.WhichOneof("content") == "mark_read"
    assert command.mark_read.wamid == sent.wamid and command.mark_read.typing_indicator
    assert command.to_wa_id == ana.wa_id and command.phone_number_id == ana.phone_number_id


async def test_the_ai_request_carries_the_recent_history_oldest_first(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    start = datetime.now(UTC) - timedelta(minutes=5)
    for i, text in enumerate(["hi", "I ordered a lamp", "it arrived broken"]):
        await harness.customer_says(ana, text, sent_at=start + timedelta(seconds=i))
    await harness.conversation_of(admin, ana)

    requests = await harness.ai_requests(3)
    latest = requests[-1]
    assert latest.customer_text == "it arrived broken"
    assert [h.text for h in latest.history] == ["hi", "I ordered a lamp"]


async def test_a_redelivered_or_repeated_message_is_stored_once_and_answered_once(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    message = harness.inbound(ana, "is anyone there?")

    await harness.publish_inbound(ana, message)  # Kafka redelivery: same event id
    await harness.publish_inbound(ana, message)
    # Meta retried the webhook to a second app: same wamid, different event id.
    await harness.publish(WHATSAPP_INBOUND, tenant, ana.key, message)

    # A later message of the same customer (same partition) proves the repeats were handled.
    await harness.customer_says(
        ana, None, type="reaction", reaction=whatsapp.Reaction(message_wamid="wamid.X", emoji="👍")
    )

    conversation = await harness.conversation_of(admin, ana)
    texts = [m["text"] for m in await harness.messages(admin, conversation["id"])]
    assert texts == ["is anyone there?", "[reaction 👍]"]
    assert conversation["unread_count"] == 2
    marker = await harness.marker_from(ana)  # behind all of the above
    assert len(await harness.ai_requests_before(marker)) == 1


async def test_messages_arriving_out_of_order_end_in_send_order_and_the_ai_answers_the_newest(
    harness,
) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    earlier = datetime.now(UTC) - timedelta(minutes=2)
    later = earlier + timedelta(seconds=30)

    await harness.customer_says(ana, "second: do you deliver on Sundays?", sent_at=later)
    await harness.customer_says(ana, "first: hello", sent_at=earlier)

    conversation = await harness.conversation_of(admin, ana)
    texts = [m["text"] for m in await harness.messages(admin, conversation["id"])]
    assert texts == ["first: hello", "second: do you deliver on Sundays?"]
    assert datetime.fromisoformat(conversation["last_inbound_at"]) == later
    assert conversation["last_message_preview"] == "second: do you deliver on Sundays?"

    requests = await harness.ai_requests_before(await harness.marker_from(ana))
    assert len(requests) == 2
    current = requests[-1]
    assert current.customer_text == "second: do you deliver on Sundays?"
    assert [h.text for h in current.history] == ["first: hello"]


async def test_every_message_type_is_stored_with_media_by_reference(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    base = datetime.now(UTC) - timedelta(minutes=1)
    at = iter(base + timedelta(seconds=i) for i in range(20))

    photo = harness.inbound(
        ana,
        None,
        type="image",
        sent_at=next(at),
        media=whatsapp.Media(
            kind="image",
            media_id="1234567890",
            mime_type="image/jpeg",
            sha256="q1w2",
            caption="broken part",
        ),
    )
    voice = harness.inbound(
        ana,
        None,
        type="audio",
        sent_at=next(at),
        media=whatsapp.Media(kind="audio", media_id="555", voice=True),
    )
    place = harness.inbound(
        ana,
        None,
        type="location",
        sent_at=next(at),
        location=whatsapp.Location(latitude=51.5, longitude=-0.12, name="Shop"),
    )
    button = harness.inbound(
        ana,
        None,
        type="interactive",
        sent_at=next(at),
        interactive_reply=whatsapp.InteractiveReply(
            kind="button_reply", id="resched:881", title="Reschedule"
        ),
    )
    reaction = harness.inbound(
        ana,
        None,
        type="reaction",
        sent_at=next(at),
        reaction=whatsapp.Reaction(message_wamid="wamid.X", emoji="👍"),
    )
    odd = harness.inbound(
        ana,
        None,
        type="unsupported",
        sent_at=next(at),
        unsupported=whatsapp.Unsupported(kind="poll"),
    )
    for message in (photo, voice, place, button, reaction, odd):
        await harness.publish_inbound(ana, message)

    conversation = await harness.conversation_of(admin, ana)
    stored = {m["wamid"]: m for m in await harness.messages(admin, conversation["id"])}
    assert stored[photo.wamid]["type"] == "image"
    assert stored[photo.wamid]["text"] == "broken part"
    assert stored[photo.wamid]["content"]["media"]["media_id"] == "1234567890"
    assert stored[voice.wamid]["text"] == "[voice message]"
    assert stored[place.wamid]["content"]["location"]["name"] == "Shop"
    assert stored[button.wamid]["text"] == "Reschedule"
    assert stored[reaction.wamid]["text"] == "[reaction 👍]"
    assert stored[odd.wamid]["type"] == "unsupported"
    # A reaction is not a question: five AI requests for six messages.
    requests = await harness.ai_requests_before(await harness.marker_from(ana))
    assert len(requests) == 5
    assert "[reaction" not in requests[-1].customer_text


async def test_a_media_notice_is_attached_whether_it_arrives_before_or_after_the_message(
    harness,
) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    first = harness.inbound(
        ana, None, type="image", media=whatsapp.Media(kind="image", media_id="m-1")
    )
    second = harness.inbound(
        ana,
        None,
        type="document",
        media=whatsapp.Media(kind="document", media_id="m-2", filename="invoice.pdf"),
    )

    await harness.publish_inbound(ana, first)
    await harness.conversation_of(admin, ana)
    await harness.media_stored(
        ana,
        media_id="m-1",
        wamid=first.wamid,
        storage_id="store-1",
        mime_type="image/jpeg",
        size_bytes=2048,
    )
    # The notice for the second file overtakes its message (another topic).
    await harness.media_stored(
        ana, media_id="m-2", wamid=second.wamid, storage_id="store-2", mime_type="application/pdf"
    )
    await harness.publish_inbound(ana, second)

    conversation = await harness.conversation_of(admin, ana)

    async def both_attached() -> dict | None:
        stored = {m["wamid"]: m for m in await harness.messages(admin, conversation["id"])}
        if all("stored_media" in stored[w]["content"] for w in (first.wamid, second.wamid)):
            return stored
        return None

    stored = await eventually(both_attached, timeout_s=30)
    assert stored[first.wamid]["content"]["stored_media"]["storage_id"] == "store-1"
    assert stored[second.wamid]["content"]["stored_media"]["storage_id"] == "store-2"
    assert stored[second.wamid]["text"] == "[document: invoice.pdf]"


async def test_a_customer_known_by_bsuid_and_by_a_rewritten_number_is_one_contact(harness) -> None:
    tenant = uuid.uuid4()
    admin = harness.admin(tenant)
    hidden = harness.customer(tenant, wa_id="", bsuid="BR.88120391")
    await harness.customer_says(hidden, "oi")

    async def listed() -> list:
        response = await harness.get(admin, "/api/v1/conversations")
        return response.json()["items"]

    (conversation,) = await eventually(listed, timeout_s=30)
    assert conversation["contact"]["bsuid"] == "BR.88120391"
    assert conversation["contact"]["wa_id"] is None

    # Later the number is shown too, and Meta's `from` differs from contacts[].wa_id.
    later = harness.inbound(hidden, "tudo bem?")
    later.from_wa_id, later.contact_wa_id = "5511987654321", "551187654321"
    await harness.publish_inbound(hidden, later)

    async def both_messages() -> list | None:
        items = await listed()
        if len(items) == 1 and len(await harness.messages(admin, items[0]["id"])) == 2:
            return items
        return None

    (listed_once,) = await eventually(both_messages, timeout_s=30)
    contact = (await harness.conversation(admin, listed_once["id"]))["contact"]
    assert contact["bsuid"] == "BR.88120391"
    assert contact["wa_id"] == "551187654321"
    assert contact["from_wa_id"] == "5511987654321"


async def test_an_event_that_cannot_be_a_message_is_dead_lettered_and_the_next_one_is_handled(
    harness,
) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    broken = harness.inbound(ana, "no id")
    broken.wamid = ""
    first = await harness.publish(WHATSAPP_INBOUND, tenant, ana.key, broken)
    await harness.customer_says(ana, "this one is fine")

    conversation = await harness.conversation_of(admin, ana)
    assert [m["text"] for m in await harness.messages(admin, conversation["id"])] == [
        "this one is fine"
    ]
    # A second broken event is the marker: the dead-letter topic up to it holds one other.
    marker = new_marker()
    broken.text.body = marker
    await harness.publish(WHATSAPP_INBOUND, tenant, ana.key, broken)
    dead = await read_until_marker(
        harness.settings.kafka_bootstrap,
        harness.settings.topic_name(dead_letter_topic("conversation")),
        marker,
    )
    assert [header(r, "event-id") for r in dead] == [first.event_id]
    assert "lacks wamid" in (header(dead[0], "dlq-error") or "")
