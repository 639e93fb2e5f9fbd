"""The WhatsApp channel registry: registering numbers only with Meta's confirmation (the
token reads the number, the number is in the WABA, the app subscribes), what the dashboard
shows (webhook URL and verify token, never the secrets), encryption at rest, and what the
gateway and the whatsapp service get over gRPC (and nobody else)."""

from __future__ import annotations

import uuid

import grpc
import pytest
from parley.auth.v1 import auth_pb2
from parley_devstack.seeding import WhatsAppNumber
from parley_platform.context import tenant_scope
from parley_testing.edge import serve_edge
from parley_testing.services import free_port
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def test_registering_a_number_shows_the_webhook_to_configure(edge, channel_body) -> None:
    owner = await edge.sign_up()
    body = await channel_body()
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

    own_app = await channel_body(
        app_secret="0123456789abcdef0123", verify_token="my-verify-token-1"
    )
    created = (await owner.post("/api/v1/channels/whatsapp", json=own_app)).json()
    assert created["uses_own_app"] is True
    assert created["webhook"]["url"] == f"http://127.0.0.1:8080/webhooks/whatsapp/{created['id']}"
    assert created["webhook"]["verify_token"] == "my-verify-token-1"

    generated = (
        await owner.post(
            "/api/v1/channels/whatsapp", json=await channel_body(app_secret="0123456789abcdef0123")
        )
    ).json()
    assert len(generated["webhook"]["verify_token"]) >= 24


