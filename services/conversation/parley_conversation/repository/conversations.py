"""Queries about conversations: opening, locking for a change, the changes themselves
(each named for what happened), listing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from parley_platform.db import driver
from parley_platform.identity import Principal, Role
from sqlalchemy import ColumnElement, and_, func, or_, select, true, update

from parley_conversation.domain.delivery import MessageStatus
from parley_conversation.domain.ownership import Ownership, State, Transition
from parley_conversation.repository.contacts import Contact, matches_contact
from parley_conversation.repository.keyset import beyond
from parley_conversation.repository.messages import Author, Direction, Message, Said
from parley_conversation.repository.tables import contacts, conversations

_CONTACT_COLUMNS = [c.label(f"contact__{c.name}") for c in contacts.c if c.name != "tenant_id"]

# The statements of every customer message and AI answer, in plain SQL through asyncpg
# (prepared once per connection; parley_platform.db.driver says why): the conversation with
# its contact's columns, as `Conversation.from_row` reads them.
_RETURNED = (
    f"{driver.columns(conversations, 'c')}, "
    f"{driver.columns(contacts, 'k', label_prefix='contact__', skip=['tenant_id'])}"
)
# A customer's message arrives: the conversation is created on first contact, else locked and
# brought up to date, in one round trip: one more unread, the customer service window runs
# from the customer's latest message, the activity and preview follow the newest message (a
# late, older one changes neither), and the channel's business number id stays current
# (replies use it). The `c.` columns read the row as it was.
_OPEN_FOR_MESSAGE = f"""
    INSERT INTO conversations AS c (tenant_id, id, contact_id, channel_id, phone_number_id,
                                    customer_key, state, unread_count, last_inbound_at,
                                    last_activity_at, last_message_preview)
    VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8, $9)
    ON CONFLICT ON CONSTRAINT conversations_one_per_contact
    DO UPDATE SET phone_number_id = EXCLUDED.phone_number_id,
                  unread_count = c.unread_count + 1,
                  last_inbound_at = greatest(c.last_inbound_at, EXCLUDED.last_inbound_at),
                  last_message_preview = CASE WHEN c.last_activity_at <= EXCLUDED.last_activity_at
                                              THEN EXCLUDED.last_message_preview
                                              ELSE c.last_message_preview END,
                  last_activity_at = greatest(c.last_activity_at, EXCLUDED.last_activity_at),
                  version = c.version + 1,
                  updated_at = now()
    RETURNING {driver.columns(conversations)}
"""  # noqa: S608
_GET = f"""
    SELECT {_RETURNED} FROM conversations c
      JOIN contacts k ON k.tenant_id = c.tenant_id AND k.id = c.contact_id
     WHERE c.tenant_id = $1 AND c.id = $2
"""  # noqa: S608
_LOCK = f"{_GET} FOR UPDATE OF c"


def _change_sql(assignments: str, *, also_returning: str = "") -> str:
    """One UPDATE of a (locked) conversation ($1 tenant, $2 conversation) that bumps its
    version and returns it with its contact (and `also_returning`); `assignments` may use $3
    onwards and read the row as it was (`c.<column>`)."""
    return f"""
        UPDATE conversations AS c
           SET {assignments}, version = c.version + 1, updated_at = now()
          FROM contacts AS k
         WHERE c.tenant_id = $1 AND c.id = $2
           AND k.tenant_id = c.tenant_id AND k.id = c.contact_id
        RETURNING {_RETURNED}{", " + also_returning if also_returning else ""}
    """  # noqa: S608


# Activity at $3 (timestamptz): the last activity moves forward to it, and the preview becomes
# $4 when this is the newest message (both read the row as it was before the UPDATE).
_ACTIVITY = """
    last_message_preview = CASE WHEN c.last_activity_at <= $3::timestamptz THEN $4::text
                                ELSE c.last_message_preview END,
    last_activity_at = greatest(c.last_activity_at, $3::timestamptz)
"""
_RECORD_AI_ANSWER = _change_sql(f"ai_request_id = NULL, ai_request_message_id = NULL, {_ACTIVITY}")
_RECORD_REPLY = _change_sql(_ACTIVITY)
_RECORD_NOTE = _change_sql("last_activity_at = greatest(c.last_activity_at, $3::timestamptz)")
# State $3 with assignees $4 (user) and $5 (team): leaving `ai` forgets the AI request in
# flight; $6 says whether the conversation is closing (closed_at stamped) or reopening
# (cleared).
_CHANGE_OWNERSHIP = _change_sql(f"""
    state = $3, assignee_user_id = $4, assignee_team_id = $5,
    ai_request_id = CASE WHEN $3 = '{State.AI}' THEN c.ai_request_id END,
    ai_request_message_id = CASE WHEN $3 = '{State.AI}' THEN c.ai_request_message_id END,
    closed_at = CASE $6::text WHEN 'closing' THEN now() WHEN 'reopening' THEN NULL
                              ELSE c.closed_at END
""")
# The AI is asked to answer message $4 (sent at $5, seq $6): the request in flight becomes $3,
# and the same round trip returns what the customer saw or wrote before that message (up to
# $7 of them, oldest first; private notes, discarded and failed replies left out).
_HISTORY_BEFORE = f"""
    (SELECT coalesce(json_agg(json_build_object('author', h.author, 'text', h.text,
                                                'at', h.occurred_at)
                              ORDER BY h.occurred_at, h.seq), '[]'::json)
       FROM (SELECT m.author, m.text, m.occurred_at, m.seq FROM messages m
              WHERE m.tenant_id = $1 AND m.conversation_id = $2
                AND m.direction <> '{Direction.INTERNAL}'
                AND m.status NOT IN ('{MessageStatus.DISCARDED}', '{MessageStatus.FAILED}')
                AND (m.occurred_at, m.seq) < ($5::timestamptz, $6::bigint)
              ORDER BY m.occurred_at DESC, m.seq DESC
              LIMIT $7) AS h) AS history
