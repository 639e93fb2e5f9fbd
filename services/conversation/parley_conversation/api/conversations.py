"""The inbox API: conversations, their messages and the team's actions on them.

Routes are thin: they check the principal's scope, open the tenant transaction and call a
use case in `service/`. Everything is visible only within the caller's tenant, and an agent
sees only what the visibility rule allows (see docs/conversations.md).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Response, status
from parley_platform.errors import InvalidRequest
from parley_platform.http.internal import CurrentPrincipal
from parley_platform.identity import Principal

from parley_conversation.api import cursors
from parley_conversation.api.dependencies import READ_SCOPE, WRITE_SCOPE, ServicesDep
from parley_conversation.api.schemas import (
    AssignIn,
    ConversationOut,
    ConversationPage,
    LabelsIn,
    MessageOut,
    MessagePage,
    NoteIn,
    ReplyIn,
    TemplateIn,
    TransitionOut,
    TransitionPage,
)
from parley_conversation.domain.ownership import State
from parley_conversation.repository.conversations import ConversationFilter
from parley_conversation.service import agent
from parley_conversation.service.agent import IdempotencyKey, Sent, TemplateRequest
from parley_conversation.service.inbox import Inbox

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])

ConversationId = Annotated[UUID, Path(description="The conversation")]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` of the previous page")
]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Repeating a send with the same key (e.g. a retry after a timeout) returns "
        "the message the first request created instead of sending it again",
    ),
]
_KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")
ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Not called through the gateway with a valid credential"},
    403: {"description": "The API key lacks the needed scope"},
    404: {"description": "No such conversation, or not visible to the caller"},
}
SEND_ERRORS: dict[int | str, dict[str, str]] = {
    **ERRORS,
    400: {"description": "An invalid Idempotency-Key, or one already used with another body"},
}
LIST_ERRORS: dict[int | str, dict[str, str]] = {
    **ERRORS,
    400: {"description": "An invalid cursor or filter"},
}


def _idempotency(
    key: str | None, conversation_id: UUID, action: str, body: dict[str, object]
) -> IdempotencyKey | None:
    if key is None:
        return None
    if not _KEY_CHARS.match(key):
        raise InvalidRequest("Idempotency-Key must be 1-255 printable ASCII characters")
    return IdempotencyKey(key, {"action": action, "conversation": str(conversation_id), **body})


def _assignee_filter(assignee: str | None, principal: Principal) -> dict[str, Any]:
    if assignee is None:
        return {}
    if assignee == "unassigned":
        return {"unassigned": True}
    if assignee == "me":
        if principal.user_id is None:
            raise InvalidRequest("assignee=me needs a user, not an API key")
        return {"assignee_user_id": principal.user_id}
    try:
        return {"assignee_user_id": UUID(assignee)}
    except ValueError as exc:
        raise InvalidRequest("assignee must be a user id, `me` or `unassigned`") from exc


def _sent(sent: Sent, response: Response) -> MessageOut:
    if sent.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return MessageOut.of(sent.message)


@router.get(
    "", summary="List conversations", response_model=ConversationPage, responses=LIST_ERRORS
)
async def list_conversations(
    principal: CurrentPrincipal,
    services: ServicesDep,
    state: Annotated[list[State] | None, Query(description="Any of these states")] = None,
    assignee: Annotated[
        str | None,
        Query(description="A user id, `me`, or `unassigned` (neither user nor team)"),
    ] = None,
    team_id: Annotated[UUID | None, Query(description="Assigned to this team")] = None,
    unread: Annotated[
        bool | None, Query(description="With (true) or without (false) unread messages")
    ] = None,
    label: Annotated[str | None, Query(max_length=50, description="Carrying this label")] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1, max_length=100, description="Contact name, username or number contains"
        ),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> ConversationPage:
    """Conversations the caller may see, most recent activity first.

    Cursor pagination on (last activity, id): a conversation appears at most once while you
    page; one whose activity changes while you page moves to the top and is not repeated
    (it shows on the next refresh, and the live stream announces it)."""
    principal.require_scope(READ_SCOPE)
    wanted = ConversationFilter(
        states=tuple(state or ()),
        team_id=team_id,
        unread=unread,
        label=label,
        contact_query=q,
        **_assignee_filter(assignee, principal),
    )
    after = cursors.conversation_key(cursor) if cursor else None
    async with services.reading(principal) as session:
        found = await Inbox(session, principal).conversations(wanted, after=after, limit=limit + 1)
    page, next_cursor = cursors.page_of(
        found, limit, "conversations", lambda c: (c.last_activity_at.isoformat(), c.id)
    )
    return ConversationPage(items=[ConversationOut.of(c) for c in page], next_cursor=next_cursor)


@router.get(
    "/{conversation_id}",
    summary="Get a conversation",
    response_model=ConversationOut,
    responses=ERRORS,
)
async def get_conversation(
    conversation_id: ConversationId, principal: CurrentPrincipal, services: ServicesDep
) -> ConversationOut:
    principal.require_scope(READ_SCOPE)
    async with services.reading(principal) as session:
        return ConversationOut.of(await Inbox(session, principal).conversation(conversation_id))


@router.get(
    "/{conversation_id}/messages",
    summary="List a conversation's messages",
    response_model=MessagePage,
    responses=LIST_ERRORS,
)
async def list_messages(
    conversation_id: ConversationId,
    principal: CurrentPrincipal,
    services: ServicesDep,
    order: Annotated[
        Literal["desc", "asc"], Query(description="`desc`: newest first; `asc`: oldest first")
    ] = "desc",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> MessagePage:
    """The timeline (customer messages, replies, private notes), ordered by when each was
    written. Cursor pagination on (time, sequence): every message that existed when you
    started paging is returned exactly once."""
    principal.require_scope(READ_SCOPE)
    after = cursors.message_key(cursor, order) if cursor else None
    async with services.reading(principal) as session:
        found = await Inbox(session, principal).messages(
            conversation_id, newest_first=order == "desc", after=after, limit=limit + 1
        )
    page, next_cursor = cursors.page_of(
        found, limit, f"messages:{order}", lambda m: (m.occurred_at.isoformat(), m.seq)
    )
    return MessagePage(items=[MessageOut.of(m) for m in page], next_cursor=next_cursor)


@router.get(
    "/{conversation_id}/messages/{message_id}",
    summary="Get one message",
    response_model=MessageOut,
    responses=ERRORS,
)
async def get_message(
    conversation_id: ConversationId,
    message_id: UUID,
    principal: CurrentPrincipal,
    services: ServicesDep,
) -> MessageOut:
    principal.require_scope(READ_SCOPE)
    async with services.reading(principal) as session:
        return MessageOut.of(await Inbox(session, principal).message(conversation_id, message_id))


@router.get(
    "/{conversation_id}/transitions",
    summary="Who answered when: the ownership history",
    response_model=TransitionPage,
    responses=LIST_ERRORS,
)
async def list_transitions(
    conversation_id: ConversationId,
    principal: CurrentPrincipal,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> TransitionPage:
    """Every change of state or assignment, oldest first: who, when and why."""
    principal.require_scope(READ_SCOPE)
    after = cursors.transition_key(cursor) if cursor else None
    async with services.reading(principal) as session:
        found = await Inbox(session, principal).transitions(
            conversation_id, after_id=after, limit=limit + 1
        )
    page, next_cursor = cursors.page_of(found, limit, "transitions", lambda t: (t.id,))
    return TransitionPage(items=[TransitionOut.of(t) for t in page], next_cursor=next_cursor)


@router.post(
    "/{conversation_id}/messages",
    summary="Reply to the customer",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
    responses={
        **SEND_ERRORS,
        409: {
            "description": "`window_closed`: more than 24 hours since the customer's last "
            "message, send a template; `conversation_owned`: another agent holds it"
        },
    },
)
async def reply(
    conversation_id: ConversationId,
    body: ReplyIn,
    principal: CurrentPrincipal,
    services: ServicesDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> MessageOut:
    """Send a text to the customer (status `pending` until WhatsApp reports on it). The
    conversation becomes the caller's (`human`): the AI stops answering."""
    principal.require_scope(WRITE_SCOPE)
    key = _idempotency(idempotency_key, conversation_id, "reply", body.model_dump(mode="json"))
    async with services.changing(principal) as work:
        sent = await agent.reply(
            work,
            principal,
            conversation_id,
            body.text,
            reply_to_message_id=body.reply_to_message_id,
            idempotency=key,
        )
    return _sent(sent, response)


