"""Queries about messages: storing them, finding them by WhatsApp id, their timeline."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from parley_platform.db import driver
from sqlalchemy import select

from parley_conversation.domain.delivery import MessageStatus
from parley_conversation.repository.early_updates import EarlyUpdateKind
from parley_conversation.repository.keyset import beyond
from parley_conversation.repository.tables import messages

# The statements of every customer message and every AI answer, in plain SQL through asyncpg
# (prepared once per connection; parley_platform.db.driver says why).
_MESSAGE = driver.columns(messages)
_LOCK_WAMID = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
_WAMID_KNOWN = "SELECT 1 FROM message_wamids WHERE tenant_id = $1 AND wamid = $2"
# The message and its wamid in one round trip (the wamid row's foreign key is checked at the
# end of the statement, when the message exists).
_ADD = f"""
    WITH stored AS (
        INSERT INTO messages (tenant_id, id, conversation_id, direction, author, author_user_id,
                              type, content, text, wamid, reply_to_wamid, status, failure_reason,
                              ai_request_id, occurred_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        RETURNING {_MESSAGE}
    ), known AS (
        INSERT INTO message_wamids (tenant_id, wamid, message_id)
        SELECT tenant_id, wamid, id FROM stored WHERE wamid IS NOT NULL
        ON CONFLICT DO NOTHING
    )
    SELECT {_MESSAGE} FROM stored
"""  # noqa: S608
_GET = f"SELECT {_MESSAGE} FROM messages WHERE tenant_id = $1 AND id = $2"  # noqa: S608
_LOCK = f"{_GET} FOR UPDATE"
_LOCK_BY_WAMID = f"""
    SELECT {driver.columns(messages, "m")} FROM message_wamids w
      JOIN messages m ON m.tenant_id = w.tenant_id AND m.id = w.message_id
     WHERE w.tenant_id = $1 AND w.wamid = $2
"""  # noqa: S608
# The delivery columns of a message ($1 tenant, $2 message): status $3 since $4 with failure
# reason $5 and Meta's error $6 (jsonb as text).
_RECORD_STATUS = f"""
    UPDATE messages SET status = $3, status_at = $4, failure_reason = $5, error = $6::jsonb
     WHERE tenant_id = $1 AND id = $2
    RETURNING {_MESSAGE}
"""  # noqa: S608
_FLAG_POSSIBLE_DUPLICATE = f"""
    UPDATE messages SET possible_duplicate = true WHERE tenant_id = $1 AND id = $2
    RETURNING {_MESSAGE}
"""  # noqa: S608
_ATTACH_STORED_MEDIA = f"""
    UPDATE messages SET content = content || jsonb_build_object('stored_media', $3::jsonb)
     WHERE tenant_id = $1 AND id = $2
    RETURNING {_MESSAGE}
"""  # noqa: S608
# Meta accepted message $2 under wamids $3 (text[]), in one round trip: the wamids are
# registered (known ones left alone), the first becomes the message's wamid if it has none,
# the status becomes $4 since $5 unless $4 is NULL (failure cleared), and the delivery
# statuses parked for those wamids are taken (removed and returned, in arrival order).
_ACCEPT = f"""
    WITH known AS (
        INSERT INTO message_wamids (tenant_id, wamid, message_id)
        SELECT $1, wamid, $2 FROM unnest($3::text[]) AS wamid
        ON CONFLICT DO NOTHING
    ), taken AS (
        DELETE FROM early_updates WHERE tenant_id = $1 AND wamid = ANY($3::text[])
        RETURNING id, kind, payload
    ), changed AS (
        UPDATE messages
           SET wamid = coalesce(wamid, ($3::text[])[1]),
               status = coalesce($4, status),
               status_at = CASE WHEN $4 IS NULL THEN status_at ELSE $5 END,
               failure_reason = CASE WHEN $4 IS NULL THEN failure_reason END,
               error = CASE WHEN $4 IS NULL THEN error END
         WHERE tenant_id = $1 AND id = $2
        RETURNING {_MESSAGE}
    )
    SELECT {_MESSAGE},
           (SELECT array_agg(payload ORDER BY id) FROM taken WHERE kind = $6) AS parked
      FROM changed
"""  # noqa: S608
# Whether AI request $2 is answered already, and the wamid of its question $3 (NULL if none).
_REPLY_CONTEXT = """
    SELECT EXISTS (SELECT 1 FROM messages WHERE tenant_id = $1 AND ai_request_id = $2) AS answered,
           (SELECT wamid FROM messages WHERE tenant_id = $1 AND id = $3) AS question_wamid
"""
# The latest message by author $3 (the customer) in conversation $2, in timeline order, of
# no type in $4.
_NEWEST_FROM_CUSTOMER = f"""
    SELECT {_MESSAGE} FROM messages
     WHERE tenant_id = $1 AND conversation_id = $2 AND author = $3
       AND type <> ALL($4::text[])
     ORDER BY occurred_at DESC, seq DESC
     LIMIT 1
"""  # noqa: S608


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"  # private notes: never sent


class Author(StrEnum):
    CUSTOMER = "customer"
    AI = "ai"
    AGENT = "agent"
    SYSTEM = "system"


@dataclass(frozen=True)
class Message:
    """One message of a conversation's timeline."""

    id: UUID
    seq: int
    conversation_id: UUID
    direction: Direction
    author: Author
    author_user_id: UUID | None
    type: str
    content: dict[str, Any]
    text: str | None
    wamid: str | None
    reply_to_wamid: str | None
    status: MessageStatus
    status_at: datetime | None
    failure_reason: str | None
    error: dict[str, Any] | None
    possible_duplicate: bool
    ai_request_id: UUID | None
    occurred_at: datetime
    created_at: datetime

    @property
    def position(self) -> tuple[datetime, int]:
        """Where the message sits in its timeline (the pagination key)."""
        return (self.occurred_at, self.seq)

    @classmethod
    def from_row(cls, row: Any) -> Message:
        values = {f: row[f] for f in cls.__dataclass_fields__}
        values["direction"] = Direction(row["direction"])
        values["author"] = Author(row["author"])
        values["status"] = MessageStatus(row["status"])
        return cls(**values)


@dataclass(frozen=True)
class Said:
    """One message of a conversation's history as the AI is given it."""

    author: Author
    text: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class NewMessage:
    """A message to store."""

    conversation_id: UUID
    direction: Direction
    author: Author
    type: str
    content: dict[str, Any]
    text: str | None
    status: MessageStatus
    occurred_at: datetime
    author_user_id: UUID | None = None
    wamid: str | None = None
    reply_to_wamid: str | None = None
    failure_reason: str | None = None
    ai_request_id: UUID | None = None
    id: UUID | None = None


class MessageRepository:
    """Messages of one tenant (the session's)."""

    def __init__(self, session: driver.SqlSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def lock_wamids(self, wamids: Sequence[str]) -> None:
        """Serialise, until the transaction ends, all work on these WhatsApp message ids.

        A status (or media notice) and the outcome (or inbound message) that tells us which
        message a wamid belongs to travel on different topics and may be handled at the
        same moment; without this, a status could be parked as "early" just after the
        outcome looked for early updates, and never be applied.
        """
        for wamid in sorted(set(wamids)):
            await driver.execute(self._session, _LOCK_WAMID, f"{self._tenant_id}:wamid:{wamid}")

    async def add(self, new: NewMessage) -> Message:
        """Store a message (and its wamid, if it has one)."""
        row = await driver.fetch_one(
            self._session,
            _ADD,
            self._tenant_id,
            new.id or uuid.uuid4(),
            new.conversation_id,
            new.direction.value,
            new.author.value,
            new.author_user_id,
            new.type,
            json.dumps(new.content),
            new.text,
            new.wamid,
            new.reply_to_wamid,
            new.status.value,
            new.failure_reason,
            new.ai_request_id,
            new.occurred_at,
        )
        return Message.from_row(row)

    async def accept(
        self, message_id: UUID, wamids: Sequence[str], status: MessageStatus | None, at: datetime
    ) -> tuple[Message, list[bytes]]:
        """Meta accepted the (locked) message under `wamids`: they are registered (known
        ones left alone), the first becomes its wamid if it has none, its status becomes
        `status` since `at` (a failure cleared; None: unchanged), and the delivery statuses
        parked for those wamids are taken. Returns the message and those statuses'
        payloads, in arrival order."""
        row = await driver.fetch_one(
            self._session,
            _ACCEPT,
            self._tenant_id,
            message_id,
            list(dict.fromkeys(wamids)),
            status.value if status is not None else None,
            at,
            EarlyUpdateKind.STATUS.value,
        )
        if row is None:
            raise LookupError(f"message {message_id} is gone")
        return Message.from_row(row), [bytes(p) for p in row["parked"] or ()]

    async def wamid_is_known(self, wamid: str) -> bool:
        return (
            await driver.fetch_one(self._session, _WAMID_KNOWN, self._tenant_id, wamid) is not None
        )

    async def lock_by_wamid(self, wamid: str) -> Message | None:
        """The message a WhatsApp id belongs to, locked."""
        return await self._one(f"{_LOCK_BY_WAMID} FOR UPDATE OF m", self._tenant_id, wamid)

    async def by_wamid(self, wamid: str) -> Message | None:
        """The message a WhatsApp id belongs to."""
        return await self._one(_LOCK_BY_WAMID, self._tenant_id, wamid)

    async def get(self, message_id: UUID, *, lock: bool = False) -> Message | None:
        """The message (locked until the transaction ends, with `lock`)."""
        return await self._one(_LOCK if lock else _GET, self._tenant_id, message_id)

    async def _one(self, sql: str, *args: Any) -> Message | None:
        row = await driver.fetch_one(self._session, sql, *args)
        return Message.from_row(row) if row else None

    async def _change(self, sql: str, message_id: UUID, *args: Any) -> Message:
        """One UPDATE of a (locked) message by one of the statements above."""
        changed = await self._one(sql, self._tenant_id, message_id, *args)
        if changed is None:
            raise LookupError(f"message {message_id} is gone")
        return changed

    async def record_status(
        self,
        message_id: UUID,
        status: MessageStatus,
        at: datetime,
        *,
        failure_reason: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> Message:
        """The message's delivery status is now `status` (since `at`); a failure keeps its
        reason and Meta's error, any other status clears them."""
        return await self._change(
            _RECORD_STATUS,
            message_id,
            status.value,
            at,
            failure_reason,
            json.dumps(error) if error is not None else None,
        )

    async def flag_possible_duplicate(self, message_id: UUID) -> Message:
        """The customer may have received the message twice (the sender said so)."""
        return await self._change(_FLAG_POSSIBLE_DUPLICATE, message_id)

    async def attach_stored_media(self, message_id: UUID, stored: dict[str, Any]) -> Message:
        """Where the file of a media message is stored (or why it could not be)."""
        return await self._change(_ATTACH_STORED_MEDIA, message_id, json.dumps(stored))

    async def reply_context(
        self, request_id: UUID, question_id: UUID | None
    ) -> tuple[bool, str | None]:
        """Whether an AI reply to `request_id` is already stored (sent or discarded), and
        the wamid of the customer message it answers (`question_id`), in one round trip.
        Run it after locking the conversation: its snapshot then includes any reply stored
        by a transaction that held the lock."""
        row = await driver.fetch_one(
            self._session, _REPLY_CONTEXT, self._tenant_id, request_id, question_id
        )
        assert row is not None  # a SELECT without FROM always returns its row
        return row["answered"], row["question_wamid"]

    async def page(
        self,
        conversation_id: UUID,
        *,
        newest_first: bool,
        after: tuple[datetime, int] | None,
        limit: int,
    ) -> list[Message]:
        """A page of the timeline, in (occurred_at, seq) order or its reverse, starting
        after the keyset cursor `after`."""
        key = (messages.c.occurred_at, messages.c.seq)
        statement = (
            select(messages)
            .where(
                messages.c.tenant_id == self._tenant_id,
                messages.c.conversation_id == conversation_id,
            )
            .limit(limit)
        )
        if newest_first:
            statement = statement.order_by(messages.c.occurred_at.desc(), messages.c.seq.desc())
            if after is not None:
                statement = statement.where(beyond(key, after, descending=True))
        else:
            statement = statement.order_by(messages.c.occurred_at, messages.c.seq)
            if after is not None:
                statement = statement.where(beyond(key, after, descending=False))
        rows = (await driver.sqlalchemy_session(self._session).execute(statement)).mappings().all()
        return [Message.from_row(r) for r in rows]

    async def newest_from_customer(
        self, conversation_id: UUID, *, excluding_types: Sequence[str] = ()
    ) -> Message | None:
        """The customer's latest message in timeline order (of a type not excluded)."""
        return await self._one(
            _NEWEST_FROM_CUSTOMER,
            self._tenant_id,
            conversation_id,
            Author.CUSTOMER.value,
            list(excluding_types),
        )