"""  # noqa: S608
_EXPECT_AI_ANSWER = _change_sql(
    "ai_request_id = $3, ai_request_message_id = $4", also_returning=_HISTORY_BEFORE
)


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

    def __init__(self, session: driver.SqlSession, tenant_id: UUID) -> None:
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
        row = (await driver.sqlalchemy_session(self._session).execute(statement)).mappings().first()
        return Conversation.from_row(row) if row else None

    async def open_for_message(
        self,
        contact: Contact,
        *,
        channel_id: str,
        phone_number_id: str,
        customer_key: str,
        at: datetime,
        preview: str | None,
    ) -> Conversation:
        """The conversation with `contact` on a channel (created on first contact, with the
        customer id its events are keyed by), locked for this transaction, with the customer's
        message sent at `at` recorded: one more unread, the customer service window runs from
        the customer's latest message, and the activity and preview follow the newest message
        (a late, older one changes neither)."""
        row = await driver.fetch_one(
            self._session,
            _OPEN_FOR_MESSAGE,
            self._tenant_id,
            uuid.uuid4(),
            contact.id,
            channel_id,
            phone_number_id,
            customer_key,
            State.AI.value,
            at,
            preview,
        )
        return Conversation.from_row(row, contact)

    async def lock(self, conversation_id: UUID) -> Conversation | None:
        """The conversation, locked until the transaction ends (every change goes through
        this, so API calls and events touching one conversation take turns)."""
        row = await driver.fetch_one(self._session, _LOCK, self._tenant_id, conversation_id)
        return Conversation.from_row(row) if row else None

    async def get(
        self, conversation_id: UUID, principal: Principal | None = None
    ) -> Conversation | None:
        """The conversation, if it exists (and `principal`, when given, may see it)."""
        if principal is None:
            row = await driver.fetch_one(self._session, _GET, self._tenant_id, conversation_id)
            return Conversation.from_row(row) if row else None
        return await self._one(
            self._select().where(conversations.c.id == conversation_id, visible_to(principal))
        )

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

    async def _change_by(self, sql: str, conversation_id: UUID, *args: Any) -> Conversation:
        """`_change` by one of the plain-SQL statements above."""
        row = await driver.fetch_one(self._session, sql, self._tenant_id, conversation_id, *args)
        if row is None:
            raise LookupError(f"conversation {conversation_id} is gone")
        return Conversation.from_row(row)

    async def change_ownership(self, conversation_id: UUID, transition: Transition) -> Conversation:
        """Give the conversation the state and assignment `transition` leads to. Leaving
        `ai` forgets the AI request in flight (its reply will not be sent); closing stamps
        `closed_at`, reopening clears it."""
        after = transition.after
        closing = ""
        if transition.state_changed and after.state == State.CLOSED:
            closing = "closing"
        elif transition.state_changed and transition.before.state == State.CLOSED:
            closing = "reopening"
        return await self._change_by(
            _CHANGE_OWNERSHIP,
            conversation_id,
            after.state.value,
            after.assignee_user_id,
            after.assignee_team_id,
            closing,
        )

    async def record_reply(
        self, conversation_id: UUID, at: datetime, preview: str | None
    ) -> Conversation:
        """The team sent the customer a message at `at` (activity and preview)."""
        return await self._change_by(_RECORD_REPLY, conversation_id, at, preview)

    async def record_ai_answer(
        self, conversation_id: UUID, at: datetime, preview: str | None
    ) -> Conversation:
        """The AI's answer to the request in flight is stored and will be sent: the request
        is over (activity and preview as for any reply)."""
        return await self._change_by(_RECORD_AI_ANSWER, conversation_id, at, preview)

    async def record_note(self, conversation_id: UUID, at: datetime) -> Conversation:
        """The team wrote a private note at `at`: activity, but no preview (customers'
        and the team's messages to them are what an inbox list shows)."""
        return await self._change_by(_RECORD_NOTE, conversation_id, at)

    async def expect_ai_answer(
        self, conversation_id: UUID, request_id: UUID, question: Message, history_size: int
    ) -> tuple[Conversation, list[Said]]:
        """The AI was asked (request `request_id`) to answer the customer's `question`; a
        reply to any earlier request is now stale. Returns the conversation and up to
        `history_size` messages the customer saw or wrote before the question, oldest first
        (in the same round trip)."""
        row = await driver.fetch_one(
            self._session,
            _EXPECT_AI_ANSWER,
            self._tenant_id,
            conversation_id,
            request_id,
            question.id,
            question.occurred_at,
            question.seq,
            max(0, history_size),
        )
        if row is None:
            raise LookupError(f"conversation {conversation_id} is gone")
        history = [
            Said(Author(h["author"]), h["text"], datetime.fromisoformat(h["at"]))
            for h in row["history"]
        ]
        return Conversation.from_row(row), history

    async def mark_read(self, conversation_id: UUID) -> Conversation:
        """The team read the conversation: nothing is unread any more."""
        return await self._change(conversation_id, unread_count=0)

    async def set_labels(self, conversation_id: UUID, labels: Sequence[str]) -> Conversation:
        """The conversation's labels are now exactly `labels` (in this order)."""
        return await self._change(conversation_id, labels=list(labels))

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
        rows = (await driver.sqlalchemy_session(self._session).execute(statement)).mappings().all()
        return [Conversation.from_row(r) for r in rows]
