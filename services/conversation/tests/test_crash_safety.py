"""The service killed mid-batch (SIGKILL, no goodbye) and started again: no customer
message is lost or stored twice, and each gets exactly one AI request."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import httpx
from parley_conversation.config import Settings
from parley_platform.db import Database
from parley_platform.events import OutgoingEvent
from parley_platform.events.envelope import derived_event_id
from parley_platform.events.topics import CONVERSATION_AI_REQUESTED, WHATSAPP_INBOUND
from parley_platform.identity import Principal, Role
from parley_testing.kafka import header, new_marker, read_until_marker
from parley_testing.polling import eventually
from parley_testing.services import (
    ChildProcess,
    free_port,
    outbox_drained,
    principal_headers,
    settings_env,
)
from sqlalchemy import text

CUSTOMERS = 40
# Enough that the kill lands mid-backlog however fast the service stores messages.
MESSAGES_EACH = 10


def _start(settings, tmp_path: Path) -> ChildProcess:
    return ChildProcess(
        ["-m", "parley_conversation"],
        settings_env(settings),
        tmp_path / f"conversation-{uuid.uuid4().hex[:6]}.log",
    ).start()


async def _stored_wamids(
    client: httpx.AsyncClient, settings: Settings, admin: Principal
) -> list[str]:
    # Fresh headers each time: the gateway's internal token lives 60 s, and this test can
    # run longer than that on a busy machine.
    headers = principal_headers(settings, admin)
    wamids: list[str] = []
    conversations = await client.get(
        "/api/v1/conversations", params={"limit": 100}, headers=headers
    )
    assert conversations.status_code == 200, conversations.text
    for conversation in conversations.json()["items"]:
        messages = await client.get(
            f"/api/v1/conversations/{conversation['id']}/messages",
            params={"limit": 100},
            headers=headers,
        )
        wamids += [m["wamid"] for m in messages.json()["items"]]
    return wamids


async def test_a_service_killed_mid_batch_loses_nothing_and_repeats_nothing(
    conversation_settings, producer, customers, tmp_path
) -> None:
    settings = conversation_settings.model_copy(update={"http_port": free_port()})
    tenant = uuid.uuid4()
    admin = Principal(tenant_id=tenant, role=Role.ADMIN, user_id=uuid.uuid4())
    writers = [customers.customer(tenant) for _ in range(CUSTOMERS)]
    events = []
    messages = []
    for round_ in range(MESSAGES_EACH):
        for customer in writers:
            message = customers.inbound(customer, f"message {round_}")
            messages.append(message)
            events.append(
                OutgoingEvent(
                    topic=WHATSAPP_INBOUND,
                    key=customer.key,
                    payload=message,
                    tenant_id=tenant,
                    event_id=derived_event_id(str(tenant), message.wamid),
                )
            )
    published = {m.wamid for m in messages}

    assert settings.database_url is not None
    database = Database(settings.database_url.get_secret_value(), instrument=False)
    service = _start(settings, tmp_path)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{settings.http_port}", timeout=15
    ) as client:
        try:

            async def alive() -> bool:
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(alive, timeout_s=60)
            await producer.publish(*events)

            async def some_stored() -> int:
                # Counted in the database (one query, not a walk through the API), so the
                # kill follows the first stored messages closely.
                async with database.tenant_session(tenant) as session:
                    stored = (await session.execute(text("SELECT count(*) FROM messages"))).scalar()
                return stored if stored and stored >= 20 else 0

            before_kill = await eventually(some_stored, timeout_s=60, interval_s=0.05)
        finally:
            service.kill()  # SIGKILL in the middle of the backlog
        assert before_kill < len(published), "the backlog was done before the kill"

        restarted = _start(settings, tmp_path)
        try:
            await eventually(alive, timeout_s=60)

            async def all_stored() -> list[str] | None:
                wamids = await _stored_wamids(client, settings, admin)
                return wamids if len(set(wamids)) >= len(published) else None

            stored = await eventually(all_stored, timeout_s=120, interval_s=0.5)
            # A marker message from every customer: each one's AI requests are ahead of it.
            marker = new_marker()
            await producer.publish(
                *(
                    OutgoingEvent(
                        topic=WHATSAPP_INBOUND,
                        key=customer.key,
                        payload=customers.inbound(customer, marker),
                        tenant_id=tenant,
                    )
                    for customer in writers
                )
            )
            requests = await read_until_marker(
                settings.kafka_bootstrap,
                settings.topic_name(CONVERSATION_AI_REQUESTED.name),
                marker,
                markers=len(writers),
                timeout_s=120,
            )
            # Let the relay finish before the last kill: rows left in the outbox (shared by
            # this session's tests) would be relayed again into the next test's topics.
            await eventually(lambda: outbox_drained(settings), timeout_s=60)
        finally:
            restarted.kill()
            await database.dispose()

    assert Counter(stored) == Counter(published)  # each exactly once
    # The relay may publish a row twice if killed between Kafka's ack and the row's
    # deletion; such a repeat carries the same event id, which consumers dedupe on.
    assert len({header(r, "event-id") for r in requests}) == len(published)
