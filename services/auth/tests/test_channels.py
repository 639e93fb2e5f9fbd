"""The WhatsApp channel registry: registering numbers, what the dashboard shows (webhook URL
and verify token, never the secrets), encryption at rest, and what the gateway and the
whatsapp service get over gRPC (and nobody else)."""

from __future__ import annotations

import uuid

import grpc
import pytest
from parley.auth.v1 import auth_pb2
from parley_platform.context import tenant_scope
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def test_registering_a_number_shows_the_webhook_to_configure(edge, channel_body) -> None:
    owner = await edge.sign_up()
    body = channel_body()
    created = await owner.post("/api/v1/channels/whatsapp", json=body)
    assert created.status_code == 201, created.text
    channel = created.json()
    assert channel["phone_number_id"] == body["phone_number_id"]
    assert channel["messages_per_second"] == 80 and channel["status"] == "connected"
    assert channel["webhook"] == {
        "url": "http://127.0.0.1:8080/webhooks/whatsapp",
        "verify_token": None,
        "uses_own_app": False,
    }
    assert body["access_token"] not in created.text

    own_app = channel_body(app_secret="0123456789abcdef0123", verify_token="my-verify-token-1")
    created = (await owner.post("/api/v1/channels/whatsapp", json=own_app)).json()
    assert created["uses_own_app"] is True
    assert created["webhook"]["url"] == f"http://127.0.0.1:8080/webhooks/whatsapp/{created['id']}"
    assert created["webhook"]["verify_token"] == "my-verify-token-1"

    generated = (
        await owner.post(
            "/api/v1/channels/whatsapp", json=channel_body(app_secret="0123456789abcdef0123")
        )
    ).json()
    assert len(generated["webhook"]["verify_token"]) >= 24


async def test_secrets_are_never_returned(edge, channel_body) -> None:
    owner = await edge.sign_up()
    body = channel_body(app_secret="app-secret-" + uuid.uuid4().hex)
    channel = (await owner.post("/api/v1/channels/whatsapp", json=body)).json()
    responses = [
        await owner.get("/api/v1/channels/whatsapp"),
        await owner.get(f"/api/v1/channels/whatsapp/{channel['id']}"),
        await owner.patch(
            f"/api/v1/channels/whatsapp/{channel['id']}", json={"messages_per_second": 20}
        ),
    ]
    for response in responses:
        assert response.status_code == 200
        assert body["access_token"] not in response.text
        assert body["app_secret"] not in response.text


async def test_secrets_are_encrypted_at_rest(edge, channel_body) -> None:
    owner = await edge.sign_up()
    body = channel_body(
        app_secret="app-secret-" + uuid.uuid4().hex, verify_token="verify-" + "v" * 10
    )
    await owner.post("/api/v1/channels/whatsapp", json=body)
    engine = create_async_engine(edge.auth_settings.database_url.get_secret_value())
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(owner.tenant_id)}
            )
            row = (await conn.execute(text("SELECT * FROM whatsapp_channels"))).mappings().one()
            keys = (await conn.execute(text("SELECT private_key_sealed FROM signing_keys"))).all()
    finally:
        await engine.dispose()
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())
    for secret in (body["access_token"], body["app_secret"], body["verify_token"]):
        assert secret.encode() not in stored
    assert row["access_token_sealed"][:1] == b"\x01" and len(row["access_token_sealed"]) > 28
    assert all(len(k.private_key_sealed) == 1 + 12 + 32 + 16 for k in keys)  # sealed Ed25519


