"""Use cases driven by the WhatsApp edge about messages already stored: send outcomes (our
message was accepted, with its wamids, or failed), delivery statuses, stored media.

A status can arrive before the outcome that tells us which of our messages its wamid
belongs to (they travel on different topics), and a media notice before the inbound message
it belongs to: such updates are parked as early updates and applied when the wamid becomes
known; those never claimed are dropped after a while (truly unknown wamids).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from google.protobuf.json_format import MessageToDict
from parley.common.v1.envelope_pb2 import MetaError
from parley.whatsapp.v1 import events_pb2 as whatsapp

from parley_conversation.domain.delivery import MessageStatus, after_report
from parley_conversation.repository.conversations import Conversation
from parley_conversation.repository.early_updates import EarlyUpdateKind
from parley_conversation.repository.messages import Direction, Message
from parley_conversation.service.work import Work

log = logging.getLogger(__name__)

REPORTED = {
    whatsapp.DELIVERY_STATUS_SENT: MessageStatus.SENT,
    whatsapp.DELIVERY_STATUS_DELIVERED: MessageStatus.DELIVERED,
    whatsapp.DELIVERY_STATUS_READ: MessageStatus.READ,
    whatsapp.DELIVERY_STATUS_PLAYED: MessageStatus.PLAYED,
    whatsapp.DELIVERY_STATUS_FAILED: MessageStatus.FAILED,
}
WINDOW_CLOSED_REASON = (
    "window_closed: more than 24 hours passed since the customer's last message; "
    "only a template can be sent now"
)
CHANNEL_DISCONNECTED_REASON = (
    "channel_disconnected: WhatsApp rejected the channel's access token; "
    "an admin must reconnect the channel"
)


def describe_error(error: MetaError) -> str:
    """A one-line reason from Meta's error (kept verbatim in `error` too)."""
    summary = error.title or error.message or "failed"
    text = f"{summary} (code {error.code})" if error.code else summary
    return f"{text}: {error.details}" if error.details else text


def _error_json(error: MetaError | None) -> dict[str, Any] | None:
    if error is None or not error.ListFields():
        return None
    return MessageToDict(error, preserving_proto_field_name=True)


def _at(ts: Any) -> datetime:
    return ts.ToDatetime(tzinfo=UTC) if ts.seconds or ts.nanos else datetime.now(UTC)


async def _report(
    work: Work,
    message: Message,
    reported: MessageStatus,
    at: datetime,
    *,
    failure_reason: str | None = None,
    error: MetaError | None = None,
) -> Message:
    """Apply one delivery report to `message` (locked); returns it as it is now."""
    status = after_report(message.status, reported)
    if status is None:
        return message
    if status == MessageStatus.FAILED:
        return await work.messages.record_status(
            message.id,
            status,
            at,
            failure_reason=failure_reason or "failed",
            error=_error_json(error),
        )
    # Anything else clears a failure: delivered after all, the earlier report was wrong.
    return await work.messages.record_status(message.id, status, at)


def _status_report(
    status: whatsapp.MessageStatus,
) -> tuple[MessageStatus, str | None, MetaError | None] | None:
    reported = REPORTED.get(status.status)
    if reported is None:
        return None
    error = status.errors[0] if status.errors else None
    reason = describe_error(error) if error is not None else None
    return reported, reason, error


async def _conversation_of(work: Work, message: Message) -> Conversation:
    conversation = await work.conversations.get(message.conversation_id)
    assert conversation is not None  # messages belong to a conversation that is never deleted
    return conversation


async def record_status(work: Work, status: whatsapp.MessageStatus) -> None:
    """A delivery status from Meta for one of our messages (by wamid)."""
    report = _status_report(status)
    if report is None or not status.wamid:
        log.info("status without a known status value or wamid ignored")
        return
    await work.messages.lock_wamids([status.wamid])
    message = await work.messages.lock_by_wamid(status.wamid)
    if message is None:
        await work.early_updates.park(
            status.wamid, EarlyUpdateKind.STATUS, status.SerializeToString()
        )
        return
    reported, reason, error = report
    updated = await _report(
        work, message, reported, _at(status.at), failure_reason=reason, error=error
    )
    if updated.status != message.status:
        work.message_changed(await _conversation_of(work, updated), updated)


