"""The live stream's pieces that need no Kafka: the SSE event id (a position in the
conversation and knowledge topics) and the bounded queue of one connected stream."""

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
    position = {("k", 0): 3, ("c", 2): 40, ("c", 0): 12, ("c", 1): 7}
    assert encode_position(position) == "c0-12.c1-7.c2-40.k0-3"
    assert decode_position(encode_position(position)) == position


def test_an_event_id_of_the_conversation_only_format_is_read_as_conversation_positions() -> None:
    # It says nothing of the document topic: the replay answers it with `resync`.
    assert decode_position("0-12.1-7") == {("c", 0): 12, ("c", 1): 7}


@pytest.mark.parametrize(
    "text",
    [None, "", "garbage", "0-", "-1-5", "0-5.x-1", "0--3", ".", "c0-1.", "x0-1", "k-1-2", "c 0-1"],
)
def test_an_event_id_that_is_not_ours_is_no_position(text: str | None) -> None:
    assert decode_position(text) is None


async def test_a_stream_that_does_not_keep_up_is_dropped_instead_of_growing_memory() -> None:
    feed = LiveFeed(Settings(stream_queue_size=3))
    subscription = feed.subscribe(lambda change: True)
    for offset in range(4):
        subscription.offer(LiveChange(uuid.uuid4(), ("c", 0), offset, ConversationChanged()))

    assert feed.connections == 0
    with pytest.raises(StreamOverflow):
        await subscription.next()


async def test_a_stream_gets_only_the_changes_it_accepts_in_order() -> None:
    feed = LiveFeed(Settings(stream_queue_size=10))
    mine = uuid.uuid4()
    subscription = feed.subscribe(lambda change: change.tenant_id == mine)
    for offset, tenant in enumerate([mine, uuid.uuid4(), mine]):
        subscription.offer(LiveChange(tenant, ("c", 0), offset, ConversationChanged()))

    assert [(await subscription.next()).offset for _ in range(2)] == [0, 2]
    assert feed.connections == 1
