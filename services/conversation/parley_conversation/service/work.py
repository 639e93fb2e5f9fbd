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

from parley_platform.events import OutgoingEvent, add_to_outbox
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from parley_conversation import metrics
from parley_conversation.domain.content import preview
from parley_conversation.domain.delivery import MessageStatus
from parley_conversation.domain.ownership import State, Transition
from parley_conversation.repository.contacts import ContactRepository
from parley_conversation.repository.conversations import Conversation, ConversationRepository
from parley_conversation.repository.early_updates import EarlyUpdateRepository
from parley_conversation.repository.idempotency import IdempotencyRepository
from parley_conversation.repository.messages import (
    Direction,
    Message,
    MessageRepository,
    NewMessage,
)
from parley_conversation.repository.tables import conversations
from parley_conversation.repository.transitions import TransitionRepository
from parley_conversation.service.outgoing import Kind, conversation_changed


class Work:
    """Repositories and pending events of one tenant transaction."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
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
        when and why, and the live change. Leaving `ai` forgets the AI request in flight, so
        its reply will not be sent."""
        if transition is None:
            return conversation
        after = transition.after
        values: dict[str, object] = {
            "state": after.state.value,
            "assignee_user_id": after.assignee_user_id,
            "assignee_team_id": after.assignee_team_id,
        }
        if after.state != State.AI:
            values["ai_request_id"] = None
            values["ai_request_message_id"] = None
        if transition.state_changed and after.state == State.CLOSED:
            values["closed_at"] = func.now()
        elif transition.state_changed and transition.before.state == State.CLOSED:
            values["closed_at"] = None
        changed = await self.conversations.update(conversation.id, **values)
        await self.transitions.record(conversation.id, transition)
        metrics.TRANSITIONS.labels(after.state.value, transition.actor.kind.value).inc()
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
        self, conversation: Conversation, new: NewMessage, *, from_customer: bool = False
    ) -> tuple[Conversation, Message]:
        """Store a message in `conversation` (locked) and bring the conversation's activity,
        preview, unread count and customer service window up to date."""
        message = await self.messages.add(new)
        values: dict[str, object] = {}
        # A discarded AI reply was never part of the conversation the customer saw.
        if (
            message.status != MessageStatus.DISCARDED
            and message.occurred_at >= conversation.last_activity_at
        ):
            values["last_activity_at"] = message.occurred_at
            if message.direction != Direction.INTERNAL:  # a private note is no preview
                values["last_message_preview"] = preview(message.text)
        if from_customer:
            values["unread_count"] = conversations.c.unread_count + 1
            if (
                conversation.last_inbound_at is None
                or message.occurred_at > conversation.last_inbound_at
            ):
                values["last_inbound_at"] = message.occurred_at
        if values:
            conversation = await self.conversations.update(conversation.id, **values)
        self.emit(
            conversation_changed(
                self.tenant_id, conversation, Kind.KIND_MESSAGE_ADDED, message=message
            )
        )
        return conversation, message

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
async def conversation_work(session: AsyncSession, tenant_id: UUID) -> AsyncIterator[Work]:
    """Work in `session` (a tenant transaction); its events are staged when the block ends
    without an error."""
    work = Work(session, tenant_id)
    yield work
    await work.stage_events()
