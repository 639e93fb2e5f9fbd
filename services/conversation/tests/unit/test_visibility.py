"""The visibility rule without I/O (its SQL twin is checked against it in
tests/test_visibility_parity.py)."""

from __future__ import annotations

import uuid

import pytest
from parley_conversation.domain.visibility import can_see
from parley_platform.identity import Principal, Role

TENANT = uuid.uuid4()
ME, SOMEONE = uuid.uuid4(), uuid.uuid4()
MY_TEAM, OTHER_TEAM = uuid.uuid4(), uuid.uuid4()


def agent(*teams: uuid.UUID) -> Principal:
    return Principal(tenant_id=TENANT, role=Role.AGENT, user_id=ME, team_ids=frozenset(teams))


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_owners_and_admins_see_every_conversation(role) -> None:
    boss = Principal(tenant_id=TENANT, role=role, user_id=ME)
    for user in (None, ME, SOMEONE):
        for team in (None, MY_TEAM, OTHER_TEAM):
            assert can_see(boss, user, team)


def test_an_agent_sees_unassigned_their_own_and_their_teams_conversations() -> None:
    me = agent(MY_TEAM)
    assert can_see(me, None, None)
    assert can_see(me, ME, None)
    assert can_see(me, ME, OTHER_TEAM)  # mine, whatever the team
    assert can_see(me, None, MY_TEAM)
    assert can_see(me, SOMEONE, MY_TEAM)  # a teammate's, in my team


def test_an_agent_does_not_see_other_peoples_or_other_teams_conversations() -> None:
    me = agent(MY_TEAM)
    assert not can_see(me, SOMEONE, None)
    assert not can_see(me, None, OTHER_TEAM)
    assert not can_see(me, SOMEONE, OTHER_TEAM)
    assert not can_see(agent(), None, MY_TEAM)  # in no team at all


def test_an_agent_api_key_sees_only_unassigned_and_its_teams_conversations() -> None:
    key = Principal(tenant_id=TENANT, role=Role.AGENT, api_key_id=uuid.uuid4())
    assert can_see(key, None, None)
    assert not can_see(key, SOMEONE, None)
    assert not can_see(key, None, MY_TEAM)
