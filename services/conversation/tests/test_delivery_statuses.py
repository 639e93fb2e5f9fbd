"""Send outcomes and Meta's delivery statuses, in any order and any number of times, end in
the status a person would expect to see next to the message."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from parley.common.v1.envelope_pb2 import MetaError
from parley.whatsapp.v1 import events_pb2 as whatsapp
from parley_conversation.service import housekeeping
from parley_testing.polling import eventually

SENT = whatsapp.DELIVERY_STATUS_SENT
DELIVERED = whatsapp.DELIVERY_STATUS_DELIVERED
READ = whatsapp.DELIVERY_STATUS_READ
FAILED = whatsapp.DELIVERY_STATUS_FAILED


async def _reply(harness, customer, admin, text: str = "On its way!") -> tuple[dict, dict]:
    """An agent's reply to `customer` (conversation, message)."""
    await harness.customer_says(customer, "where is my parcel?")
    conversation = await harness.conversation_of(admin, customer)
    response = await harness.post(
        admin, f"/api/v1/conversations/{conversation['id']}/messages", {"text": text}
    )
    assert response.status_code == 201, response.text
    return conversation, response.json()


async def _message_when(harness, admin, conversation: dict, message_id: str, check) -> dict:
    async def current() -> dict | None:
        response = await harness.get(
            admin, f"/api/v1/conversations/{conversation['id']}/messages/{message_id}"
        )
        message = response.json()
        return message if check(message) else None

    return await eventually(current, timeout_s=30)


