"""Outbound messages and their parts: the sender's memory of what went out.

A message row exists from the first time its command is seen; `result` stays NULL until the
outcome is known. A part row is marked in flight (committed) before its request leaves, so
after a crash or a timeout the next attempt knows the customer may already have it. Read
receipts leave no trace here (they are fire-and-forget).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import Integer, Text, Uuid, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_whatsapp.repository.tables import outbound_messages as messages
from parley_whatsapp.repository.tables import outbound_parts as parts


class PartState(StrEnum):
    IN_FLIGHT = "in_flight"  # a request left and no definite answer came back (yet)
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class OutboundMessage:
    """A send command's record."""

    message_id: str
    result: str | None
    possible_duplicate: bool
    requests: int
    wamids: list[str]

    @classmethod
    def from_row(cls, row: Any) -> OutboundMessage:
        return cls(
            row.message_id, row.result, row.possible_duplicate, row.requests, list(row.wamids)
        )


@dataclass(frozen=True)
class OutboundPart:
    """One request of a send command (a part of a split text)."""

    part: int
    state: PartState
    wamid: str | None


@dataclass(frozen=True)
class Addressed:
    """Who a send command goes to, from which channel (recorded with the message)."""

    message_id: str
    conversation_id: str
    channel_id: str
    phone_number_id: str
    recipient: str


# One round trip before every request to Meta: the CTEs share one snapshot, so `previous` is
# the part's state before this request, read under a row lock that orders concurrent
# attempts. Written as text: SQLAlchemy 2.0 never caches a compiled PostgreSQL upsert
# (sqlalchemy#10445), and building and compiling this one as Core took ~2.7 ms of CPU per
# request, on the sender's hottest path.
_MARK_IN_FLIGHT = text(
    """
    WITH previous AS (
        SELECT state FROM outbound_parts
         WHERE tenant_id = :tenant_id AND message_id = :message_id AND part = :part
           FOR UPDATE
    ), attempt AS (
        INSERT INTO outbound_parts (tenant_id, message_id, part, state, requests)
        VALUES (:tenant_id, :message_id, :part, 'in_flight', 1)
        ON CONFLICT (tenant_id, message_id, part) DO UPDATE
           SET state = 'in_flight', requests = outbound_parts.requests + 1,
               updated_at = now()
    ), repeated AS (
        SELECT COALESCE((SELECT state = 'in_flight' FROM previous), false) AS value
    ), counted AS (
        UPDATE outbound_messages
           SET requests = requests + 1,
               possible_duplicate = possible_duplicate OR (SELECT value FROM repeated)
         WHERE tenant_id = :tenant_id AND message_id = :message_id
    )
    SELECT value FROM repeated
    """
).bindparams(
    bindparam("tenant_id", type_=Uuid),
    bindparam("message_id", type_=Text),
    bindparam("part", type_=Integer),
)

_RECORD = (
    messages.c.message_id,
    messages.c.result,
    messages.c.possible_duplicate,
    messages.c.requests,
    messages.c.wamids,
)


class OutboundRepository:
    """Outbound messages of one tenant (the session's)."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    def _message(self, message_id: str) -> Any:
        return (messages.c.tenant_id == self._tenant_id, messages.c.message_id == message_id)

    def _part(self, message_id: str, part: int) -> Any:
        return (
            parts.c.tenant_id == self._tenant_id,
            parts.c.message_id == message_id,
            parts.c.part == part,
        )

    async def begin(self, command: Addressed) -> OutboundMessage | None:
        """Create the message's row. None when it is new (the usual case, one statement);
        otherwise the row as an earlier delivery of the command left it."""
        created = await self._session.execute(
            insert(messages)
            .values(
                tenant_id=self._tenant_id,
                message_id=command.message_id,
                conversation_id=command.conversation_id,
                channel_id=command.channel_id,
                phone_number_id=command.phone_number_id,
                recipient=command.recipient,
            )
            .on_conflict_do_nothing(index_elements=[messages.c.tenant_id, messages.c.message_id])
            .returning(messages.c.message_id)
        )
        if created.first() is not None:
            return None
        row = (
            await self._session.execute(select(*_RECORD).where(*self._message(command.message_id)))
        ).one()
        return OutboundMessage.from_row(row)

    async def attempted_parts(self, message_id: str) -> dict[int, OutboundPart]:
        """The parts of a message that were attempted, by index."""
        rows = await self._session.execute(
            select(parts.c.part, parts.c.state, parts.c.wamid).where(
                parts.c.tenant_id == self._tenant_id, parts.c.message_id == message_id
            )
        )
        return {r.part: OutboundPart(r.part, PartState(r.state), r.wamid) for r in rows}

    async def mark_in_flight(self, message_id: str, part: int) -> bool:
        """Record that a request for `part` is about to leave. True when the previous request
        for it got no definite answer (in flight when the process died or timed out): this
        one may deliver the message a second time, and the message is flagged so."""
        found = await self._session.execute(
            _MARK_IN_FLIGHT,
            {"tenant_id": self._tenant_id, "message_id": message_id, "part": part},
        )
        return bool(found.scalar_one())

    async def part_accepted(self, message_id: str, part: int, wamid: str | None) -> None:
        """Meta accepted the part's request (and gave it `wamid`)."""
        await self._answer(message_id, part, PartState.ACCEPTED, wamid)

    async def part_rejected(self, message_id: str, part: int) -> None:
        """The part's request definitely did not go out (Meta refused it, or it never left)."""
        await self._answer(message_id, part, PartState.REJECTED, None)

    async def _answer(
        self, message_id: str, part: int, state: PartState, wamid: str | None
    ) -> None:
        await self._session.execute(
            update(parts)
            .where(*self._part(message_id, part))
            .values(state=state.value, wamid=wamid, updated_at=func.now())
        )

    async def finish(
        self,
        message_id: str,
        *,
        result: str,
        wamids: list[str],
        error_code: int | None,
        reason: str,
        accepted_part: tuple[int, str | None] | None = None,
    ) -> OutboundMessage | None:
        """Set the outcome once (and record the acceptance of `accepted_part`, (index,
        wamid), in the same statement). None when another attempt finished it first."""
        statement = (
            update(messages)
            .where(*self._message(message_id), messages.c.result.is_(None))
            .values(
                result=result,
                wamids=wamids,
                error_code=error_code,
                reason=reason,
                finished_at=func.now(),
            )
            .returning(*_RECORD)
        )
        if accepted_part is not None:
            part, wamid = accepted_part
            statement = statement.add_cte(
                update(parts)
                .where(*self._part(message_id, part))
                .values(state=PartState.ACCEPTED.value, wamid=wamid, updated_at=func.now())
                .cte("accepted")
            )
        row = (await self._session.execute(statement)).one_or_none()
        return OutboundMessage.from_row(row) if row is not None else None
