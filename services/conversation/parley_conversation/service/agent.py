"""Use cases of a business's team: reply, send a template, write a private note, take over,
release to the AI, assign, close, reopen, mark read, label.

Every action locks the conversation row first (`SELECT ... FOR UPDATE`), so it takes turns
with the event handlers and other requests touching the same conversation, and checks the
visibility rule: a conversation the caller may not see does not exist for them (404).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from google.protobuf.json_format import MessageToDict
from parley.whatsapp.v1 import events_pb2 as whatsapp
from parley_platform.errors import Conflict, InvalidRequest, NotFound, PreconditionFailed
from parley_platform.identity import Principal

from parley_conversation import metrics
from parley_conversation.domain import ownership
from parley_conversation.domain.delivery import MessageStatus
from parley_conversation.domain.ownership import Actor, Ownership, State, Transition
from parley_conversation.domain.visibility import can_see
from parley_conversation.domain.window import window_closes_at, window_is_open
from parley_conversation.repository.conversations import Conversation
from parley_conversation.repository.messages import Author, Direction, Message, NewMessage
from parley_conversation.service import outgoing
from parley_conversation.service.outgoing import Kind
from parley_conversation.service.work import Work

MAX_LABELS = 20


@dataclass(frozen=True)
class Sent:
    """A message an agent sent; `replayed` when an earlier request with the same
    Idempotency-Key created it."""

    conversation: Conversation
    message: Message
    replayed: bool = False


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's Idempotency-Key for one send request, with what that request asked for."""

    key: str
    request: dict[str, Any]

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.request, sort_keys=True).encode()).hexdigest()


def _actor_key(actor: Actor) -> str:
    return f"{actor.kind.value}:{actor.id}"


async def _lock_visible(work: Work, principal: Principal, conversation_id: UUID) -> Conversation:
    conversation = await work.conversations.lock(conversation_id)
    if conversation is None or not can_see(
        principal, conversation.assignee_user_id, conversation.assignee_team_id
    ):
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


async def _change_ownership(
    work: Work,
    principal: Principal,
    conversation_id: UUID,
    rule: Callable[[Ownership, Actor], Transition | None],
) -> Conversation:
    """Apply one of the ownership rules, as the caller, to a conversation they can see."""
    conversation = await _lock_visible(work, principal, conversation_id)
    return await work.apply(conversation, rule(conversation.ownership, Actor.of(principal)))


async def take_over(work: Work, principal: Principal, conversation_id: UUID) -> Conversation:
    """The caller answers from now on; an AI reply in flight will not be sent."""
    return await _change_ownership(work, principal, conversation_id, ownership.take_over)


async def release_to_ai(work: Work, principal: Principal, conversation_id: UUID) -> Conversation:
    """The AI answers the customer's next message."""
    return await _change_ownership(work, principal, conversation_id, ownership.release_to_ai)


async def close(work: Work, principal: Principal, conversation_id: UUID) -> Conversation:
    return await _change_ownership(work, principal, conversation_id, ownership.close)


async def reopen(work: Work, principal: Principal, conversation_id: UUID) -> Conversation:
    return await _change_ownership(work, principal, conversation_id, ownership.reopen)


async def assign(
    work: Work,
    principal: Principal,
    conversation_id: UUID,
    user_id: UUID | None,
    team_id: UUID | None,
) -> Conversation:
    """Assign to a user and/or a team (validated beforehand against the directory)."""
    conversation = await _lock_visible(work, principal, conversation_id)
    return await work.apply(
        conversation,
        ownership.assign(conversation.ownership, Actor.of(principal), user_id, team_id),
    )


