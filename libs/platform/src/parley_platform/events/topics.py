"""Every Kafka topic of Parley, in one place: name (with version suffix) and payload type.

The conversation topics are keyed by `conversation_key` (tenant id + customer's WhatsApp
id), so one conversation's events stay in order on one partition while tenants spread
across partitions. Topics are never created per tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

from google.protobuf.message import Message
from parley.ai.v1 import events_pb2 as ai_events
from parley.conversation.v1 import events_pb2 as conversation_events
from parley.knowledge.v1 import events_pb2 as knowledge_events
from parley.whatsapp.v1 import events_pb2 as whatsapp_events

P = TypeVar("P", bound=Message)


@dataclass(frozen=True)
class Topic(Generic[P]):
    """A Kafka topic and the one protobuf message type its records carry (`Topic[P]`:
    handlers of this topic receive a `P`, producers must give one)."""

    name: str
    payload_type: type[P]
    description: str

    @property
    def event_type(self) -> str:
        """The `event-type` header value of this topic's records."""
        return self.payload_type.DESCRIPTOR.full_name

    @property
    def schema_version(self) -> int:
        """The version in the name's `.vN` suffix."""
        return int(self.name.rsplit(".v", 1)[1])


WHATSAPP_INBOUND = Topic(
    "whatsapp.inbound.v1", whatsapp_events.InboundMessage, "customer messages (gateway)"
)
WHATSAPP_STATUS = Topic(
    "whatsapp.status.v1", whatsapp_events.MessageStatus, "delivery statuses (gateway)"
)
WHATSAPP_WEBHOOK_ERROR = Topic(
    "whatsapp.webhook-error.v1", whatsapp_events.WebhookError, "webhook-level errors (gateway)"
)
WHATSAPP_OUTBOUND = Topic(
    "whatsapp.outbound.v1", whatsapp_events.SendCommand, "send commands (conversation)"
)
WHATSAPP_OUTCOME = Topic(
    "whatsapp.outcome.v1", whatsapp_events.SendOutcome, "send outcomes (whatsapp)"
)
WHATSAPP_MEDIA = Topic(
    "whatsapp.media.v1", whatsapp_events.MediaStored, "inbound media stored (whatsapp)"
)
CONVERSATION_AI_REQUESTED = Topic(
    "conversation.ai-requested.v1", conversation_events.AiRequested, "AI requests (conversation)"
)
CONVERSATION_CHANGED = Topic(
    "conversation.changed.v1",
    conversation_events.ConversationChanged,
    "live changes for dashboards (conversation)",
)
AI_REPLY = Topic("ai.reply.v1", ai_events.AiReply, "AI answers and handoffs (ai)")
# The knowledge topics are keyed by document id (website id for crawls).
KNOWLEDGE_DOCUMENT_CHANGED = Topic(
    "knowledge.document-changed.v1",
    knowledge_events.DocumentChanged,
    "document state changes for dashboards (knowledge)",
)
KNOWLEDGE_INGEST_REQUESTED = Topic(
    "knowledge.ingest-requested.v1",
    knowledge_events.IngestRequested,
    "documents to extract, chunk and index (knowledge, for itself)",
)
KNOWLEDGE_CRAWL_REQUESTED = Topic(
    "knowledge.crawl-requested.v1",
    knowledge_events.CrawlRequested,
    "website imports to crawl (knowledge, for itself)",
)

ALL_TOPICS: tuple[Topic[Message], ...] = (
    WHATSAPP_INBOUND,
    WHATSAPP_STATUS,
    WHATSAPP_WEBHOOK_ERROR,
    WHATSAPP_OUTBOUND,
    WHATSAPP_OUTCOME,
    WHATSAPP_MEDIA,
    CONVERSATION_AI_REQUESTED,
    CONVERSATION_CHANGED,
    AI_REPLY,
    KNOWLEDGE_DOCUMENT_CHANGED,
    KNOWLEDGE_INGEST_REQUESTED,
    KNOWLEDGE_CRAWL_REQUESTED,
)


def dead_letter_topic(group_id: str) -> str:
    """The dead-letter topic of a consumer group (one per group)."""
    return f"{group_id}.dlq.v1"


def conversation_key(tenant_id: UUID | str, customer_id: str) -> str:
    """The partition key of a conversation's events: tenant id + customer's WhatsApp id."""
    return f"{tenant_id}:{customer_id}"
