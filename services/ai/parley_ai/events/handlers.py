"""The `ai` consumer group: AI requests in, replies out (conversation.ai-requested.v1 →
ai.reply.v1).

Requests of different conversations run concurrently (per-key lanes, up to the configured
concurrency); one conversation's run in order. A request whose conversation already has a
newer request waiting (`event.superseded`) is abandoned at once, even mid-call, and gets no
reply: conversation would discard it anyway, and the customer's newest message is what
deserves the answer.

Exactly one reply per request: the slow part (retrieval, the model) runs outside any
transaction; then one tenant transaction records the event in the inbox, adds the calls
made to the usage counters and, only on the first delivery, stages the reply in the outbox
under an event id derived from the request id. A redelivery that finds the request already
done calls no model (the inbox is read just before a model would be paid for); the cheap
decisions (the extractive answerer, a handoff) are simply made again and, being a repeat,
neither counted nor sent, which saves a transaction on every first delivery. A redelivery
that raced the first (a rebalance) may call the model again, but its reply is never staged,
and the calls it made are still counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from uuid import UUID

from parley.ai.v1 import events_pb2 as ai
from parley.conversation.v1 import events_pb2 as conversation
from parley_platform.db import Database
from parley_platform.events import (
    ConsumedEvent,
    OutgoingEvent,
    add_to_outbox,
    derived_event_id,
    first_delivery,
    on,
    seen_before,
)
from parley_platform.events.topics import AI_REPLY, CONVERSATION_AI_REQUESTED
from parley_platform.runtime import Resources
from prometheus_client import Counter, Histogram

from parley_ai.domain.decision import Answer, Clarification, Handoff, HandoffReason
from parley_ai.domain.prompt import Speaker, Turn
from parley_ai.llm.chain import CallLog
from parley_ai.repository.usage import ModelCall, UsageRepository
from parley_ai.service.responder import AlreadyAnswered, Outcome, Question, Responder

log = logging.getLogger(__name__)

GROUP = "ai"

OUTCOMES = Counter("parley_ai_outcomes_total", "AI requests by outcome", ["outcome"])
STEP_LATENCY = Histogram(
    "parley_ai_step_seconds",
    "AI step latency: request consumed to reply staged",
    ["provider"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)

SPEAKERS = {
    conversation.AUTHOR_CUSTOMER: Speaker.CUSTOMER,
    conversation.AUTHOR_AI: Speaker.ASSISTANT,
    conversation.AUTHOR_AGENT: Speaker.AGENT,
}
HANDOFF_CODES = {
    HandoffReason.NO_GROUNDED_ANSWER: ai.HANDOFF_REASON_NO_GROUNDED_ANSWER,
    HandoffReason.CUSTOMER_ASKED_FOR_HUMAN: ai.HANDOFF_REASON_CUSTOMER_ASKED_FOR_HUMAN,
    HandoffReason.MODEL_FAILED: ai.HANDOFF_REASON_MODEL_FAILED,
    HandoffReason.BUDGET_EXHAUSTED: ai.HANDOFF_REASON_BUDGET_EXHAUSTED,
    HandoffReason.POLICY: ai.HANDOFF_REASON_POLICY,
}


def question_of(tenant_id: UUID, request: conversation.AiRequested) -> Question:
    """The use case's view of an AiRequested."""
    return Question(
        tenant_id=tenant_id,
        text=request.customer_text,
        message_type=request.message_type or "text",
        history=tuple(
            Turn(SPEAKERS[item.author], item.text)
            for item in request.history
            if item.author in SPEAKERS and item.text.strip()
        ),
        language_hint=request.language_hint,
    )


def outcome_name(outcome: Outcome) -> str:
    decision = outcome.decision
    if isinstance(decision, Handoff):
        return f"handoff:{decision.reason.value}"
    return "clarification" if isinstance(decision, Clarification) else "answer"


