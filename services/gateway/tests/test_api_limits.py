"""Per-tenant and per-API-key request limits at the gateway: token buckets in Redis sized by
the tenant's plan, 429 with Retry-After and the RateLimit headers, one tenant never slowed by
another, one key never using up its tenant."""

from __future__ import annotations

from typing import Any

from parley_auth.service.plans import put_on_plan
from parley_testing.edge import serve_edge


def plan(requests: int, per_key: int, **streams: int) -> dict[str, Any]:
    return {
        "requests_per_minute": requests,
        "api_key_requests_per_minute": per_key,
        "streams": streams.get("streams", 10),
        "streams_per_principal": streams.get("streams_per_principal", 5),
        "replays_per_minute": streams.get("replays_per_minute", 10),
    }


async def test_a_tenant_past_its_plan_gets_429_with_retry_after_and_ratelimit_headers(
    settings_factory,
) -> None:
    async with serve_edge(
        settings_factory, gateway={"api_plans": {"standard": plan(5, 5)}}
    ) as edge:
        alpha = await edge.sign_up("Alpha")
        bravo = await edge.sign_up("Bravo")
        answers = [await alpha.get("/api/v1/me") for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 5 + [429]
        # Every counted answer says where the caller stands.
        assert [a.headers["RateLimit-Remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
        assert all(a.headers["RateLimit-Limit"] == "5" for a in answers)
        assert 'comment="tenant"' in answers[0].headers["RateLimit-Policy"]
        assert int(answers[0].headers["RateLimit-Reset"]) >= 1
        refused = answers[-1]
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 12  # one request's worth: 60 s / 5
        assert refused.headers["RateLimit-Remaining"] == "0"
        # Another tenant is not slowed down by Alpha.
        assert (await bravo.get("/api/v1/me")).status_code == 200


async def test_one_api_key_cannot_use_up_its_tenants_requests(settings_factory) -> None:
    async with serve_edge(
        settings_factory, gateway={"api_plans": {"standard": plan(20, 3)}}
    ) as edge:
        owner = await edge.sign_up()
        created = await owner.post("/api/v1/api-keys", json={"name": "sync", "scopes": []})
        key = edge.client(created.json()["key"])
        statuses = [(await key.get("/api/v1/me")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = await key.get("/api/v1/me")
        assert refused.headers["RateLimit-Limit"] == "3"
        assert 'comment="api-key"' in refused.headers["RateLimit-Policy"]
        # The people of the tenant (and its other keys) carry on.
        assert (await owner.get("/api/v1/me")).status_code == 200
        other = await owner.post("/api/v1/api-keys", json={"name": "other", "scopes": []})
        assert (await edge.client(other.json()["key"]).get("/api/v1/me")).status_code == 200


async def test_the_limits_follow_the_tenants_plan(settings_factory) -> None:
    plans = {"standard": plan(3, 3), "enterprise": plan(50, 50)}
    async with serve_edge(
        settings_factory, gateway={"api_plans": plans, "plan_cache_ttl_s": 0}
    ) as edge:
        small = await edge.sign_up("Small")
        large = await edge.sign_up("Large")
        assert large.tenant_id is not None
        await put_on_plan(edge.auth.runtime.resources.database, large.tenant_id, "enterprise")
        me = (await large.get("/api/v1/me")).json()
        assert me["tenant"]["plan"] == "enterprise"
        small_statuses = [(await small.get("/api/v1/me")).status_code for _ in range(5)]
        large_statuses = [(await large.get("/api/v1/me")).status_code for _ in range(5)]
        assert small_statuses == [200, 200, 200, 429, 429]
        assert large_statuses == [200] * 5


async def test_a_plan_the_gateway_does_not_know_gets_the_default_one(settings_factory) -> None:
    async with serve_edge(
        settings_factory,
        gateway={"api_plans": {"standard": plan(2, 2)}, "plan_cache_ttl_s": 0},
    ) as edge:
        owner = await edge.sign_up()
        assert owner.tenant_id is not None
        await put_on_plan(edge.auth.runtime.resources.database, owner.tenant_id, "gold")
        statuses = [(await owner.get("/api/v1/me")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


async def test_sign_in_is_not_counted_against_a_tenant(settings_factory) -> None:
    async with serve_edge(
        settings_factory, gateway={"api_plans": {"standard": plan(1, 1)}}
    ) as edge:
        owner = await edge.sign_up()
        for _ in range(3):
            signed_in = await edge.anonymous().post(
                "/api/v1/auth/login", json={"email": owner.email, "password": owner.password}
            )
            assert signed_in.status_code == 200
            assert "RateLimit-Limit" not in signed_in.headers


async def test_webhooks_are_never_held_up_by_a_tenants_api_use(settings_factory) -> None:
    async with serve_edge(
        settings_factory, gateway={"api_plans": {"standard": plan(3, 3)}}
    ) as edge:
        owner = await edge.sign_up()
        number = await edge.new_number()
        connected = await owner.post("/api/v1/channels/whatsapp", json=number.registration())
        assert connected.status_code == 201, connected.text
        statuses = [(await owner.get("/api/v1/me")).status_code for _ in range(3)]
        assert statuses[-1] == 429  # the tenant's API requests are used up
        # Its customers' messages still come in: Meta's webhooks are not API calls.
        for text in ("hello", "anyone there?"):
            written = await edge.sandbox.client.post(
                "/sandbox/customers/447700900123/messages",
                json={"phone_number_id": number.phone_number_id, "text": text},
            )
            assert written.json()["webhook_status"] == 200
