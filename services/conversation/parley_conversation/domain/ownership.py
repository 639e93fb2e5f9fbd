"""Who answers a conversation: the ownership state machine.

    ai ──(customer asks for a person / AI hands off)──▶ waiting_human
    ai, waiting_human ──(an agent takes over, or replies)──▶ human
    human, waiting_human ──(released to the AI)──▶ ai
    any open state ──(closed)──▶ closed
    closed ──(the customer writes again)──▶ ai
    closed ──(an agent reopens it, or sends a message)──▶ human

Assignment (a user and/or a team) is orthogonal to the state: it says who is responsible
and decides visibility; in `human` the assigned user is the agent who holds it. A held
conversation is taken, released, reassigned or closed only by its holder or by an owner or
admin: a teammate who can see it cannot take it away by any of these. Every
change is a `Transition` (before, after, who, why) that the caller records. A request that
changes nothing returns None (idempotent: taking over twice records one transition).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from uuid import UUID

from parley_platform.errors import Conflict, PreconditionFailed
from parley_platform.identity import Principal, Role


class State(StrEnum):
    AI = "ai"
    WAITING_HUMAN = "waiting_human"
    HUMAN = "human"
    CLOSED = "closed"


class ActorKind(StrEnum):
    CUSTOMER = "customer"
    AI = "ai"
    USER = "user"
    API_KEY = "api_key"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who caused a change."""

    kind: ActorKind
    id: UUID | None = None
    # Owners and admins may take a conversation from another agent.
    may_take_from_others: bool = False

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        """The actor behind an API request."""
        if principal.user_id is not None:
            return cls(ActorKind.USER, principal.user_id, principal.has_role(Role.ADMIN))
        return cls(ActorKind.API_KEY, principal.api_key_id, principal.has_role(Role.ADMIN))

    @property
    def user_id(self) -> UUID | None:
        return self.id if self.kind == ActorKind.USER else None


CUSTOMER = Actor(ActorKind.CUSTOMER)
AI = Actor(ActorKind.AI)


@dataclass(frozen=True)
class Ownership:
    """A conversation's state and assignment."""

    state: State
    assignee_user_id: UUID | None = None
    assignee_team_id: UUID | None = None

    @property
    def is_open(self) -> bool:
        return self.state != State.CLOSED


@dataclass(frozen=True)
class Transition:
    """One recorded change of ownership: before, after, who and why."""

    before: Ownership
    after: Ownership
    actor: Actor
    reason: str

    @property
    def state_changed(self) -> bool:
        return self.before.state != self.after.state

    @property
    def assignment_changed(self) -> bool:
        return (self.before.assignee_user_id, self.before.assignee_team_id) != (
            self.after.assignee_user_id,
            self.after.assignee_team_id,
        )


def _change(before: Ownership, after: Ownership, actor: Actor, reason: str) -> Transition | None:
    return None if after == before else Transition(before, after, actor, reason)


def _refuse_if_held_by_another(current: Ownership, actor: Actor) -> None:
    held_by = current.assignee_user_id
    if (
        current.state == State.HUMAN
        and held_by is not None
        and held_by != actor.user_id
        and not actor.may_take_from_others
    ):
        raise Conflict(
            "another agent is handling this conversation; ask them or an admin to reassign it",
            code="conversation_owned",
        )


def customer_wrote(current: Ownership) -> Transition | None:
    """A customer message reopens a closed conversation; the AI answers first again."""
    if current.state != State.CLOSED:
        return None
    return _change(current, replace(current, state=State.AI), CUSTOMER, "the customer wrote again")


def customer_asked_for_a_person(current: Ownership, phrase: str) -> Transition | None:
    """The customer asked for a person: hand off at once (only the AI hands off; an agent
    who already holds the conversation keeps it)."""
    if current.state != State.AI:
        return None
    return _change(
        current,
        replace(current, state=State.WAITING_HUMAN),
        CUSTOMER,
        f'the customer asked for a person ("{phrase}")',
    )


def ai_handed_off(current: Ownership, reason: str) -> Transition | None:
    """The AI decided a person should answer."""
    if current.state != State.AI:
        return None
    return _change(current, replace(current, state=State.WAITING_HUMAN), AI, reason)


def take_over(current: Ownership, actor: Actor) -> Transition | None:
    """An agent takes the conversation: the AI stays silent from now on."""
    if current.state == State.CLOSED:
        raise PreconditionFailed(
            "the conversation is closed; reopen it first", code="conversation_closed"
        )
    _refuse_if_held_by_another(current, actor)
    after = replace(
        current,
        state=State.HUMAN,
        assignee_user_id=actor.user_id or current.assignee_user_id,
    )
    return _change(current, after, actor, "taken over")


def release_to_ai(current: Ownership, actor: Actor) -> Transition | None:
    """Hand the conversation back to the AI (the assignment stays, for follow-up)."""
    if current.state == State.CLOSED:
        raise PreconditionFailed(
            "the conversation is closed; reopen it first", code="conversation_closed"
        )
    _refuse_if_held_by_another(current, actor)
    return _change(current, replace(current, state=State.AI), actor, "released to the AI")


def close(current: Ownership, actor: Actor) -> Transition | None:
    """Close the conversation; a new customer message reopens it."""
    _refuse_if_held_by_another(current, actor)
    return _change(current, replace(current, state=State.CLOSED), actor, "closed")


def reopen(current: Ownership, actor: Actor) -> Transition | None:
    """An agent reopens a closed conversation and holds it."""
    if current.state != State.CLOSED:
        return None
    after = replace(
        current, state=State.HUMAN, assignee_user_id=actor.user_id or current.assignee_user_id
    )
    return _change(current, after, actor, "reopened")


def agent_sends(current: Ownership, actor: Actor) -> Transition | None:
    """An agent sends a reply or a template: the conversation becomes theirs (implicitly
    taken over or reopened), so the AI does not answer alongside them."""
    if current.state == State.HUMAN:
        _refuse_if_held_by_another(current, actor)
        if current.assignee_user_id is None and actor.user_id is not None:
            return _change(
                current, replace(current, assignee_user_id=actor.user_id), actor, "agent replied"
            )
        return None
    reason = "reopened by an agent's message" if current.state == State.CLOSED else "agent replied"
    after = replace(
        current, state=State.HUMAN, assignee_user_id=actor.user_id or current.assignee_user_id
    )
    return _change(current, after, actor, reason)


def assign(
    current: Ownership, actor: Actor, user_id: UUID | None, team_id: UUID | None
) -> Transition | None:
    """Make a user and/or a team responsible (both None: unassigned). In `human` the
    assigned user is the agent who holds the conversation, so only they (or an owner or
    admin) may hand it to someone else."""
    _refuse_if_held_by_another(current, actor)
    after = replace(current, assignee_user_id=user_id, assignee_team_id=team_id)
    if user_id is not None and team_id is not None:
        reason = f"assigned to user {user_id} in team {team_id}"
    elif user_id is not None:
        reason = f"assigned to user {user_id}"
    elif team_id is not None:
        reason = f"assigned to team {team_id}"
    else:
        reason = "unassigned"
    return _change(current, after, actor, reason)
