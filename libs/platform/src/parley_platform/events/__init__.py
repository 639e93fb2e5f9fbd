"""The Kafka event bus: topics, envelope, producer, consumer, outbox and inbox."""

from parley_platform.events.consumer import (
    BACKGROUND,
    PROMPT,
    ConsumedEvent,
    EventConsumer,
    Handler,
    Ordering,
    PermanentEventError,
    Pickup,
    Subscription,
    on,
)
from parley_platform.events.envelope import derived_event_id, new_event_id, timestamp
from parley_platform.events.inbox import first_delivery, seen_before
from parley_platform.events.outbox import OutboxRelay, add_to_outbox
from parley_platform.events.producer import EventProducer, OutgoingEvent, PublishError
from parley_platform.events.topics import Topic, conversation_key

__all__ = [
    "BACKGROUND",
    "PROMPT",
    "ConsumedEvent",
    "EventConsumer",
    "EventProducer",
    "Handler",
    "Ordering",
    "OutboxRelay",
    "OutgoingEvent",
    "PermanentEventError",
    "Pickup",
    "PublishError",
    "Subscription",
    "Topic",
    "add_to_outbox",
    "conversation_key",
    "derived_event_id",
    "first_delivery",
    "new_event_id",
    "on",
    "seen_before",
    "timestamp",
]
