"""The analytics summary's LLM tokens and cost come from the real ai service: conversation and
ai run together, ai's usage store holds what its model calls counted, and the summary must
show exactly what ai's own usage API reports, day by day. If either side renames a field or a
query parameter, this fails."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from parley_ai.main import create_app as create_ai
from parley_ai.repository.usage import ModelCall, UsageRepository
from parley_conversation.config import Settings
from parley_platform.identity import Principal, Role
from parley_testing.services import RunningApp, principal_headers, serve_app


@pytest.fixture
async def ai(settings_factory) -> AsyncIterator[RunningApp]:
    settings = await settings_factory("ai", knowledge_grpc_target="127.0.0.1:9")
    async with serve_app(create_ai(settings)) as running:
        yield running


@pytest.fixture
async def conversation_settings(settings_factory, ai: RunningApp) -> Settings:
    settings = await settings_factory("conversation", ai_http_url=ai.base_url)
    assert isinstance(settings, Settings)
    return settings


async def count_calls(ai: RunningApp, tenant: uuid.UUID, days_ago: int, *calls: ModelCall) -> None:
    """What the ai service records when its model calls of a day are made (its own code)."""
    day = datetime.now(UTC).date() - timedelta(days=days_ago)
    async with ai.runtime.resources.database.tenant_session(tenant) as session:
        await UsageRepository(session, tenant).count_calls(day, calls)


async def test_the_summary_shows_the_ai_services_tokens_and_cost_per_day(harness, ai) -> None:
    tenant = uuid.uuid4()
    admin = harness.admin(tenant)
    await count_calls(
        ai,
        tenant,
        1,
        ModelCall("stub-large", True, 1200, 80, 0.00136, 900),
        ModelCall("stub-small", False, 0, 0, 0.0, 15000),
    )
    await count_calls(ai, tenant, 0, ModelCall("stub-large", True, 300, 20, 0.00034, 700))
    # Another tenant's spending is never counted.
    await count_calls(ai, uuid.uuid4(), 0, ModelCall("stub-large", True, 9999, 999, 1.5, 10))

    response = await harness.get(admin, "/api/v1/analytics/summary", params={"days": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unavailable"] == []
    llm = body["llm"]
    today = datetime.now(UTC).date()
    assert [d["day"] for d in llm["daily"]] == [
        (today - timedelta(days=n)).isoformat() for n in (2, 1, 0)
    ]
    # A day without calls is zero; the others are what ai counted.
    assert [(d["prompt_tokens"], d["completion_tokens"]) for d in llm["daily"]] == [
        (0, 0),
        (1200, 80),
        (300, 20),
    ]
    assert [d["cost_usd"] for d in llm["daily"]] == pytest.approx([0, 0.00136, 0.00034])
    assert (llm["prompt_tokens"], llm["completion_tokens"]) == (1500, 100)
    assert llm["cost_usd"] == pytest.approx(0.0017)

    # The same figures as ai's own usage API over the same days.
    ai_usage = await ai.client.get(
        "/api/v1/ai/usage",
        params={"from": llm["daily"][0]["day"], "to": llm["daily"][-1]["day"]},
        headers=principal_headers(ai.runtime.settings, admin),
    )
    assert ai_usage.status_code == 200, ai_usage.text
    reported = ai_usage.json()
    assert reported["totals"]["prompt_tokens"] == llm["prompt_tokens"]
    assert reported["totals"]["completion_tokens"] == llm["completion_tokens"]
    assert reported["totals"]["cost_usd"] == pytest.approx(llm["cost_usd"])

    # The period is ai's too: only today for the last day; a day long ago for a long period
    # (ai's own default range is 30 days).
    one_day = await harness.get(admin, "/api/v1/analytics/summary", params={"days": 1})
    assert one_day.json()["llm"]["prompt_tokens"] == 300
    await count_calls(ai, tenant, 45, ModelCall("stub-small", True, 5000, 400, 0.0029, 500))
    quarter = await harness.get(admin, "/api/v1/analytics/summary", params={"days": 90})
    assert quarter.json()["llm"]["prompt_tokens"] == 6500


async def test_an_api_key_sees_llm_usage_only_with_ais_own_scope(harness, ai) -> None:
    tenant = uuid.uuid4()
    await count_calls(ai, tenant, 0, ModelCall("stub-large", True, 300, 20, 0.00034, 700))

    def key(*scopes: str) -> Principal:
        return Principal(
            tenant_id=tenant, role=Role.ADMIN, api_key_id=uuid.uuid4(), scopes=frozenset(scopes)
        )

    reader = await harness.get(key("conversations:read"), "/api/v1/analytics/summary")
    assert reader.status_code == 200, reader.text
    # Refused by ai's rules, not unavailable: nothing to retry.
    assert reader.json()["llm"] is None and reader.json()["unavailable"] == []

    settings_key = key("conversations:read", "settings:write")
    allowed = await harness.get(settings_key, "/api/v1/analytics/summary")
    assert allowed.json()["llm"]["prompt_tokens"] == 300