async def test_statuses_in_any_order_end_at_the_furthest_and_never_go_back(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    conversation, message = await _reply(harness, ana, admin)
    assert message["status"] == "pending"
    marker = (
        await harness.post(
            admin, f"/api/v1/conversations/{conversation['id']}/messages", {"text": "PS"}
        )
    ).json()

    wamid, marker_wamid = f"wamid.out.{uuid.uuid4().hex}", f"wamid.out.{uuid.uuid4().hex}"
    t0 = datetime.now(UTC)
    await harness.outcome(ana, message["id"], whatsapp.SEND_RESULT_SENT, wamids=[wamid])
    await harness.outcome(ana, marker["id"], whatsapp.SEND_RESULT_SENT, wamids=[marker_wamid])
    await _message_when(harness, admin, conversation, marker["id"], lambda m: m["status"] == "sent")

    # Meta reports read before delivered (or skips delivered), then an old `sent` and a
    # repeat straggle in.
    await harness.status(ana, wamid, READ, at=t0 + timedelta(seconds=3))
    await harness.status(ana, wamid, DELIVERED, at=t0 + timedelta(seconds=2))
    await harness.status(ana, wamid, SENT, at=t0 + timedelta(seconds=1))
    await harness.status(ana, wamid, READ, at=t0 + timedelta(seconds=3))
    # Same customer, same topic, so same partition: once this one shows, the above did too.
    await harness.status(ana, marker_wamid, DELIVERED)
    await _message_when(
        harness, admin, conversation, marker["id"], lambda m: m["status"] == "delivered"
    )

    final = await harness.get(
        admin, f"/api/v1/conversations/{conversation['id']}/messages/{message['id']}"
    )
    assert final.json()["status"] == "read"
    assert final.json()["wamid"] == wamid


async def test_a_status_that_overtakes_the_send_outcome_is_applied_once_the_wamid_is_known(
    harness,
) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    conversation, message = await _reply(harness, ana, admin)
    wamid = f"wamid.out.{uuid.uuid4().hex}"

    await harness.status(ana, wamid, DELIVERED)  # before we know whose wamid this is
    await harness.status(ana, wamid, READ)
    await harness.outcome(ana, message["id"], whatsapp.SEND_RESULT_SENT, wamids=[wamid])

    final = await _message_when(
        harness, admin, conversation, message["id"], lambda m: m["status"] == "read"
    )
    assert final["wamid"] == wamid


async def test_a_failure_keeps_its_reason_and_only_proof_of_delivery_overrides_it(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    conversation, message = await _reply(harness, ana, admin)
    marker = (
        await harness.post(
            admin, f"/api/v1/conversations/{conversation['id']}/messages", {"text": "PS"}
        )
    ).json()
    wamid, marker_wamid = f"wamid.out.{uuid.uuid4().hex}", f"wamid.out.{uuid.uuid4().hex}"
    t0 = datetime.now(UTC)
    await harness.outcome(ana, message["id"], whatsapp.SEND_RESULT_SENT, wamids=[wamid])
    await harness.outcome(ana, marker["id"], whatsapp.SEND_RESULT_SENT, wamids=[marker_wamid])
    await _message_when(harness, admin, conversation, marker["id"], lambda m: m["status"] == "sent")

    undeliverable = MetaError(code=131026, title="Message undeliverable", details="not on WhatsApp")
    await harness.status(ana, wamid, FAILED, at=t0 + timedelta(seconds=2), errors=[undeliverable])
    await harness.status(ana, wamid, FAILED, at=t0 + timedelta(seconds=2))  # reason sent once
    await harness.status(ana, wamid, SENT, at=t0 + timedelta(seconds=3))  # proves nothing
    await harness.status(ana, marker_wamid, DELIVERED)
    await _message_when(
        harness, admin, conversation, marker["id"], lambda m: m["status"] == "delivered"
    )
    failed = (
        await harness.get(
            admin, f"/api/v1/conversations/{conversation['id']}/messages/{message['id']}"
        )
    ).json()
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == "Message undeliverable (code 131026): not on WhatsApp"
    assert failed["error"]["code"] == "131026"

    # `delivered` proves the customer got it after all.
    await harness.status(ana, wamid, DELIVERED, at=t0 + timedelta(seconds=5))
    delivered = await _message_when(
        harness, admin, conversation, message["id"], lambda m: m["status"] == "delivered"
    )
    assert delivered["failure_reason"] is None


async def test_outcomes_that_say_why_a_message_could_not_be_sent_show_a_clear_reason(
    harness,
) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    conversation, first = await _reply(harness, ana, admin, "first")
    second = (
        await harness.post(
            admin, f"/api/v1/conversations/{conversation['id']}/messages", {"text": "second"}
        )
    ).json()
    third = (
        await harness.post(
            admin, f"/api/v1/conversations/{conversation['id']}/messages", {"text": "third"}
        )
    ).json()

    await harness.outcome(ana, first["id"], whatsapp.SEND_RESULT_WINDOW_CLOSED)
    await harness.outcome(ana, second["id"], whatsapp.SEND_RESULT_CHANNEL_DISCONNECTED)
    await harness.outcome(
        ana,
        third["id"],
        whatsapp.SEND_RESULT_FAILED,
        reason="the customer blocked marketing messages",
        error=MetaError(code=131050, title="User stopped marketing messages"),
        possible_duplicate=True,
    )

    window = await _message_when(
        harness, admin, conversation, first["id"], lambda m: m["status"] == "failed"
    )
    assert window["failure_reason"].startswith("window_closed:")
    assert "template" in window["failure_reason"]
    channel = await _message_when(
        harness, admin, conversation, second["id"], lambda m: m["status"] == "failed"
    )
    assert channel["failure_reason"].startswith("channel_disconnected:")
    assert "reconnect" in channel["failure_reason"]
    other = await _message_when(
        harness, admin, conversation, third["id"], lambda m: m["status"] == "failed"
    )
    assert other["failure_reason"] == "the customer blocked marketing messages"
    assert other["possible_duplicate"] is True


async def test_statuses_for_unknown_wamids_are_ignored_without_blocking_the_next_ones(
    harness,
) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    conversation, message = await _reply(harness, ana, admin)
    wamid = f"wamid.out.{uuid.uuid4().hex}"

    for _ in range(3):
        await harness.status(ana, f"wamid.never-ours.{uuid.uuid4().hex}", DELIVERED)
    await harness.outcome(ana, "not-a-uuid", whatsapp.SEND_RESULT_SENT, wamids=["wamid.zzz"])
    await harness.outcome(ana, str(uuid.uuid4()), whatsapp.SEND_RESULT_SENT, wamids=["wamid.y"])
    await harness.outcome(ana, message["id"], whatsapp.SEND_RESULT_SENT, wamids=[wamid])
    await harness.status(ana, wamid, DELIVERED)

    await _message_when(
        harness, admin, conversation, message["id"], lambda m: m["status"] == "delivered"
    )


async def test_a_status_whose_message_never_became_known_is_forgotten_after_a_while(
    harness,
) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    conversation, message = await _reply(harness, ana, admin)
    marker = (
        await harness.post(
            admin, f"/api/v1/conversations/{conversation['id']}/messages", {"text": "PS"}
        )
    ).json()
    wamid, marker_wamid = f"wamid.out.{uuid.uuid4().hex}", f"wamid.out.{uuid.uuid4().hex}"
    await harness.outcome(ana, marker["id"], whatsapp.SEND_RESULT_SENT, wamids=[marker_wamid])
    await _message_when(harness, admin, conversation, marker["id"], lambda m: m["status"] == "sent")
    await harness.status(ana, wamid, READ)  # parked: nobody knows this wamid yet
    await harness.status(ana, marker_wamid, DELIVERED)  # same partition, after it
    await _message_when(
        harness, admin, conversation, marker["id"], lambda m: m["status"] == "delivered"
    )

    # Housekeeping with a retention shorter than the status's age drops it...
    assert (
        await housekeeping.prune(
            harness.running.runtime.resources.database,
            harness.settings.model_copy(update={"early_update_ttl_s": 1e-6}),
        )
        >= 1
    )
    # ...so the outcome that finally names the wamid finds nothing parked for it.
    await harness.outcome(ana, message["id"], whatsapp.SEND_RESULT_SENT, wamids=[wamid])
    sent = await _message_when(
        harness, admin, conversation, message["id"], lambda m: m["status"] != "pending"
    )
    assert sent["status"] == "sent"
