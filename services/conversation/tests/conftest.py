"""Fixtures of the conversation service's tests: the real service over HTTP against the
session's Kafka and PostgreSQL, and a harness that plays the other parties through their
real contracts (the gateway's inbound and status events, the sender's outcomes, the AI's
replies, the gateway's forwarded API calls)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from aiokafka import ConsumerRecord
from aiokafka.partitioner import DefaultPartitioner
from google.protobuf.message import Message as ProtoMessage
from parley.ai.v1 import events_pb2 as ai_events
from parley.conversation.v1 import events_pb2 as conversation_events
from parley.whatsapp.v1 import events_pb2 as whatsapp
from parley_conversation.config import Settings
from parley_conversation.main import create_app
from parley_platform.events import EventProducer, OutgoingEvent, conversation_key, timestamp
from parley_platform.events.envelope import derived_event_id
from parley_platform.events.topics import (
    AI_REPLY,
    CONVERSATION_AI_REQUESTED,
    CONVERSATION_CHANGED,
    WHATSAPP_INBOUND,
    WHATSAPP_MEDIA,
    WHATSAPP_OUTBOUND,
    WHATSAPP_OUTCOME,
    WHATSAPP_STATUS,
    Topic,
)
from parley_platform.identity import Principal, Role
from parley_testing.edge import ApiClient, Edge, serve_edge
from parley_testing.kafka import collect, new_marker, read_until_marker
from parley_testing.polling import eventually
from parley_testing.services import RunningApp, free_port, principal_headers, serve_app

P = TypeVar("P", bound=ProtoMessage)


@dataclass
class Customer:
    """A WhatsApp customer of a tenant, writing to its business number."""

    tenant: uuid.UUID
    wa_id: str
    name: str = "Ana Example"
    channel_id: str = "channel-1"
    phone_number_id: str = "phone-1"
    bsuid: str = ""
    sent: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return conversation_key(self.tenant, self.wa_id or self.bsuid)


@dataclass
class SseEvent:
    """One server-sent event as a client parses it."""

    event: str | None
    id: str | None
    data: Any

    @property
    def kind(self) -> str | None:
        return self.data.get("kind") if isinstance(self.data, dict) else None


class LiveStream:
    """A client of `GET /api/v1/events`, reading in the background."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self._client = client
        self._headers = headers
        self.events: list[SseEvent] = []
        self.status: int | None = None
        self.connected = asyncio.Event()
        self.ended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveStream:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self.connected.wait(), timeout=30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _read(self) -> None:
        try:
            async with self._client.stream(
                "GET", "/api/v1/events", headers=self._headers, timeout=None
            ) as response:
                self.status = response.status_code
                if response.status_code != 200:
                    await response.aread()
                    self.connected.set()
                    return
                fields: dict[str, str] = {}
                async for line in response.aiter_lines():
                    if line.startswith(":"):
                        self.connected.set()
                    elif line == "":
                        if fields:
                            data = fields.get("data")
                            self.events.append(
                                SseEvent(
                                    fields.get("event"),
                                    fields.get("id"),
                                    json.loads(data) if data is not None else None,
                                )
                            )
                        fields = {}
                    else:
                        name, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        fields[name] = f"{fields[name]}\n{value}" if name in fields else value
        finally:
            self.ended.set()

    def data(self) -> list[dict[str, Any]]:
        """The data of the change events received so far."""
        return [e.data for e in self.events if e.kind is not None]

    async def until(self, check: Any, timeout_s: float = 30) -> list[dict[str, Any]]:
        """Wait until `check(changes)` holds for the changes received; returns them."""

        async def holds() -> list[dict[str, Any]] | None:
            changes = self.data()
            return changes if check(changes) else None

        return await eventually(holds, timeout_s=timeout_s)