async def record_outcome(work: Work, outcome: whatsapp.SendOutcome) -> None:
    """What the WhatsApp sender did with one of our send commands."""
    try:
        message_id = UUID(outcome.message_id)
    except ValueError:
        log.warning("send outcome with a malformed message id ignored")
        return
    # Wamid locks before the message's row lock, the order record_status takes them in.
    await work.messages.lock_wamids(list(outcome.wamids))
    message = await work.messages.get(message_id, lock=True)
    if message is None or message.direction != Direction.OUTBOUND:
        log.warning("send outcome for no outbound message of ours ignored")
        return
    before = message.status
    at = _at(outcome.at)
    error = outcome.error if outcome.HasField("error") else None
    if outcome.possible_duplicate and not message.possible_duplicate:
        message = await work.messages.flag_possible_duplicate(message.id)
    if outcome.result == whatsapp.SEND_RESULT_SENT:
        message = await _accepted(work, message, list(outcome.wamids), at)
    elif outcome.result == whatsapp.SEND_RESULT_WINDOW_CLOSED:
        message = await _report(
            work,
            message,
            MessageStatus.FAILED,
            at,
            failure_reason=WINDOW_CLOSED_REASON,
            error=error,
        )
    elif outcome.result == whatsapp.SEND_RESULT_CHANNEL_DISCONNECTED:
        message = await _report(
            work,
            message,
            MessageStatus.FAILED,
            at,
            failure_reason=CHANNEL_DISCONNECTED_REASON,
            error=error,
        )
    elif outcome.result == whatsapp.SEND_RESULT_FAILED:
        reason = outcome.reason or (describe_error(error) if error is not None else "failed")
        message = await _report(
            work, message, MessageStatus.FAILED, at, failure_reason=reason, error=error
        )
    else:
        log.warning("send outcome without a result ignored", extra={"message_id": str(message_id)})
        return
    if message.status != before:
        work.message_changed(await _conversation_of(work, message), message)


async def _accepted(work: Work, message: Message, wamids: list[str], at: datetime) -> Message:
    """Meta accepted our message: remember its wamids, then apply the statuses that came
    for them before we knew them (in the order Meta stamped them)."""
    message, parked_payloads = await work.messages.accept(
        message.id, wamids, after_report(message.status, MessageStatus.SENT), at
    )
    parked = [whatsapp.MessageStatus.FromString(payload) for payload in parked_payloads]
    for status in sorted(parked, key=lambda s: (s.at.seconds, s.at.nanos)):
        report = _status_report(status)
        if report is not None:
            reported, reason, error = report
            message = await _report(
                work, message, reported, _at(status.at), failure_reason=reason, error=error
            )
    return message


async def record_media(work: Work, media: whatsapp.MediaStored) -> None:
    """The WhatsApp service stored (or failed to store) a customer's media file."""
    if not media.wamid:
        log.warning("media notice without a wamid ignored")
        return
    await work.messages.lock_wamids([media.wamid])
    message = await work.messages.lock_by_wamid(media.wamid)
    if message is None:
        await work.early_updates.park(media.wamid, EarlyUpdateKind.MEDIA, media.SerializeToString())
        return
    await _attach_media(work, await _conversation_of(work, message), message, media)


async def apply_early_media(work: Work, conversation: Conversation, message: Message) -> None:
    """Attach media notices that arrived before `message` (just stored) was. Only media
    messages have any (a media notice is sent for nothing else)."""
    if not message.wamid or "media" not in message.content:
        return
    for update in await work.early_updates.take([message.wamid]):
        if update.kind == EarlyUpdateKind.MEDIA:
            message = await _attach_media(
                work, conversation, message, whatsapp.MediaStored.FromString(update.payload)
            )


async def _attach_media(
    work: Work, conversation: Conversation, message: Message, media: whatsapp.MediaStored
) -> Message:
    stored = MessageToDict(media, preserving_proto_field_name=True)
    updated = await work.messages.attach_stored_media(message.id, stored)
    work.message_changed(
        conversation, updated, detail="media_failed" if media.error else "media_stored"
    )
    return updated