async def _remembered(
    work: Work, principal: Principal, conversation: Conversation, idempotency: IdempotencyKey | None
) -> Sent | None:
    if idempotency is None:
        return None
    remembered = await work.idempotency.find(_actor_key(Actor.of(principal)), idempotency.key)
    if remembered is None:
        return None
    if remembered.request_hash != idempotency.fingerprint():
        raise InvalidRequest(
            "this Idempotency-Key was already used for a different request",
            code="idempotency_key_reused",
        )
    message = await work.messages.get(remembered.message_id)
    assert message is not None
    return Sent(conversation, message, replayed=True)


async def _remember(
    work: Work, principal: Principal, idempotency: IdempotencyKey | None, message: Message
) -> None:
    if idempotency is None:
        return
    if not await work.idempotency.remember(
        _actor_key(Actor.of(principal)), idempotency.key, idempotency.fingerprint(), message.id
    ):
        raise Conflict(
            "another request with this Idempotency-Key is being processed; retry it",
            code="idempotency_key_in_use",
        )


async def _send(
    work: Work,
    principal: Principal,
    conversation: Conversation,
    new: NewMessage,
) -> tuple[Conversation, Message]:
    actor = Actor.of(principal)
    conversation = await work.apply(
        conversation, ownership.agent_sends(conversation.ownership, actor)
    )
    return await work.add_message(conversation, new)


async def reply(
    work: Work,
    principal: Principal,
    conversation_id: UUID,
    text: str,
    *,
    reply_to_message_id: UUID | None = None,
    idempotency: IdempotencyKey | None = None,
) -> Sent:
    """Send a free-form text to the customer. Allowed only inside the 24-hour customer
    service window; outside it nothing is stored and a template is needed."""
    conversation = await _lock_visible(work, principal, conversation_id)
    if (replayed := await _remembered(work, principal, conversation, idempotency)) is not None:
        return replayed
    now = datetime.now(UTC)
    if not window_is_open(conversation.last_inbound_at, now):
        metrics.WINDOW_CLOSED_REFUSALS.inc()
        closes_at = window_closes_at(conversation.last_inbound_at)
        since = (
            f"it closed at {closes_at.isoformat()}, 24 hours after the customer's last message"
            if closes_at
            else "the customer has not written yet"
        )
        raise PreconditionFailed(
            f"the customer service window is closed ({since}); send a template to reach "
            "the customer",
            code="window_closed",
        )
    reply_to_wamid = None
    if reply_to_message_id is not None:
        quoted = await work.messages.get(reply_to_message_id)
        if quoted is None or quoted.conversation_id != conversation.id or not quoted.wamid:
            raise InvalidRequest(
                "reply_to_message_id is not a delivered message of this conversation"
            )
        reply_to_wamid = quoted.wamid
    conversation, message = await _send(
        work,
        principal,
        conversation,
        NewMessage(
            conversation_id=conversation.id,
            direction=Direction.OUTBOUND,
            author=Author.AGENT,
            author_user_id=principal.user_id,
            type="text",
            content={"text": {"body": text}},
            text=text,
            status=MessageStatus.PENDING,
            occurred_at=now,
            reply_to_wamid=reply_to_wamid,
        ),
    )
    work.emit(outgoing.send_text(work.tenant_id, conversation, message))
    await _remember(work, principal, idempotency, message)
    return Sent(conversation, message)


@dataclass(frozen=True)
class TemplateRequest:
    """An approved WhatsApp template and the values of its placeholders."""

    name: str
    language: str
    body_parameters: Sequence[tuple[str, str | None]] = ()  # (text, parameter name)
    header_parameters: Sequence[tuple[str, str | None]] = ()
    quick_reply_payloads: Sequence[str] = ()

    def to_proto(self) -> whatsapp.Template:
        def parameters(
            values: Sequence[tuple[str, str | None]],
        ) -> list[whatsapp.Template.Parameter]:
            return [whatsapp.Template.Parameter(text=t, name=n or "") for t, n in values]

        components = []
        if self.header_parameters:
            components.append(
                whatsapp.Template.Component(
                    type="header", parameters=parameters(self.header_parameters)
                )
            )
        if self.body_parameters:
            components.append(
                whatsapp.Template.Component(
                    type="body", parameters=parameters(self.body_parameters)
                )
            )
        for index, payload in enumerate(self.quick_reply_payloads):
            components.append(
                whatsapp.Template.Component(
                    type="button", sub_type="quick_reply", index=index, payload=payload
                )
            )
        return whatsapp.Template(name=self.name, language=self.language, components=components)