class Customers:
    """Customers, and their messages shaped as the gateway publishes them."""

    @staticmethod
    def customer(tenant: uuid.UUID, **kw: Any) -> Customer:
        """A customer with a fresh number."""
        wa_id = kw.pop("wa_id", f"44{uuid.uuid4().int % 10**10:010d}")
        return Customer(tenant=tenant, wa_id=wa_id, **kw)

    @staticmethod
    def inbound(
        customer: Customer,
        text: str | None = "hello",
        *,
        wamid: str | None = None,
        sent_at: datetime | None = None,
        **fields: Any,
    ) -> whatsapp.InboundMessage:
        message = whatsapp.InboundMessage(
            channel_id=customer.channel_id,
            phone_number_id=customer.phone_number_id,
            wamid=wamid or f"wamid.{uuid.uuid4().hex}",
            from_wa_id=customer.wa_id,
            contact_wa_id=customer.wa_id,
            from_user_id=customer.bsuid,
            profile_name=customer.name,
            sent_at=timestamp(sent_at or datetime.now(UTC)),
            type="text" if text is not None else fields.pop("type", "image"),
            **fields,
        )
        if text is not None:
            message.text.body = text
        return message


@dataclass
class Harness(Customers):
    """Talks to a running conversation service the way the platform does."""

    running: RunningApp
    settings: Settings
    producer: EventProducer

    @property
    def client(self) -> httpx.AsyncClient:
        return self.running.client

    def partition_of(self, customer: Customer) -> int:
        """The partition of every topic that a customer's conversation events go to."""
        everyone = list(range(self.settings.kafka_partitions))
        return int(DefaultPartitioner()(customer.key.encode(), everyone, everyone))

    def customers_beside(self, *others: Customer) -> list[Customer]:
        """New customers of `others`' tenant, one on each partition `others` use: markers
        from them follow everything `others` caused, on every partition involved, even in
        a stream that merges all conversations."""
        partitions = {self.partition_of(c) for c in others}
        found: dict[int, Customer] = {}
        while len(found) < len(partitions):
            candidate = self.customer(others[0].tenant)
            if (partition := self.partition_of(candidate)) in partitions:
                found.setdefault(partition, candidate)
        return list(found.values())

    # ------------------------------------------------------------------ people

    @staticmethod
    def admin(tenant: uuid.UUID) -> Principal:
        return Principal(tenant_id=tenant, role=Role.ADMIN, user_id=uuid.uuid4())

    @staticmethod
    def agent(tenant: uuid.UUID, *teams: uuid.UUID, user_id: uuid.UUID | None = None) -> Principal:
        return Principal(
            tenant_id=tenant,
            role=Role.AGENT,
            user_id=user_id or uuid.uuid4(),
            team_ids=frozenset(teams),
        )

    # ------------------------------------------------------------------ events in

    async def publish(
        self,
        topic: Topic,
        tenant: uuid.UUID,
        key: str,
        payload: ProtoMessage,
        event_id: str | None = None,
    ) -> OutgoingEvent:
        event = OutgoingEvent(topic=topic, key=key, payload=payload, tenant_id=tenant)
        if event_id:
            event.event_id = event_id
        await self.producer.publish(event)
        return event

    async def customer_says(
        self, customer: Customer, text: str | None = "hello", **kw: Any
    ) -> whatsapp.InboundMessage:
        """Publish a customer message as the gateway does (event id derived from the wamid)."""
        message = self.inbound(customer, text, **kw)
        await self.publish_inbound(customer, message)
        return message

    async def publish_inbound(self, customer: Customer, message: whatsapp.InboundMessage) -> None:
        await self.publish(
            WHATSAPP_INBOUND,
            customer.tenant,
            customer.key,
            message,
            event_id=derived_event_id(str(customer.tenant), message.wamid),
        )
        customer.sent.append(message.wamid)

    async def status(
        self,
        customer: Customer,
        wamid: str,
        status: whatsapp.DeliveryStatus,
        *,
        at: datetime | None = None,
        errors: list[Any] | None = None,
    ) -> None:
        payload = whatsapp.MessageStatus(
            channel_id=customer.channel_id,
            phone_number_id=customer.phone_number_id,
            wamid=wamid,
            status=status,
            at=timestamp(at or datetime.now(UTC)),
            recipient_wa_id=customer.wa_id,
            errors=errors or [],
        )
        await self.publish(
            WHATSAPP_STATUS,
            customer.tenant,
            customer.key,
            payload,
            event_id=derived_event_id(str(customer.tenant), wamid, str(status)),
        )

    async def outcome(
        self, customer: Customer, message_id: str, result: whatsapp.SendResult, **fields: Any
    ) -> None:
        payload = whatsapp.SendOutcome(
            message_id=message_id,
            channel_id=customer.channel_id,
            result=result,
            at=timestamp(),
            **fields,
        )
        await self.publish(WHATSAPP_OUTCOME, customer.tenant, customer.key, payload)

    async def media_stored(self, customer: Customer, **fields: Any) -> None:
        await self.publish(
            WHATSAPP_MEDIA, customer.tenant, customer.key, whatsapp.MediaStored(**fields)
        )

    async def ai_answers(
        self, customer: Customer, request: conversation_events.AiRequested, text: str
    ) -> None:
        reply = ai_events.AiReply(
            request_id=request.request_id,
            conversation_id=request.conversation_id,
            message_id=request.message_id,
            answer=ai_events.Answer(text=text, confidence=0.9),
        )
        await self.publish(AI_REPLY, customer.tenant, customer.key, reply)

    async def ai_hands_off(
        self,
        customer: Customer,
        request: conversation_events.AiRequested,
        reason: ai_events.HandoffReason,
    ) -> None:
        reply = ai_events.AiReply(
            request_id=request.request_id,
            conversation_id=request.conversation_id,
            message_id=request.message_id,
            handoff=ai_events.Handoff(reason=reason, detail="nothing in the knowledge base"),
        )
        await self.publish(AI_REPLY, customer.tenant, customer.key, reply)

    # ------------------------------------------------------------------ events out

    async def emitted(
        self, topic: Topic[P], *, count: int, timeout_s: float = 30.0
    ) -> list[tuple[ConsumerRecord, P]]:
        """(record, decoded payload) of (at least) the first `count` records the service
        published on `topic` (to wait for them; to show that nothing else came, see
        `emitted_before`)."""
        records = await collect(
            self.settings.kafka_bootstrap,
            self.settings.topic_name(topic.name),
            count=count,
            timeout_s=timeout_s,
        )
        return [(r, topic.payload_type.FromString(r.value)) for r in records]

    async def emitted_before(
        self, topic: Topic[P], marker: str, *, markers: int = 1, timeout_s: float = 30.0
    ) -> list[tuple[ConsumerRecord, P]]:
        """Everything the service published on `topic` ahead of its `markers` records that
        carry `marker` (markers left out).

        The test causes the markers after everything it checks, with the same conversation
        keys, so whatever that caused (a late duplicate included) is ahead of them."""
        records = await read_until_marker(
            self.settings.kafka_bootstrap,
            self.settings.topic_name(topic.name),
            marker,
            markers=markers,
            timeout_s=timeout_s,
        )
        return [(r, topic.payload_type.FromString(r.value)) for r in records]

    async def marker_from(self, customer: Customer) -> str:
        """A message from `customer` that marks the end of what a test checks: its text
        (so the AI request it causes) and its wamid (so a read receipt for it) carry the
        returned marker."""
        marker = new_marker()
        await self.customer_says(customer, marker, wamid=f"wamid.{marker}")
        return marker

    async def ai_requests(self, count: int, **kw: Any) -> list[conversation_events.AiRequested]:
        return [p for _, p in await self.emitted(CONVERSATION_AI_REQUESTED, count=count, **kw)]

    async def ai_requests_before(
        self, marker: str, *, markers: int = 1
    ) -> list[conversation_events.AiRequested]:
        """The AI requests ahead of those for the customer messages carrying `marker`."""
        emitted = await self.emitted_before(CONVERSATION_AI_REQUESTED, marker, markers=markers)
        return [p for _, p in emitted]

    async def send_commands(self, count: int, **kw: Any) -> list[whatsapp.SendCommand]:
        return [p for _, p in await self.emitted(WHATSAPP_OUTBOUND, count=count, **kw)]

    async def send_commands_before(self, marker: str) -> list[whatsapp.SendCommand]:
        """The send commands ahead of the one carrying `marker`."""
        return [p for _, p in await self.emitted_before(WHATSAPP_OUTBOUND, marker)]

    async def changes(self, count: int, **kw: Any) -> list[conversation_events.ConversationChanged]:
        return [p for _, p in await self.emitted(CONVERSATION_CHANGED, count=count, **kw)]

    # ------------------------------------------------------------------ the API

    def headers(self, principal: Principal, **extra: str) -> dict[str, str]:
        return {**principal_headers(self.settings, principal), **extra}

    async def get(self, principal: Principal, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.headers(principal), **kw)

    async def post(
        self,
        principal: Principal,
        path: str,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return await self.client.post(
            path, json=json, headers={**self.headers(principal), **(headers or {})}
        )

    def stream(self, principal: Principal, last_event_id: str | None = None) -> LiveStream:
        """The live event stream of `principal` (an async context manager)."""
        extra = {"Last-Event-ID": last_event_id} if last_event_id else {}
        return LiveStream(self.client, self.headers(principal, **extra))

    async def conversation_of(self, principal: Principal, customer: Customer) -> dict[str, Any]:
        """The customer's conversation, once the service stored their messages so far."""

        async def stored() -> dict[str, Any] | None:
            listed = await self.get(
                principal, "/api/v1/conversations", params={"q": customer.wa_id, "limit": 100}
            )
            assert listed.status_code == 200, listed.text
            for item in listed.json()["items"]:
                if (
                    item["contact"]["wa_id"] == customer.wa_id
                    and item["channel_id"] == customer.channel_id
                ):
                    messages = await self.messages(principal, item["id"])
                    wamids = {m["wamid"] for m in messages}
                    if set(customer.sent) <= wamids:
                        # Read again: the listing may predate the messages just seen.
                        return await self.conversation(principal, item["id"])
            return None

        return await eventually(stored, timeout_s=30)

    async def messages(
        self, principal: Principal, conversation_id: str, **params: Any
    ) -> list[dict[str, Any]]:
        response = await self.get(
            principal,
            f"/api/v1/conversations/{conversation_id}/messages",
            params={"order": "asc", "limit": 100, **params},
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]

    async def conversation(self, principal: Principal, conversation_id: str) -> dict[str, Any]:
        response = await self.get(principal, f"/api/v1/conversations/{conversation_id}")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def customers() -> type[Customers]:
    """Make customers and their messages without a running service."""
    return Customers


@pytest.fixture
async def conversation_settings(settings_factory) -> Settings:
    settings = await settings_factory("conversation")
    assert isinstance(settings, Settings)
    return settings


@pytest.fixture
async def producer(conversation_settings) -> AsyncIterator[EventProducer]:
    producer = EventProducer(conversation_settings, client_id="test-platform")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
async def harness(conversation_settings, producer) -> AsyncIterator[Harness]:
    async with serve_app(create_app(conversation_settings)) as running:
        for consumer in running.runtime.consumers:
            await consumer.wait_until_assigned()
        yield Harness(running, conversation_settings, producer)


@dataclass
class Platform:
    """Auth and the gateway served for real, with this service behind the gateway."""

    edge: Edge
    harness: Harness

    async def signed_in_again(self, user: ApiClient) -> ApiClient:
        """`user` with a fresh access token (e.g. to carry new team memberships)."""
        response = await self.edge.gateway.client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": user.password}
        )
        assert response.status_code == 200, response.text
        return replace(user, credential=response.json()["access_token"])


@pytest.fixture
async def platform(settings_factory, producer) -> AsyncIterator[Platform]:
    port = free_port()
    async with serve_edge(
        settings_factory, gateway={"conversation_http_url": f"http://127.0.0.1:{port}"}
    ) as edge:
        settings = await settings_factory("conversation", auth_grpc_target=edge.auth_grpc_target)
        assert isinstance(settings, Settings)
        async with serve_app(create_app(settings), port=port) as running:
            for consumer in running.runtime.consumers:
                await consumer.wait_until_assigned()
            yield Platform(edge, Harness(running, settings, producer))