@router.post(
    "/{conversation_id}/templates",
    summary="Send a template",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
    responses=SEND_ERRORS,
)
async def send_template(
    conversation_id: ConversationId,
    body: TemplateIn,
    principal: CurrentPrincipal,
    services: ServicesDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> MessageOut:
    """Send an approved WhatsApp template: allowed at any time, including outside the
    24-hour window. The conversation becomes the caller's (`human`)."""
    principal.require_scope(WRITE_SCOPE)
    key = _idempotency(idempotency_key, conversation_id, "template", body.model_dump(mode="json"))
    template = TemplateRequest(
        name=body.name,
        language=body.language,
        body_parameters=body.parameter_pairs("parameters"),
        header_parameters=body.parameter_pairs("header_parameters"),
        quick_reply_payloads=body.quick_reply_payloads,
    )
    async with services.changing(principal) as work:
        sent = await agent.send_template(
            work, principal, conversation_id, template, idempotency=key
        )
    return _sent(sent, response)


@router.post(
    "/{conversation_id}/notes",
    summary="Write a private note",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
    responses=ERRORS,
)
async def add_note(
    conversation_id: ConversationId,
    body: NoteIn,
    principal: CurrentPrincipal,
    services: ServicesDep,
) -> MessageOut:
    """A note in the timeline for the team; never sent to the customer."""
    principal.require_scope(WRITE_SCOPE)
    async with services.changing(principal) as work:
        return MessageOut.of(await agent.add_note(work, principal, conversation_id, body.text))


@router.post(
    "/{conversation_id}/labels",
    summary="Add labels",
    response_model=ConversationOut,
    responses=ERRORS,
)
async def add_labels(
    conversation_id: ConversationId,
    body: LabelsIn,
    principal: CurrentPrincipal,
    services: ServicesDep,
) -> ConversationOut:
    principal.require_scope(WRITE_SCOPE)
    async with services.changing(principal) as work:
        return ConversationOut.of(
            await agent.change_labels(work, principal, conversation_id, add=body.labels)
        )


@router.delete(
    "/{conversation_id}/labels/{label}",
    summary="Remove a label",
    response_model=ConversationOut,
    responses=ERRORS,
)
async def remove_label(
    conversation_id: ConversationId,
    label: Annotated[str, Path(min_length=1, max_length=50)],
    principal: CurrentPrincipal,
    services: ServicesDep,
) -> ConversationOut:
    principal.require_scope(WRITE_SCOPE)
    async with services.changing(principal) as work:
        return ConversationOut.of(
            await agent.change_labels(work, principal, conversation_id, remove=[label])
        )


@router.post(
    "/{conversation_id}/takeover",
    summary="Take over from the AI",
    response_model=ConversationOut,
    responses={**ERRORS, 409: {"description": "Closed, or held by another agent"}},
)
async def take_over(
    conversation_id: ConversationId, principal: CurrentPrincipal, services: ServicesDep
) -> ConversationOut:
    """The caller answers from now on (`human`); an AI reply still in flight is not sent."""
    principal.require_scope(WRITE_SCOPE)
    async with services.changing(principal) as work:
        return ConversationOut.of(await agent.take_over(work, principal, conversation_id))


@router.post(
    "/{conversation_id}/release",
    summary="Release to the AI",
    response_model=ConversationOut,
    responses={**ERRORS, 409: {"description": "Closed, or held by another agent"}},
)
async def release(
    conversation_id: ConversationId, principal: CurrentPrincipal, services: ServicesDep
) -> ConversationOut:
    """The AI answers the customer's next message (`ai`); the assignment stays."""
    principal.require_scope(WRITE_SCOPE)
    async with services.changing(principal) as work:
        return ConversationOut.of(await agent.release_to_ai(work, principal, conversation_id))


@router.post(
    "/{conversation_id}/assign",
    summary="Assign to a user or team",
    response_model=ConversationOut,
    responses={**ERRORS, 404: {"description": "No such conversation, user or team"}},
)
async def assign(
    conversation_id: ConversationId,
    body: AssignIn,
    principal: CurrentPrincipal,
    services: ServicesDep,
) -> ConversationOut:
    """Make a user and/or a team of your tenant responsible (both null: unassign)."""
    principal.require_scope(WRITE_SCOPE)
    await services.directory.require_assignable(body.user_id, body.team_id)
    async with services.changing(principal) as work:
        return ConversationOut.of(
            await agent.assign(work, principal, conversation_id, body.user_id, body.team_id)
        )


@router.post(
    "/{conversation_id}/close", summary="Close", response_model=ConversationOut, responses=ERRORS
)
async def close(
    conversation_id: ConversationId, principal: CurrentPrincipal, services: ServicesDep
) -> ConversationOut:
    """Close the conversation; the customer's next message reopens it (with the AI)."""
    principal.require_scope(WRITE_SCOPE)
    async with services.changing(principal) as work:
        return ConversationOut.of(await agent.close(work, principal, conversation_id))


@router.post(
    "/{conversation_id}/reopen", summary="Reopen", response_model=ConversationOut, responses=ERRORS
)
async def reopen(
    conversation_id: ConversationId, principal: CurrentPrincipal, services: ServicesDep
) -> ConversationOut:
    """Reopen a closed conversation; the caller holds it (`human`)."""
    principal.require_scope(WRITE_SCOPE)
    async with services.changing(principal) as work:
        return ConversationOut.of(await agent.reopen(work, principal, conversation_id))


@router.post(
    "/{conversation_id}/read", summary="Mark read", response_model=ConversationOut, responses=ERRORS
)
async def mark_read(
    conversation_id: ConversationId, principal: CurrentPrincipal, services: ServicesDep
) -> ConversationOut:
    """Reset the unread count; the customer sees their messages as read."""
    principal.require_scope(WRITE_SCOPE)
    async with services.changing(principal) as work:
        return ConversationOut.of(await agent.mark_read(work, principal, conversation_id))
