"""One transaction's worth of conversation work: the repositories bound to the session's
tenant, the steps every use case shares (apply a transition, add a message), and the events
to stage in the outbox with the transaction.

Use cases never commit: whoever opened the tenant session (an HTTP route, an event handler)
owns the transaction, and `conversation_work` stages the collected events into the outbox
inside it, so state and events are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from parley_platform.db.driver import SqlSession
from parley_platform.events import OutgoingEvent, add_to_outbox

from parley_conversation import metrics
from parley_conversation.domain.content import preview
from parley_conversation.domain.delivery import MessageStatus
from parley_conversation.domain.ownership import Transition
from parley_conversation.repository.contacts import ContactRepository
from parley_conversation.repository.conversations import Conversation, ConversationRepository
from parley_conversation.repository.early_updates import EarlyUpdateRepository
from parley_conversation.repository.idempotency import IdempotencyRepository
from parley_conversation.repository.messages import (
    Author,
    Direction,
    Message,
    MessageRepository,
    NewMessage,
)
from parley_conversation.repository.transitions import TransitionRepository
from parley_conversation.service.outgoing import Kind, conversation_changed


class Work:
    """Repositories and pending events of one tenant transaction."""

    def __init__(self, session: SqlSession, tenant_id: UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.contacts = ContactRepository(session, tenant_id)
        self.conversations = ConversationRepository(session, tenant_id)
        self.messages = MessageRepository(session, tenant_id)
        self.transitions = TransitionRepository(session, tenant_id)
        self.early_updates = EarlyUpdateRepository(session, tenant_id)
        self.idempotency = IdempotencyRepository(session, tenant_id)
        self._events: list[OutgoingEvent] = []

    def emit(self, *events: OutgoingEvent) -> None:
        """Publish `events` if (and only if) this transaction commits."""
        self._events.extend(events)

    async def stage_events(self) -> None:
        """Write the emitted events to the outbox (in this transaction)."""
        await add_to_outbox(self.session, *self._events)
        self._events.clear()

    async def apply(
        self, conversation: Conversation, transition: Transition | None
    ) -> Conversation:
        """Make `transition` (if any) happen: new state and assignment, the record of who,
        when and why, and the live change."""
        if transition is None:
            return conversation
        changed = await self.conversations.change_ownership(conversation.id, transition)
        await self.transitions.record(conversation.id, transition)
        metrics.TRANSITIONS.labels(transition.after.state.value, transition.actor.kind.value).inc()
        self.emit(
            conversation_changed(
                self.tenant_id,
                changed,
                Kind.KIND_STATE_CHANGED if transition.state_changed else Kind.KIND_ASSIGNED,
                detail=transition.reason,
                previous=transition.before,
            )
        )
        return changed

    async def add_message(
        self, conversation: Conversation, new: NewMessage
    ) -> tuple[Conversation, Message]:
        """Store a message in `conversation` (locked) and bring the conversation's activity,
        preview, unread count, customer service window and AI request up to date."""
        message = await self.messages.add(new)
        conversation = await self._record(conversation, message)
        self.emit(
            conversation_changed(
                self.tenant_id, conversation, Kind.KIND_MESSAGE_ADDED, message=message
            )
        )
        return conversation, message

    async def add_customer_message(self, conversation: Conversation, new: NewMessage) -> Message:
        """Store a customer's message in `conversation`, which
        `conversations.open_for_message` already brought up to date with it."""
        message = await self.messages.add(new)
        self.emit(
            conversation_changed(
                self.tenant_id, conversation, Kind.KIND_MESSAGE_ADDED, message=message
            )
        )
        return message

    async def _record(self, conversation: Conversation, message: Message) -> Conversation:
        """What `message` (ours, not the customer's) changes in its conversation (one
        UPDATE, or none)."""
        at, shown = message.occurred_at, preview(message.text)
        if message.status == MessageStatus.DISCARDED:
            return conversation  # never part of the conversation the customer saw
        if message.direction == Direction.INTERNAL:
            return await self.conversations.record_note(conversation.id, at)
        if message.author == Author.AI:
            return await self.conversations.record_ai_answer(conversation.id, at, shown)
        return await self.conversations.record_reply(conversation.id, at, shown)

    def message_changed(
        self, conversation: Conversation, message: Message, detail: str = ""
    ) -> None:
        """Tell dashboards that a message's status (or stored media) changed."""
        self.emit(
            conversation_changed(
                self.tenant_id,
                conversation,
                Kind.KIND_MESSAGE_STATUS,
                message=message,
                detail=detail,
            )
        )


@asynccontextmanager
async def conversation_work(session: SqlSession, tenant_id: UUID) -> AsyncIterator[Work]:
    """Work in `session` (a tenant transaction); its events are staged when the block ends
    without an error."""
    work = Work(session, tenant_id)
    yield work
    await work.stage_events()
