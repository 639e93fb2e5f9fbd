"""A tenant's knowledge preferences (its default language)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from parley_knowledge.repository.tables import preferences


class PreferenceRepository:
    """Preferences of one tenant (the session's)."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def default_language(self) -> str | None:
        return (
            await self._session.execute(select(preferences.c.default_language))
        ).scalar_one_or_none()

    async def set_default_language(self, language: str) -> None:
        await self._session.execute(
            text(
                "INSERT INTO preferences (tenant_id, default_language) VALUES (:t, :language) "
                "ON CONFLICT (tenant_id) DO UPDATE SET "
                "default_language = EXCLUDED.default_language, updated_at = now()"
            ),
            {"t": self._tenant_id, "language": language},
        )