async def test_a_number_belongs_to_one_tenant(edge, channel_body) -> None:
    alpha = await edge.sign_up("Alpha")
    bravo = await edge.sign_up("Bravo")
    body = channel_body()
    assert (await alpha.post("/api/v1/channels/whatsapp", json=body)).status_code == 201
    taken = await bravo.post(
        "/api/v1/channels/whatsapp", json={**body, "access_token": "EAAGbravotoken123"}
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "phone_number_taken"
    again = await alpha.post("/api/v1/channels/whatsapp", json=body)
    assert again.status_code == 409
    assert (await bravo.get("/api/v1/channels/whatsapp")).json() == []


async def test_invalid_channel_input_is_refused(edge, channel_body) -> None:
    owner = await edge.sign_up()
    for change in (
        {"phone_number_id": "12ab"},
        {"phone_number_id": "1" * 40},
        {"messages_per_second": 0},
        {"messages_per_second": 5000},
        {"access_token": "has space in it"},
        {"app_secret": "short"},
        {"display_phone_number": "call me"},
    ):
        response = await owner.post("/api/v1/channels/whatsapp", json=channel_body(**change))
        assert response.status_code == 422, change
        assert "has space in it" not in response.text  # input is not echoed back
    assert (await owner.get("/api/v1/channels/whatsapp")).json() == []


async def test_patch_rotates_the_token_switches_apps_and_delete_frees_the_number(
    edge, channel_body, grpc_as
) -> None:
    owner = await edge.sign_up()
    body = channel_body()
    channel = (await owner.post("/api/v1/channels/whatsapp", json=body)).json()
    whatsapp = grpc_as("whatsapp")
    request = auth_pb2.GetSendCredentialsRequest(channel_id=channel["id"])
    with tenant_scope(owner.tenant_id):
        await whatsapp.MarkChannelDisconnected(
            auth_pb2.MarkChannelDisconnectedRequest(channel_id=channel["id"], reason="error 190")
        )
        assert (await whatsapp.GetSendCredentials(request)).disconnected
    shown = (await owner.get(f"/api/v1/channels/whatsapp/{channel['id']}")).json()
    assert shown["status"] == "disconnected" and shown["disconnect_reason"] == "error 190"

    patched = await owner.patch(
        f"/api/v1/channels/whatsapp/{channel['id']}",
        json={"access_token": "EAAGnewtoken-" + uuid.uuid4().hex, "app_secret": "x" * 32},
    )
    assert patched.status_code == 200
    assert patched.json()["status"] == "connected" and patched.json()["uses_own_app"]
    assert patched.json()["webhook"]["url"].endswith(f"/webhooks/whatsapp/{channel['id']}")
    with tenant_scope(owner.tenant_id):
        creds = await whatsapp.GetSendCredentials(request)
    assert creds.access_token.startswith("EAAGnewtoken-") and not creds.disconnected

    back = await owner.patch(
        f"/api/v1/channels/whatsapp/{channel['id']}", json={"app_secret": None}
    )
    assert back.json()["uses_own_app"] is False
    removed = await owner.patch(
        f"/api/v1/channels/whatsapp/{channel['id']}", json={"access_token": None}
    )
    assert removed.status_code == 400

    assert (await owner.delete(f"/api/v1/channels/whatsapp/{channel['id']}")).status_code == 204
    assert (await owner.get(f"/api/v1/channels/whatsapp/{channel['id']}")).status_code == 404
    other = await edge.sign_up("Next owner of the number")
    assert (await other.post("/api/v1/channels/whatsapp", json=body)).status_code == 201


async def test_the_gateway_resolves_webhooks_to_tenant_channel_and_secrets(
    edge, channel_body, grpc_as
) -> None:
    owner = await edge.sign_up()
    own = channel_body(app_secret="own-app-secret-123", verify_token="own-verify-token")
    platform = channel_body()
    own_channel = (await owner.post("/api/v1/channels/whatsapp", json=own)).json()
    platform_channel = (await owner.post("/api/v1/channels/whatsapp", json=platform)).json()
    gateway = grpc_as("gateway")

    resolved = await gateway.ResolveChannel(
        auth_pb2.ResolveChannelRequest(phone_number_id=own["phone_number_id"])
    )
    assert resolved.tenant_id == str(owner.tenant_id)
    assert resolved.channel_id == own_channel["id"]
    assert resolved.app_secret == "own-app-secret-123" and resolved.uses_own_app
    assert resolved.verify_token == "own-verify-token" and resolved.active
    assert resolved.messages_per_second == 80

    by_id = await gateway.GetChannel(auth_pb2.GetChannelRequest(channel_id=own_channel["id"]))
    assert by_id.phone_number_id == own["phone_number_id"]
    plain = await gateway.GetChannel(auth_pb2.GetChannelRequest(channel_id=platform_channel["id"]))
    assert plain.app_secret == "" and not plain.uses_own_app

    for call, request, code in (
        (gateway.ResolveChannel, auth_pb2.ResolveChannelRequest(phone_number_id="999999999999"),
         grpc.StatusCode.NOT_FOUND),
        (gateway.ResolveChannel, auth_pb2.ResolveChannelRequest(phone_number_id="1 OR 1=1"),
         grpc.StatusCode.INVALID_ARGUMENT),
        (gateway.GetChannel, auth_pb2.GetChannelRequest(channel_id=str(uuid.uuid4())),
         grpc.StatusCode.NOT_FOUND),
        (gateway.GetChannel, auth_pb2.GetChannelRequest(channel_id="nope"),
         grpc.StatusCode.INVALID_ARGUMENT),
    ):  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(request)
        assert err.value.code() == code


async def test_each_grpc_method_answers_only_the_services_that_need_it(
    edge, channel_body, grpc_as
) -> None:
    owner = await edge.sign_up()
    body = channel_body()
    channel = (await owner.post("/api/v1/channels/whatsapp", json=body)).json()
    calls = {
        "ResolveChannel": auth_pb2.ResolveChannelRequest(phone_number_id=body["phone_number_id"]),
        "GetChannel": auth_pb2.GetChannelRequest(channel_id=channel["id"]),
        "GetSendCredentials": auth_pb2.GetSendCredentialsRequest(channel_id=channel["id"]),
        "MarkChannelDisconnected": auth_pb2.MarkChannelDisconnectedRequest(
            channel_id=channel["id"]
        ),
        "VerifyCredential": auth_pb2.VerifyCredentialRequest(credential=owner.credential),
        "GetUser": auth_pb2.GetUserRequest(user_id=str(owner.user_id)),
    }
    denied = {
        "ResolveChannel": ("whatsapp", "conversation", "ai", "knowledge"),
        "GetChannel": ("whatsapp", "conversation", "ai"),
        "GetSendCredentials": ("gateway", "conversation", "ai", "knowledge"),
        "MarkChannelDisconnected": ("gateway", "conversation", "ai"),
        "VerifyCredential": ("whatsapp", "conversation", "ai", "knowledge"),
        "GetUser": ("whatsapp", "ai", "knowledge"),
    }
    with tenant_scope(owner.tenant_id):
        for method, callers in denied.items():
            for caller in callers:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await getattr(grpc_as(caller), method)(calls[method])
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, (method, caller)
        for caller in ("ai", "knowledge", "conversation", "whatsapp", "gateway"):
            jwks = await grpc_as(caller).GetJwks(auth_pb2.GetJwksRequest())
            assert '"kty": "OKP"' in jwks.json and '"d"' not in jwks.json
    async with grpc.aio.insecure_channel(edge.auth_grpc_target) as anonymous:
        from parley.auth.v1 import auth_pb2_grpc

        with pytest.raises(grpc.aio.AioRpcError) as err:
            await auth_pb2_grpc.AuthServiceStub(anonymous).GetJwks(
                auth_pb2.GetJwksRequest(), timeout=5
            )
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
