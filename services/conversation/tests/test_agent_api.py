"""The team's actions through the API (as the gateway forwards them): replies inside and
outside the 24-hour window, templates, idempotent sends, notes, labels, read marks, and
clear errors for bad requests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from parley_platform.identity import Principal, Role
from parley_testing.kafka import new_marker
from parley_testing.polling import eventually


async def _conversation(harness, principal, **customer) -> tuple[Any, dict]:
    ana = harness.customer(principal.tenant_id, **customer)
    await harness.customer_says(ana, "hello?")
    return ana, await harness.conversation_of(principal, ana)


async def test_an_agent_reply_goes_out_and_makes_the_conversation_theirs(harness) -> None:
    tenant = uuid.uuid4()
    agent = harness.agent(tenant)
    ana, conversation = await _conversation(harness, agent)
    path = f"/api/v1/conversations/{conversation['id']}"

    response = await harness.post(agent, f"{path}/messages", {"text": "Hi Ana, I'm Bea."})

    assert response.status_code == 201, response.text
    message = response.json()
    assert message["author"] == "agent" and message["author_user_id"] == str(agent.user_id)
    assert message["status"] == "pending" and message["private"] is False
    current = await harness.conversation(agent, conversation["id"])
    assert current["state"] == "human"
    assert current["assignee_user_id"] == str(agent.user_id)
    assert current["last_message_preview"] == "Hi Ana, I'm Bea."
    marker = new_marker()
    await harness.post(agent, f"{path}/messages", {"text": marker})
    commands = await harness.send_commands_before(marker)
    texts = [c for c in commands if c.WhichOneof("content") == "text"]
    assert [(c.message_id, c.text.body, c.to_wa_id) for c in texts] == [
        (message["id"], "Hi Ana, I'm Bea.", ana.wa_id)
    ]


async def test_outside_the_window_a_free_text_is_refused_and_a_template_goes_out(harness) -> None:
    tenant = uuid.uuid4()
    admin = harness.admin(tenant)
    ana = harness.customer(tenant)
    await harness.customer_says(ana, "hi", sent_at=datetime.now(UTC) - timedelta(hours=25))
    conversation = await harness.conversation_of(admin, ana)
    assert conversation["window"]["open"] is False
    path = f"/api/v1/conversations/{conversation['id']}"

    refused = await harness.post(admin, f"{path}/messages", {"text": "Sorry for the delay"})

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "window_closed"
    assert "template" in error["message"] and "24 hours" in error["message"]
    assert "Traceback" not in refused.text
    assert len(await harness.messages(admin, conversation["id"])) == 1  # nothing stored
    assert (await harness.conversation(admin, conversation["id"]))["state"] == "ai"

    template = await harness.post(
        admin,
        f"{path}/templates",
        {
            "name": "order_update",
            "language": "en_GB",
            "parameters": ["Ana", {"text": "#881", "name": "order"}],
            "header_parameters": ["Your order"],
            "quick_reply_payloads": ["confirm:881"],
        },
    )
    assert template.status_code == 201, template.text
    assert template.json()["type"] == "template" and template.json()["status"] == "pending"

    marker = new_marker()
    await harness.post(
        admin,
        f"{path}/templates",
        {"name": "follow_up", "language": "en_GB", "parameters": [marker]},
    )
    commands = await harness.send_commands_before(marker)
    sent = [c for c in commands if c.WhichOneof("content") == "template"]
    assert len(sent) == 1
    assert [c for c in commands if c.WhichOneof("content") == "text"] == []
    command = sent[0]
    assert command.message_id == template.json()["id"]
    assert command.template.name == "order_update" and command.template.language == "en_GB"
    header, body, button = command.template.components
    assert (header.type, [p.text for p in header.parameters]) == ("header", ["Your order"])
    assert [(p.text, p.name) for p in body.parameters] == [("Ana", ""), ("#881", "order")]
    assert (button.type, button.sub_type, button.payload) == (
        "button",
        "quick_reply",
        "confirm:881",
    )
    assert command.to_wa_id == ana.wa_id


async def test_a_repeated_send_with_the_same_idempotency_key_goes_out_once(harness) -> None:
    tenant = uuid.uuid4()
    agent = harness.agent(tenant)
    _, conversation = await _conversation(harness, agent)
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    key = {"Idempotency-Key": f"click-{uuid.uuid4()}"}

    # A double click: both requests at once.
    first, second = await asyncio.gather(
        harness.post(agent, path, {"text": "Refund approved"}, headers=key),
        harness.post(agent, path, {"text": "Refund approved"}, headers=key),
    )
    retry = await harness.post(agent, path, {"text": "Refund approved"}, headers=key)

    assert {first.status_code, second.status_code, retry.status_code} == {201}
    assert first.json()["id"] == second.json()["id"] == retry.json()["id"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    stored = [
        m for m in await harness.messages(agent, conversation["id"]) if m["author"] == "agent"
    ]
    assert len(stored) == 1
    marker = new_marker()
    await harness.post(agent, path, {"text": marker})
    commands = await harness.send_commands_before(marker)
    texts = [c for c in commands if c.WhichOneof("content") == "text"]
    assert [c.message_id for c in texts] == [first.json()["id"]]

    reused = await harness.post(agent, path, {"text": "something else"}, headers=key)
    assert reused.status_code == 400
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    # Keys belong to their user: another agent's identical key is a new request.
    other = await harness.post(
        harness.admin(tenant), path, {"text": "Refund approved"}, headers=key
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


async def test_a_private_note_stays_inside_the_team(harness) -> None:
    tenant = uuid.uuid4()
    agent = harness.agent(tenant)
    _, conversation = await _conversation(harness, agent)
    path = f"/api/v1/conversations/{conversation['id']}"

    note = await harness.post(agent, f"{path}/notes", {"text": "VIP customer, be nice"})

    assert note.status_code == 201
    assert note.json()["private"] is True and note.json()["status"] == "internal"
    timeline = await harness.messages(agent, conversation["id"])
    assert [m["text"] for m in timeline] == ["hello?", "VIP customer, be nice"]
    current = await harness.conversation(agent, conversation["id"])
    assert current["last_message_preview"] == "hello?"
    assert current["state"] == "ai"  # writing a note does not take the conversation
    marker = new_marker()
    await harness.post(agent, f"{path}/messages", {"text": marker})
    commands = await harness.send_commands_before(marker)
    assert [c.WhichOneof("content") for c in commands] == ["mark_read"]  # the note stayed in


async def test_labels_are_added_filtered_on_and_removed(harness) -> None:
    tenant = uuid.uuid4()
    admin = harness.admin(tenant)
    _, labelled = await _conversation(harness, admin)
    _, other = await _conversation(harness, admin)
    path = f"/api/v1/conversations/{labelled['id']}"

    added = await harness.post(admin, f"{path}/labels", {"labels": ["refund", "vip", "refund"]})
    assert added.json()["labels"] == ["refund", "vip"]
    listed = await harness.get(admin, "/api/v1/conversations", params={"label": "vip"})
    assert [c["id"] for c in listed.json()["items"]] == [labelled["id"]]

    removed = await harness.client.delete(f"{path}/labels/vip", headers=harness.headers(admin))
    assert removed.json()["labels"] == ["refund"]
    listed = await harness.get(admin, "/api/v1/conversations", params={"label": "vip"})
    assert listed.json()["items"] == []
    assert other["labels"] == []


async def test_marking_read_clears_the_unread_count_and_shows_the_customer_blue_ticks(
    harness,
) -> None:
    tenant = uuid.uuid4()
    agent = harness.agent(tenant)
    ana, conversation = await _conversation(harness, agent)
    path = f"/api/v1/conversations/{conversation['id']}"
    await harness.post(agent, f"{path}/takeover")
    last = await harness.customer_says(ana, "still there?")

    async def two_unread() -> bool:
        return (await harness.conversation(agent, conversation["id"]))["unread_count"] == 2

    await eventually(two_unread, timeout_s=30)
    read = await harness.post(agent, f"{path}/read")

    assert read.json()["unread_count"] == 0
    unread = await harness.get(agent, "/api/v1/conversations", params={"unread": "true"})
    assert unread.json()["items"] == []
    receipts = [c for c in await harness.send_commands(2) if c.WhichOneof("content") == "mark_read"]
    assert [(c.mark_read.wamid, c.mark_read.typing_indicator) for c in receipts][-1] == (
        last.wamid,
        False,
    )


async def test_bad_requests_get_a_clear_error_and_change_nothing(harness) -> None:
    tenant = uuid.uuid4()
    agent = harness.agent(tenant)
    _, conversation = await _conversation(harness, agent)
    _, elsewhere = await _conversation(harness, agent)
    path = f"/api/v1/conversations/{conversation['id']}"
    foreign = (await harness.messages(agent, elsewhere["id"]))[0]

    cases = [
        (await harness.post(agent, f"{path}/messages", {"text": "   "}), 422),
        (await harness.post(agent, f"{path}/messages", {"text": "x" * 4097}), 422),
        (await harness.post(agent, f"{path}/messages", {"text": "hi", "html": "<b>"}), 422),
        (
            await harness.post(
                agent, f"{path}/messages", {"text": "hi", "reply_to_message_id": foreign["id"]}
            ),
            400,
        ),
        (
            await harness.post(agent, f"{path}/templates", {"name": "Bad Name!", "language": "en"}),
            422,
        ),
        (await harness.post(agent, f"{path}/labels", {"labels": []}), 422),
        (await harness.post(agent, "/api/v1/conversations/not-a-uuid/takeover"), 422),
        (await harness.post(agent, f"/api/v1/conversations/{uuid.uuid4()}/takeover"), 404),
        (await harness.get(agent, "/api/v1/conversations", params={"cursor": "garbage"}), 400),
        (await harness.get(agent, "/api/v1/conversations", params={"assignee": "bob"}), 400),
        (
            await harness.post(
                agent, f"{path}/messages", {"text": "hi"}, headers={"Idempotency-Key": "has space"}
            ),
            400,
        ),
    ]
    for response, expected in cases:
        assert response.status_code == expected, (response.request.url, response.text)
        error = response.json()["error"]
        assert error["code"] and error["message"]
        assert "Traceback" not in response.text
    assert [m["text"] for m in await harness.messages(agent, conversation["id"])] == ["hello?"]
    assert (await harness.conversation(agent, conversation["id"]))["state"] == "ai"


async def test_only_gateway_forwarded_calls_with_the_right_scope_are_accepted(harness) -> None:
    tenant = uuid.uuid4()
    admin = harness.admin(tenant)
    _, conversation = await _conversation(harness, admin)
    reader = Principal(
        tenant_id=tenant,
        role=Role.ADMIN,
        api_key_id=uuid.uuid4(),
        scopes=frozenset({"conversations:read"}),
    )
    path = f"/api/v1/conversations/{conversation['id']}"

    assert (await harness.client.get("/api/v1/conversations")).status_code == 401
    assert (await harness.get(reader, path)).status_code == 200
    denied = await harness.post(reader, f"{path}/messages", {"text": "hi"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    unscoped = Principal(tenant_id=tenant, role=Role.ADMIN, api_key_id=uuid.uuid4())
    assert (await harness.get(unscoped, path)).status_code == 403
    # Contacts are their own resource: reading conversations does not grant them.
    assert (await harness.get(reader, "/api/v1/contacts")).status_code == 403
    contacts_reader = Principal(
        tenant_id=tenant,
        role=Role.ADMIN,
        api_key_id=uuid.uuid4(),
        scopes=frozenset({"contacts:read"}),
    )
    assert (await harness.get(contacts_reader, "/api/v1/contacts")).status_code == 200
