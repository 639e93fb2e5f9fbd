"""API keys: shown once, stored as a digest, scoped, confined to a tenant, and revocable with
effect within the gateway's documented cache time (at once, thanks to the Redis marker)."""

from __future__ import annotations

from uuid import UUID

from parley_platform.revocation import api_key_marker_key
from parley_testing.edge import serve_edge
from parley_testing.polling import eventually
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def test_a_key_is_shown_once_and_works_through_the_gateway(edge) -> None:
    owner = await edge.sign_up()
    created = await owner.post(
        "/api/v1/api-keys",
        json={"name": "CRM sync", "role": "admin", "scopes": ["users:read", "teams:write"]},
    )
    assert created.status_code == 201
    body = created.json()
    secret = body["key"]
    assert secret.startswith("pk_") and len(secret) > 60

    listed = await owner.get("/api/v1/api-keys")
    assert secret not in listed.text and "key" not in listed.json()[0]
    one = await owner.get(f"/api/v1/api-keys/{body['id']}")
    assert secret not in one.text and one.json()["scopes"] == ["teams:write", "users:read"]

    client = edge.client(secret)
    me = (await client.get("/api/v1/me")).json()
    assert me["tenant"]["id"] == str(owner.tenant_id)
    assert me["api_key"]["id"] == body["id"] and me["user"] is None
    assert me["role"] == "admin" and me["scopes"] == ["teams:write", "users:read"]
    assert (await client.get("/api/v1/users")).status_code == 200
    assert (await client.post("/api/v1/teams", json={"name": "Bots"})).status_code == 201


async def test_only_the_digest_is_stored(edge, infra) -> None:
    owner = await edge.sign_up()
    secret = (await owner.post("/api/v1/api-keys", json={"name": "k", "scopes": []})).json()["key"]
    engine = create_async_engine(edge.auth_settings.database_url.get_secret_value())
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(owner.tenant_id)}
            )
            rows = (await conn.execute(text("SELECT * FROM api_keys"))).mappings().all()
    finally:
        await engine.dispose()
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0].values())
    assert secret not in stored and secret.rsplit("_", 1)[-1] not in stored


async def test_scopes_limit_what_a_key_does(edge) -> None:
    owner = await edge.sign_up()
    reader = edge.client(
        (
            await owner.post("/api/v1/api-keys", json={"name": "reader", "scopes": ["users:read"]})
        ).json()["key"]
    )
    assert (await reader.get("/api/v1/users")).status_code == 200
    assert (await reader.get("/api/v1/teams")).status_code == 403  # no teams:read
    assert (await reader.get("/api/v1/channels/whatsapp")).status_code == 403
    # An agent-role key cannot do admin things even where the scope would say so.
    assert (await reader.post("/api/v1/teams", json={"name": "x"})).status_code == 403
    # Keys never manage keys, nor change passwords.
    assert (await reader.get("/api/v1/api-keys")).status_code == 403
    admin_key = edge.client(
        (
            await owner.post(
                "/api/v1/api-keys",
                json={"name": "admin", "role": "admin", "scopes": ["users:write", "users:read"]},
            )
        ).json()["key"]
    )
    assert (
        await admin_key.post("/api/v1/api-keys", json={"name": "child", "scopes": []})
    ).status_code == 403
    assert (
        await admin_key.post(
            "/api/v1/auth/password",
            json={"current_password": "whatever1234", "new_password": "whatever12345"},
        )
    ).status_code == 403


async def test_a_revoked_key_stops_working_within_the_cache_time(settings_factory) -> None:
    cache_ttl_s = 2.0
    async with serve_edge(settings_factory, gateway={"api_key_cache_ttl_s": cache_ttl_s}) as edge:
        owner = await edge.sign_up()
        created = (
            await owner.post("/api/v1/api-keys", json={"name": "k", "scopes": ["users:read"]})
        ).json()
        key = edge.client(created["key"])
        assert (await key.get("/api/v1/users")).status_code == 200  # now cached at the gateway

        assert (await owner.delete(f"/api/v1/api-keys/{created['id']}")).status_code == 204

        async def rejected() -> bool:
            return (await key.get("/api/v1/users")).status_code == 401

        # Bounded by the documented cache time (the marker makes it immediate in practice).
        await eventually(rejected, timeout_s=cache_ttl_s)
        listed = (await owner.get(f"/api/v1/api-keys/{created['id']}")).json()
        assert listed["revoked_at"] is not None
        assert (await owner.delete(f"/api/v1/api-keys/{created['id']}")).status_code == 204


