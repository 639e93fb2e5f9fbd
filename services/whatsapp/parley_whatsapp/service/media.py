"""Fetching the media customers send: `GET /{media-id}` for a fresh URL, then the download
with the channel's token within the URL's 5 minutes (asking again when it expired), capped
in size, stored, and announced with a MediaStored event.

A file that cannot be had for good (too large, refused by Meta) is recorded with the reason
and announced too, so conversation can tell the agent; transient failures are raised so the
consumer retries the event.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from parley.whatsapp.v1 import events_pb2 as wa
from parley_platform.db import Database
from parley_platform.errors import NotFound
from parley_platform.events import ConsumedEvent, OutgoingEvent, add_to_outbox, derived_event_id
from parley_platform.events.topics import WHATSAPP_MEDIA
from prometheus_client import Counter

from parley_whatsapp.cloud_api import CloudApi, MediaTooLarge, MediaUnavailable, sha256_matches
from parley_whatsapp.config import Settings
from parley_whatsapp.credentials import CredentialStore
from parley_whatsapp.repository.media import FetchedMedia, MediaRepository

log = logging.getLogger(__name__)

MEDIA_FETCHED = Counter(
    "parley_whatsapp_media_total", "Inbound media handled, by outcome", ["outcome"]
)


class MediaFetcher:
    """The use case behind the `whatsapp-media` consumer group."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        credentials: CredentialStore,
        cloud: CloudApi,
    ) -> None:
        self._settings = settings
        self._database = database
        self._credentials = credentials
        self._cloud = cloud

    async def handle(self, event: ConsumedEvent[wa.InboundMessage]) -> None:
        """Store the media of one InboundMessage event (other messages are ignored)."""
        message = event.payload
        if message.WhichOneof("content") != "media" or not message.media.media_id:
            return
        tenant = event.tenant_id
        media = message.media
        async with self._database.tenant_session(tenant) as session:
            if await MediaRepository(session, tenant).find_by_meta_id(media.media_id):
                return  # handled before (Meta's redelivery, or this event again)
        content: bytes | None = None
        error: str | None = None
        mime_type = media.mime_type
        try:
            credentials = await self._credentials.get(
                tenant, message.channel_id, message.phone_number_id
            )
            content, mime_type = await self._download(
                media.media_id, credentials.phone_number_id, credentials.access_token
            )
        except NotFound:
            error = "the channel is no longer registered"
        except MediaTooLarge:
            error = f"larger than the {self._settings.media_max_bytes} bytes Parley stores"
        except MediaUnavailable as exc:
            error = str(exc)
        if content is not None and media.sha256 and not sha256_matches(content, media.sha256):
            # Meta's encoding of this field is not documented consistently; keep the file and
            # say so rather than refuse it.
            log.warning("media checksum differs from the webhook's", extra={"kind": media.kind})
        await self._store(event, message, content, mime_type or "application/octet-stream", error)

    async def _download(self, media_id: str, phone_number_id: str, token: str) -> tuple[bytes, str]:
        """The file, asking for a fresh URL when the previous one has expired."""
        for _ in range(self._settings.media_download_attempts):
            info = await self._cloud.media_info(media_id, phone_number_id, token)
            if info.file_size > self._settings.media_max_bytes:
                raise MediaTooLarge(f"{info.file_size} bytes")
            try:
                content, content_type = await self._cloud.download(
                    info.url, token, self._settings.media_max_bytes
                )
            except MediaUnavailable as exc:
                if exc.expired:
                    continue
                raise
            return content, info.mime_type or content_type
        raise MediaUnavailable("the download URL kept expiring")

    async def _store(
        self,
        event: ConsumedEvent[wa.InboundMessage],
        message: wa.InboundMessage,
        content: bytes | None,
        mime_type: str,
        error: str | None,
    ) -> None:
        tenant = event.tenant_id
        storage_id = uuid.uuid4()
        digest = hashlib.sha256(content).hexdigest() if content is not None else ""
        async with self._database.tenant_session(tenant) as session:
            stored = await MediaRepository(session, tenant).store(
                FetchedMedia(
                    storage_id=storage_id,
                    meta_media_id=message.media.media_id,
                    wamid=message.wamid,
                    channel_id=message.channel_id,
                    kind=message.media.kind,
                    mime_type=mime_type,
                    filename=message.media.filename,
                    content=content,
                    sha256=digest,
                    error=error,
                )
            )
            if not stored:
                return
            await add_to_outbox(
                session,
                OutgoingEvent(
                    topic=WHATSAPP_MEDIA,
                    key=event.key,
                    payload=wa.MediaStored(
                        media_id=message.media.media_id,
                        wamid=message.wamid,
                        storage_id=str(storage_id) if error is None else "",
                        mime_type=mime_type,
                        size_bytes=len(content) if content is not None else 0,
                        sha256=digest,
                        error=error or "",
                        kind=message.media.kind,
                        filename=message.media.filename,
                    ),
                    tenant_id=tenant,
                    event_id=derived_event_id(str(tenant), "media-stored", message.media.media_id),
                ),
            )
        MEDIA_FETCHED.labels("stored" if error is None else "unavailable").inc()
        if error is not None:
            log.warning("media not stored", extra={"reason": error, "kind": message.media.kind})
