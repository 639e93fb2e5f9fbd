"""What Meta (or an attacker) sees at the webhook: the handshake, the signature over the raw
bytes, the size limit and malformed bodies; and that nothing is published unless the request
was genuine."""

from __future__ import annotations

import json

import httpx
import pytest
from aiokafka import ConsumerRecord
from parley.whatsapp.v1.events_pb2 import InboundMessage
from parley_platform.events import conversation_key
from parley_platform.events.topics import WHATSAPP_INBOUND
from parley_sandbox import meta
from parley_testing.kafka import header, new_marker, publish_marker, read_until_marker
from parley_testing.whatsapp import (
    AuthService,
    TenantChannel,
    new_tenant_with_channel,
    post_signed,
    running_auth,
    running_gateway,
)

CUSTOMER = "447700900123"


@pytest.fixture
async def edge(settings_factory):
    async with running_auth(settings_factory) as auth:
        channel = await new_tenant_with_channel(auth)
        async with running_gateway(settings_factory, auth) as gateway:
            secret = gateway.runtime.settings.whatsapp_app_secret.get_secret_value()
            yield auth, gateway, channel, secret


@pytest.fixture
def stack(edge):
    _, gateway, channel, secret = edge
    return gateway, channel, secret


def text_notification(channel, body: str, wamid: str | None = None) -> dict:
    return meta.notification(
        channel.waba_id,
        channel.phone_number_id,
        channel.display_phone_number,
        messages=[meta.message(CUSTOMER, "text", {"body": body}, wamid=wamid)],
        contacts=[meta.contact(CUSTOMER, "Ana Example")],
    )


async def inbound_until_marker(
    gateway,
    channel: TenantChannel,
    secret: str,
    path: str = "/webhooks/whatsapp",
) -> list[ConsumerRecord]:
    """Every inbound record published before a marker message, which the same customer
    sends now through the same endpoint (so anything published earlier is ahead of it)."""
    marker = new_marker()
    raw = meta.encode_like_meta(text_notification(channel, marker))
    assert (await post_signed(gateway.client, raw, secret, path)).status_code == 200
    settings = gateway.runtime.settings
    return await read_until_marker(
        settings.kafka_bootstrap, settings.topic_name(WHATSAPP_INBOUND.name), marker
    )


async def auth_lookups(auth: AuthService, outcome: str) -> float:
    """How many webhook look-ups by number auth has answered with `outcome`."""
    scraped = (await auth.running.ops.get("/metrics")).text
    line = f'parley_auth_webhook_channel_lookups_total{{by="phone_number_id",outcome="{outcome}"}}'
    for row in scraped.splitlines():
        if row.startswith(line + " "):
            return float(row.split()[-1])
    return 0.0


async def test_the_handshake_echoes_the_challenge_only_for_the_right_token(stack) -> None:
    gateway, _, _ = stack
    token = gateway.runtime.settings.whatsapp_verify_token.get_secret_value()
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": token}
    answer = await gateway.client.get("/webhooks/whatsapp", params=params)
    assert answer.status_code == 200
    assert answer.text == "1158201444"
    assert answer.headers["content-type"].startswith("text/plain")

    wrong = await gateway.client.get(
        "/webhooks/whatsapp", params={**params, "hub.verify_token": "guess"}
    )
    assert wrong.status_code == 403
    assert "1158201444" not in wrong.text
    assert (
        await gateway.client.get("/webhooks/whatsapp", params={**params, "hub.mode": "other"})
    ).status_code == 403
    missing = {"hub.mode": "subscribe", "hub.challenge": "1"}
    assert (await gateway.client.get("/webhooks/whatsapp", params=missing)).status_code == 403


async def test_a_validly_signed_message_is_published_once_acknowledged(stack) -> None:
    gateway, channel, secret = stack
    raw = meta.encode_like_meta(text_notification(channel, "Hello, is my order shipped?"))
    response = await post_signed(gateway.client, raw, secret)
    assert response.status_code == 200, response.text

    [record] = await inbound_until_marker(gateway, channel, secret)
    message = InboundMessage.FromString(record.value)
    assert message.text.body == "Hello, is my order shipped?"
    assert message.channel_id == channel.channel_id
    assert message.profile_name == "Ana Example"
    assert header(record, "tenant-id") == str(channel.tenant_id)
    assert record.key.decode() == f"{channel.tenant_id}:{CUSTOMER}"


