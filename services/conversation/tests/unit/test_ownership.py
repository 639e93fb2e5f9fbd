"""The ownership state machine without I/O: who answers after each event, what is refused,
and what changes nothing (so that repeating a request records no second transition)."""

from __future__ import annotations

import uuid

import pytest
from parley_conversation.domain import ownership
from parley_conversation.domain.ownership import (
    AI,
    CUSTOMER,
    Actor,
    ActorKind,
    Ownership,
    State,
)
from parley_platform.errors import Conflict, PreconditionFailed
from parley_platform.identity import Principal, Role

TENANT = uuid.uuid4()
BEA, CARL = uuid.uuid4(), uuid.uuid4()
SUPPORT = uuid.uuid4()

AGENT_BEA = Actor(ActorKind.USER, BEA)
AGENT_CARL = Actor(ActorKind.USER, CARL)
ADMIN = Actor(ActorKind.USER, uuid.uuid4(), may_take_from_others=True)
API_KEY = Actor(ActorKind.API_KEY, uuid.uuid4())

OPEN_STATES = [State.AI, State.WAITING_HUMAN, State.HUMAN]


def held_by(user: uuid.UUID | None, state: State = State.HUMAN) -> Ownership:
    return Ownership(state, assignee_user_id=user, assignee_team_id=SUPPORT)


def test_an_actor_is_the_user_or_the_api_key_behind_a_request() -> None:
    agent = Principal(tenant_id=TENANT, role=Role.AGENT, user_id=BEA)
    owner = Principal(tenant_id=TENANT, role=Role.OWNER, user_id=CARL)
    key = Principal(tenant_id=TENANT, role=Role.ADMIN, api_key_id=uuid.uuid4())

    assert Actor.of(agent) == Actor(ActorKind.USER, BEA, may_take_from_others=False)
    assert Actor.of(owner).may_take_from_others
    assert Actor.of(key).kind == ActorKind.API_KEY and Actor.of(key).may_take_from_others
    assert Actor.of(key).user_id is None and Actor.of(agent).user_id == BEA


@pytest.mark.parametrize("state", [*OPEN_STATES])
def test_a_customer_message_changes_nothing_while_the_conversation_is_open(state) -> None:
    assert ownership.customer_wrote(Ownership(state)) is None


def test_a_customer_message_reopens_a_closed_conversation_for_the_ai_keeping_its_assignee() -> None:
    closed = held_by(BEA, State.CLOSED)
    transition = ownership.customer_wrote(closed)
    assert transition is not None
    assert transition.after == held_by(BEA, State.AI)
    assert transition.actor == CUSTOMER and transition.state_changed
    assert not transition.assignment_changed
    assert transition.reason == "the customer wrote again"


def test_asking_for_a_person_hands_off_only_while_the_ai_answers() -> None:
    transition = ownership.customer_asked_for_a_person(Ownership(State.AI), "humano")
    assert transition is not None
    assert transition.after.state == State.WAITING_HUMAN
    assert transition.actor == CUSTOMER
    assert transition.reason == 'the customer asked for a person ("humano")'
    for state in (State.WAITING_HUMAN, State.HUMAN, State.CLOSED):
        assert ownership.customer_asked_for_a_person(held_by(BEA, state), "agent") is None


def test_the_ai_hands_off_only_a_conversation_it_answers() -> None:
    transition = ownership.ai_handed_off(Ownership(State.AI), "no grounded answer")
    assert transition is not None
    assert (transition.after.state, transition.actor, transition.reason) == (
        State.WAITING_HUMAN,
        AI,
        "no grounded answer",
    )
    for state in (State.WAITING_HUMAN, State.HUMAN, State.CLOSED):
        assert ownership.ai_handed_off(Ownership(state), "late") is None


@pytest.mark.parametrize("state", [State.AI, State.WAITING_HUMAN])
def test_an_agent_takes_over_from_the_ai_or_the_queue_and_holds_it(state) -> None:
    transition = ownership.take_over(Ownership(state, assignee_team_id=SUPPORT), AGENT_BEA)
    assert transition is not None
    assert transition.after == Ownership(State.HUMAN, BEA, SUPPORT)
    assert transition.reason == "taken over"
    assert transition.state_changed and transition.assignment_changed


def test_taking_over_twice_records_nothing_the_second_time() -> None:
    assert ownership.take_over(Ownership(State.HUMAN, BEA), AGENT_BEA) is None


def test_an_api_key_takes_over_without_becoming_the_assignee() -> None:
    transition = ownership.take_over(held_by(None, State.AI), API_KEY)
    assert transition is not None
    assert transition.after == held_by(None, State.HUMAN)


