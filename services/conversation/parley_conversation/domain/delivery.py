"""Message statuses and how delivery reports move them.

Outbound messages go pending → sent → delivered → read (→ played for voice notes), never
backwards, whatever order Meta's reports arrive in; `sent → read` without `delivered` is
normal (Meta skips `delivered` when both happen at once). `failed` keeps the first reason
it was given and is final, except that a later `delivered`, `read` or `played` proves the
customer got the message after all (a `sent` proves nothing: Meta accepted it, then it
failed). A failure reported after delivery is ignored.
"""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    # Customer messages and private notes have a fixed status.
    RECEIVED = "received"
    INTERNAL = "internal"
    # Outbound lifecycle.
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"
    # An AI reply that was not sent because it was no longer wanted (an agent took over,
    # the conversation closed, or a newer customer message superseded its request).
    DISCARDED = "discarded"


_PROGRESS = {
    MessageStatus.PENDING: 0,
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 3,
    MessageStatus.PLAYED: 4,
}
_PROOF_OF_DELIVERY = (MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED)


def after_report(current: MessageStatus, reported: MessageStatus) -> MessageStatus | None:
    """The status a message has once `reported` arrives, or None if it changes nothing."""
    if reported == MessageStatus.FAILED:
        return reported if current in (MessageStatus.PENDING, MessageStatus.SENT) else None
    if reported not in _PROGRESS:
        return None
    if current == MessageStatus.FAILED:
        return reported if reported in _PROOF_OF_DELIVERY else None
    if current not in _PROGRESS:
        return None  # not an outbound message in flight (received, note, discarded)
    return reported if _PROGRESS[reported] > _PROGRESS[current] else None
