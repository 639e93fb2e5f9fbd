"""Consumer groups of the whatsapp service and the components their handlers use.

`whatsapp-sender` carries out send commands (whatsapp.outbound.v1); `whatsapp-media`
fetches the media of inbound messages (whatsapp.inbound.v1). Both answer through the outbox
(whatsapp.outcome.v1, whatsapp.media.v1). The components need the runtime's database and
Redis, so they are built when the runtime starts, before the consumers join their groups.
"""

from __future__ import annotations

from parley_platform.events import ConsumedEvent
from parley_platform.events.topics import WHATSAPP_INBOUND, WHATSAPP_OUTBOUND
from parley_platform.ratelimit import RateLimiter
from parley_platform.runtime import ServiceRuntime

from parley_whatsapp.cloud_api import CloudApi
from parley_whatsapp.config import Settings
from parley_whatsapp.credentials import CredentialStore
from parley_whatsapp.service.media import MediaFetcher
from parley_whatsapp.service.sender import Sender

SENDER_GROUP = "whatsapp-sender"
MEDIA_GROUP = "whatsapp-media"


class WhatsAppHandlers:
    """Owns the Cloud API client, the credential cache, the sender and the media fetcher."""

    def __init__(self, runtime: ServiceRuntime, settings: Settings) -> None:
        self._runtime = runtime
        self._settings = settings
        self.cloud: CloudApi | None = None
        self.sender: Sender | None = None
        self.media: MediaFetcher | None = None

    def register(self) -> None:
        """Declare the consumers and lifecycle hooks on the runtime."""
        self._runtime.on_start(self.start)
        self._runtime.on_stop(self.stop)
        # Sends wait on Meta and the rate limiter, not the CPU: a larger batch keeps every
        # partition busy under a backlog (about 16 commands per partition of 12).
        self._runtime.add_consumer(
            SENDER_GROUP, {WHATSAPP_OUTBOUND: self.handle_send_command}, max_batch=200
        )
        self._runtime.add_consumer(MEDIA_GROUP, {WHATSAPP_INBOUND: self.handle_inbound_message})

    async def start(self) -> None:
        """Build the components once the runtime's database and Redis are up."""
        s, runtime = self._settings, self._runtime
        assert runtime.database is not None and runtime.redis is not None
        self.cloud = CloudApi(
            s.graph_api_base_url,
            s.graph_api_version,
            timeout_s=s.graph_timeout_s,
            connect_timeout_s=s.graph_connect_timeout_s,
            download_host_suffixes=s.media_download_host_suffixes,
        )
        credentials = CredentialStore(
            lambda: runtime.channels["auth"], ttl_s=s.credentials_cache_ttl_s
        )
        limiter = RateLimiter(runtime.redis, "whatsapp")
        self.sender = Sender(s, runtime.database, credentials, self.cloud, limiter)
        self.media = MediaFetcher(s, runtime.database, credentials, self.cloud)

    async def stop(self) -> None:
        """Close the Cloud API client."""
        if self.cloud is not None:
            await self.cloud.close()

    async def handle_send_command(self, event: ConsumedEvent) -> None:
        """Handler of `whatsapp.outbound.v1`."""
        assert self.sender is not None
        await self.sender.handle(event)

    async def handle_inbound_message(self, event: ConsumedEvent) -> None:
        """Handler of `whatsapp.inbound.v1` (media only)."""
        assert self.media is not None
        await self.media.handle(event)
