"""A customer's question through every real hop: the WhatsApp sandbox (Meta's stand-in) signs
a webhook, the gateway publishes it, conversation asks the AI, the ai service (its own
process) searches the knowledge service (its own process) and answers, conversation sends
the answer, the whatsapp sender delivers it to the sandbox. Exactly one reply, with its
source; and a customer who asks to be called back is handed to a person, with no reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from parley_conversation.main import create_app as create_conversation
from parley_testing.polling import eventually
from parley_testing.services import (
    ChildProcess,
    free_port,
    principal_headers,
    serve_app,
    settings_env,
)
from parley_testing.whatsapp import (
    connect_sandbox_to_gateway,
    new_tenant_with_channel,
    running_auth,
    running_gateway,
    running_sandbox,
    running_whatsapp,
)

ANA = "447700900777"
BEN = "447700900778"
HOURS = (
    "Opening hours",
    "We are open Monday to Friday from 8:00 to 19:00 and on Saturday from 9:00 to 14:00. "
    "On Sundays the shop is closed.",
)
RETURNS = (
    "Returns policy",
    "Unopened coffee can be returned within 30 days of delivery for a full refund.",
)


@asynccontextmanager
async def child_service(module: str, settings: Any, log: Path) -> AsyncIterator[ChildProcess]:
    """`python -m <module>` with `settings`, until the block ends; waits for /readyz."""
    child = ChildProcess(["-m", module], settings_env(settings), log).start()
    try:
        async with httpx.AsyncClient() as client:

            async def ready() -> bool:
                assert child.proc is not None
                if child.proc.poll() is not None:
                    raise AssertionError(f"{module} exited:\n{child.log()[-3000:]}")
                try:
                    response = await client.get(f"http://127.0.0.1:{settings.http_port}/readyz")
                except httpx.TransportError:
                    return False
                return response.status_code == 200

            await eventually(ready, timeout_s=90, interval_s=0.25)
        yield child
    finally:
        child.kill()


async def test_a_customer_question_is_answered_once_from_the_knowledge_base(
    settings_factory, tmp_path
) -> None:
    conversation_port = free_port()
    async with (
        running_auth(settings_factory) as auth,
        running_sandbox() as sandbox,
        running_gateway(
            settings_factory, auth, conversation_http_url=f"http://127.0.0.1:{conversation_port}"
        ) as gateway,
        running_whatsapp(settings_factory, auth, sandbox),
    ):
        knowledge_settings = await settings_factory(
            "knowledge", http_port=free_port(), grpc_port=free_port(), log_level="WARNING"
        )
        ai_settings = await settings_factory(
            "ai",
            http_port=free_port(),
            knowledge_grpc_target=f"127.0.0.1:{knowledge_settings.grpc_port}",
            log_level="WARNING",
        )
        conversation_settings = await settings_factory(
            "conversation", auth_grpc_target=auth.grpc_target
        )
        async with (
            child_service("parley_knowledge", knowledge_settings, tmp_path / "knowledge.log"),
            child_service("parley_ai", ai_settings, tmp_path / "ai.log"),
            serve_app(
                create_conversation(conversation_settings), port=conversation_port
            ) as conversation,
        ):
            for consumer in conversation.runtime.consumers:
                await consumer.wait_until_assigned()
            channel = await new_tenant_with_channel(auth)
            await connect_sandbox_to_gateway(sandbox, channel, gateway)
            owner = channel.owner
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{knowledge_settings.http_port}"
            ) as knowledge:
                headers = principal_headers(knowledge_settings, owner)
                ids = []
                for title, text in (HOURS, RETURNS):
                    added = await knowledge.post(
                        "/api/v1/knowledge/documents",
                        headers=headers,
                        json={"title": title, "text": text},
                    )
                    assert added.status_code in (200, 202), added.text
                    ids.append(added.json()["id"])

                async def indexed() -> bool:
                    states = [
                        (
                            await knowledge.get(f"/api/v1/knowledge/documents/{i}", headers=headers)
                        ).json()["state"]
                        for i in ids
                    ]
                    return all(s == "ready" for s in states)

                await eventually(indexed, timeout_s=60)

            async def write(wa_id: str, text: str) -> None:
                written = await sandbox.client.post(
                    f"/sandbox/customers/{wa_id}/messages",
                    json={
                        "phone_number_id": channel.phone_number_id,
                        "name": "Ana",
                        "text": text,
                    },
                )
                assert written.status_code == 200, written.text

            async def chat(wa_id: str) -> list[dict[str, Any]]:
                response = await sandbox.client.get(
                    "/sandbox/conversation",
                    params={"phone_number_id": channel.phone_number_id, "wa_id": wa_id},
                )
                return list(response.json())

            def texts_sent(messages: list[dict[str, Any]]) -> list[str]:
                return [
                    m["content"]["body"]
                    for m in messages
                    if m["direction"] == "out" and m["type"] == "text"
                ]

            await write(ANA, "When are you open on Saturday?")

            async def answered() -> list[str]:
                return texts_sent(await chat(ANA))

            (reply,) = await eventually(answered, timeout_s=60)
            assert "Saturday from 9:00 to 14:00" in reply
            assert reply.endswith("_Source: Opening hours_")
            messages = await chat(ANA)
            typing = [m for m in messages if m["direction"] == "out" and m["type"] == "read"]
            assert typing and typing[0]["content"]["typing_indicator"]
            await asyncio.sleep(2)  # a duplicate would have arrived by now
            assert len(texts_sent(await chat(ANA))) == 1

            # A callback request goes to the team: no reply, the inbox shows it waiting.
            await write(BEN, "I want a refund for a broken order, call me")
            owner_headers = principal_headers(conversation_settings, owner)

            async def waiting_for_a_person() -> dict[str, Any] | None:
                listed = await conversation.client.get(
                    "/api/v1/conversations", headers=owner_headers
                )
                for item in listed.json()["items"]:
                    if item["contact"]["wa_id"] == BEN and item["state"] == "waiting_human":
                        return dict(item)
                return None

            await eventually(waiting_for_a_person, timeout_s=60)
            assert texts_sent(await chat(BEN)) == []
