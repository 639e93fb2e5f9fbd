"""Who may do what: agents cannot do admin things, only owners make or unmake owners, a
tenant never loses its last owner, and no body field escalates anything."""

from __future__ import annotations

import uuid

# Every endpoint that needs an admin (or owner): (method, path template, body).
ADMIN_ENDPOINTS = [
    ("POST", "/api/v1/users", {"email": "x-{nonce}@example.com", "name": "X", "role": "agent"}),
    ("PATCH", "/api/v1/users/{user}", {"name": "Renamed"}),
    ("PATCH", "/api/v1/users/{user}", {"role": "admin"}),
    ("PATCH", "/api/v1/users/{user}", {"active": False}),
    ("POST", "/api/v1/users/{invited_user}/invitation", None),
    ("POST", "/api/v1/teams", {"name": "Mine now {nonce}"}),
    ("PATCH", "/api/v1/teams/{team}", {"name": "Renamed {nonce}"}),
    ("DELETE", "/api/v1/teams/{team}", None),
    ("PUT", "/api/v1/teams/{team}/members/{user}", None),
    ("DELETE", "/api/v1/teams/{team}/members/{user}", None),
    ("GET", "/api/v1/api-keys", None),
    ("POST", "/api/v1/api-keys", {"name": "k", "scopes": []}),
    ("GET", "/api/v1/api-keys/{api_key}", None),
    ("DELETE", "/api/v1/api-keys/{api_key}", None),
    ("POST", "/api/v1/channels/whatsapp", "channel"),
    ("PATCH", "/api/v1/channels/whatsapp/{channel}", {"messages_per_second": 5}),
    ("DELETE", "/api/v1/channels/whatsapp/{channel}", None),
]


def _fill(template: object, values: dict[str, object]) -> object:
    if template == "channel":
        return values["channel_body"]
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    return template


async def test_an_agent_cannot_do_anything_an_admin_does(two_tenants, channel_body) -> None:
    world, _ = two_tenants
    ids = {**world.ids(), "user": str(world.admin.user_id)}
    for method, template, body in ADMIN_ENDPOINTS:
        values = {**ids, "nonce": uuid.uuid4().hex[:8], "channel_body": await channel_body()}
        path = _fill(template, values)
        response = await world.agent.request(method, path, json=_fill(body, values))
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "forbidden"
    # Nothing changed: the admin is still an active admin, the team, key and channel remain.
    admin = (await world.owner.get(f"/api/v1/users/{world.admin.user_id}")).json()
    assert admin["role"] == "admin" and admin["status"] == "active"
    assert (await world.owner.get(f"/api/v1/teams/{world.team['id']}")).status_code == 200
    key = (await world.owner.get(f"/api/v1/api-keys/{world.api_key['id']}")).json()
    assert key["revoked_at"] is None
    channel = await world.owner.get(f"/api/v1/channels/whatsapp/{world.channel['id']}")
    assert channel.json()["messages_per_second"] == 80
    # What an agent may do: read.
    for path in ("/api/v1/users", "/api/v1/teams", "/api/v1/channels/whatsapp", "/api/v1/me"):
        assert (await world.agent.get(path)).status_code == 200, path


