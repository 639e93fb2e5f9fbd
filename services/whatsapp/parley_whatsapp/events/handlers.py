"""The consumer groups of the whatsapp service: which topic goes to which use case.

`whatsapp-sender` carries out send commands (whatsapp.outbound.v1); `whatsapp-media`
fetches the media of inbound messages (whatsapp.inbound.v1). Both answer through the outbox
(whatsapp.outcome.v1, whatsapp.media.v1).
"""

from __future__ import annotations

from parley_platform.events import BACKGROUND, on
from parley_platform.events.topics import WHATSAPP_INBOUND, WHATSAPP_OUTBOUND
from parley_platform.runtime import Resources

from parley_whatsapp.service.media import MediaFetcher
from parley_whatsapp.service.sender import Sender

SENDER_GROUP = "whatsapp-sender"
MEDIA_GROUP = "whatsapp-media"
# Sends wait on Meta and the rate limiter, not the CPU: many conversations' sends may wait
# at once (each conversation's own sends stay in order). Each one has at most one Redis
# command out at a time, and the lanes must stay well under the Redis client's pool (redis-py
# 8: 100 connections, then MaxConnectionsError): at 200 lanes a backlog ran the pool dry,
# failing sends after their request was marked in flight (retried as possible duplicates).
# 64 lanes at half a second per send still carry over 100 sends/s.
SENDER_CONCURRENCY = 64


def subscribe(resources: Resources, sender: Sender, media: MediaFetcher) -> None:
    """Declare the service's consumer groups on the runtime."""
    resources.consume(
        SENDER_GROUP, [on(WHATSAPP_OUTBOUND, sender.handle)], concurrency=SENDER_CONCURRENCY
    )
    # Media downloads wait on Meta's CDN anyway: no need to poll Kafka for them 20 times a second.
    resources.consume(MEDIA_GROUP, [on(WHATSAPP_INBOUND, media.handle)], pickup=BACKGROUND)
