"""The topics this service consumes (consumer group `conversation`) and their handlers.

Each handler runs one tenant transaction (the tenant from the event's trusted header) in
which it records the event id in the inbox, applies the effects and stages the events they
cause in the outbox: a redelivered event changes nothing, and a crash leaves either all of
it or none. Two events of one conversation on one topic never run at once (same partition);
events on different topics, and API calls, may: every change locks the rows it touches.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.message import Message
from parley.ai.v1.events_pb2 import AiReply
from parley.whatsapp.v1 import events_pb2 as whatsapp
from parley_platform.db import Database
from parley_platform.errors import InvalidRequest
from parley_platform.events import (
    ConsumedEvent,
    PermanentEventError,
    Subscription,
    first_delivery,
    on,
)
from parley_platform.events.topics import (
    AI_REPLY,
    WHATSAPP_INBOUND,
    WHATSAPP_MEDIA,
    WHATSAPP_OUTCOME,
    WHATSAPP_STATUS,
)

from parley_conversation.config import Settings
from parley_conversation.service import ai, customer, delivery
from parley_conversation.service.work import Work, conversation_work

GROUP = "conversation"

P = TypeVar("P", bound=Message)


class ConversationEvents:
    """Handlers of the conversation consumer group."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._settings = settings

    def subscriptions(self) -> list[Subscription]:
        """Every topic of the group with its handler."""
        return [
            on(WHATSAPP_INBOUND, self.on_inbound_message),
            on(WHATSAPP_STATUS, self.on_message_status),
            on(WHATSAPP_OUTCOME, self.on_send_outcome),
            on(WHATSAPP_MEDIA, self.on_media_stored),
            on(AI_REPLY, self.on_ai_reply),
        ]

    async def _apply_once(
        self, event: ConsumedEvent[P], apply: Callable[[Work], Awaitable[None]]
    ) -> None:
        try:
            # Every statement of every handler is plain SQL: the lean transaction.
            async with self._database.tenant_transaction(event.tenant_id) as session:
                if not await first_delivery(session, GROUP, event):
                    return
                async with conversation_work(session, event.tenant_id) as work:
                    await apply(work)
        except InvalidRequest as exc:
            # Nothing was written (the transaction rolled back); retrying cannot help.
            raise PermanentEventError(exc.message) from exc

    async def on_inbound_message(self, event: ConsumedEvent[whatsapp.InboundMessage]) -> None:
        inbound = event.payload
        received_at = (
            event.envelope.occurred_at.ToDatetime(tzinfo=UTC)
            if event.envelope.HasField("occurred_at")
            else datetime.now(UTC)
        )
        await self._apply_once(
            event,
            lambda work: customer.receive_message(
                work, inbound, received_at, history_size=self._settings.ai_history_messages
            ),
        )

    async def on_message_status(self, event: ConsumedEvent[whatsapp.MessageStatus]) -> None:
        status = event.payload
        await self._apply_once(event, lambda work: delivery.record_status(work, status))

    async def on_send_outcome(self, event: ConsumedEvent[whatsapp.SendOutcome]) -> None:
        outcome = event.payload
        await self._apply_once(event, lambda work: delivery.record_outcome(work, outcome))

    async def on_media_stored(self, event: ConsumedEvent[whatsapp.MediaStored]) -> None:
        media = event.payload
        await self._apply_once(event, lambda work: delivery.record_media(work, media))

    async def on_ai_reply(self, event: ConsumedEvent[AiReply]) -> None:
        reply = event.payload
        await self._apply_once(event, lambda work: ai.receive_reply(work, reply))