async def test_an_admin_manages_agents_and_admins_but_not_owners(two_tenants, edge) -> None:
    world, _ = two_tenants
    admin = world.admin
    promoted = await admin.patch(f"/api/v1/users/{world.agent.user_id}", json={"role": "admin"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"

    to_owner = await admin.patch(f"/api/v1/users/{world.agent.user_id}", json={"role": "owner"})
    assert to_owner.status_code == 403
    changes: list[dict[str, object]] = [{"role": "agent"}, {"active": False}, {"name": "Demoted"}]
    for change in changes:
        response = await admin.patch(f"/api/v1/users/{world.owner.user_id}", json=change)
        assert response.status_code == 403, change
    invite_owner = await admin.post(
        "/api/v1/users",
        json={"email": f"o-{uuid.uuid4().hex[:8]}@example.com", "name": "O", "role": "owner"},
    )
    assert invite_owner.status_code == 403
    me = (await world.owner.get("/api/v1/me")).json()
    assert me["role"] == "owner"


async def test_a_tenant_always_keeps_an_active_owner(two_tenants, edge) -> None:
    world, _ = two_tenants
    owner = world.owner
    for change in ({"role": "admin"}, {"active": False}):
        response = await owner.patch(f"/api/v1/users/{owner.user_id}", json=change)
        assert response.status_code == 409, change
        assert response.json()["error"]["code"] == "last_owner"

    # With a second owner, the first may step down, but the second then cannot.
    second = await owner.patch(f"/api/v1/users/{world.admin.user_id}", json={"role": "owner"})
    assert second.status_code == 200
    stepped_down = await owner.patch(f"/api/v1/users/{owner.user_id}", json={"role": "admin"})
    assert stepped_down.status_code == 200
    refreshed = await edge.anonymous().post(
        "/api/v1/auth/refresh", json={"refresh_token": world.admin.refresh_token}
    )
    new_owner = edge.client(refreshed.json()["access_token"])
    alone = await new_owner.patch(f"/api/v1/users/{world.admin.user_id}", json={"active": False})
    assert alone.status_code == 409


async def test_body_fields_never_choose_the_tenant_the_id_or_a_higher_role(
    two_tenants, edge, channel_body
) -> None:
    a, b = two_tenants
    foreign = {"tenant_id": b.tenant_id}
    attempts = [
        (a.agent, "PATCH", f"/api/v1/users/{a.agent.user_id}", {"role": "owner"}, 403),
        (a.agent, "PATCH", f"/api/v1/users/{a.agent.user_id}", {"role": "admin"}, 403),
        (a.owner, "PATCH", f"/api/v1/users/{a.agent.user_id}", {**foreign, "name": "x"}, 422),
        (a.owner, "PATCH", f"/api/v1/users/{a.agent.user_id}", {"id": str(b.agent.user_id)}, 422),
        (a.owner, "POST", "/api/v1/users", {**foreign, "email": "e@example.com", "name": "n"}, 422),
        (a.owner, "POST", "/api/v1/users", {"id": str(uuid.uuid4()), "email": "f@example.com",
                                            "name": "n"}, 422),
        (a.owner, "POST", "/api/v1/teams", {**foreign, "name": "Sneaky"}, 422),
        (a.owner, "POST", "/api/v1/api-keys", {**foreign, "name": "k", "scopes": []}, 422),
        (a.owner, "POST", "/api/v1/api-keys", {"name": "k", "role": "owner", "scopes": []}, 422),
        (a.admin, "POST", "/api/v1/api-keys", {"name": "k", "scopes": ["owners:write"]}, 400),
        (a.admin, "POST", "/api/v1/api-keys", {"name": "k", "scopes": ["api-keys:write"]}, 400),
        (a.admin, "POST", "/api/v1/api-keys", {"name": "k", "role": "agent",
                                               "scopes": ["users:write"]}, 400),
        (a.owner, "POST", "/api/v1/channels/whatsapp", {**await channel_body(), **foreign}, 422),
        (a.owner, "PATCH", f"/api/v1/channels/whatsapp/{a.channel['id']}",
         {"phone_number_id": b.channel["phone_number_id"]}, 422),
    ]  # fmt: skip
    for caller, method, path, body, status in attempts:
        response = await caller.request(method, path, json=body)
        assert response.status_code == status, (method, path, body, response.text)
    for path, body in (
        ("/api/v1/signup", {"company_name": "c", "name": "n", "email": "s@example.com",
                            "password": "long enough pass", **foreign}),
        ("/api/v1/signup", {"company_name": "c", "name": "n", "email": "s@example.com",
                            "password": "long enough pass", "role": "admin"}),
        ("/api/v1/auth/login", {"email": a.owner.email, "password": a.owner.password, **foreign}),
    ):  # fmt: skip
        response = await edge.anonymous().post(path, json=body)
        assert response.status_code == 422, (path, response.text)

    # Nothing moved: A's agent is an agent of A; B has no new team or key.
    agent = (await a.owner.get(f"/api/v1/users/{a.agent.user_id}")).json()
    assert agent["role"] == "agent" and agent["name"] == "A agent"
    assert [t["id"] for t in (await b.owner.get("/api/v1/teams")).json()] == [b.team["id"]]
    assert [k["id"] for k in (await b.owner.get("/api/v1/api-keys")).json()] == [b.api_key["id"]]
    me = (await a.agent.get("/api/v1/me", params={"tenant_id": b.tenant_id})).json()
    assert me["tenant"]["id"] == a.tenant_id and me["role"] == "agent"
