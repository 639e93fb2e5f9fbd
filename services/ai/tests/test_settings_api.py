"""`/api/v1/ai/settings`: owners and admins choose the provider; a model configuration is
checked by a real call before it is saved; the API key is write-only and sealed at rest."""

from __future__ import annotations

import uuid

from parley_platform.identity import Principal, Role
from parley_testing.services import principal_headers
from sqlalchemy import text


def admin(tenant: uuid.UUID | None = None, role: Role = Role.ADMIN) -> Principal:
    return Principal(tenant_id=tenant or uuid.uuid4(), role=role, user_id=uuid.uuid4())


async def test_a_fresh_tenant_answers_with_the_extractive_provider(ai_service, ai_settings) -> None:
    response = await ai_service.client.get(
        "/api/v1/ai/settings", headers=principal_headers(ai_settings, admin())
    )
    assert response.status_code == 200
    body = response.json()
    assert body["provider"] == "extractive"
    assert body["api_key_configured"] is False
    assert body["handoff_threshold"] == 0.6


async def test_a_model_provider_is_saved_after_a_test_call_and_its_key_never_comes_back(
    ai_service, ai_settings, llm_stub
) -> None:
    await llm_stub.configure(api_keys=["sk-test-secret-0001"])
    owner = admin(role=Role.OWNER)
    headers = principal_headers(ai_settings, owner)
    saved = await ai_service.client.put(
        "/api/v1/ai/settings",
        headers=headers,
        json={
            "provider": "openai-compatible",
            "base_url": llm_stub.base_url,
            "model": "stub-large",
            "fallback_model": "stub-small",
            "api_key": "sk-test-secret-0001",
            "business_name": "Café Aurora",
            "monthly_budget_usd": 5,
            "when_budget_exhausted": "handoff",
        },
    )
    assert saved.status_code == 200, saved.text
    assert "sk-test-secret-0001" not in saved.text
    assert saved.json()["api_key_configured"] is True
    # One test call per model, with the key.
    assert [r["model"] for r in await llm_stub.requests()] == ["stub-large", "stub-small"]

    again = await ai_service.client.get("/api/v1/ai/settings", headers=headers)
    assert again.json()["model"] == "stub-large" and "sk-test" not in again.text

    database = ai_service.runtime.resources.database
    async with database.tenant_session(owner.tenant_id) as session:
        sealed = await session.scalar(text("SELECT api_key_sealed FROM ai_settings"))
    assert sealed and b"sk-test-secret-0001" not in bytes(sealed)

    # Leaving the key out keeps it (the next test call still authenticates).
    kept = await ai_service.client.put(
        "/api/v1/ai/settings",
        headers=headers,
        json={
            "provider": "openai-compatible",
            "base_url": llm_stub.base_url,
            "model": "stub-large",
            "persona": "A calm barista",
        },
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["api_key_configured"] is True and kept.json()["persona"] == "A calm barista"


async def test_a_wrong_key_or_model_is_refused_with_the_providers_reason_and_nothing_saved(
    ai_service, ai_settings, llm_stub
) -> None:
    await llm_stub.configure(api_keys=["sk-right"], models=["stub-large"])
    principal = admin()
    headers = principal_headers(ai_settings, principal)
    wrong_key = await ai_service.client.put(
        "/api/v1/ai/settings",
        headers=headers,
        json={
            "provider": "openai-compatible",
            "base_url": llm_stub.base_url,
            "model": "stub-large",
            "api_key": "sk-wrong",
        },
    )
    assert wrong_key.status_code == 400
    error = wrong_key.json()["error"]
    assert error["code"] == "provider_check_failed"
    assert "rejected the API key (401)" in error["message"]
    assert "sk-wrong" not in wrong_key.text

    wrong_model = await ai_service.client.put(
        "/api/v1/ai/settings",
        headers=headers,
        json={
            "provider": "openai-compatible",
            "base_url": llm_stub.base_url,
            "model": "stub-large",
            "fallback_model": "gpt-17",
            "api_key": "sk-right",
        },
    )
    assert wrong_model.status_code == 400
    assert "'gpt-17'" in wrong_model.json()["error"]["message"]
    assert "404" in wrong_model.json()["error"]["message"]

    unchanged = await ai_service.client.get("/api/v1/ai/settings", headers=headers)
    assert unchanged.json()["provider"] == "extractive"


async def test_an_unreachable_provider_is_a_clear_error(ai_service, ai_settings) -> None:
    response = await ai_service.client.put(
        "/api/v1/ai/settings",
        headers=principal_headers(ai_settings, admin()),
        json={"provider": "openai-compatible", "base_url": "http://127.0.0.1:9/v1", "model": "m"},
    )
    assert response.status_code == 400
    assert "could not reach the provider" in response.json()["error"]["message"]


async def test_agents_cannot_read_or_change_ai_settings(ai_service, ai_settings) -> None:
    headers = principal_headers(ai_settings, admin(role=Role.AGENT))
    assert (await ai_service.client.get("/api/v1/ai/settings", headers=headers)).status_code == 403
    put = await ai_service.client.put("/api/v1/ai/settings", headers=headers, json={})
    assert put.status_code == 403


async def test_a_request_cannot_name_a_tenant_or_unknown_fields(ai_service, ai_settings) -> None:
    response = await ai_service.client.put(
        "/api/v1/ai/settings",
        headers=principal_headers(ai_settings, admin()),
        json={"tenant_id": str(uuid.uuid4())},
    )
    assert response.status_code == 422


async def test_only_the_gateway_reaches_the_api(ai_service) -> None:
    assert (await ai_service.client.get("/api/v1/ai/settings")).status_code == 401


async def test_one_tenants_settings_are_invisible_to_another(
    ai_service, ai_settings, llm_stub
) -> None:
    first, second = admin(), admin()
    saved = await ai_service.client.put(
        "/api/v1/ai/settings",
        headers=principal_headers(ai_settings, first),
        json={"persona": "first tenant's persona", "handoff_threshold": 0.9},
    )
    assert saved.status_code == 200
    other = await ai_service.client.get(
        "/api/v1/ai/settings", headers=principal_headers(ai_settings, second)
    )
    assert other.json()["persona"] == "" and other.json()["handoff_threshold"] == 0.6


async def test_the_local_stub_preset_fills_the_provider(ai_service, ai_settings, llm_stub) -> None:
    response = await ai_service.client.put(
        "/api/v1/ai/settings",
        headers=principal_headers(ai_settings, admin()),
        json={"preset": "local-stub", "base_url": llm_stub.base_url},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["provider"], body["model"], body["fallback_model"]) == (
        "openai-compatible",
        "stub-large",
        "stub-small",
    )
    presets = await ai_service.client.get(
        "/api/v1/ai/presets", headers=principal_headers(ai_settings, admin())
    )
    assert "openrouter-claude-haiku" in {p["name"] for p in presets.json()}


async def test_usage_is_for_owners_and_admins_over_a_bounded_range(ai_service, ai_settings) -> None:
    headers = principal_headers(ai_settings, admin())
    empty = await ai_service.client.get(
        "/api/v1/ai/usage", headers=headers, params={"from": "2026-01-01", "to": "2026-01-31"}
    )
    assert empty.status_code == 200
    body = empty.json()
    assert (body["from"], body["to"], body["days"]) == ("2026-01-01", "2026-01-31", [])
    assert body["totals"]["requests"] == 0 and body["budget"]["monthly_budget_usd"] is None
    backwards = await ai_service.client.get(
        "/api/v1/ai/usage", headers=headers, params={"from": "2026-02-01", "to": "2026-01-01"}
    )
    assert backwards.status_code == 400
    too_long = await ai_service.client.get(
        "/api/v1/ai/usage", headers=headers, params={"from": "2024-01-01", "to": "2026-01-01"}
    )
    assert too_long.status_code == 400
    agent = principal_headers(ai_settings, admin(role=Role.AGENT))
    assert (await ai_service.client.get("/api/v1/ai/usage", headers=agent)).status_code == 403
