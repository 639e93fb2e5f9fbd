"""`GET /api/v1/events`: the caller's live changes as server-sent events.

Each event is one change of a conversation the caller may see (the visibility rule, applied
to the conversation's assignment as of the change; an assignment change also reaches those
who could see it before, so their dashboards can drop it), or one change of a knowledge
document's processing state, for callers who may read the knowledge base. API keys get each
kind only with its scope (`conversations:read`, `documents:read`); a stream needs one of
them. The SSE `id` is the stream's position in the live-change topics: a client that
reconnects with `Last-Event-ID` gets what it missed, from any replica, or a `resync` event
when that is no longer possible. An event with only an `id` (no data) moves the position on
while nothing visible happens; comments keep proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent
from parley.conversation.v1.events_pb2 import ConversationChanged
from parley.knowledge.v1.events_pb2 import DocumentChanged, DocumentState
from parley_platform.errors import PermissionDenied, Unavailable
from parley_platform.http.internal import CurrentPrincipal
from parley_platform.identity import Principal

from parley_conversation.api.dependencies import DOCUMENTS_READ_SCOPE, READ_SCOPE, ServicesDep
from parley_conversation.api.schemas import (
    ConversationLiveEvent,
    DocumentLiveEvent,
    LiveDocument,
    LiveKind,
)
from parley_conversation.domain.ownership import State
from parley_conversation.domain.visibility import can_see
from parley_conversation.events.live import (
    Accept,
    LiveChange,
    Position,
    StreamOverflow,
    Subscription,
    decode_position,
    encode_position,
)
from parley_conversation.service.outgoing import AUTHOR_CODES, STATE_CODES

router = APIRouter(prefix="/api/v1", tags=["events"])

RECONNECT_AFTER_MS = 3000
# How often a quiet stream's position moves on (an id-only event), so that a reconnect
# after a long quiet period does not have to re-read every other tenant's changes.
POSITION_EVERY_S = 10.0

Kind = ConversationChanged.Kind
KIND_NAMES: dict[ConversationChanged.Kind, LiveKind] = {
    Kind.KIND_MESSAGE_ADDED: "message_added",
    Kind.KIND_MESSAGE_STATUS: "message_status",
    Kind.KIND_STATE_CHANGED: "state_changed",
    Kind.KIND_ASSIGNED: "assigned",
    Kind.KIND_UPDATED: "updated",
}
DOCUMENT_STATES = {
    DocumentState.DOCUMENT_STATE_QUEUED: "queued",
    DocumentState.DOCUMENT_STATE_PROCESSING: "processing",
    DocumentState.DOCUMENT_STATE_READY: "ready",
    DocumentState.DOCUMENT_STATE_FAILED: "failed",
    DocumentState.DOCUMENT_STATE_DELETED: "deleted",
}
STATES = {code: state for state, code in STATE_CODES.items()}
AUTHORS = {code: author.value for author, code in AUTHOR_CODES.items()}


def _self_contained(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its local `$defs` written in place: the stream's schema is inline in
    the OpenAPI document, whose tools cannot resolve local definitions."""
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return inline(definitions[reference.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return dict(inline(schema))


# The `data` of the stream's events: one of the two kinds, told apart by `kind`.
_LIVE_EVENT_SCHEMA = {
    "oneOf": [
        _self_contained(ConversationLiveEvent.model_json_schema()),
        _self_contained(DocumentLiveEvent.model_json_schema()),
    ]
}


def _uuid(value: str) -> UUID | None:
    return UUID(value) if value else None


def visible_changes(principal: Principal) -> Accept:
    """The changes `principal`'s stream carries."""
    reads_conversations = principal.has_scope(READ_SCOPE)
    # Knowledge's own rule (its `documents:read`): every member reads the knowledge base.
    reads_documents = principal.has_scope(DOCUMENTS_READ_SCOPE)

    def accept(live: LiveChange) -> bool:
        if live.tenant_id != principal.tenant_id:
            return False
        change = live.change
        if isinstance(change, DocumentChanged):
            return reads_documents and change.state in DOCUMENT_STATES
        if not reads_conversations or change.kind not in KIND_NAMES:
            return False
        if can_see(principal, _uuid(change.assignee_user_id), _uuid(change.assignee_team_id)):
            return True
        moved = change.kind in (Kind.KIND_ASSIGNED, Kind.KIND_STATE_CHANGED)
        return moved and can_see(
            principal,
            _uuid(change.previous_assignee_user_id),
            _uuid(change.previous_assignee_team_id),
        )

    return accept


def _event(live: LiveChange, position: Position) -> ServerSentEvent:
    change = live.change
    if isinstance(change, DocumentChanged):
        return ServerSentEvent(
            event="document_changed", data=_document_event(change), id=encode_position(position)
        )
    kind = KIND_NAMES[change.kind]
    data = ConversationLiveEvent(
        kind=kind,
        conversation_id=UUID(change.conversation_id),
        message_id=_uuid(change.message_id),
        message_status=change.message_status or None,
        author=AUTHORS.get(change.author),
        state=STATES.get(change.state, State.AI),
        assignee_user_id=_uuid(change.assignee_user_id),
        assignee_team_id=_uuid(change.assignee_team_id),
        unread_count=change.unread_count,
        detail=change.detail,
        at=change.at.ToDatetime(tzinfo=UTC),
    )
    return ServerSentEvent(event=kind, data=data, id=encode_position(position))


def _document_event(change: DocumentChanged) -> DocumentLiveEvent:
    return DocumentLiveEvent(
        kind="document_changed",
        document=LiveDocument(
            id=UUID(change.document_id),
            state=DOCUMENT_STATES[change.state],
            title=change.title,
            kind=change.kind,
            external_id=change.external_id or None,
            failure_reason=change.failure_reason or None,
            revision=change.revision,
            page_count=change.page_count,
            chunk_count=change.chunk_count,
            website_id=_uuid(change.website_id),
            changed_at=change.changed_at.ToDatetime(tzinfo=UTC),
        ),
    )


async def stream_admission(principal: CurrentPrincipal, services: ServicesDep) -> Principal:
    """Checks made before the stream starts (afterwards the status is already 200)."""
    if not (principal.has_scope(READ_SCOPE) or principal.has_scope(DOCUMENTS_READ_SCOPE)):
        raise PermissionDenied(
            f"this API key lacks the {READ_SCOPE!r} or {DOCUMENTS_READ_SCOPE!r} scope"
        )
    if services.live_feed.connections >= services.live_feed.capacity:
        raise Unavailable("too many live streams on this server; retry shortly")
    return principal


async def _next(subscription: Subscription) -> LiveChange | None:
    """The next change, or None after a quiet while."""
    with contextlib.suppress(TimeoutError):
        return await asyncio.wait_for(subscription.next(), timeout=POSITION_EVERY_S)
    return None


@router.get(
    "/events",
    response_class=EventSourceResponse,
    summary="Live changes (server-sent events)",
    responses={
        200: {
            "description": "A `text/event-stream`; each event's `data` is a conversation "
            "change or a `document_changed` and its `event` the kind. Reconnect with "
            "`Last-Event-ID` to resume.",
            "content": {"text/event-stream": {"schema": _LIVE_EVENT_SCHEMA}},
        },
        401: {"description": "Not called through the gateway with a valid credential"},
        503: {"description": "This server has too many open streams; retry"},
    },
)
async def stream_events(
    principal: Annotated[Principal, Depends(stream_admission)],
    services: ServicesDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=2000)] = None,
) -> AsyncIterator[ServerSentEvent]:
    """New messages, delivery statuses, state changes and assignments of the conversations
    the caller may see, and the processing states of the knowledge base's documents, as
    they happen."""
    feed = services.live_feed
    accept = visible_changes(principal)
    subscription = feed.subscribe(accept)
    try:
        yield ServerSentEvent(comment="connected", retry=RECONNECT_AFTER_MS)
        since = decode_position(last_event_id)
        position = dict(subscription.start)
        if since is not None:
            replayed = await feed.replay(since, subscription.start, accept)
            if replayed is None:
                yield ServerSentEvent(
                    event="resync",
                    data={"reason": "changes were missed; reload the conversations"},
                    id=encode_position(position),
                )
            else:
                progress = {p: since.get(p, o) for p, o in subscription.start.items()}
                for live in replayed:
                    progress[live.place] = live.offset + 1
                    yield _event(live, progress)
                # Everything before the subscription's start is now delivered (or is not
                # for this caller); a position beyond it (from a faster replica) stands.
                position = {p: max(o, since.get(p, 0)) for p, o in subscription.start.items()}
        while True:
            change = await _next(subscription)
            if change is None:
                moved = subscription.caught_up_position(position)
                if moved != position:
                    position = moved
                    yield ServerSentEvent(id=encode_position(position))
                continue
            if change.offset < position.get(change.place, 0):
                continue  # already delivered (replayed, or seen through another replica)
            position[change.place] = change.offset + 1
            yield _event(change, position)
    except StreamOverflow:
        return  # the client reconnects with its last id and catches up
    finally:
        subscription.close()
