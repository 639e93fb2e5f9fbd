"""GET /api/v1/analytics/summary over real conversations: the AI answers one customer alone,
another asks for a person and an agent replies, the AI hands a third off; the figures count
exactly that, for owners and admins only."""

from __future__ import annotations

import uuid

import pytest
from parley.ai.v1 import events_pb2 as ai_events
from parley_testing.polling import eventually

NOTHING = "http://127.0.0.1:9"  # the ai service is not running in these tests


@pytest.fixture
async def conversation_settings(settings_factory):
    return await settings_factory("conversation", ai_http_url=NOTHING)


async def test_the_summary_counts_answers_handoffs_and_response_times(harness) -> None:
    tenant = uuid.uuid4()
    admin = harness.admin(tenant)
    alone, asks, unknown = (harness.customer(tenant) for _ in range(3))

    await harness.customer_says(alone, "when are you open?")
    await harness.customer_says(asks, "quero falar com um atendente")
    await harness.customer_says(unknown, "do you sell unicorns?")
    requests = await harness.ai_requests(2)
    first = await harness.conversation_of(admin, alone)
    third = await harness.conversation_of(admin, unknown)
    for request in requests:
        if request.conversation_id == first["id"]:
            await harness.ai_answers(alone, request, "We open at 9.")
        elif request.conversation_id == third["id"]:
            await harness.ai_hands_off(
                unknown, request, ai_events.HANDOFF_REASON_NO_GROUNDED_ANSWER
            )
    second = await harness.conversation_of(admin, asks)
    replied = await harness.post(
        admin, f"/api/v1/conversations/{second['id']}/messages", json={"text": "Olá!"}
    )
    assert replied.status_code == 201, replied.text

    async def settled() -> dict | None:
        response = await harness.get(admin, "/api/v1/analytics/summary", params={"days": 1})
        assert response.status_code == 200, response.text
        body = response.json()
        c = body["conversations"]
        done = c["messages_out"] == 2 and sum(h["count"] for h in c["handoffs"]) == 2
        return body if done else None

    summary = await eventually(settled, timeout_s=30)
    c = summary["conversations"]
    assert c["conversations"] == 3 and c["new_conversations"] == 3
    assert c["messages_in"] == 3
    assert c["messages_out"] == 2 and c["messages_out_ai"] == 1
    assert c["resolved_by_ai"] == 1
    assert c["deflection_rate"] == pytest.approx(1 / 3)
    assert {h["reason"]: h["count"] for h in c["handoffs"]} == {
        "customer_asked": 1,
        "no_grounded_answer": 1,
    }
    assert c["first_response"]["ai"]["count"] == 1
    assert c["first_response"]["people"]["count"] == 1
    assert c["first_response"]["ai"]["p50_s"] >= 0
    assert sum(d["messages_in"] for d in c["daily"]) == 3
    # LLM usage is the ai service's: not running here, so named and left out.
    assert summary["llm"] is None and summary["unavailable"] == ["ai"]


async def test_agents_and_other_tenants_see_no_figures(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    await harness.customer_says(ana, "hello")
    await harness.conversation_of(harness.admin(tenant), ana)
    agent = harness.agent(tenant)
    refused = await harness.get(agent, "/api/v1/analytics/summary")
    assert refused.status_code == 403
    stranger = await harness.get(harness.admin(uuid.uuid4()), "/api/v1/analytics/summary")
    assert stranger.status_code == 200
    assert stranger.json()["conversations"]["conversations"] == 0
    assert (
        await harness.get(harness.admin(tenant), "/api/v1/analytics/summary", params={"days": 0})
    ).status_code == 422
