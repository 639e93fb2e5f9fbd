"""The queries behind the analytics summary, over one tenant's conversations (row-level
security binds the session to the tenant).

Every query starts from the conversations with activity in the period (an index on
`(tenant_id, last_activity_at)`), optionally of one team, and reaches their messages and
transitions through the per-conversation indexes, so a summary reads what the period
touched rather than the tenant's whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from parley_conversation.domain.analytics import Handoff, Period

# The period's conversations: activity since its start (and of the team, when asked).
_ACTIVE = """
    active AS (
        SELECT c.id, c.created_at FROM conversations c
        WHERE c.last_activity_at >= :start
          AND (CAST(:team_id AS uuid) IS NULL OR c.assignee_team_id = CAST(:team_id AS uuid))
    )
"""
# A reply the customer was sent (or is being sent): not a note, not discarded, not failed.
_ANSWER = "m.direction = 'outbound' AND m.status NOT IN ('discarded', 'failed')"


@dataclass(frozen=True)
class Totals:
    conversations: int
    new_conversations: int
    resolved_by_ai: int


@dataclass(frozen=True)
class ResponseTimes:
    count: int
    p50_s: float | None
    p90_s: float | None


class AnalyticsQueries:
    """Read-only figures of one tenant over a period."""

    def __init__(self, session: AsyncSession, period: Period, team_id: UUID | None) -> None:
        self._session = session
        self._params: dict[str, Any] = {
            "start": period.start,
            "end": period.end,
            "team_id": str(team_id) if team_id else None,
        }

    async def _rows(self, sql: str) -> list[Any]:
        return list((await self._session.execute(text(sql), self._params)).all())

    async def messages_per_day(self) -> dict[date, dict[str, int]]:
        """Messages in, out and out by the AI, per UTC day."""
        rows = await self._rows(
            f"""
            WITH {_ACTIVE}
            SELECT (m.occurred_at AT TIME ZONE 'UTC')::date AS day,
                   count(*) FILTER (WHERE m.direction = 'inbound') AS messages_in,
                   count(*) FILTER (WHERE {_ANSWER}) AS messages_out,
                   count(*) FILTER (WHERE {_ANSWER} AND m.author = 'ai') AS messages_out_ai,
                   count(DISTINCT m.conversation_id) FILTER (WHERE m.direction = 'inbound')
                       AS conversations
            FROM messages m JOIN active a ON a.id = m.conversation_id
            WHERE m.occurred_at >= :start AND m.occurred_at < :end
            GROUP BY 1
            """  # noqa: S608 - built from module constants; values are bound
        )
        return {row.day: dict(row._mapping) for row in rows}

    async def totals(self) -> Totals:
        """Conversations the customer wrote in, new ones, and those the AI resolved alone:
        it answered, and nobody took over or was handed the conversation in the period."""
        row = (
            await self._rows(
                f"""
                WITH {_ACTIVE},
                asked AS (
                    SELECT DISTINCT a.id, a.created_at FROM active a
                    JOIN messages m ON m.conversation_id = a.id
                    WHERE m.direction = 'inbound'
                      AND m.occurred_at >= :start AND m.occurred_at < :end
                )
                SELECT count(*) AS conversations,
                       count(*) FILTER (WHERE q.created_at >= :start) AS new_conversations,
                       count(*) FILTER (
                           WHERE EXISTS (
                               SELECT 1 FROM messages m
                               WHERE m.conversation_id = q.id AND {_ANSWER} AND m.author = 'ai'
                                 AND m.occurred_at >= :start AND m.occurred_at < :end)
                           AND NOT EXISTS (
                               SELECT 1 FROM conversation_transitions t
                               WHERE t.conversation_id = q.id
                                 AND t.to_state IN ('waiting_human', 'human')
                                 AND t.at >= :start AND t.at < :end)
                       ) AS resolved_by_ai
                FROM asked q
                """  # noqa: S608 - built from module constants; values are bound
            )
        )[0]
        return Totals(row.conversations, row.new_conversations, row.resolved_by_ai)

    async def handoffs(self) -> list[Handoff]:
        """Handoffs to people and takeovers from the AI in the period."""
        rows = await self._rows(
            f"""
            WITH {_ACTIVE}
            SELECT t.to_state, t.actor_kind, t.reason
            FROM conversation_transitions t JOIN active a ON a.id = t.conversation_id
            WHERE t.at >= :start AND t.at < :end
              AND (t.to_state = 'waiting_human'
                   OR (t.from_state = 'ai' AND t.to_state = 'human'))
            """  # noqa: S608 - built from module constants; values are bound
        )
        return [Handoff(r.to_state, r.actor_kind, r.reason) for r in rows]

    async def first_responses(self) -> dict[str, ResponseTimes]:
        """Time from a customer's first unanswered message to the reply, by who replied
        (`ai` or `agent`): p50 and p90 over the turns of the period."""
        rows = await self._rows(
            f"""
            WITH {_ACTIVE},
            ordered AS (
                SELECT m.conversation_id, m.occurred_at, m.seq, m.direction,
                       lag(m.direction) OVER (
                           PARTITION BY m.conversation_id ORDER BY m.occurred_at, m.seq
                       ) AS previous
                FROM messages m JOIN active a ON a.id = m.conversation_id
                WHERE m.occurred_at >= :start AND m.occurred_at < :end
                  AND (m.direction = 'inbound' OR ({_ANSWER}))
            ),
            turns AS (
                SELECT conversation_id, occurred_at AS asked_at, seq FROM ordered
                WHERE direction = 'inbound' AND previous IS DISTINCT FROM 'inbound'
            ),
            answered AS (
                SELECT r.author, extract(epoch FROM r.occurred_at - t.asked_at) AS seconds
                FROM turns t
                CROSS JOIN LATERAL (
                    SELECT m.author, m.occurred_at FROM messages m
                    WHERE m.conversation_id = t.conversation_id AND {_ANSWER}
                      AND (m.occurred_at, m.seq) > (t.asked_at, t.seq)
                    ORDER BY m.occurred_at, m.seq
                    LIMIT 1
                ) r
            )
            SELECT author, count(*) AS n,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS p90
            FROM answered GROUP BY author
            """  # noqa: S608 - built from module constants; values are bound
        )
        return {
            r.author: ResponseTimes(
                r.n,
                float(r.p50) if r.p50 is not None else None,
                float(r.p90) if r.p90 is not None else None,
            )
            for r in rows
        }