async def test_emoji_accents_and_escaped_slashes_verify_against_the_raw_bytes(stack) -> None:
    gateway, channel, secret = stack
    text = "Olá! Ça coûte 5€? 👋 see https://shop.example/orders/881 — ñ, ü, ß, @ana"
    raw = meta.encode_like_meta(text_notification(channel, text))
    # The bytes are Meta's: \uXXXX escapes and \/; re-serialising them would differ.
    assert b"\\/" in raw and b"\\u00e1" in raw and b"\\ud83d\\udc4b" in raw
    assert json.dumps(json.loads(raw)).encode() != raw

    response = await post_signed(gateway.client, raw, secret)
    assert response.status_code == 200, response.text
    [record] = await inbound_until_marker(gateway, channel, secret)
    assert InboundMessage.FromString(record.value).text.body == text


async def test_a_wrong_or_missing_signature_gets_401_and_publishes_nothing(stack) -> None:
    gateway, channel, secret = stack
    raw = meta.encode_like_meta(text_notification(channel, "forged"))
    headers = {"Content-Type": "application/json"}

    wrong_secret = await post_signed(gateway.client, raw, "not-the-app-secret")
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"]["code"] == "unauthenticated"
    tampered = raw.replace(b"forged", b"FORGED")
    signed_original = {**headers, "X-Hub-Signature-256": meta.signature(secret, raw)}
    assert (
        await gateway.client.post("/webhooks/whatsapp", content=tampered, headers=signed_original)
    ).status_code == 401
    assert (
        await gateway.client.post("/webhooks/whatsapp", content=raw, headers=headers)
    ).status_code == 401
    not_hex = {**headers, "X-Hub-Signature-256": "sha256=ünïcode".encode("latin-1")}
    assert (
        await gateway.client.post("/webhooks/whatsapp", content=raw, headers=not_hex)
    ).status_code == 401
    # A signature over a re-serialised body (the classic mistake) is not Meta's either.
    reserialised = json.dumps(json.loads(raw)).encode()
    assert (await post_signed(gateway.client, raw, secret[::-1])).status_code == 401
    assert (
        await gateway.client.post(
            "/webhooks/whatsapp",
            content=raw,
            headers={**headers, "X-Hub-Signature-256": meta.signature(secret, reserialised)},
        )
    ).status_code == 401

    assert await inbound_until_marker(gateway, channel, secret) == []


async def test_bodies_over_3_mb_get_413_whether_declared_or_streamed(stack) -> None:
    gateway, channel, secret = stack
    padding = "x" * (3 * 1024 * 1024)
    big = meta.encode_like_meta({**text_notification(channel, "too big"), "padding": padding})
    declared = await post_signed(gateway.client, big, secret)
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"

    async def chunks():
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    streamed = await gateway.client.post(
        "/webhooks/whatsapp",
        content=chunks(),
        headers={"X-Hub-Signature-256": meta.signature(secret, big)},
    )
    assert streamed.status_code == 413
    assert await inbound_until_marker(gateway, channel, secret) == []


async def test_invalid_json_or_a_foreign_shape_gets_400_with_a_clear_message(stack) -> None:
    gateway, _, secret = stack
    not_json = await post_signed(gateway.client, b'{"entry": [', secret)
    assert not_json.status_code == 400
    assert not_json.json()["error"]["code"] == "invalid_request"
    assert "Traceback" not in not_json.text
    nested = b'{"entry": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for body in (b"[]", b'{"object": "page", "entry": []}', b'{"entry": {}}', b'"text"', nested):
        response = await post_signed(gateway.client, body, secret)
        assert response.status_code == 400, body[:50]
        assert "not a WhatsApp notification" in response.json()["error"]["message"]


