"""Inbound media files, stored in this service's database."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class StoredMedia:
    """A media record (bytes only when asked for)."""

    storage_id: UUID
    meta_media_id: str
    kind: str
    mime_type: str
    filename: str
    size_bytes: int
    sha256: str
    content: bytes | None
    error: str | None


async def find_by_meta_id(
    session: AsyncSession, tenant_id: UUID, meta_media_id: str
) -> StoredMedia | None:
    """The record of a Meta media id (without its bytes), if it was handled already."""
    row = (
        await session.execute(
            text(
                "SELECT storage_id, meta_media_id, kind, mime_type, filename, size_bytes, sha256, "
                "error, NULL::bytea AS content FROM media "
                "WHERE tenant_id = :tenant_id AND meta_media_id = :meta_media_id"
            ),
            {"tenant_id": tenant_id, "meta_media_id": meta_media_id},
        )
    ).one_or_none()
    return StoredMedia(**row._mapping) if row else None


async def get(session: AsyncSession, storage_id: UUID) -> StoredMedia | None:
    """A stored file with its bytes (row-level security limits it to the session's tenant)."""
    row = (
        await session.execute(
            text(
                "SELECT storage_id, meta_media_id, kind, mime_type, filename, size_bytes, sha256, "
                "error, content FROM media WHERE storage_id = :storage_id"
            ),
            {"storage_id": storage_id},
        )
    ).one_or_none()
    return StoredMedia(**row._mapping) if row else None


async def insert(
    session: AsyncSession,
    tenant_id: UUID,
    *,
    storage_id: UUID,
    meta_media_id: str,
    wamid: str,
    channel_id: str,
    kind: str,
    mime_type: str,
    filename: str,
    content: bytes | None,
    sha256: str,
    error: str | None,
) -> bool:
    """Store a file (or why it could not be fetched); False if that media id is stored."""
    inserted = await session.execute(
        text(
            """
            INSERT INTO media (tenant_id, storage_id, meta_media_id, wamid, channel_id, kind,
                               mime_type, filename, size_bytes, sha256, content, error)
            VALUES (:tenant_id, :storage_id, :meta_media_id, :wamid, :channel_id, :kind,
                    :mime_type, :filename, :size_bytes, :sha256, :content, :error)
            ON CONFLICT (tenant_id, meta_media_id) DO NOTHING
            RETURNING 1
            """
        ),
        {
            "tenant_id": tenant_id,
            "storage_id": storage_id,
            "meta_media_id": meta_media_id,
            "wamid": wamid,
            "channel_id": channel_id,
            "kind": kind,
            "mime_type": mime_type,
            "filename": filename,
            "size_bytes": len(content) if content is not None else 0,
            "sha256": sha256,
            "content": content,
            "error": error,
        },
    )
    return inserted.first() is not None
