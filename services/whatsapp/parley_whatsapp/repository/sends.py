"""Outbound messages and their parts: the sender's memory of what went out.

A message row exists from the first time its command is seen; `result` stays NULL until the
outcome is known. A part row is marked `in_flight` (committed) before its request leaves, so
after a crash or a timeout the next attempt knows the customer may already have it.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class OutboundMessage:
    """A send command's record."""

    message_id: str
    result: str | None
    possible_duplicate: bool
    requests: int
    wamids: list[str]


@dataclass(frozen=True)
class OutboundPart:
    """One request of a send command (a part of a split text)."""

    part: int
    state: str
    wamid: str | None


async def begin_message(
    session: AsyncSession,
    tenant_id: UUID,
    *,
    message_id: str,
    conversation_id: str,
    channel_id: str,
    phone_number_id: str,
    recipient: str,
) -> OutboundMessage | None:
    """Create the message's row. None when it is new (the usual case, one statement);
    otherwise the row as it was left by an earlier delivery of the command."""
    created = await session.execute(
        text(
            """
            INSERT INTO outbound_messages
                (tenant_id, message_id, conversation_id, channel_id, phone_number_id, recipient)
            VALUES (:tenant_id, :message_id, :conversation_id, :channel_id, :phone_number_id,
                    :recipient)
            ON CONFLICT (tenant_id, message_id) DO NOTHING
            RETURNING 1
            """
        ),
        {
            "tenant_id": tenant_id,
            "message_id": message_id,
            "conversation_id": conversation_id,
            "channel_id": channel_id,
            "phone_number_id": phone_number_id,
            "recipient": recipient,
        },
    )
    if created.first() is not None:
        return None
    row = (
        await session.execute(
            text(
                "SELECT message_id, result, possible_duplicate, requests, wamids "
                "FROM outbound_messages WHERE tenant_id = :tenant_id AND message_id = :message_id"
            ),
            {"tenant_id": tenant_id, "message_id": message_id},
        )
    ).one()
    return OutboundMessage(
        row.message_id, row.result, row.possible_duplicate, row.requests, list(row.wamids)
    )


async def parts_of(
    session: AsyncSession, tenant_id: UUID, message_id: str
) -> dict[int, OutboundPart]:
    """The parts of a message that were attempted, by index."""
    rows = await session.execute(
        text(
            "SELECT part, state, wamid FROM outbound_parts "
            "WHERE tenant_id = :tenant_id AND message_id = :message_id"
        ),
        {"tenant_id": tenant_id, "message_id": message_id},
    )
    return {r.part: OutboundPart(r.part, r.state, r.wamid) for r in rows}


async def mark_in_flight(
    session: AsyncSession, tenant_id: UUID, message_id: str, part: int, *, idempotent: bool
) -> bool:
    """Record that a request for `part` is about to leave. True when the previous request
    for it got no definite answer (in flight when the process died or timed out): this one
    may deliver the message a second time, and the message is flagged so."""
    # One round trip: the CTEs share one snapshot, so `previous` is the state before this
    # request, read under a row lock that orders concurrent attempts.
    return bool(
        (
            await session.execute(
                text(
                    """
                    WITH previous AS (
                        SELECT state FROM outbound_parts
                         WHERE tenant_id = :tenant_id AND message_id = :message_id
                           AND part = :part
                           FOR UPDATE
                    ), attempt AS (
                        INSERT INTO outbound_parts (tenant_id, message_id, part, state, requests)
                        VALUES (:tenant_id, :message_id, :part, 'in_flight', 1)
                        ON CONFLICT (tenant_id, message_id, part) DO UPDATE
                           SET state = 'in_flight', requests = outbound_parts.requests + 1,
                               updated_at = now()
                    ), repeated AS (
                        SELECT COALESCE((SELECT state = 'in_flight' FROM previous), false)
                               AND NOT :idempotent AS value
                    ), counted AS (
                        UPDATE outbound_messages
                           SET requests = requests + 1,
                               possible_duplicate = possible_duplicate
                                                    OR (SELECT value FROM repeated)
                         WHERE tenant_id = :tenant_id AND message_id = :message_id
                    )
                    SELECT value FROM repeated
                    """
                ),
                {
                    "tenant_id": tenant_id,
                    "message_id": message_id,
                    "part": part,
                    "idempotent": idempotent,
                },
            )
        ).scalar_one()
    )


async def mark_part(
    session: AsyncSession,
    tenant_id: UUID,
    message_id: str,
    part: int,
    *,
    state: str,
    wamid: str | None = None,
) -> None:
    """Record Meta's definite answer for a part: `accepted` (with its wamid) or `rejected`."""
    await session.execute(
        text(
            """
            UPDATE outbound_parts SET state = :state, wamid = :wamid, updated_at = now()
             WHERE tenant_id = :tenant_id AND message_id = :message_id AND part = :part
            """
        ),
        {
            "tenant_id": tenant_id,
            "message_id": message_id,
            "part": part,
            "state": state,
            "wamid": wamid,
        },
    )


async def finish_message(
    session: AsyncSession,
    tenant_id: UUID,
    message_id: str,
    *,
    result: str,
    wamids: list[str],
    error_code: int | None,
    reason: str,
    accepted_part: int | None = None,
    accepted_wamid: str | None = None,
) -> OutboundMessage | None:
    """Set the outcome once (and mark `accepted_part` accepted, in the same statement).
    None when another attempt already finished the message."""
    row = (
        await session.execute(
            text(
                """
                WITH accepted AS (
                    UPDATE outbound_parts
                       SET state = 'accepted', wamid = :accepted_wamid, updated_at = now()
                     WHERE tenant_id = :tenant_id AND message_id = :message_id
                       AND part = CAST(:accepted_part AS integer)
                )
                UPDATE outbound_messages
                   SET result = :result, wamids = :wamids, error_code = :error_code,
                       reason = :reason, finished_at = now()
                 WHERE tenant_id = :tenant_id AND message_id = :message_id AND result IS NULL
                RETURNING message_id, result, possible_duplicate, requests, wamids
                """
            ),
            {
                "tenant_id": tenant_id,
                "message_id": message_id,
                "result": result,
                "wamids": wamids,
                "error_code": error_code,
                "reason": reason,
                "accepted_part": accepted_part,
                "accepted_wamid": accepted_wamid,
            },
        )
    ).one_or_none()
    if row is None:
        return None
    return OutboundMessage(
        row.message_id, row.result, row.possible_duplicate, row.requests, list(row.wamids)
    )
