"""The events this service emits, built from its records: send commands for the WhatsApp
sender, AI requests, and live changes for dashboards. All carry the conversation's key
(tenant + customer id), so one conversation's events stay in order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from google.protobuf.message import Message as ProtoMessage
from parley.conversation.v1 import events_pb2 as conversation_events
from parley.whatsapp.v1 import events_pb2 as whatsapp_events
from parley_platform.events import (
    OutgoingEvent,
    Topic,
    conversation_key,
    derived_event_id,
    new_event_id,
    timestamp,
)
from parley_platform.events.topics import (
    CONVERSATION_AI_REQUESTED,
    CONVERSATION_CHANGED,
    WHATSAPP_OUTBOUND,
)

from parley_conversation.domain.ownership import Ownership, State
from parley_conversation.repository.conversations import Conversation
from parley_conversation.repository.messages import Author, Message, Said

Kind = conversation_events.ConversationChanged.Kind

STATE_CODES = {
    State.AI: conversation_events.CONVERSATION_STATE_AI,
    State.WAITING_HUMAN: conversation_events.CONVERSATION_STATE_WAITING_HUMAN,
    State.HUMAN: conversation_events.CONVERSATION_STATE_HUMAN,
    State.CLOSED: conversation_events.CONVERSATION_STATE_CLOSED,
}
AUTHOR_CODES = {
    Author.CUSTOMER: conversation_events.AUTHOR_CUSTOMER,
    Author.AI: conversation_events.AUTHOR_AI,
    Author.AGENT: conversation_events.AUTHOR_AGENT,
    Author.SYSTEM: conversation_events.AUTHOR_SYSTEM,
}


def _id(value: UUID | None) -> str:
    return str(value) if value else ""


def _event(
    tenant_id: UUID,
    conversation: Conversation,
    topic: Topic,
    payload: ProtoMessage,
    event_id: str | None = None,
) -> OutgoingEvent:
    return OutgoingEvent(
        topic=topic,
        key=conversation_key(tenant_id, conversation.customer_key),
        payload=payload,
        tenant_id=tenant_id,
        event_id=event_id or new_event_id(),
    )


def conversation_changed(
    tenant_id: UUID,
    conversation: Conversation,
    kind: Kind,
    *,
    message: Message | None = None,
    detail: str = "",
    previous: Ownership | None = None,
) -> OutgoingEvent:
    """A live change of `conversation` (as it is after the change)."""
    payload = conversation_events.ConversationChanged(
        kind=kind,
        conversation_id=str(conversation.id),
        state=STATE_CODES[conversation.state],
        assignee_user_id=_id(conversation.assignee_user_id),
        assignee_team_id=_id(conversation.assignee_team_id),
        detail=detail,
        at=timestamp(),
        unread_count=conversation.unread_count,
    )
    if message is not None:
        payload.message_id = str(message.id)
        payload.message_status = message.status.value
        payload.author = AUTHOR_CODES[message.author]
    if previous is not None:
        payload.previous_assignee_user_id = _id(previous.assignee_user_id)
        payload.previous_assignee_team_id = _id(previous.assignee_team_id)
    return _event(tenant_id, conversation, CONVERSATION_CHANGED, payload)


def _send_command(
    conversation: Conversation, message_id: UUID | None, reply_to_wamid: str | None
) -> whatsapp_events.SendCommand:
    contact = conversation.contact
    return whatsapp_events.SendCommand(
        message_id=str(message_id) if message_id else "",
        conversation_id=str(conversation.id),
        channel_id=conversation.channel_id,
        phone_number_id=conversation.phone_number_id,
        to_wa_id=contact.wa_id or "",
        to_user_id=contact.bsuid or "",
        reply_to_wamid=reply_to_wamid or "",
    )


def send_text(tenant_id: UUID, conversation: Conversation, message: Message) -> OutgoingEvent:
    """The command that sends a stored text message (an AI answer or an agent's reply)."""
    command = _send_command(conversation, message.id, message.reply_to_wamid)
    command.text.body = message.text or ""
    return _event(
        tenant_id,
        conversation,
        WHATSAPP_OUTBOUND,
        command,
        event_id=derived_event_id(str(tenant_id), "send", str(message.id)),
    )


def send_template(
    tenant_id: UUID,
    conversation: Conversation,
    message: Message,
    template: whatsapp_events.Template,
) -> OutgoingEvent:
    """The command that sends a stored template message."""
    command = _send_command(conversation, message.id, None)
    command.template.CopyFrom(template)
    return _event(
        tenant_id,
        conversation,
        WHATSAPP_OUTBOUND,
        command,
        event_id=derived_event_id(str(tenant_id), "send", str(message.id)),
    )


def mark_read(
    tenant_id: UUID, conversation: Conversation, wamid: str, *, typing_indicator: bool
) -> OutgoingEvent:
    """Show the customer that their message (and those before it) was read, and optionally
    that an answer is being typed. Fire and forget: it is no stored message (no message id)
    and the sender reports no outcome for it."""
    command = _send_command(conversation, None, None)
    command.mark_read.wamid = wamid
    command.mark_read.typing_indicator = typing_indicator
    return _event(tenant_id, conversation, WHATSAPP_OUTBOUND, command)


def ai_requested(
    tenant_id: UUID,
    conversation: Conversation,
    request_id: UUID,
    message: Message,
    history: Sequence[Said],
) -> OutgoingEvent:
    """Ask the AI to answer the customer's `message` given the `history` before it."""
    payload = conversation_events.AiRequested(
        request_id=str(request_id),
        conversation_id=str(conversation.id),
        message_id=str(message.id),
        customer_text=message.text or "",
        contact_name=conversation.contact.profile_name or "",
        message_type=message.type,
        channel_id=conversation.channel_id,
        requested_at=timestamp(datetime.now(UTC)),
        history=[
            conversation_events.HistoryItem(
                author=AUTHOR_CODES[m.author], text=m.text or "", at=timestamp(m.occurred_at)
            )
            for m in history
        ],
    )
    return _event(
        tenant_id,
        conversation,
        CONVERSATION_AI_REQUESTED,
        payload,
        event_id=derived_event_id(str(tenant_id), "ai-request", str(request_id)),
    )
