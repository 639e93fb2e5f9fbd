"""Queries about ownership transitions: the record of who changed a conversation's state or
assignment, when, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from parley_platform.db import driver
from sqlalchemy import select

from parley_conversation.domain.ownership import Transition
from parley_conversation.repository.tables import conversation_transitions as transitions

# Plain SQL through asyncpg: event handlers record transitions (parley_platform.db.driver).
_RECORD = """
    INSERT INTO conversation_transitions (
        tenant_id, conversation_id, from_state, to_state, from_assignee_user_id,
        from_assignee_team_id, to_assignee_user_id, to_assignee_team_id, actor_kind, actor_id,
        reason)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
"""


@dataclass(frozen=True)
class TransitionRecord:
    """One recorded transition."""

    id: int
    conversation_id: UUID
    from_state: str
    to_state: str
    from_assignee_user_id: UUID | None
    from_assignee_team_id: UUID | None
    to_assignee_user_id: UUID | None
    to_assignee_team_id: UUID | None
    actor_kind: str
    actor_id: str | None
    reason: str
    at: datetime

    @classmethod
    def from_row(cls, row: Any) -> TransitionRecord:
        return cls(**{f: row[f] for f in cls.__dataclass_fields__})


class TransitionRepository:
    """Transitions of one tenant's conversations (the session's tenant)."""

    def __init__(self, session: driver.SqlSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def record(self, conversation_id: UUID, transition: Transition) -> None:
        await driver.execute(
            self._session,
            _RECORD,
            self._tenant_id,
            conversation_id,
            transition.before.state.value,
            transition.after.state.value,
            transition.before.assignee_user_id,
            transition.before.assignee_team_id,
            transition.after.assignee_user_id,
            transition.after.assignee_team_id,
            transition.actor.kind.value,
            str(transition.actor.id) if transition.actor.id else None,
            transition.reason,
        )

    async def of_conversation(
        self, conversation_id: UUID, *, after_id: int | None, limit: int
    ) -> list[TransitionRecord]:
        """A conversation's transitions, oldest first, after the cursor `after_id`."""
        statement = (
            select(transitions)
            .where(
                transitions.c.tenant_id == self._tenant_id,
                transitions.c.conversation_id == conversation_id,
            )
            .order_by(transitions.c.id)
            .limit(limit)
        )
        if after_id is not None:
            statement = statement.where(transitions.c.id > after_id)
        rows = (await driver.sqlalchemy_session(self._session).execute(statement)).mappings().all()
        return [TransitionRecord.from_row(r) for r in rows]
