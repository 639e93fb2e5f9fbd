"""Use cases driven by the customer: a message arrives; when the AI is answering, it is asked
to answer."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from parley.whatsapp.v1.events_pb2 import InboundMessage
from parley_platform.errors import InvalidRequest

from parley_conversation.domain import ownership
from parley_conversation.domain.content import NO_ANSWER_TYPES, customer_content, preview
from parley_conversation.domain.delivery import MessageStatus
from parley_conversation.domain.handoff import requested_person
from parley_conversation.domain.ownership import State
from parley_conversation.repository.contacts import ContactIdentity
from parley_conversation.repository.conversations import Conversation
from parley_conversation.repository.messages import Author, Direction, Message, NewMessage
from parley_conversation.service import delivery, outgoing
from parley_conversation.service.work import Work

log = logging.getLogger(__name__)


def sender_of(inbound: InboundMessage) -> ContactIdentity:
    """Who sent `inbound`. Meta's `contacts[].wa_id` is the customer's WhatsApp id and may
    differ from `messages[].from` (numbers of some countries are rewritten); both are kept."""
    wa_id = inbound.contact_wa_id or inbound.from_wa_id or None
    return ContactIdentity(
        wa_id=wa_id,
        from_wa_id=inbound.from_wa_id
        if inbound.from_wa_id and inbound.from_wa_id != wa_id
        else None,
        bsuid=inbound.from_user_id or None,
        profile_name=inbound.profile_name or None,
        username=inbound.username or None,
    )


def customer_key(inbound: InboundMessage) -> str:
    """The customer id in the conversation's event keys: the one the gateway keys the
    customer's messages by (`from`, else contacts[].wa_id, else the BSUID), so that all of a
    conversation's events, on every topic, share one key."""
    return inbound.from_wa_id or inbound.contact_wa_id or inbound.from_user_id


def _check(inbound: InboundMessage, who: ContactIdentity) -> None:
    missing = [
        name
        for name, present in (
            ("wamid", inbound.wamid),
            ("channel_id", inbound.channel_id),
            ("phone_number_id", inbound.phone_number_id),
            ("a sender id (from_wa_id, contact_wa_id or from_user_id)", who.wa_id or who.bsuid),
        )
        if not present
    ]
    if missing:
        raise InvalidRequest(f"inbound message lacks {', '.join(missing)}")


async def receive_message(
    work: Work, inbound: InboundMessage, received_at: datetime, *, history_size: int
) -> None:
    """Store a customer message once (a repeat of a known wamid changes nothing), in the
    conversation with its sender, and decide who answers it."""
    who = sender_of(inbound)
    _check(inbound, who)
    await work.messages.lock_wamids([inbound.wamid])
    if await work.messages.wamid_is_known(inbound.wamid):
        log.info("duplicate customer message ignored", extra={"wamid": inbound.wamid})
        return
    contact = await work.contacts.record_sender(who)
    sent_at = inbound.sent_at.ToDatetime(tzinfo=UTC) if inbound.HasField("sent_at") else received_at
    content = customer_content(inbound)
    conversation = await work.conversations.open_for_message(
        contact,
        channel_id=inbound.channel_id,
        phone_number_id=inbound.phone_number_id,
        customer_key=customer_key(inbound),
        at=sent_at,
        preview=preview(content.text),
    )
    # The customer's latest message so far (ties count as latest) is what the AI answers.
    is_newest = conversation.last_inbound_at == sent_at
    message = await work.add_customer_message(
        conversation,
        NewMessage(
            conversation_id=conversation.id,
            direction=Direction.INBOUND,
            author=Author.CUSTOMER,
            type=content.type,
            content=content.content,
            text=content.text,
            status=MessageStatus.RECEIVED,
            occurred_at=sent_at,
            wamid=inbound.wamid,
            reply_to_wamid=inbound.context.wamid or None,
        ),
    )
    await delivery.apply_early_media(work, conversation, message)

    conversation = await work.apply(conversation, ownership.customer_wrote(conversation.ownership))
    if conversation.state != State.AI:
        return
    phrase = requested_person(content.typed_text)
    if phrase is not None:
        await work.apply(
            conversation, ownership.customer_asked_for_a_person(conversation.ownership, phrase)
        )
    elif content.wants_answer:
        await request_ai_answer(
            work, conversation, newest=message if is_newest else None, history_size=history_size
        )


async def request_ai_answer(
    work: Work, conversation: Conversation, *, newest: Message | None, history_size: int
) -> None:
    """Ask the AI to answer the customer's latest message (in timeline order, so a late,
    older message makes the AI answer the newest one with the late one in its history).
    The new request replaces any in flight: a reply to an older request is discarded.
    `newest` is that message when the caller knows it."""
    if newest is None:
        newest = await work.messages.newest_from_customer(
            conversation.id, excluding_types=sorted(NO_ANSWER_TYPES)
        )
    assert newest is not None  # called right after storing a message that wants an answer
    request_id = uuid.uuid4()
    conversation, history = await work.conversations.expect_ai_answer(
        conversation.id, request_id, newest, history_size
    )
    work.emit(outgoing.ai_requested(work.tenant_id, conversation, request_id, newest, history))
    if newest.wamid:
        work.emit(
            outgoing.mark_read(work.tenant_id, conversation, newest.wamid, typing_indicator=True)
        )
