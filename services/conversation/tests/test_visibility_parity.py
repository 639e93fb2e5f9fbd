"""Visibility is written twice: in Python (`domain.visibility.can_see`, for actions and
live events) and in SQL (`repository.conversations.visible_to`, for lists and reads). Over
every combination of role, kind of caller, team membership, assignment and state, the
conversations a caller can list are exactly those the Python rule lets them see."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

from parley_conversation.domain.ownership import State
from parley_conversation.domain.visibility import can_see
from parley_conversation.repository.conversations import (
    ConversationFilter,
    ConversationRepository,
)
from parley_conversation.repository.tables import contacts, conversations
from parley_platform.db import Database
from parley_platform.identity import Principal, Role


async def test_the_sql_rule_and_the_python_rule_agree_on_every_case(conversation_settings) -> None:
    tenant = uuid.uuid4()
    me, colleague = uuid.uuid4(), uuid.uuid4()
    my_team, other_team = uuid.uuid4(), uuid.uuid4()
    assignments = list(itertools.product([None, me, colleague], [None, my_team, other_team], State))
    callers = [
        Principal(
            tenant_id=tenant,
            role=role,
            user_id=me if kind == "user" else None,
            api_key_id=uuid.uuid4() if kind == "api_key" else None,
            team_ids=frozenset(teams),
        )
        for role, kind, teams in itertools.product(
            Role, ["user", "api_key"], [(), (my_team,), (other_team,), (my_team, other_team)]
        )
    ]

    database = Database(conversation_settings.database_url.get_secret_value(), pool_size=1)
    try:
        async with database.tenant_session(tenant) as session:
            assigned = {}
            for user, team, state in assignments:
                contact_id, conversation_id = uuid.uuid4(), uuid.uuid4()
                await session.execute(
                    contacts.insert().values(
                        tenant_id=tenant, id=contact_id, wa_id=str(contact_id.int)[:15]
                    )
                )
                await session.execute(
                    conversations.insert().values(
                        tenant_id=tenant,
                        id=conversation_id,
                        contact_id=contact_id,
                        channel_id="channel-1",
                        phone_number_id="phone-1",
                        customer_key=str(contact_id),
                        state=state.value,
                        assignee_user_id=user,
                        assignee_team_id=team,
                        last_activity_at=datetime.now(UTC),
                    )
                )
                assigned[conversation_id] = (user, team)

            repository = ConversationRepository(session, tenant)
            seen_counts = set()
            for caller in callers:
                listed = await repository.list(
                    caller, ConversationFilter(), after=None, limit=len(assignments) + 1
                )
                expected = {c for c, (u, t) in assigned.items() if can_see(caller, u, t)}
                assert {c.id for c in listed} == expected, caller
                seen_counts.add(len(expected))
                for conversation_id in assigned:
                    found = await repository.get(conversation_id, caller)
                    assert (found is not None) == (conversation_id in expected), caller
        # Not a trivial agreement: some callers see everything, others less, down to only
        # the unassigned conversations (one per state).
        assert max(seen_counts) == len(assignments) and min(seen_counts) == len(State)
        assert len(seen_counts) >= 4
    finally:
        await database.engine.dispose()
