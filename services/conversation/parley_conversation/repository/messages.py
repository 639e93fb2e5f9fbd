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
from sqlalchemy import select, type_coerce, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_conversation.domain.delivery import MessageStatus
from parley_conversation.repository.keyset import beyond
from parley_conversation.repository.tables import message_wamids, messages

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
_ANSWERED = "SELECT 1 FROM messages WHERE tenant_id = $1 AND ai_request_id = $2 LIMIT 1"


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

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
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

    async def register_wamids(self, message_id: UUID, wamids: Sequence[str]) -> None:
        """Record that `wamids` belong to `message_id` (known ones are left alone)."""
        if wamids:
            await self._session.execute(
                insert(message_wamids)
                .values(
                    [
                        {"tenant_id": self._tenant_id, "wamid": w, "message_id": message_id}
                        for w in dict.fromkeys(wamids)
                    ]
                )
                .on_conflict_do_nothing()
            )

    async def wamid_is_known(self, wamid: str) -> bool:
        return (
            await driver.fetch_one(self._session, _WAMID_KNOWN, self._tenant_id, wamid) is not None
        )

    async def lock_by_wamid(self, wamid: str) -> Message | None:
        """The message a WhatsApp id belongs to, locked."""
        return await self.by_wamid(wamid, lock=True)

    async def by_wamid(self, wamid: str, *, lock: bool = False) -> Message | None:
        """The message a WhatsApp id belongs to (locked, with `lock`)."""
        statement = (
            select(messages)
            .join(
                message_wamids,
                (message_wamids.c.tenant_id == messages.c.tenant_id)
                & (message_wamids.c.message_id == messages.c.id),
            )
            .where(message_wamids.c.tenant_id == self._tenant_id, message_wamids.c.wamid == wamid)
        )
        if lock:
            statement = statement.with_for_update(of=messages)
        row = (await self._session.execute(statement)).mappings().first()
        return Message.from_row(row) if row else None

    async def get(self, message_id: UUID, *, lock: bool = False) -> Message | None:
        if not lock:
            found = await driver.fetch_one(self._session, _GET, self._tenant_id, message_id)
            return Message.from_row(found) if found else None
        statement = select(messages).where(
            messages.c.tenant_id == self._tenant_id, messages.c.id == message_id
        )
        if lock:
            statement = statement.with_for_update()
        row = (await self._session.execute(statement)).mappings().first()
        return Message.from_row(row) if row else None

    async def _change(self, message_id: UUID, **values: Any) -> Message:
        row = (
            (
                await self._session.execute(
                    update(messages)
                    .where(messages.c.tenant_id == self._tenant_id, messages.c.id == message_id)
                    .values(**values)
                    .returning(messages)
                )
            )
            .mappings()
            .one()
        )
        return Message.from_row(row)

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
            message_id,
            status=status.value,
            status_at=at,
            failure_reason=failure_reason,
            error=error,
        )

    async def flag_possible_duplicate(self, message_id: UUID) -> Message:
        """The customer may have received the message twice (the sender said so)."""
        return await self._change(message_id, possible_duplicate=True)

    async def attach_wamid(self, message_id: UUID, wamid: str) -> Message:
        """Meta's id of the message (the first one, for a text sent in parts)."""
        return await self._change(message_id, wamid=wamid)

    async def attach_stored_media(self, message_id: UUID, stored: dict[str, Any]) -> Message:
        """Where the file of a media message is stored (or why it could not be)."""
        added = type_coerce({"stored_media": stored}, JSONB)
        return await self._change(message_id, content=messages.c.content.op("||")(added))

    async def answered_request(self, request_id: UUID) -> bool:
        """Whether an AI reply to this request is already stored (sent or discarded)."""
        found = await driver.fetch_one(self._session, _ANSWERED, self._tenant_id, request_id)
        return found is not None

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
        rows = (await self._session.execute(statement)).mappings().all()
        return [Message.from_row(r) for r in rows]

    async def newest_from_customer(
        self, conversation_id: UUID, *, excluding_types: Sequence[str] = ()
    ) -> Message | None:
        """The customer's latest message in timeline order (of a type not excluded)."""
        row = (
            (
                await self._session.execute(
                    select(messages)
                    .where(
                        messages.c.tenant_id == self._tenant_id,
                        messages.c.conversation_id == conversation_id,
                        messages.c.author == Author.CUSTOMER.value,
                        messages.c.type.not_in(list(excluding_types)),
                    )
                    .order_by(messages.c.occurred_at.desc(), messages.c.seq.desc())
                    .limit(1)
                )
            )
            .mappings()
            .first()
        )
        return Message.from_row(row) if row else None
