"""Who answers: the AI, then a person when asked for or when the AI hands off, an agent
who takes over (and the AI reply in flight that must then not reach the customer), back to
the AI, closed and reopened. Every transition is recorded."""

from __future__ import annotations

import uuid

from parley.ai.v1 import events_pb2 as ai_events
from parley.conversation.v1 import events_pb2 as conversation_events
from parley_testing.kafka import new_marker
from parley_testing.polling import eventually

Kind = conversation_events.ConversationChanged.Kind


async def _state(harness, principal, conversation_id: str, state: str) -> dict:
    async def reached() -> dict | None:
        current = await harness.conversation(principal, conversation_id)
        return current if current["state"] == state else None

    return await eventually(reached, timeout_s=30)


async def _transitions(harness, principal, conversation_id: str) -> list[dict]:
    response = await harness.get(principal, f"/api/v1/conversations/{conversation_id}/transitions")
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_an_ai_answer_is_stored_and_sent_as_a_reply_to_the_customers_message(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    question = await harness.customer_says(ana, "Do you open on Sundays?")
    (request,) = await harness.ai_requests(1)

    await harness.ai_answers(ana, request, "Yes, from 10:00 to 16:00.")
    await harness.ai_answers(ana, request, "Yes, from 10:00 to 16:00.")  # reported twice

    conversation = await harness.conversation_of(admin, ana)

    async def answered() -> list | None:
        messages = await harness.messages(admin, conversation["id"])
        return messages if len(messages) == 2 else None

    _, answer = await eventually(answered, timeout_s=30)
    assert answer["author"] == "ai" and answer["status"] == "pending"
    assert answer["text"] == "Yes, from 10:00 to 16:00."
    assert answer["reply_to_wamid"] == question.wamid

    assert (await harness.conversation(admin, conversation["id"]))["ai_request_in_flight"] is False

    commands = await harness.send_commands_before(await harness.marker_from(ana))
    assert [c.WhichOneof("content") for c in commands] == ["mark_read", "text"]
    texts = commands[1:]  # the repeat was not sent again
    assert texts[0].text.body == "Yes, from 10:00 to 16:00."
    assert texts[0].message_id == answer["id"]
    assert texts[0].reply_to_wamid == question.wamid
    assert texts[0].to_wa_id == ana.wa_id


async def test_an_agent_taking_over_while_the_ai_reply_is_in_flight_means_it_is_never_sent(
    harness,
) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    agent = harness.agent(tenant)
    await harness.customer_says(ana, "I want a refund")
    (request,) = await harness.ai_requests(1)
    conversation = await harness.conversation_of(agent, ana)

    taken = await harness.post(agent, f"/api/v1/conversations/{conversation['id']}/takeover")
    assert taken.status_code == 200, taken.text
    assert taken.json()["state"] == "human"
    assert taken.json()["assignee_user_id"] == str(agent.user_id)
    assert taken.json()["ai_request_in_flight"] is False

    await harness.ai_answers(ana, request, "Refunds take 5 days.")

    async def discarded() -> dict | None:
        for message in await harness.messages(agent, conversation["id"]):
            if message["author"] == "ai":
                return message
        return None

    stale = await eventually(discarded, timeout_s=30)
    assert stale["status"] == "discarded"
    assert stale["failure_reason"] == "not sent: an agent took over the conversation"
    transitions = await _transitions(harness, agent, conversation["id"])
    assert [(t["from_state"], t["to_state"], t["actor_kind"]) for t in transitions] == [
        ("ai", "human", "user")
    ]
    assert transitions[0]["actor_id"] == str(agent.user_id)
    assert transitions[0]["reason"] == "taken over"
    # Only the read receipt went out before the agent's own reply: no AI text, ever.
    marker = new_marker()
    await harness.post(
        agent, f"/api/v1/conversations/{conversation['id']}/messages", {"text": marker}
    )
    commands = await harness.send_commands_before(marker)
    assert [c.WhichOneof("content") for c in commands] == ["mark_read"]


async def test_a_reply_to_a_request_superseded_by_a_newer_message_is_discarded(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    await harness.customer_says(ana, "hi")
    await harness.customer_says(ana, "what are your opening hours?")
    first, second = await harness.ai_requests(2)

    await harness.ai_answers(ana, first, "Hello! How can I help?")
    await harness.ai_answers(ana, second, "We open at 9.")

    conversation = await harness.conversation_of(admin, ana)

    async def both_replies() -> list | None:
        replies = [
            m for m in await harness.messages(admin, conversation["id"]) if m["author"] == "ai"
        ]
        return replies if len(replies) == 2 else None

    replies = {m["text"]: m for m in await eventually(both_replies, timeout_s=30)}
    assert replies["Hello! How can I help?"]["status"] == "discarded"
    assert "superseded" in replies["Hello! How can I help?"]["failure_reason"]
    assert replies["We open at 9."]["status"] == "pending"
    commands = await harness.send_commands_before(await harness.marker_from(ana))
    assert [c.text.body for c in commands if c.WhichOneof("content") == "text"] == ["We open at 9."]


async def test_a_customer_asking_for_a_person_is_handed_off_at_once_in_several_languages(
    harness,
) -> None:
    tenant = uuid.uuid4()
    admin = harness.admin(tenant)
    asks = {
        "en": "Can I talk to a HUMAN please",
        "es": "quiero hablar con un agente",
        "pt": "Quero falar com um atendente!",
        "fr": "je veux parler à un humain",
        "de": "Bitte einen Mitarbeiter",
        "it": "Vorrei un operatore",
    }
    customers = {lang: harness.customer(tenant, name=lang) for lang in asks}
    for lang, text in asks.items():
        await harness.customer_says(customers[lang], text)

    conversations = {}
    for lang, customer in customers.items():
        conversation = await harness.conversation_of(admin, customer)
        assert conversation["state"] == "waiting_human", lang
        (transition,) = await _transitions(harness, admin, conversation["id"])
        assert transition["actor_kind"] == "customer"
        assert transition["to_state"] == "waiting_human"
        assert transition["reason"].startswith("the customer asked for a person")
        conversations[lang] = conversation["id"]
    changes = await harness.changes(6 * 2)
    handed = [c for c in changes if c.kind == Kind.KIND_STATE_CHANGED]
    assert len(handed) == 6
    assert all(c.state == conversation_events.CONVERSATION_STATE_WAITING_HUMAN for c in handed)
    # Operators can count handoffs.
    scraped = (await harness.running.ops.get("/metrics")).text
    assert 'transitions_total{actor="customer",to_state="waiting_human"}' in scraped

    # Nobody was made to wait for the AI first. Markers: each conversation goes back to
    # the AI and its customer writes once more; no AI request came before theirs.
    marker = new_marker()
    for lang, customer in customers.items():
        released = await harness.post(admin, f"/api/v1/conversations/{conversations[lang]}/release")
        assert released.status_code == 200, released.text
        await harness.customer_says(customer, marker)
    assert await harness.ai_requests_before(marker, markers=len(customers)) == []


async def test_the_ai_handing_off_moves_the_conversation_to_waiting_for_a_person(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    admin = harness.admin(tenant)
    await harness.customer_says(ana, "my meter reads 000 since Monday")
    (request,) = await harness.ai_requests(1)

    await harness.ai_hands_off(ana, request, ai_events.HANDOFF_REASON_NO_GROUNDED_ANSWER)

    conversation = await harness.conversation_of(admin, ana)
    await _state(harness, admin, conversation["id"], "waiting_human")
    (transition,) = await _transitions(harness, admin, conversation["id"])
    assert transition["actor_kind"] == "ai"
    assert transition["reason"] == (
        "the AI found no grounded answer: nothing in the knowledge base"
    )


async def test_release_to_ai_close_and_reopen_each_change_who_answers(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    agent = harness.agent(tenant)
    await harness.customer_says(ana, "I need help with an invoice")
    conversation = await harness.conversation_of(agent, ana)
    path = f"/api/v1/conversations/{conversation['id']}"

    assert (await harness.post(agent, f"{path}/takeover")).json()["state"] == "human"
    await harness.customer_says(ana, "the agent is typing?")  # the AI stays silent
    await harness.conversation_of(agent, ana)

    released = await harness.post(agent, f"{path}/release")
    assert released.json()["state"] == "ai"
    marker = new_marker()
    await harness.customer_says(ana, f"thanks, one more question {marker}")
    await harness.conversation_of(agent, ana)
    # Its request is the marker: before it, only the first message's.
    requests = await harness.ai_requests_before(marker)
    assert [r.customer_text for r in requests] == ["I need help with an invoice"]

    closed = await harness.post(agent, f"{path}/close")
    assert closed.json()["state"] == "closed" and closed.json()["closed_at"]
    assert (await harness.post(agent, f"{path}/takeover")).status_code == 409

    again = new_marker()
    await harness.customer_says(ana, f"hello again {again}")
    reopened = await _state(harness, agent, conversation["id"], "ai")
    assert reopened["closed_at"] is None
    # Answered by the AI again (closing asked for nothing in between).
    requests = await harness.ai_requests_before(again)
    assert [r.customer_text for r in requests] == [
        "I need help with an invoice",
        f"thanks, one more question {marker}",
    ]

    assert (await harness.post(agent, f"{path}/close")).json()["state"] == "closed"
    by_agent = await harness.post(agent, f"{path}/reopen")
    assert by_agent.json()["state"] == "human"

    transitions = await _transitions(harness, agent, conversation["id"])
    assert [
        (t["from_state"], t["to_state"], t["actor_kind"], t["reason"]) for t in transitions
    ] == [
        ("ai", "human", "user", "taken over"),
        ("human", "ai", "user", "released to the AI"),
        ("ai", "closed", "user", "closed"),
        ("closed", "ai", "customer", "the customer wrote again"),
        ("ai", "closed", "user", "closed"),
        ("closed", "human", "user", "reopened"),
    ]
    assert all(t["at"] for t in transitions)


async def test_an_agent_cannot_take_a_conversation_another_agent_holds_but_an_admin_can(
    harness,
) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    first, second, admin = harness.agent(tenant), harness.agent(tenant), harness.admin(tenant)
    await harness.customer_says(ana, "hello")
    conversation = await harness.conversation_of(admin, ana)
    path = f"/api/v1/conversations/{conversation['id']}"

    assert (await harness.post(first, f"{path}/takeover")).status_code == 200
    again = await harness.post(first, f"{path}/takeover")  # idempotent for the holder
    assert again.status_code == 200
    # Assigned to the first agent now: the second one no longer sees it at all.
    refused = await harness.post(second, f"{path}/takeover")
    assert refused.status_code == 404
    taken = await harness.post(admin, f"{path}/takeover")
    assert taken.status_code == 200
    assert taken.json()["assignee_user_id"] == str(admin.user_id)
    assert len(await _transitions(harness, admin, conversation["id"])) == 2
