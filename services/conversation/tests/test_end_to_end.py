"""One conversation through every real hop: a customer writes in the WhatsApp sandbox (the
stand-in for Meta), the gateway turns the signed webhook into an event, this service hands
the conversation to a person (the customer asked for one), an agent replies, the WhatsApp
sender delivers the reply to the sandbox, and the sandbox's statuses (shuffled and
duplicated, as Meta's can be) come back through the gateway until the reply shows as read."""

from __future__ import annotations

from parley_conversation.main import create_app
from parley_testing.polling import eventually
from parley_testing.services import free_port, principal_headers, serve_app
from parley_testing.whatsapp import (
    connect_sandbox_to_gateway,
    new_tenant_with_channel,
    running_auth,
    running_gateway,
    running_sandbox,
    running_whatsapp,
)

ANA = "447700900555"


async def test_a_customer_asks_for_a_person_and_reads_the_agents_reply(settings_factory) -> None:
    port = free_port()
    async with (
        running_auth(settings_factory) as auth,
        running_sandbox(
            status_shuffle_probability=1.0,
            status_duplicate_probability=1.0,
            status_delay_s=0.05,
            seed=7,
        ) as sandbox,
        running_gateway(
            settings_factory, auth, conversation_http_url=f"http://127.0.0.1:{port}"
        ) as gateway,
        running_whatsapp(settings_factory, auth, sandbox),
    ):
        settings = await settings_factory("conversation", auth_grpc_target=auth.grpc_target)
        async with serve_app(create_app(settings), port=port) as conversation_service:
            for consumer in conversation_service.runtime.consumers:
                await consumer.wait_until_assigned()
            channel = await new_tenant_with_channel(auth)
            await connect_sandbox_to_gateway(sandbox, channel, gateway)
            api = conversation_service.client
            owner = principal_headers(settings, channel.owner)

            written = await sandbox.client.post(
                f"/sandbox/customers/{ANA}/messages",
                json={
                    "phone_number_id": channel.phone_number_id,
                    "name": "Ana",
                    "text": "Quero falar com um atendente, por favor",
                },
            )
            assert written.status_code == 200, written.text

            async def handed_off() -> dict | None:
                items = (await api.get("/api/v1/conversations", headers=owner)).json()["items"]
                return items[0] if items and items[0]["state"] == "waiting_human" else None

            conversation = await eventually(handed_off, timeout_s=60)
            assert conversation["contact"]["wa_id"] == ANA
            assert conversation["contact"]["profile_name"] == "Ana"
            assert conversation["channel_id"] == channel.channel_id

            reply = await api.post(
                f"/api/v1/conversations/{conversation['id']}/messages",
                json={"text": "Olá Ana, aqui é a Bea. Como posso ajudar?"},
                headers=owner,
            )
            assert reply.status_code == 201, reply.text
            message_id = reply.json()["id"]

            async def read_by_customer() -> dict | None:
                message = (
                    await api.get(
                        f"/api/v1/conversations/{conversation['id']}/messages/{message_id}",
                        headers=owner,
                    )
                ).json()
                return message if message["status"] == "read" else None

            delivered = await eventually(read_by_customer, timeout_s=60)
            assert delivered["wamid"]
            chat = (
                await sandbox.client.get(
                    "/sandbox/conversation",
                    params={"phone_number_id": channel.phone_number_id, "wa_id": ANA},
                )
            ).json()
            assert [(m["direction"], m["wamid"]) for m in chat][-1] == ("out", delivered["wamid"])
            current = (
                await api.get(f"/api/v1/conversations/{conversation['id']}", headers=owner)
            ).json()
            assert current["state"] == "human"
            assert current["assignee_user_id"] == str(channel.owner.user_id)
