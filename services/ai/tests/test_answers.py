"""AI requests in, replies out, with the real knowledge service: grounded answers citing the
tenant's own chunks, handoffs when nothing relevant is known, one reply per request under
redelivery, and a superseded request abandoned."""

from __future__ import annotations

import asyncio
import uuid

from parley.ai.v1 import events_pb2 as ai
from parley.conversation.v1.events_pb2 import AUTHOR_AI, AUTHOR_CUSTOMER
from parley_testing.polling import eventually

HOURS = (
    "Opening hours",
    "We are open Monday to Friday from 8:00 to 19:00 and on Saturday from 9:00 to 14:00. "
    "On Sundays the shop is closed.",
)
RETURNS = (
    "Returns policy",
    "Unopened coffee can be returned within 30 days of delivery for a full refund.",
)
OTHER_TENANTS_HOURS = (
    "Opening hours",
    "Our bike workshop opens on Saturday from 10:00 to 13:30 only.",
)


async def test_a_question_gets_the_tenants_passage_with_its_source(pipeline) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    hours_id, returns_id = await pipeline.add_documents(tenant, HOURS, RETURNS)
    (other_hours_id,) = await pipeline.add_documents(other, OTHER_TENANTS_HOURS)

    request = await pipeline.ask(tenant, "When are you open on Saturday?")
    reply = await pipeline.reply_to(request)
    assert reply.WhichOneof("outcome") == "answer"
    answer = reply.answer
    assert answer.kind == ai.ANSWER_KIND_GROUNDED
    assert "Saturday from 9:00 to 14:00" in answer.text
    assert answer.text.endswith("_Source: Opening hours_")
    assert [c.document_id for c in answer.citations] == [hours_id]
    assert answer.citations[0].chunk_id
    assert (reply.conversation_id, reply.message_id) == (
        request.conversation_id,
        request.message_id,
    )
    assert reply.usage.model == "extractive" and reply.usage.llm_calls == 0

    theirs = await pipeline.reply_to(await pipeline.ask(other, "When are you open on Saturday?"))
    assert [c.document_id for c in theirs.answer.citations] == [other_hours_id]
    assert "10:00 to 13:30" in theirs.answer.text and "9:00" not in theirs.answer.text
    assert returns_id not in {c.document_id for c in theirs.answer.citations}


async def test_nothing_relevant_in_the_knowledge_base_is_a_handoff(pipeline) -> None:
    tenant = uuid.uuid4()
    await pipeline.add_documents(tenant, HOURS, RETURNS)
    reply = await pipeline.reply_to(await pipeline.ask(tenant, "Do you repair espresso machines?"))
    assert reply.WhichOneof("outcome") == "handoff"
    assert reply.handoff.reason == ai.HANDOFF_REASON_NO_GROUNDED_ANSWER

    empty = uuid.uuid4()  # a tenant with no documents at all
    reply = await pipeline.reply_to(await pipeline.ask(empty, "When are you open on Saturday?"))
    assert reply.handoff.reason == ai.HANDOFF_REASON_NO_GROUNDED_ANSWER


async def test_a_callback_request_goes_to_a_person(pipeline) -> None:
    tenant = uuid.uuid4()
    await pipeline.add_documents(tenant, RETURNS)
    reply = await pipeline.reply_to(
        await pipeline.ask(tenant, "I want a refund for a broken order, call me")
    )
    assert reply.handoff.reason == ai.HANDOFF_REASON_CUSTOMER_ASKED_FOR_HUMAN


async def test_a_redelivered_request_gets_one_reply_and_one_model_call(pipeline) -> None:
    tenant = uuid.uuid4()
    await pipeline.add_documents(tenant, HOURS)
    await pipeline.use_stub(tenant)
    before = len(await pipeline.stub.requests())
    request = await pipeline.ask(tenant, "When are you open on Saturday?", customer="ana")
    await pipeline.reply_to(request)
    # The same event again (Kafka redelivers after a crash between reply and commit).
    await pipeline.ask(tenant, request.customer_text, request_id=request.request_id, customer="ana")
    await asyncio.sleep(1.0)  # give a duplicate reply the chance to appear
    assert len(pipeline.replies_to(request)) == 1
    assert len(await pipeline.stub.requests()) - before == 1