def test_an_agent_cannot_take_or_release_what_another_agent_holds_but_an_admin_can() -> None:
    carls = held_by(CARL)
    for rule in (ownership.take_over, ownership.release_to_ai, ownership.agent_sends):
        with pytest.raises(Conflict) as refused:
            rule(carls, AGENT_BEA)
        assert refused.value.code == "conversation_owned"
    # Nor by assigning it (to themself or anyone), nor by closing it.
    for user in (BEA, None):
        with pytest.raises(Conflict):
            ownership.assign(carls, AGENT_BEA, user, SUPPORT)
    with pytest.raises(Conflict):
        ownership.close(carls, AGENT_BEA)
    with pytest.raises(Conflict):
        ownership.assign(carls, API_KEY, BEA, SUPPORT)  # an agent-role API key neither
    taken = ownership.take_over(carls, ADMIN)
    assert taken is not None and taken.after.assignee_user_id == ADMIN.id
    released = ownership.release_to_ai(carls, ADMIN)
    assert released is not None and released.after == held_by(CARL, State.AI)
    reassigned = ownership.assign(carls, ADMIN, BEA, SUPPORT)
    assert reassigned is not None and reassigned.after == held_by(BEA)
    closed = ownership.close(carls, ADMIN)
    assert closed is not None and closed.after == held_by(CARL, State.CLOSED)


def test_the_holder_may_hand_over_or_close_what_they_hold() -> None:
    handed = ownership.assign(held_by(CARL), AGENT_CARL, BEA, SUPPORT)
    assert handed is not None and handed.after == held_by(BEA)
    closed = ownership.close(held_by(CARL), AGENT_CARL)
    assert closed is not None and closed.after == held_by(CARL, State.CLOSED)


def test_a_conversation_nobody_holds_can_be_taken_by_any_agent() -> None:
    transition = ownership.take_over(held_by(None), AGENT_BEA)
    assert transition is not None and transition.after.assignee_user_id == BEA


@pytest.mark.parametrize("rule", [ownership.take_over, ownership.release_to_ai])
def test_a_closed_conversation_must_be_reopened_before_taking_or_releasing_it(rule) -> None:
    with pytest.raises(PreconditionFailed) as refused:
        rule(held_by(BEA, State.CLOSED), AGENT_BEA)
    assert refused.value.code == "conversation_closed"


def test_releasing_to_the_ai_keeps_the_assignment_for_follow_up() -> None:
    transition = ownership.release_to_ai(held_by(BEA), AGENT_BEA)
    assert transition is not None
    assert transition.after == held_by(BEA, State.AI)
    assert transition.reason == "released to the AI"
    assert ownership.release_to_ai(held_by(BEA, State.AI), AGENT_BEA) is None


@pytest.mark.parametrize("state", [State.AI, State.WAITING_HUMAN])
def test_a_conversation_nobody_holds_can_be_closed_by_anyone_who_sees_it(state) -> None:
    transition = ownership.close(held_by(CARL, state), AGENT_BEA)
    assert transition is not None
    assert transition.after == held_by(CARL, State.CLOSED)
    assert ownership.close(held_by(CARL, State.CLOSED), AGENT_BEA) is None


def test_an_agent_reopening_a_conversation_holds_it() -> None:
    transition = ownership.reopen(held_by(None, State.CLOSED), AGENT_BEA)
    assert transition is not None
    assert transition.after == held_by(BEA, State.HUMAN)
    assert transition.reason == "reopened"
    by_key = ownership.reopen(held_by(CARL, State.CLOSED), API_KEY)
    assert by_key is not None and by_key.after == held_by(CARL, State.HUMAN)
    for state in OPEN_STATES:
        assert ownership.reopen(held_by(CARL, state), AGENT_BEA) is None


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (State.AI, "agent replied"),
        (State.WAITING_HUMAN, "agent replied"),
        (State.CLOSED, "reopened by an agent's message"),
    ],
)
def test_an_agents_message_makes_the_conversation_theirs(state, reason) -> None:
    transition = ownership.agent_sends(held_by(None, state), AGENT_BEA)
    assert transition is not None
    assert transition.after == held_by(BEA, State.HUMAN)
    assert transition.reason == reason


def test_an_agent_writing_in_a_conversation_they_hold_changes_nothing() -> None:
    assert ownership.agent_sends(held_by(BEA), AGENT_BEA) is None
    # An API key answering a held conversation: nothing to record either.
    assert ownership.agent_sends(held_by(None), API_KEY) is None


def test_an_agent_writing_in_a_human_conversation_nobody_holds_takes_it() -> None:
    transition = ownership.agent_sends(held_by(None), AGENT_BEA)
    assert transition is not None
    assert transition.after == held_by(BEA)
    assert not transition.state_changed and transition.assignment_changed


@pytest.mark.parametrize(
    ("user", "team", "reason"),
    [
        (BEA, SUPPORT, f"assigned to user {BEA} in team {SUPPORT}"),
        (BEA, None, f"assigned to user {BEA}"),
        (None, SUPPORT, f"assigned to team {SUPPORT}"),
        (None, None, "unassigned"),
    ],
)
def test_assignment_changes_who_is_responsible_not_the_state(user, team, reason) -> None:
    before = Ownership(State.WAITING_HUMAN, CARL, uuid.uuid4())
    transition = ownership.assign(before, ADMIN, user, team)
    assert transition is not None
    assert transition.after == Ownership(State.WAITING_HUMAN, user, team)
    assert transition.reason == reason
    assert not transition.state_changed and transition.assignment_changed
    assert ownership.assign(transition.after, ADMIN, user, team) is None


def test_only_a_closed_conversation_is_not_open() -> None:
    assert [s for s in State if not Ownership(s).is_open] == [State.CLOSED]