async def test_the_handshake_and_webhooks_of_a_business_with_its_own_app(
    settings_factory,
) -> None:
    async with running_auth(settings_factory) as auth:
        own = await new_tenant_with_channel(auth, own_app_secret="the-business-app-secret-1")
        platform = await new_tenant_with_channel(auth)
        async with running_gateway(settings_factory, auth) as gateway:
            path = f"/webhooks/whatsapp/{own.channel_id}"
            assert own.verify_token
            params = {
                "hub.mode": "subscribe",
                "hub.challenge": "42",
                "hub.verify_token": own.verify_token,
            }
            answer = await gateway.client.get(path, params=params)
            assert (answer.status_code, answer.text) == (200, "42")
            assert (
                await gateway.client.get(path, params={**params, "hub.verify_token": "x"})
            ).status_code == 403
            # A channel on the platform's app has no endpoint of its own; nor has a random id.
            for other in (platform.channel_id, "00000000-0000-4000-8000-000000000000", "nope"):
                assert (
                    await gateway.client.get(f"/webhooks/whatsapp/{other}", params=params)
                ).status_code == 404

            # Signed with the business's secret: accepted, but only its own number's changes.
            own_message = text_notification(own, "from the own app")
            foreign = text_notification(platform, "smuggled into another tenant")
            own_message["entry"] += foreign["entry"]
            raw = meta.encode_like_meta(own_message)
            platform_secret = gateway.runtime.settings.whatsapp_app_secret.get_secret_value()
            assert (
                await post_signed(gateway.client, raw, platform_secret, path)
            ).status_code == 401
            accepted = await post_signed(gateway.client, raw, "the-business-app-secret-1", path)
            assert accepted.status_code == 200
            assert accepted.json() == {"events": 1, "skipped": 1}
            records = await inbound_until_marker(gateway, own, "the-business-app-secret-1", path)
            assert [InboundMessage.FromString(r.value).text.body for r in records] == [
                "from the own app"
            ]
            assert header(records[0], "tenant-id") == str(own.tenant_id)

            # The platform endpoint does not take that business's number.
            skipped = await post_signed(
                gateway.client, meta.encode_like_meta(text_notification(own, "x")), platform_secret
            )
            assert skipped.json() == {"events": 0, "skipped": 1}


async def test_unknown_numbers_are_counted_and_never_fail_the_request(edge) -> None:
    auth, gateway, channel, secret = edge
    stranger = meta.notification(
        "1", "999000111", "15550009999", messages=[meta.message(CUSTOMER, "text", {"body": "?"})]
    )
    mixed = text_notification(channel, "known")
    mixed["entry"] += stranger["entry"]
    found, unknown = await auth_lookups(auth, "found"), await auth_lookups(auth, "unknown")
    for _ in range(3):
        response = await post_signed(gateway.client, meta.encode_like_meta(mixed), secret)
        assert response.status_code == 200
        assert response.json() == {"events": 1, "skipped": 1}
    # Both answers are cached by the gateway: auth was asked once about each number.
    assert await auth_lookups(auth, "found") == found + 1
    assert await auth_lookups(auth, "unknown") == unknown + 1
    metrics = (await gateway.ops.get("/metrics")).text
    assert 'parley_webhook_updates_total{kind="change",outcome="unknown_number"}' in metrics


async def test_the_webhook_answers_503_when_the_channel_registry_is_unreachable(
    settings_factory,
) -> None:
    async with running_auth(settings_factory) as auth:
        channel = await new_tenant_with_channel(auth)
        # Nothing listens on port 9: every channel look-up fails, so Meta must retry later.
        async with running_gateway(
            settings_factory, auth, auth_grpc_target="127.0.0.1:9", grpc_deadline_s=1.0
        ) as gateway:
            secret = gateway.runtime.settings.whatsapp_app_secret.get_secret_value()
            raw = meta.encode_like_meta(text_notification(channel, "retry me"))
            try:
                response = await post_signed(gateway.client, raw, secret)
            except httpx.ReadTimeout:
                pytest.fail("the gateway hung instead of answering 503")
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "unavailable"
            # The gateway cannot publish a marker now (no channel resolves): one is published
            # beside it, with the key the message would have had.
            settings = gateway.runtime.settings
            topic = settings.topic_name(WHATSAPP_INBOUND.name)
            key = conversation_key(channel.tenant_id, CUSTOMER).encode()
            marker = await publish_marker(settings.kafka_bootstrap, topic, key)
            assert await read_until_marker(settings.kafka_bootstrap, topic, marker) == []