async def test_secrets_are_never_returned(edge, channel_body) -> None:
    owner = await edge.sign_up()
    body = await channel_body(app_secret="app-secret-" + uuid.uuid4().hex)
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
    body = await channel_body(
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


async def test_a_number_belongs_to_one_tenant_and_the_refusal_names_nobody(
    edge, channel_body
) -> None:
    alpha = await edge.sign_up("Alpha Distinctive Name")
    bravo = await edge.sign_up("Bravo")
    body = await channel_body()
    assert (await alpha.post("/api/v1/channels/whatsapp", json=body)).status_code == 201
    # Only someone Meta lets manage the number learns that it is taken, and not by whom.
    taken = await bravo.post("/api/v1/channels/whatsapp", json=body)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "phone_number_taken"
    for revealing in ("Alpha", str(alpha.tenant_id), str(alpha.email)):
        assert revealing not in taken.text
    again = await alpha.post("/api/v1/channels/whatsapp", json=body)
    assert again.status_code == 409
    assert (await bravo.get("/api/v1/channels/whatsapp")).json() == []


async def test_a_number_cannot_be_claimed_without_metas_confirmation(edge, channel_body) -> None:
    victim = await edge.sign_up("Victim")
    registered = await channel_body()
    assert (await victim.post("/api/v1/channels/whatsapp", json=registered)).status_code == 201
    unregistered = await channel_body()  # at Meta, but connected to no Parley account
    attacker = await edge.sign_up("Attacker")
    attackers_own = await channel_body()  # a real token, of another business's WABA

    def claim(body: dict, **changes: object) -> dict:
        return {**body, **changes}

    attempts = {
        "made-up token, registered number": claim(registered, access_token="EAAGmadeup12345"),
        "made-up token, free number": claim(unregistered, access_token="EAAGmadeup12345"),
        "made-up token, unknown number": claim(
            unregistered, phone_number_id="199999999999999", access_token="EAAGmadeup12345"
        ),
        "another business's token": claim(registered, access_token=attackers_own["access_token"]),
        "right token, another WABA": claim(unregistered, waba_id=attackers_own["waba_id"]),
        "own WABA, someone else's number": claim(
            attackers_own, phone_number_id=registered["phone_number_id"]
        ),
    }
    answers = {}
    for what, body in attempts.items():
        response = await attacker.post("/api/v1/channels/whatsapp", json=body)
        assert response.status_code == 400, (what, response.text)
        answers[what] = response.json()["error"]
        answers[what].pop("trace_id", None)
    # One answer for all: nothing tells which numbers exist or are registered with Parley.
    assert len({str(a) for a in answers.values()}) == 1
    assert answers["made-up token, registered number"]["code"] == "channel_not_verified"
    assert (await attacker.get("/api/v1/channels/whatsapp")).json() == []
    # Meta never saw an app subscribe to WABAs nobody proved control of.
    served = {n["waba_id"]: n for n in (await edge.sandbox.client.get("/sandbox/numbers")).json()}
    assert not served[unregistered["waba_id"]]["app_subscribed"]
    assert served[registered["waba_id"]]["app_subscribed"]  # the victim's own registration


async def test_meta_unreachable_is_503_and_stores_nothing(settings_factory) -> None:
    async with serve_edge(
        settings_factory, auth={"graph_api_base_url": f"http://127.0.0.1:{free_port()}"}
    ) as edge:
        owner = await edge.sign_up()
        number = await edge.new_number()
        body = number.registration()
        refused = await owner.post("/api/v1/channels/whatsapp", json=body)
        assert refused.status_code == 503 and number.access_token not in refused.text
        assert (await owner.get("/api/v1/channels/whatsapp")).json() == []


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
        response = await owner.post("/api/v1/channels/whatsapp", json=await channel_body(**change))
        assert response.status_code == 422, change
        assert "has space in it" not in response.text  # input is not echoed back
    assert (await owner.get("/api/v1/channels/whatsapp")).json() == []


async def test_patch_rotates_the_token_switches_apps_and_delete_frees_the_number(
    edge, channel_body, grpc_as
) -> None:
    owner = await edge.sign_up()
    body = await channel_body()
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

    # The business makes a new token at Meta (the old one stops working there)...
    new_token = "EAAGnewtoken-" + uuid.uuid4().hex
    await edge.meta.serve(number_of(body, access_token=new_token))
    # ...a token Meta does not accept is refused and changes nothing...
    for bad in ({"access_token": "EAAGnotmetas-" + uuid.uuid4().hex}, body):
        refused = await owner.patch(
            f"/api/v1/channels/whatsapp/{channel['id']}",
            json={"access_token": bad["access_token"], "app_secret": "x" * 32},
        )
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "channel_not_verified"
    still = (await owner.get(f"/api/v1/channels/whatsapp/{channel['id']}")).json()
    assert still["status"] == "disconnected" and not still["uses_own_app"]
    # ...and the new one, with a switch to the business's own app, reconnects the channel.
    patched = await owner.patch(
        f"/api/v1/channels/whatsapp/{channel['id']}",
        json={"access_token": new_token, "app_secret": "x" * 32},
    )
    assert patched.status_code == 200
    assert patched.json()["status"] == "connected" and patched.json()["uses_own_app"]
    assert patched.json()["webhook"]["url"].endswith(f"/webhooks/whatsapp/{channel['id']}")
    with tenant_scope(owner.tenant_id):
        creds = await whatsapp.GetSendCredentials(request)
    assert creds.access_token == new_token and not creds.disconnected

    # Switching back to Parley's app is checked with Meta too, with the stored token.
    await edge.meta.serve(number_of(body, access_token="EAAGyetanother-" + uuid.uuid4().hex))
    refused = await owner.patch(
        f"/api/v1/channels/whatsapp/{channel['id']}", json={"app_secret": None}
    )
    assert refused.status_code == 400
    await edge.meta.serve(number_of(body, access_token=new_token))
    back = await owner.patch(
        f"/api/v1/channels/whatsapp/{channel['id']}", json={"app_secret": None}
    )
    assert back.status_code == 200 and back.json()["uses_own_app"] is False
    removed = await owner.patch(
        f"/api/v1/channels/whatsapp/{channel['id']}", json={"access_token": None}
    )
    assert removed.status_code == 400

    assert (await owner.delete(f"/api/v1/channels/whatsapp/{channel['id']}")).status_code == 204
    assert (await owner.get(f"/api/v1/channels/whatsapp/{channel['id']}")).status_code == 404
    other = await edge.sign_up("Next owner of the number")
    reconnected = await other.post(
        "/api/v1/channels/whatsapp", json={**body, "access_token": new_token}
    )
    assert reconnected.status_code == 201


def number_of(body: dict, **changes: str) -> WhatsAppNumber:
    """The number a registration body names, as Meta knows it."""
    return WhatsAppNumber(
        phone_number_id=str(body["phone_number_id"]),
        waba_id=str(body["waba_id"]),
        display_phone_number=str(body["display_phone_number"]),
        access_token=changes.get("access_token", str(body["access_token"])),
    )


async def test_the_gateway_resolves_webhooks_to_tenant_channel_and_secrets(
    edge, channel_body, grpc_as
) -> None:
    owner = await edge.sign_up()
    own = await channel_body(app_secret="own-app-secret-123", verify_token="own-verify-token")
    platform = await channel_body()
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
    body = await channel_body()
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