async def test_revocation_holds_even_if_the_redis_marker_is_lost(settings_factory, infra) -> None:
    cache_ttl_s = 1.0
    async with serve_edge(settings_factory, gateway={"api_key_cache_ttl_s": cache_ttl_s}) as edge:
        owner = await edge.sign_up()
        created = (await owner.post("/api/v1/api-keys", json={"name": "k", "scopes": []})).json()
        key = edge.client(created["key"])
        assert (await key.get("/api/v1/me")).status_code == 200
        await owner.delete(f"/api/v1/api-keys/{created['id']}")
        redis = Redis.from_url(infra.redis_url)
        try:
            assert owner.tenant_id is not None
            await redis.delete(api_key_marker_key(owner.tenant_id, UUID(created["id"])))
        finally:
            await redis.aclose()

        async def rejected() -> bool:
            return (await key.get("/api/v1/me")).status_code == 401

        # Without the marker the gateway's cache expires and auth's answer is final.
        await eventually(rejected, timeout_s=cache_ttl_s + 2)


async def test_an_expired_or_forged_key_is_refused(edge) -> None:
    owner = await edge.sign_up()
    secret = (await owner.post("/api/v1/api-keys", json={"name": "k", "scopes": []})).json()["key"]
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    for candidate in (forged, "pk_" + "0" * 32 + "_" + "A" * 43, "pk_short"):
        response = await edge.client(candidate).get("/api/v1/me")
        assert response.status_code == 401, candidate
    assert (await edge.client(secret).get("/api/v1/me")).status_code == 200


async def test_a_demoted_creators_keys_drop_to_their_new_role_at_once(settings_factory) -> None:
    # A cache far longer than the test: the change must not wait for it.
    async with serve_edge(settings_factory, gateway={"api_key_cache_ttl_s": 3600}) as edge:
        owner = await edge.sign_up()
        admin = await edge.add_user(owner, "admin")
        created = await admin.post(
            "/api/v1/api-keys",
            json={"name": "sync", "role": "admin", "scopes": ["users:read", "teams:write"]},
        )
        assert created.status_code == 201, created.text
        key = edge.client(created.json()["key"])
        assert (await key.post("/api/v1/teams", json={"name": "Before"})).status_code == 201

        demoted = await owner.patch(f"/api/v1/users/{admin.user_id}", json={"role": "agent"})
        assert demoted.status_code == 200

        # At once: the key acts as an agent; what agents may do still works.
        assert (await key.post("/api/v1/teams", json={"name": "After"})).status_code == 403
        me = (await key.get("/api/v1/me")).json()
        assert me["role"] == "agent" and me["scopes"] == ["users:read"]
        assert (await key.get("/api/v1/users")).status_code == 200
        listed = (await owner.get(f"/api/v1/api-keys/{created.json()['id']}")).json()
        assert listed["role"] == "admin" and listed["scopes"] == ["teams:write", "users:read"]
        assert listed["effective_role"] == "agent" and listed["effective_scopes"] == ["users:read"]


async def test_a_deactivated_creators_keys_stop_at_once_until_reactivation(
    settings_factory,
) -> None:
    async with serve_edge(settings_factory, gateway={"api_key_cache_ttl_s": 3600}) as edge:
        owner = await edge.sign_up()
        admin = await edge.add_user(owner, "admin")
        created = (
            await admin.post("/api/v1/api-keys", json={"name": "k", "scopes": ["users:read"]})
        ).json()
        key = edge.client(created["key"])
        assert (await key.get("/api/v1/users")).status_code == 200  # cached at the gateway

        assert (
            await owner.patch(f"/api/v1/users/{admin.user_id}", json={"active": False})
        ).status_code == 200
        assert (await key.get("/api/v1/users")).status_code == 401
        listed = (await owner.get(f"/api/v1/api-keys/{created['id']}")).json()
        assert listed["effective_role"] is None and listed["revoked_at"] is None

        # Reactivating the creator brings the key back (revoking it is the way to end it),
        # once the gateway's memory of the refusal (5 s) has passed.
        assert (
            await owner.patch(f"/api/v1/users/{admin.user_id}", json={"active": True})
        ).status_code == 200

        async def works_again() -> bool:
            return (await key.get("/api/v1/users")).status_code == 200

        await eventually(works_again, timeout_s=10)
