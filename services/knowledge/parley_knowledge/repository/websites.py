"""Imported websites and the progress of their crawls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley_knowledge.repository.tables import websites


@dataclass(frozen=True)
class Website:
    """A website import (see the `websites` table)."""

    id: UUID
    start_url: str
    page_limit: int
    state: str
    failure_reason: str | None
    crawl: int
    pages_found: int
    pages_changed: int
    pages_removed: int
    pages_skipped: int
    crawl_started_at: datetime | None
    crawl_finished_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> Website:
        values = dict(row._mapping)
        values.pop("tenant_id", None)
        return cls(**values)


@dataclass(frozen=True)
class CrawlReport:
    """What one crawl did."""

    pages_found: int
    pages_changed: int
    pages_removed: int
    pages_skipped: int
    failure_reason: str | None = None


class WebsiteRepository:
    """Websites of one tenant (the session's)."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add(self, start_url: str, page_limit: int) -> Website:
        row = (
            await self._session.execute(
                insert(websites)
                .values(
                    tenant_id=self._tenant_id,
                    id=uuid.uuid4(),
                    start_url=start_url,
                    page_limit=page_limit,
                    state="queued",
                )
                .returning(websites)
            )
        ).one()
        return Website.of(row)

    async def get(self, website_id: UUID, *, lock: bool = False) -> Website | None:
        query = select(websites).where(websites.c.id == website_id)
        if lock:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return Website.of(row) if row else None

    async def by_start_url(self, start_url: str) -> Website | None:
        row = (
            await self._session.execute(select(websites).where(websites.c.start_url == start_url))
        ).first()
        return Website.of(row) if row else None

    async def all(self) -> list[Website]:
        rows = await self._session.execute(
            select(websites).order_by(websites.c.created_at.desc(), websites.c.id.desc())
        )
        return [Website.of(r) for r in rows]

    async def request_crawl(self, website_id: UUID, page_limit: int | None = None) -> Website:
        """Queue crawl number `crawl + 1` (an older crawl still running gives up)."""
        values: dict[str, Any] = {
            "crawl": websites.c.crawl + 1,
            "state": "queued",
            "failure_reason": None,
            "updated_at": func.now(),
        }
        if page_limit is not None:
            values["page_limit"] = page_limit
        return await self._set(website_id, **values)

    async def start_crawl(self, website_id: UUID) -> Website:
        return await self._set(
            website_id, state="crawling", crawl_started_at=func.now(), crawl_finished_at=None
        )

    async def record_progress(self, website_id: UUID, report: CrawlReport) -> Website:
        return await self._set(
            website_id,
            pages_found=report.pages_found,
            pages_changed=report.pages_changed,
            pages_removed=report.pages_removed,
            pages_skipped=report.pages_skipped,
        )

    async def finish_crawl(self, website_id: UUID, report: CrawlReport) -> Website:
        return await self._set(
            website_id,
            state="failed" if report.failure_reason else "done",
            failure_reason=report.failure_reason,
            pages_found=report.pages_found,
            pages_changed=report.pages_changed,
            pages_removed=report.pages_removed,
            pages_skipped=report.pages_skipped,
            crawl_finished_at=func.now(),
        )

    async def delete(self, website_id: UUID) -> bool:
        result = await self._session.execute(
            websites.delete().where(websites.c.id == website_id).returning(websites.c.id)
        )
        return result.first() is not None

    async def _set(self, website_id: UUID, **values: Any) -> Website:
        values.setdefault("updated_at", func.now())
        row = (
            await self._session.execute(
                update(websites)
                .where(websites.c.id == website_id)
                .values(**values)
                .returning(websites)
            )
        ).one()
        return Website.of(row)
