"""Queries about conversations: opening, locking for a change, the changes themselves
(each named for what happened), listing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from parley_platform.identity import Principal, Role
from sqlalchemy import ColumnElement, Text, and_, case, func, literal, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_conversation.domain.ownership import Ownership, State, Transition
from parley_conversation.repository.contacts import Contact, matches_contact
from parley_conversation.repository.keyset import beyond
from parley_conversation.repository.tables import contacts, conversations

_CONTACT_COLUMNS = [c.label(f"contact__{c.name}") for c in contacts.c if c.name != "tenant_id"]


@dataclass(frozen=True)
class Conversation:
    """One conversation with the contact it is with."""

    id: UUID
    contact: Contact
    channel_id: str
    phone_number_id: str
    customer_key: str
    state: State
    assignee_user_id: UUID | None
    assignee_team_id: UUID | None
    labels: list[str]
    unread_count: int
    last_inbound_at: datetime | None
    last_activity_at: datetime
    last_message_preview: str | None
    ai_request_id: UUID | None
    ai_request_message_id: UUID | None
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @property
    def ownership(self) -> Ownership:
        return Ownership(self.state, self.assignee_user_id, self.assignee_team_id)

    @classmethod
    def from_row(cls, row: Any, contact: Contact | None = None) -> Conversation:
        """From a row of the conversations table, joined with its contact's columns
        (`contact__*`) unless `contact` is given."""
        values = {f: row[f] for f in cls.__dataclass_fields__ if f != "contact"}
        values["state"] = State(row["state"])
        values["labels"] = list(row["labels"] or ())
        if contact is None:
            contact = Contact.from_row(
                {f: row[f"contact__{f}"] for f in Contact.__dataclass_fields__}
            )
        return cls(contact=contact, **values)


@dataclass(frozen=True)
class ConversationFilter:
    """What a conversation list asks for (all optional, combined with AND)."""

    states: tuple[State, ...] = ()
    assignee_user_id: UUID | None = None
    unassigned: bool = False
    team_id: UUID | None = None
    unread: bool | None = None
    label: str | None = None
    contact_query: str | None = None
    contact_id: UUID | None = None


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """The SQL form of domain.visibility.can_see: the conversations `principal` may see."""
    if principal.has_role(Role.ADMIN):
        return true()
    c = conversations.c
    allowed: list[ColumnElement[bool]] = [
        and_(c.assignee_user_id.is_(None), c.assignee_team_id.is_(None))
    ]
    if principal.user_id is not None:
        allowed.append(c.assignee_user_id == principal.user_id)
    if principal.team_ids:
        allowed.append(c.assignee_team_id.in_(sorted(principal.team_ids)))
    return or_(*allowed)


class ConversationRepository:
    """Conversations of one tenant (the session's)."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    def _select(self) -> Any:
        return (
            select(conversations, *_CONTACT_COLUMNS)
            .join(
                contacts,
                and_(
                    contacts.c.tenant_id == conversations.c.tenant_id,
                    contacts.c.id == conversations.c.contact_id,
                ),
            )
            .where(conversations.c.tenant_id == self._tenant_id)
        )

    async def _one(self, statement: Any) -> Conversation | None:
        row = (await self._session.execute(statement)).mappings().first()
        return Conversation.from_row(row) if row else None

    async def open_with(
        self,
        contact: Contact,
        *,
        channel_id: str,
        phone_number_id: str,
        customer_key: str,
        at: datetime,
    ) -> Conversation:
        """The conversation with `contact` on a channel (created on first contact, with the
        customer id its events are keyed by), locked for this transaction."""
        statement = insert(conversations).values(
            tenant_id=self._tenant_id,
            id=uuid.uuid4(),
            contact_id=contact.id,
            channel_id=channel_id,
            phone_number_id=phone_number_id,
            customer_key=customer_key,
            state=State.AI.value,
            last_activity_at=at,
        )
        # On conflict, the update locks the existing row and returns it in the same round
        # trip; it keeps the channel's business number id current (replies use it).
        row = (
            (
                await self._session.execute(
                    statement.on_conflict_do_update(
                        constraint="conversations_one_per_contact",
                        set_={"phone_number_id": statement.excluded.phone_number_id},
                    ).returning(conversations)
                )
            )
            .mappings()
            .one()
        )
        return Conversation.from_row(row, contact)

    async def lock(self, conversation_id: UUID) -> Conversation | None:
        """The conversation, locked until the transaction ends (every change goes through
        this, so API calls and events touching one conversation take turns)."""
        return await self._one(
            self._select()
            .where(conversations.c.id == conversation_id)
            .with_for_update(of=conversations)
        )

    async def get(
        self, conversation_id: UUID, principal: Principal | None = None
    ) -> Conversation | None:
        """The conversation, if it exists (and `principal`, when given, may see it)."""
        statement = self._select().where(conversations.c.id == conversation_id)
        if principal is not None:
            statement = statement.where(visible_to(principal))
        return await self._one(statement)

    async def _change(self, conversation_id: UUID, **values: Any) -> Conversation:
        """One UPDATE of a (locked) conversation that bumps its version, returning it with
        its contact (the one round trip behind every write below)."""
        changed = await self._one(
            update(conversations)
            .where(
                conversations.c.tenant_id == self._tenant_id,
                conversations.c.id == conversation_id,
                contacts.c.tenant_id == conversations.c.tenant_id,
                contacts.c.id == conversations.c.contact_id,
            )
            .values(**values, version=conversations.c.version + 1, updated_at=func.now())
            .returning(conversations, *_CONTACT_COLUMNS)
        )
        if changed is None:
            raise LookupError(f"conversation {conversation_id} is gone")
        return changed

    async def change_ownership(self, conversation_id: UUID, transition: Transition) -> Conversation:
        """Give the conversation the state and assignment `transition` leads to. Leaving
        `ai` forgets the AI request in flight (its reply will not be sent); closing stamps
        `closed_at`, reopening clears it."""
        after = transition.after
        values: dict[str, Any] = {
            "state": after.state.value,
            "assignee_user_id": after.assignee_user_id,
            "assignee_team_id": after.assignee_team_id,
        }
        if after.state != State.AI:
            values.update(ai_request_id=None, ai_request_message_id=None)
        if transition.state_changed and after.state == State.CLOSED:
            values["closed_at"] = func.now()
        elif transition.state_changed and transition.before.state == State.CLOSED:
            values["closed_at"] = None
        return await self._change(conversation_id, **values)

    async def record_customer_message(
        self, conversation_id: UUID, at: datetime, preview: str | None
    ) -> Conversation:
        """A customer message sent at `at` arrived: one more unread, the customer service
        window runs from the customer's latest message, and the activity and preview follow
        the newest message (a late, older one changes neither)."""
        c = conversations.c
        return await self._change(
            conversation_id,
            unread_count=c.unread_count + 1,
            last_inbound_at=func.greatest(c.last_inbound_at, self._timestamp(at)),
            **self._activity(at, preview),
        )

    async def record_reply(
        self, conversation_id: UUID, at: datetime, preview: str | None
    ) -> Conversation:
        """The team sent the customer a message at `at` (activity and preview)."""
        return await self._change(conversation_id, **self._activity(at, preview))

    async def record_ai_answer(
        self, conversation_id: UUID, at: datetime, preview: str | None
    ) -> Conversation:
        """The AI's answer to the request in flight is stored and will be sent: the request
        is over (activity and preview as for any reply)."""
        return await self._change(
            conversation_id,
            ai_request_id=None,
            ai_request_message_id=None,
            **self._activity(at, preview),
        )

    async def record_note(self, conversation_id: UUID, at: datetime) -> Conversation:
        """The team wrote a private note at `at`: activity, but no preview (customers'
        and the team's messages to them are what an inbox list shows)."""
        c = conversations.c
        return await self._change(
            conversation_id, last_activity_at=func.greatest(c.last_activity_at, self._timestamp(at))
        )

    async def expect_ai_answer(
        self, conversation_id: UUID, request_id: UUID, message_id: UUID
    ) -> Conversation:
        """The AI was asked (request `request_id`) to answer the customer's message
        `message_id`; a reply to any earlier request is now stale."""
        return await self._change(
            conversation_id, ai_request_id=request_id, ai_request_message_id=message_id
        )

    async def mark_read(self, conversation_id: UUID) -> Conversation:
        """The team read the conversation: nothing is unread any more."""
        return await self._change(conversation_id, unread_count=0)

    async def set_labels(self, conversation_id: UUID, labels: Sequence[str]) -> Conversation:
        """The conversation's labels are now exactly `labels` (in this order)."""
        return await self._change(conversation_id, labels=list(labels))

    @staticmethod
    def _timestamp(at: datetime) -> ColumnElement[datetime]:
        # Bound as timestamptz, the columns' type (not a naive timestamp).
        return literal(at, conversations.c.last_activity_at.type)

    def _activity(self, at: datetime, preview: str | None) -> dict[str, Any]:
        """Activity at `at`: the conversation's last activity moves forward to it, and its
        preview becomes `preview` when this is the newest message."""
        c = conversations.c
        stamp = self._timestamp(at)
        return {
            # Both read the row as it was before this UPDATE.
            "last_message_preview": case(
                (c.last_activity_at <= stamp, literal(preview, Text)),
                else_=c.last_message_preview,
            ),
            "last_activity_at": func.greatest(c.last_activity_at, stamp),
        }

    async def list(
        self,
        principal: Principal,
        wanted: ConversationFilter,
        *,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[Conversation]:
        """Visible conversations matching `wanted`, most recent activity first, after the
        keyset cursor `after` (last_activity_at, id)."""
        c = conversations.c
        statement = (
            self._select()
            .where(visible_to(principal))
            .order_by(c.last_activity_at.desc(), c.id.desc())
            .limit(limit)
        )
        if wanted.states:
            statement = statement.where(c.state.in_([s.value for s in wanted.states]))
        if wanted.unassigned:
            statement = statement.where(c.assignee_user_id.is_(None), c.assignee_team_id.is_(None))
        if wanted.assignee_user_id is not None:
            statement = statement.where(c.assignee_user_id == wanted.assignee_user_id)
        if wanted.team_id is not None:
            statement = statement.where(c.assignee_team_id == wanted.team_id)
        if wanted.unread is True:
            statement = statement.where(c.unread_count > 0)
        elif wanted.unread is False:
            statement = statement.where(c.unread_count == 0)
        if wanted.label:
            statement = statement.where(c.labels.any(wanted.label))
        if wanted.contact_query:
            statement = statement.where(matches_contact(wanted.contact_query))
        if wanted.contact_id is not None:
            statement = statement.where(c.contact_id == wanted.contact_id)
        if after is not None:
            statement = statement.where(beyond((c.last_activity_at, c.id), after, descending=True))
        rows = (await self._session.execute(statement)).mappings().all()
        return [Conversation.from_row(r) for r in rows]
