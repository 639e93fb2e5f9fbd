"""The live stream's pieces that need no Kafka: the SSE event id (a position in the topic)
and the bounded queue of one connected stream."""

from __future__ import annotations

import uuid

import pytest
from parley.conversation.v1.events_pb2 import ConversationChanged
from parley_conversation.config import Settings
from parley_conversation.events.live import (
    LiveChange,
    LiveFeed,
    StreamOverflow,
    decode_position,
    encode_position,
)


def test_a_position_survives_the_round_trip_through_an_event_id() -> None:
    position = {2: 40, 0: 12, 1: 7}
    assert encode_position(position) == "0-12.1-7.2-40"
    assert decode_position(encode_position(position)) == position


@pytest.mark.parametrize("text", [None, "", "garbage", "0-", "-1-5", "0-5.x-1", "0--3", "."])
def test_an_event_id_that_is_not_ours_is_no_position(text: str | None) -> None:
    assert decode_position(text) is None


async def test_a_stream_that_does_not_keep_up_is_dropped_instead_of_growing_memory() -> None:
    feed = LiveFeed(Settings(stream_queue_size=3))
    subscription = feed.subscribe(lambda change: True)
    for offset in range(4):
        subscription.offer(LiveChange(uuid.uuid4(), 0, offset, ConversationChanged()))

    assert feed.connections == 0
    with pytest.raises(StreamOverflow):
        await subscription.next()


async def test_a_stream_gets_only_the_changes_it_accepts_in_order() -> None:
    feed = LiveFeed(Settings(stream_queue_size=10))
    mine = uuid.uuid4()
    subscription = feed.subscribe(lambda change: change.tenant_id == mine)
    for offset, tenant in enumerate([mine, uuid.uuid4(), mine]):
        subscription.offer(LiveChange(tenant, 0, offset, ConversationChanged()))

    assert [(await subscription.next()).offset for _ in range(2)] == [0, 2]
    assert feed.connections == 1
