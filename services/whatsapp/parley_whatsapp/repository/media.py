"""Inbound media files, stored in this service's database (bytes, or why they could not be
fetched), once per Meta media id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import LargeBinary, null, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_whatsapp.repository.tables import media


@dataclass(frozen=True)
class StoredMedia:
    """A media record (bytes only when asked for)."""

    storage_id: UUID
    meta_media_id: str
    wamid: str  # the customer's message it came with (its conversation decides who sees it)
    kind: str
    mime_type: str
    filename: str
    size_bytes: int
    sha256: str
    content: bytes | None
    error: str | None


@dataclass(frozen=True)
class FetchedMedia:
    """What became of one media file of a customer's message."""

    storage_id: UUID
    meta_media_id: str
    wamid: str
    channel_id: str
    kind: str
    mime_type: str
    filename: str
    content: bytes | None  # None when it could not be had...
    sha256: str
    error: str | None  # ...and this says why


_DESCRIPTION = (
    media.c.storage_id,
    media.c.meta_media_id,
    media.c.wamid,
    media.c.kind,
    media.c.mime_type,
    media.c.filename,
    media.c.size_bytes,
    media.c.sha256,
    media.c.error,
)


def _stored(row: Any) -> StoredMedia:
    return StoredMedia(**row._mapping)


class MediaRepository:
    """Media files of one tenant (the session's)."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def find_by_meta_id(self, meta_media_id: str) -> StoredMedia | None:
        """The record of a Meta media id (without its bytes), if it was handled already."""
        row = (
            await self._session.execute(
                select(*_DESCRIPTION, null().cast(LargeBinary).label("content")).where(
                    media.c.tenant_id == self._tenant_id, media.c.meta_media_id == meta_media_id
                )
            )
        ).one_or_none()
        return _stored(row) if row else None

    async def get(self, storage_id: UUID) -> StoredMedia | None:
        """A stored file with its bytes."""
        row = (
            await self._session.execute(
                select(*_DESCRIPTION, media.c.content).where(
                    media.c.tenant_id == self._tenant_id, media.c.storage_id == storage_id
                )
            )
        ).one_or_none()
        return _stored(row) if row else None

    async def store(self, fetched: FetchedMedia) -> bool:
        """Store a file (or why it could not be fetched); False if that media id is stored."""
        content = fetched.content
        inserted = await self._session.execute(
            insert(media)
            .values(
                tenant_id=self._tenant_id,
                storage_id=fetched.storage_id,
                meta_media_id=fetched.meta_media_id,
                wamid=fetched.wamid,
                channel_id=fetched.channel_id,
                kind=fetched.kind,
                mime_type=fetched.mime_type,
                filename=fetched.filename,
                size_bytes=len(content) if content is not None else 0,
                sha256=fetched.sha256,
                content=content,
                error=fetched.error,
            )
            .on_conflict_do_nothing(index_elements=[media.c.tenant_id, media.c.meta_media_id])
            .returning(media.c.storage_id)
        )
        return inserted.first() is not None
