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

from parley_platform.db import driver
from parley_platform.db.driver import SqlSession


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
            row["message_id"],
            row["result"],
            row["possible_duplicate"],
            row["requests"],
            list(row["wamids"]),
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


# Plain SQL on the session's connection (parley_platform.db.driver): asyncpg prepares each
# statement once per connection. Through SQLAlchemy Core these cost the sender several
# milliseconds of CPU per send: a PostgreSQL upsert is never cached (sqlalchemy#10445), and an
# UPDATE with a CTE was built and compiled again for every command.

_RECORD = "message_id, result, possible_duplicate, requests, wamids"

_BEGIN = """
    INSERT INTO outbound_messages
           (tenant_id, message_id, conversation_id, channel_id, phone_number_id, recipient)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (tenant_id, message_id) DO NOTHING
    RETURNING message_id
"""

# The busiest path, a command seen for the first time: its record and its first request in
# flight, in one round trip. A new message has no parts yet, so the request is its first and
# not a repetition. On a conflict (seen before) nothing is written: `created` is empty.
_BEGIN_WITH_REQUEST = """
    WITH created AS (
        INSERT INTO outbound_messages (tenant_id, message_id, conversation_id, channel_id,
                                       phone_number_id, recipient, requests)
        VALUES ($1, $2, $3, $4, $5, $6, 1)
        ON CONFLICT (tenant_id, message_id) DO NOTHING
        RETURNING message_id
    ), attempt AS (
        INSERT INTO outbound_parts (tenant_id, message_id, part, state, requests)
        SELECT $1, message_id, $7, 'in_flight', 1 FROM created
    )
    SELECT message_id FROM created
"""

_GET = f"""
    SELECT {_RECORD} FROM outbound_messages WHERE tenant_id = $1 AND message_id = $2
"""  # noqa: S608 - built from module constants; values are bound

_ATTEMPTED_PARTS = """
    SELECT part, state, wamid FROM outbound_parts WHERE tenant_id = $1 AND message_id = $2
"""

# One round trip before every further request to Meta: the CTEs share one snapshot, so
# `previous` is the part's state before this request, read under a row lock that orders
# concurrent attempts.
_MARK_IN_FLIGHT = """
    WITH previous AS (
        SELECT state FROM outbound_parts
         WHERE tenant_id = $1 AND message_id = $2 AND part = $3
           FOR UPDATE
    ), attempt AS (
        INSERT INTO outbound_parts (tenant_id, message_id, part, state, requests)
        VALUES ($1, $2, $3, 'in_flight', 1)
        ON CONFLICT (tenant_id, message_id, part) DO UPDATE
           SET state = 'in_flight', requests = outbound_parts.requests + 1,
               updated_at = now()
    ), repeated AS (
        SELECT COALESCE((SELECT state = 'in_flight' FROM previous), false) AS value
    ), counted AS (
        UPDATE outbound_messages
           SET requests = requests + 1,
               possible_duplicate = possible_duplicate OR (SELECT value FROM repeated)
         WHERE tenant_id = $1 AND message_id = $2
    )
    SELECT value FROM repeated
"""

_ANSWER = """
    UPDATE outbound_parts SET state = $4, wamid = $5, updated_at = now()
     WHERE tenant_id = $1 AND message_id = $2 AND part = $3
"""

_FINISH = f"""
    UPDATE outbound_messages
       SET result = $3, wamids = $4, error_code = $5, reason = $6, finished_at = now()
     WHERE tenant_id = $1 AND message_id = $2 AND result IS NULL
    RETURNING {_RECORD}
"""  # noqa: S608 - built from module constants; values are bound
# The same, recording the acceptance of the last part in the same statement.
_FINISH_ACCEPTED = f"""
    WITH accepted AS (
        UPDATE outbound_parts SET state = 'accepted', wamid = $8, updated_at = now()
         WHERE tenant_id = $1 AND message_id = $2 AND part = $7
    )
    {_FINISH}
"""  # noqa: S608 - built from module constants; values are bound


class OutboundRepository:
    """Outbound messages of one tenant (the session's)."""

    def __init__(self, session: SqlSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def begin(self, command: Addressed) -> OutboundMessage | None:
        """Create the message's row. None when it is new (the usual case, one statement);
        otherwise the row as an earlier delivery of the command left it."""
        created = await driver.fetch_one(self._session, _BEGIN, *self._addressed(command))
        if created is not None:
            return None
        return await self._get(command.message_id)

    async def begin_with_request(self, command: Addressed, part: int) -> OutboundMessage | None:
        """`begin`, and when the message is new, also record its request for `part` as in
        flight (as `mark_in_flight` would, a first request being no repetition), in one
        statement. When the command was seen before, nothing is written and its row is
        returned: the caller then marks the request itself, if it is still to be sent."""
        created = await driver.fetch_one(
            self._session, _BEGIN_WITH_REQUEST, *self._addressed(command), part
        )
        if created is not None:
            return None
        return await self._get(command.message_id)

    def _addressed(self, command: Addressed) -> tuple[Any, ...]:
        return (
            self._tenant_id,
            command.message_id,
            command.conversation_id,
            command.channel_id,
            command.phone_number_id,
            command.recipient,
        )

    async def _get(self, message_id: str) -> OutboundMessage:
        # A separate statement, with a snapshot of its own: a concurrent delivery's row that
        # the insert waited for is visible here.
        row = await driver.fetch_one(self._session, _GET, self._tenant_id, message_id)
        assert row is not None  # the insert found it (rows are never deleted meanwhile)
        return OutboundMessage.from_row(row)

    async def attempted_parts(self, message_id: str) -> dict[int, OutboundPart]:
        """The parts of a message that were attempted, by index."""
        rows = await driver.fetch_all(self._session, _ATTEMPTED_PARTS, self._tenant_id, message_id)
        return {r["part"]: OutboundPart(r["part"], PartState(r["state"]), r["wamid"]) for r in rows}

    async def mark_in_flight(self, message_id: str, part: int) -> bool:
        """Record that a request for `part` is about to leave. True when the previous request
        for it got no definite answer (in flight when the process died or timed out): this
        one may deliver the message a second time, and the message is flagged so."""
        found = await driver.fetch_one(
            self._session, _MARK_IN_FLIGHT, self._tenant_id, message_id, part
        )
        assert found is not None  # the statement always returns one row
        return bool(found["value"])

    async def part_accepted(self, message_id: str, part: int, wamid: str | None) -> None:
        """Meta accepted the part's request (and gave it `wamid`)."""
        await self._answer(message_id, part, PartState.ACCEPTED, wamid)

    async def part_rejected(self, message_id: str, part: int) -> None:
        """The part's request definitely did not go out (Meta refused it, or it never left)."""
        await self._answer(message_id, part, PartState.REJECTED, None)

    async def _answer(
        self, message_id: str, part: int, state: PartState, wamid: str | None
    ) -> None:
        await driver.execute(
            self._session, _ANSWER, self._tenant_id, message_id, part, state.value, wamid
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
        args: tuple[Any, ...] = (self._tenant_id, message_id, result, wamids, error_code, reason)
        if accepted_part is None:
            row = await driver.fetch_one(self._session, _FINISH, *args)
        else:
            row = await driver.fetch_one(self._session, _FINISH_ACCEPTED, *args, *accepted_part)
        return OutboundMessage.from_row(row) if row is not None else None