async def test_a_redelivered_extractive_request_gets_one_reply_counted_once(pipeline) -> None:
    tenant = uuid.uuid4()
    await pipeline.add_documents(tenant, HOURS, RETURNS)
    request = await pipeline.ask(tenant, "When are you open on Saturday?", customer="ana")
    await pipeline.reply_to(request)
    # The same event again; then a next message of the same conversation, which is handled
    # after the redelivery (one conversation's requests run in order).
    await pipeline.ask(tenant, request.customer_text, request_id=request.request_id, customer="ana")
    following = await pipeline.ask(tenant, "Can I return unopened coffee?", customer="ana")
    assert (await pipeline.reply_to(following)).WhichOneof("outcome") == "answer"
    assert len(pipeline.replies_to(request)) == 1
    totals = (await pipeline.usage(tenant))["totals"]
    assert (totals["requests"], totals["answers"], totals["superseded"]) == (2, 2, 0)


async def test_a_newer_message_supersedes_an_answer_still_in_flight(pipeline) -> None:
    tenant = uuid.uuid4()
    await pipeline.add_documents(tenant, HOURS, RETURNS)
    await pipeline.use_stub(tenant, fallback_model="")
    await pipeline.stub.fault("slow", model="stub-large", times=1, delay_s=20)
    first = await pipeline.ask(tenant, "When are you open on Saturday?", customer="ana")

    async def first_call_started() -> bool:
        return any(r["outcome"] == "slow" for r in await pipeline.stub.requests())

    await eventually(first_call_started)
    second = await pipeline.ask(
        tenant,
        "And can I return unopened coffee?",
        customer="ana",
        history=((AUTHOR_CUSTOMER, "When are you open on Saturday?"),),
    )
    reply = await pipeline.reply_to(second)
    assert reply.WhichOneof("outcome") == "answer"
    await asyncio.sleep(1.0)
    assert pipeline.replies_to(first) == []  # abandoned, long before the slow model answered

    async def superseded_counted() -> dict | None:
        usage = await pipeline.usage(tenant)
        return usage if usage["totals"]["superseded"] == 1 else None

    usage = await eventually(superseded_counted)
    assert usage["totals"]["answers"] == 1
    assert usage["totals"]["llm_calls"] == 2  # the abandoned call is counted too


async def test_a_slow_conversation_does_not_hold_up_another(pipeline) -> None:
    slow_tenant, quick_tenant = uuid.uuid4(), uuid.uuid4()
    await pipeline.add_documents(slow_tenant, HOURS)
    await pipeline.add_documents(quick_tenant, HOURS)
    await pipeline.use_stub(slow_tenant, model="stub-slow", fallback_model="")
    await pipeline.stub.fault("slow", model="stub-slow", delay_s=5)
    slow = await pipeline.ask(slow_tenant, "When are you open on Saturday?")

    async def slow_call_started() -> bool:
        return bool(await pipeline.stub.requests("stub-slow"))

    await eventually(slow_call_started)
    quick = await pipeline.ask(quick_tenant, "When are you open on Saturday?")
    await pipeline.reply_to(quick)
    assert pipeline.replies_to(slow) == []  # still waiting on its model
    assert (await pipeline.reply_to(slow)).WhichOneof("outcome") == "answer"


async def test_a_short_reply_to_a_clarifying_question_is_searched_with_the_question_before_it(
    pipeline,
) -> None:
    tenant = uuid.uuid4()
    await pipeline.add_documents(tenant, HOURS, RETURNS)
    reply = await pipeline.reply_to(
        await pipeline.ask(
            tenant,
            "Saturday",
            history=(
                (AUTHOR_CUSTOMER, "What are your opening hours?"),
                (AUTHOR_AI, "Which day do you mean?"),
            ),
        )
    )
    assert reply.WhichOneof("outcome") == "answer"
    assert "9:00 to 14:00" in reply.answer.text
