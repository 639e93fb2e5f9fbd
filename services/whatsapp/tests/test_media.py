"""A customer sends a file: it travels sandbox -> gateway -> Kafka -> whatsapp, is fetched
with the channel's token, stored, announced, and an agent of that tenant (only) who may see
the conversation (the conversation service, running here, says who) can open it."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from parley.whatsapp.v1 import events_pb2 as wa
from parley_platform.events.topics import WHATSAPP_MEDIA
from parley_platform.identity import Principal, Role
from parley_sandbox import meta
from parley_testing.kafka import new_marker, read_until_marker
from parley_testing.polling import eventually
from parley_testing.services import RunningApp, principal_headers
from parley_testing.whatsapp import (
    TenantChannel,
    connect_sandbox_to_gateway,
    new_tenant_with_channel,
    post_signed,
    running_auth,
    running_conversation,
    running_gateway,
    running_sandbox,
    running_whatsapp,
)

ANA = "447700900123"
PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


@dataclass
class Stack:
    sandbox: RunningApp
    gateway: RunningApp
    whatsapp: RunningApp
    channel: TenantChannel
    conversation: RunningApp | None = None

    async def customer_sends(self, kind: str, content: bytes, mime_type: str, **media) -> dict:
        response = await self.sandbox.client.post(
            f"/sandbox/customers/{ANA}/messages",
            json={
                "phone_number_id": self.channel.phone_number_id,
                "media_kind": kind,
                "media": {
                    "data_base64": base64.b64encode(content).decode(),
                    "mime_type": mime_type,
                    **media,
                },
            },
        )
        assert response.json()["webhook_status"] == 200, response.text
        return response.json()

    async def stored(self) -> list[wa.MediaStored]:
        """Every media notice so far (markers left out). Ana sends one more (small) file,
        named with a marker, after everything else, and the notices are read up to its own:
        a late or repeated notice would be among them."""
        marker = new_marker()
        await self.customer_sends(
            "document", b"%PDF-1.4 marker", "application/pdf", filename=marker
        )
        settings = self.whatsapp.runtime.settings
        records = await read_until_marker(
            settings.kafka_bootstrap, settings.topic_name(WHATSAPP_MEDIA.name), marker
        )
        notices = [wa.MediaStored.FromString(r.value) for r in records]
        return [n for n in notices if not n.filename.startswith("marker-")]  # earlier markers

    async def open(self, storage_id: str, principal: Principal | None):
        headers = principal_headers(self.whatsapp.runtime.settings, principal)
        return await self.whatsapp.client.get(f"/api/v1/media/{storage_id}", headers=headers)

    async def opened(self, storage_id: str, principal: Principal):
        """The file as `principal` opens it, once the conversation service has the message
        (it consumes the same webhook the file came with)."""

        async def served():
            response = await self.open(storage_id, principal)
            return response if response.status_code != 404 else None

        return await eventually(served, timeout_s=30)

    async def conversation_call(self, method: str, path: str, principal: Principal):
        assert self.conversation is not None
        headers = principal_headers(self.conversation.runtime.settings, principal)
        return await self.conversation.client.request(method, path, headers=headers)


@asynccontextmanager
async def open_stack(settings_factory, **whatsapp_overrides) -> AsyncIterator[Stack]:
    async with (
        running_auth(settings_factory) as auth,
        running_sandbox(status_webhooks=False) as sandbox,
        running_gateway(settings_factory, auth) as gateway,
        running_conversation(settings_factory, auth) as conversation,
        running_whatsapp(
            settings_factory,
            auth,
            sandbox,
            conversation_http_url=conversation.base_url,
            **whatsapp_overrides,
        ) as whatsapp,
    ):
        channel = await new_tenant_with_channel(auth)
        await connect_sandbox_to_gateway(sandbox, channel, gateway)
        yield Stack(sandbox, gateway, whatsapp, channel, conversation)


def agent_of(tenant: uuid.UUID) -> Principal:
    return Principal(tenant_id=tenant, role=Role.AGENT, user_id=uuid.uuid4())


async def test_an_agent_opens_the_picture_a_customer_sent(settings_factory) -> None:
    async with open_stack(settings_factory) as s:
        sent = await s.customer_sends("image", PICTURE, "image/png", caption="broken part")
        [stored] = await s.stored()
        assert stored.error == ""
        assert stored.media_id == sent["message"]["image"]["id"]
        assert stored.wamid == sent["wamid"]
        assert (stored.mime_type, stored.size_bytes) == ("image/png", len(PICTURE))
        assert stored.kind == "image"

        response = await s.opened(stored.storage_id, agent_of(s.channel.tenant_id))
        assert response.status_code == 200
        assert response.content == PICTURE
        assert response.headers["content-type"] == "image/png"
        assert response.headers["x-content-type-options"] == "nosniff"

        # Another tenant's agent, a forged or missing principal, a key without the scope:
        other = await s.open(stored.storage_id, agent_of(uuid.uuid4()))
        assert other.status_code == 404 and PICTURE not in other.content
        assert (await s.open(stored.storage_id, None)).status_code == 401
        assert (
            await s.whatsapp.client.get(f"/api/v1/media/{stored.storage_id}")
        ).status_code == 401
        key = Principal(
            tenant_id=s.channel.tenant_id,
            role=Role.AGENT,
            api_key_id=uuid.uuid4(),
            scopes=frozenset(),
        )
        assert (await s.open(stored.storage_id, key)).status_code == 403
        assert (await s.open("not-a-uuid", agent_of(s.channel.tenant_id))).status_code == 404


async def test_only_who_may_see_the_conversation_opens_its_files(settings_factory) -> None:
    async with open_stack(settings_factory) as s:
        await s.customer_sends("image", PICTURE, "image/png")
        [stored] = await s.stored()
        tenant = s.channel.tenant_id
        admin = Principal(tenant_id=tenant, role=Role.ADMIN, user_id=uuid.uuid4())
        bea, carl = agent_of(tenant), agent_of(tenant)
        assert (await s.opened(stored.storage_id, bea)).status_code == 200  # unassigned yet
        listed = await s.conversation_call("GET", "/api/v1/conversations", admin)
        [conversation] = listed.json()["items"]
        taken = await s.conversation_call(
            "POST", f"/api/v1/conversations/{conversation['id']}/takeover", bea
        )
        assert taken.status_code == 200, taken.text

        # Bea holds the conversation now: Carl no longer sees it, nor its files.
        hidden = await s.open(stored.storage_id, carl)
        assert hidden.status_code == 404 and PICTURE not in hidden.content
        assert (await s.open(stored.storage_id, bea)).content == PICTURE
        assert (await s.open(stored.storage_id, admin)).content == PICTURE


async def test_a_document_is_offered_as_a_download_not_rendered(settings_factory) -> None:
    async with open_stack(settings_factory) as s:
        html = b"<html><script>alert(1)</script></html>"
        await s.customer_sends("document", html, "text/html", filename='x"; evil=.html')
        [stored] = await s.stored()
        assert (stored.kind, stored.filename) == ("document", 'x"; evil=.html')
        response = await s.opened(stored.storage_id, agent_of(s.channel.tenant_id))
        assert response.content == html
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment;") and '"; evil' not in disposition


async def test_a_file_too_large_to_store_is_announced_with_the_reason(settings_factory) -> None:
    async with open_stack(settings_factory, media_max_bytes=4096) as s:
        await s.customer_sends("video", b"\x00" * 10_000, "video/mp4")
        [stored] = await s.stored()
        assert stored.storage_id == "" and "larger than the 4096 bytes" in stored.error


async def test_metas_repeated_webhook_stores_the_file_once(settings_factory) -> None:
    async with open_stack(settings_factory) as s:
        sent = await s.customer_sends("audio", b"OggS" + b"\x01" * 500, "audio/ogg", voice=True)
        [stored] = await s.stored()
        again = meta.notification(
            s.channel.waba_id,
            s.channel.phone_number_id,
            s.channel.display_phone_number,
            messages=[sent["message"]],
            contacts=[meta.contact(ANA, "Ana")],
        )
        secret = s.gateway.runtime.settings.whatsapp_app_secret.get_secret_value()
        for _ in range(2):
            response = await post_signed(s.gateway.client, meta.encode_like_meta(again), secret)
            assert response.status_code == 200
        assert [m.storage_id for m in await s.stored()] == [stored.storage_id]


async def test_a_download_url_that_keeps_expiring_is_retried_then_reported(
    settings_factory,
) -> None:
    async with (
        running_auth(settings_factory) as auth,
        # Every download URL is already stale when Parley uses it.
        running_sandbox(status_webhooks=False, media_url_ttl_s=0.001) as sandbox,
        running_gateway(settings_factory, auth) as gateway,
        running_whatsapp(settings_factory, auth, sandbox, media_download_attempts=3) as whatsapp,
    ):
        channel = await new_tenant_with_channel(auth)
        await connect_sandbox_to_gateway(sandbox, channel, gateway)
        s = Stack(sandbox, gateway, whatsapp, channel)
        await s.customer_sends("image", PICTURE, "image/png")
        [stored] = await s.stored()
        assert stored.storage_id == "" and stored.error == "the download URL kept expiring"