async def send_template(
    work: Work,
    principal: Principal,
    conversation_id: UUID,
    template: TemplateRequest,
    *,
    idempotency: IdempotencyKey | None = None,
) -> Sent:
    """Send an approved template: allowed at any time, inside or outside the window."""
    conversation = await _lock_visible(work, principal, conversation_id)
    if (replayed := await _remembered(work, principal, conversation, idempotency)) is not None:
        return replayed
    proto = template.to_proto()
    values = ", ".join(t for t, _ in (*template.header_parameters, *template.body_parameters))
    conversation, message = await _send(
        work,
        principal,
        conversation,
        NewMessage(
            conversation_id=conversation.id,
            direction=Direction.OUTBOUND,
            author=Author.AGENT,
            author_user_id=principal.user_id,
            type="template",
            content={"template": MessageToDict(proto, preserving_proto_field_name=True)},
            text=f"[template {template.name} ({template.language})]"
            + (f" {values}" if values else ""),
            status=MessageStatus.PENDING,
            occurred_at=datetime.now(UTC),
        ),
    )
    work.emit(outgoing.send_template(work.tenant_id, conversation, message, proto))
    await _remember(work, principal, idempotency, message)
    return Sent(conversation, message)


async def add_note(work: Work, principal: Principal, conversation_id: UUID, text: str) -> Message:
    """A private note for the team: in the timeline, never sent to the customer."""
    conversation = await _lock_visible(work, principal, conversation_id)
    _, message = await work.add_message(
        conversation,
        NewMessage(
            conversation_id=conversation.id,
            direction=Direction.INTERNAL,
            author=Author.AGENT,
            author_user_id=principal.user_id,
            type="note",
            content={"note": {"body": text}},
            text=text,
            status=MessageStatus.INTERNAL,
            occurred_at=datetime.now(UTC),
        ),
    )
    return message


async def mark_read(work: Work, principal: Principal, conversation_id: UUID) -> Conversation:
    """The team read the conversation: its unread count drops to zero, and (unless the AI is
    answering, which already marks every message read) the customer sees blue ticks."""
    conversation = await _lock_visible(work, principal, conversation_id)
    if conversation.unread_count == 0:
        return conversation
    conversation = await work.conversations.mark_read(conversation.id)
    work.emit(
        outgoing.conversation_changed(
            work.tenant_id, conversation, Kind.KIND_UPDATED, detail="read"
        )
    )
    if conversation.state != State.AI:
        newest = await work.messages.newest_from_customer(conversation.id)
        if newest is not None and newest.wamid:
            work.emit(
                outgoing.mark_read(
                    work.tenant_id, conversation, newest.wamid, typing_indicator=False
                )
            )
    return conversation


async def change_labels(
    work: Work,
    principal: Principal,
    conversation_id: UUID,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> Conversation:
    """Add and/or remove labels (adding one already there, or removing one that is not,
    changes nothing)."""
    conversation = await _lock_visible(work, principal, conversation_id)
    labels = [label for label in conversation.labels if label not in set(remove)]
    labels += [label for label in dict.fromkeys(add) if label not in labels]
    if len(labels) > MAX_LABELS:
        raise InvalidRequest(f"a conversation has at most {MAX_LABELS} labels")
    if labels == conversation.labels:
        return conversation
    conversation = await work.conversations.set_labels(conversation.id, labels)
    work.emit(
        outgoing.conversation_changed(
            work.tenant_id, conversation, Kind.KIND_UPDATED, detail="labels"
        )
    )
    return conversation
