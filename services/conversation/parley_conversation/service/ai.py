"""Use cases driven by the AI: an answer to send, or a handoff to people.

A reply counts only if its request is still the conversation's current one and the AI
still answers it (state `ai`). Otherwise (an agent took over, the conversation closed or was
handed off, a newer customer message superseded the request) an answer is stored as
discarded, visible to agents as such and never sent, and a handoff changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from google.protobuf.json_format import MessageToDict
from parley.ai.v1 import events_pb2 as ai_events

from parley_conversation import metrics
from parley_conversation.domain import ownership
from parley_conversation.domain.delivery import MessageStatus
from parley_conversation.domain.ownership import State
from parley_conversation.repository.conversations import Conversation
from parley_conversation.repository.messages import Author, Direction, NewMessage
from parley_conversation.service import outgoing
from parley_conversation.service.work import Work

log = logging.getLogger(__name__)

HANDOFF_REASONS = {
    ai_events.HANDOFF_REASON_NO_GROUNDED_ANSWER: "the AI found no grounded answer",
    ai_events.HANDOFF_REASON_CUSTOMER_ASKED_FOR_HUMAN: "the customer asked for a person",
    ai_events.HANDOFF_REASON_MODEL_FAILED: "the AI model failed",
    ai_events.HANDOFF_REASON_BUDGET_EXHAUSTED: "the AI budget is exhausted",
    ai_events.HANDOFF_REASON_POLICY: "the AI may not answer this (policy)",
}


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _why_stale(conversation: Conversation, request_id: UUID) -> str | None:
    """Why a reply to `request_id` must not be sent now (None: it may)."""
    if conversation.state == State.HUMAN:
        return "an agent took over the conversation"
    if conversation.state == State.WAITING_HUMAN:
        return "the conversation was handed to a person"
    if conversation.state == State.CLOSED:
        return "the conversation was closed"
    if conversation.ai_request_id != request_id:
        return "a newer customer message superseded the request"
    return None


async def receive_reply(work: Work, reply: ai_events.AiReply) -> None:
    """Apply the AI's answer or handoff for one request."""
    conversation_id, request_id = _uuid(reply.conversation_id), _uuid(reply.request_id)
    if conversation_id is None or request_id is None:
        log.warning("AI reply with malformed ids ignored")
        return
    conversation = await work.conversations.lock(conversation_id)
    if conversation is None:
        log.warning("AI reply for an unknown conversation ignored")
        return
    answered, question_wamid = await work.messages.reply_context(
        request_id, conversation.ai_request_message_id
    )
    if answered:
        return  # the same answer reported twice
    stale = _why_stale(conversation, request_id)
    outcome = reply.WhichOneof("outcome")
    if outcome == "answer":
        await _answer(work, conversation, request_id, reply.answer, stale, question_wamid)
    elif outcome == "handoff" and stale is None:
        reason = HANDOFF_REASONS.get(reply.handoff.reason, "the AI handed off")
        if reply.handoff.detail:
            reason = f"{reason}: {reply.handoff.detail}"
        await work.apply(conversation, ownership.ai_handed_off(conversation.ownership, reason))
        metrics.AI_REPLIES.labels("handoff").inc()
    elif outcome == "handoff":
        metrics.AI_REPLIES.labels("stale_handoff").inc()
        log.info("stale AI handoff ignored", extra={"reason": stale})
    else:
        log.warning("AI reply with neither an answer nor a handoff ignored")


async def _answer(
    work: Work,
    conversation: Conversation,
    request_id: UUID,
    answer: ai_events.Answer,
    stale: str | None,
    question_wamid: str | None,
) -> None:
    if stale is None and not answer.text.strip():
        await work.apply(
            conversation,
            ownership.ai_handed_off(conversation.ownership, "the AI returned an empty answer"),
        )
        return
    content: dict[str, Any] = {"text": {"body": answer.text}}
    if answer.citations:
        content["citations"] = [
            MessageToDict(c, preserving_proto_field_name=True) for c in answer.citations
        ]
    if answer.confidence:
        content["confidence"] = answer.confidence
    conversation, message = await work.add_message(
        conversation,
        NewMessage(
            conversation_id=conversation.id,
            direction=Direction.OUTBOUND,
            author=Author.AI,
            type="text",
            content=content,
            text=answer.text,
            status=MessageStatus.DISCARDED if stale else MessageStatus.PENDING,
            failure_reason=f"not sent: {stale}" if stale else None,
            occurred_at=datetime.now(UTC),
            reply_to_wamid=None if stale else question_wamid,
            ai_request_id=request_id,
        ),
    )
    if stale:
        log.info("stale AI answer stored as discarded", extra={"reason": stale})
        metrics.AI_REPLIES.labels("discarded").inc()
        return
    work.emit(outgoing.send_text(work.tenant_id, conversation, message))
    metrics.AI_REPLIES.labels("sent").inc()
