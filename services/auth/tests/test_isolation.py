"""Tenant isolation, from the outside: tenant A's credentials on tenant B's ids get 404 from
every auth endpoint and gRPC method that takes an id, never B's data, and change nothing."""

from __future__ import annotations

import grpc
import pytest
from parley.auth.v1 import auth_pb2
from parley_platform.context import tenant_scope

# Every auth endpoint that takes an id: (method, path template, body).
ENDPOINTS_WITH_IDS = [
    ("GET", "/api/v1/users/{user}", None),
    ("PATCH", "/api/v1/users/{user}", {"active": False}),
    ("PATCH", "/api/v1/users/{user}", {"role": "admin"}),
    ("PATCH", "/api/v1/users/{user}", {"name": "Renamed by A"}),
    ("POST", "/api/v1/users/{invited_user}/invitation", None),
    ("GET", "/api/v1/teams/{team}", None),
    ("PATCH", "/api/v1/teams/{team}", {"name": "Taken over"}),
    ("DELETE", "/api/v1/teams/{team}", None),
    ("PUT", "/api/v1/teams/{team}/members/{user}", None),
    ("DELETE", "/api/v1/teams/{team}/members/{user}", None),
    ("GET", "/api/v1/api-keys/{api_key}", None),
    ("DELETE", "/api/v1/api-keys/{api_key}", None),
    ("GET", "/api/v1/channels/whatsapp/{channel}", None),
    ("PATCH", "/api/v1/channels/whatsapp/{channel}", {"messages_per_second": 1}),
    ("PATCH", "/api/v1/channels/whatsapp/{channel}", {"access_token": "EAAGhijackedtoken"}),
    ("DELETE", "/api/v1/channels/whatsapp/{channel}", None),
]
# Mixed: A's own team with B's user.
MIXED = [
    ("PUT", "/api/v1/teams/{own_team}/members/{user}", None),
    ("DELETE", "/api/v1/teams/{own_team}/members/{user}", None),
]
LISTS = ["/api/v1/users", "/api/v1/teams", "/api/v1/api-keys", "/api/v1/channels/whatsapp"]


async def _snapshot(world) -> dict[str, object]:
    """What B sees of its own data (to prove A changed nothing)."""
    owner = world.owner
    return {
        "user": (await owner.get(f"/api/v1/users/{world.agent.user_id}")).json(),
        "invited": (await owner.get(f"/api/v1/users/{world.invited_user_id}")).json(),
        "team": (await owner.get(f"/api/v1/teams/{world.team['id']}")).json(),
        "key": (await owner.get(f"/api/v1/api-keys/{world.api_key['id']}")).json(),
        "channel": (await owner.get(f"/api/v1/channels/whatsapp/{world.channel['id']}")).json(),
    }


async def test_tenant_a_gets_404_on_every_endpoint_with_tenant_bs_ids(two_tenants) -> None:
    a, b = two_tenants
    before = await _snapshot(b)
    ids = {**b.ids(), "own_team": a.team["id"]}
    for caller in (a.owner, a.admin):
        for method, template, body in ENDPOINTS_WITH_IDS + MIXED:
            path = template.format(**ids)
            response = await caller.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.status_code, response.text)
            assert response.json()["error"]["code"] == "not_found"
            for secret in b.identifying_text()[1:]:  # B's id is in the path, and echoed
                assert secret not in response.text, (method, path)
    assert await _snapshot(b) == before
    # B's agent still signs in and works: nothing of A's reached B.
    assert (await b.agent.get("/api/v1/me")).status_code == 200


async def test_lists_show_only_the_callers_tenant(two_tenants) -> None:
    a, b = two_tenants
    for path in LISTS:
        response = await a.owner.get(path, params={"tenant_id": b.tenant_id})
        assert response.status_code == 200, path
        for text in b.identifying_text():
            assert text not in response.text, (path, text)
    users = (await a.owner.get("/api/v1/users")).json()
    assert {u["id"] for u in users} >= {str(a.owner.user_id), str(a.agent.user_id)}
    assert str(b.owner.user_id) not in {u["id"] for u in users}


async def test_an_api_key_is_confined_to_its_tenant(two_tenants, edge) -> None:
    a, b = two_tenants
    key = await a.owner.post(
        "/api/v1/api-keys",
        json={"name": "reader", "scopes": ["users:read", "teams:read", "channels:read"]},
    )
    reader = edge.client(key.json()["key"])
    assert (await reader.get(f"/api/v1/users/{a.agent.user_id}")).status_code == 200
    for path in (
        f"/api/v1/users/{b.agent.user_id}",
        f"/api/v1/teams/{b.team['id']}",
        f"/api/v1/channels/whatsapp/{b.channel['id']}",
    ):
        assert (await reader.get(path)).status_code == 404, path


async def test_grpc_methods_do_not_cross_tenants(two_tenants, grpc_as) -> None:
    a, b = two_tenants
    conversation = grpc_as("conversation")
    whatsapp = grpc_as("whatsapp")
    calls = [
        (conversation.GetUser, auth_pb2.GetUserRequest(user_id=str(b.agent.user_id))),
        (conversation.GetTeam, auth_pb2.GetTeamRequest(team_id=b.team["id"])),
        (
            conversation.CheckPermission,
            auth_pb2.CheckPermissionRequest(user_id=str(b.owner.user_id), permission="users:write"),
        ),
        (
            whatsapp.GetSendCredentials,
            auth_pb2.GetSendCredentialsRequest(channel_id=b.channel["id"]),
        ),
        (
            whatsapp.GetSendCredentials,
            auth_pb2.GetSendCredentialsRequest(phone_number_id=b.channel["phone_number_id"]),
        ),
        (
            whatsapp.MarkChannelDisconnected,
            auth_pb2.MarkChannelDisconnectedRequest(channel_id=b.channel["id"], reason="x"),
        ),
    ]
    with tenant_scope(a.owner.tenant_id):
        for method, request in calls:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await method(request)
            assert err.value.code() == grpc.StatusCode.NOT_FOUND, (method, request)
            assert b.channel_access_token not in (err.value.details() or "")
        # The same calls with A's own ids work.
        user = await conversation.GetUser(auth_pb2.GetUserRequest(user_id=str(a.agent.user_id)))
        assert user.tenant_id == a.tenant_id and user.email == a.agent.email
        team = await conversation.GetTeam(auth_pb2.GetTeamRequest(team_id=a.team["id"]))
        assert team.member_user_ids == [str(a.agent.user_id)]
        creds = await whatsapp.GetSendCredentials(
            auth_pb2.GetSendCredentialsRequest(channel_id=a.channel["id"])
        )
        assert creds.access_token == a.channel_access_token
        for user, permission, allowed in (
            (a.owner, "users:write", True),
            (a.agent, "conversations:write", True),
            (a.agent, "users:write", False),
            (a.agent, "no-such:permission", False),
        ):
            answer = await conversation.CheckPermission(
                auth_pb2.CheckPermissionRequest(user_id=str(user.user_id), permission=permission)
            )
            assert answer.allowed is allowed, (permission, allowed)
    with tenant_scope(b.owner.tenant_id):
        still = await whatsapp.GetSendCredentials(
            auth_pb2.GetSendCredentialsRequest(channel_id=b.channel["id"])
        )
        assert not still.disconnected


async def test_grpc_tenant_methods_need_a_tenant(two_tenants, grpc_as) -> None:
    a, _ = two_tenants
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await grpc_as("conversation").GetUser(auth_pb2.GetUserRequest(user_id=str(a.agent.user_id)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