def reply_of(request: conversation.AiRequested, outcome: Outcome, latency_ms: int) -> ai.AiReply:
    """The ai.reply.v1 payload for `outcome`."""
    sent = outcome.calls.sent
    reply = ai.AiReply(
        request_id=request.request_id,
        conversation_id=request.conversation_id,
        message_id=request.message_id,
        usage=ai.Usage(
            model=outcome.model,
            provider=outcome.provider.value,
            prompt_tokens=sum(r.prompt_tokens for r in sent),
            completion_tokens=sum(r.completion_tokens for r in sent),
            cost_usd=round(sum(outcome.calls.cost_usd(r) for r in sent), 8),
            latency_ms=latency_ms,
            llm_calls=len(sent),
            fallback_used=outcome.fallback_used,
        ),
    )
    decision = outcome.decision
    if isinstance(decision, Answer):
        reply.answer.CopyFrom(
            ai.Answer(
                text=decision.text,
                confidence=decision.confidence,
                kind=ai.ANSWER_KIND_GROUNDED,
                language=decision.language,
                citations=[
                    ai.Citation(
                        document_id=p.document_id,
                        chunk_id=p.chunk_id,
                        title=p.title,
                        score=p.score,
                        heading=p.heading,
                        source_uri=p.source_uri,
                    )
                    for p in decision.citations
                ],
            )
        )
    elif isinstance(decision, Clarification):
        reply.answer.CopyFrom(
            ai.Answer(
                text=decision.text,
                confidence=decision.confidence,
                kind=ai.ANSWER_KIND_CLARIFYING_QUESTION,
                language=decision.language,
            )
        )
    else:
        reply.handoff.CopyFrom(
            ai.Handoff(reason=HANDOFF_CODES[decision.reason], detail=decision.detail[:500])
        )
    return reply


class AiRequests:
    """Handles conversation.ai-requested.v1."""

    def __init__(self, database: Database, responder: Responder) -> None:
        self._database = database
        self._responder = responder

    async def handle(self, event: ConsumedEvent[conversation.AiRequested]) -> None:
        """Answer one AI request (or abandon it when a newer one of its conversation waits)."""
        started = time.monotonic()
        tenant = event.tenant_id
        if event.superseded.is_set():
            await self._record(event, None, CallLog(), started)
            return

        # Asked only before a paid model call.
        async def answered_before() -> bool:
            async with self._database.tenant_transaction(tenant) as transaction:
                return await seen_before(transaction, GROUP, event)

        calls = CallLog()
        work = asyncio.create_task(
            self._responder.decide(question_of(tenant, event.payload), calls, answered_before)
        )
        newer = asyncio.create_task(event.superseded.wait())
        try:
            await asyncio.wait({work, newer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            newer.cancel()
        if not work.done():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            await self._record(event, None, calls, started)
            return
        try:
            outcome = work.result()
        except AlreadyAnswered:
            return
        await self._record(event, outcome, calls, started)

    async def _record(
        self,
        event: ConsumedEvent[conversation.AiRequested],
        outcome: Outcome | None,
        calls: CallLog,
        started: float,
    ) -> None:
        """One transaction: inbox, usage, and (first delivery, not superseded) the reply."""
        tenant = event.tenant_id
        latency_ms = int((time.monotonic() - started) * 1000)
        today = datetime.now(UTC).date()
        superseded = outcome is None or event.superseded.is_set()
        name = "superseded" if superseded or outcome is None else outcome_name(outcome)
        # A plain transaction: every statement of it is plain SQL (inbox, outbox, usage).
        async with self._database.tenant_transaction(tenant) as transaction:
            first = await first_delivery(transaction, GROUP, event)
            if first and not superseded and outcome is not None:
                request = event.payload
                await add_to_outbox(
                    transaction,
                    OutgoingEvent(
                        topic=AI_REPLY,
                        key=event.key,
                        payload=reply_of(request, outcome, latency_ms),
                        tenant_id=tenant,
                        event_id=derived_event_id(str(tenant), "ai-reply", request.request_id),
                    ),
                )
            # The counters last: their rows stay locked until the commit (repository.usage).
            usage = UsageRepository(transaction, tenant)
            await usage.count_calls(
                today,
                [
                    ModelCall(
                        model=r.model,
                        ok=r.outcome == "ok",
                        prompt_tokens=r.prompt_tokens,
                        completion_tokens=r.completion_tokens,
                        cost_usd=calls.cost_usd(r),
                        latency_ms=int(r.latency_s * 1000),
                    )
                    for r in calls.sent
                ],
            )
            if first:
                await usage.count_outcome(today, name, latency_ms)
        if not first:
            return
        OUTCOMES.labels(name.split(":")[0]).inc()
        if superseded or outcome is None:
            log.info("AI request superseded by a newer message; no reply")
            return
        STEP_LATENCY.labels(outcome.provider.value).observe(latency_ms / 1000)
        log.info(
            "AI request answered",
            extra={"outcome": name, "model": outcome.model, "latency_ms": latency_ms},
        )


def subscribe(resources: Resources, requests: AiRequests, concurrency: int) -> None:
    """Declare the service's consumer group on the runtime."""
    resources.consume(
        GROUP, [on(CONVERSATION_AI_REQUESTED, requests.handle)], concurrency=concurrency
    )
