"""Importing a website: crawl it within its own site, honouring robots.txt and its sitemap,
up to the page limit, and make each page a document (external id: its URL).

- Seeds: the start URL and the pages the sitemap lists (robots.txt `Sitemap:` lines, else
  `/sitemap.xml`); then links found on fetched pages, breadth first.
- Every URL is normalised and visited at most once per crawl, so link loops end; redirects
  are followed by hand, each hop checked to stay on the site and fetched through the
  address guard (service/fetching.py).
- robots.txt rules for our user agent are honoured, and its crawl delay (up to a bound).
- A page whose content did not change keeps its document untouched (same content hash); a
  changed page becomes a new revision (replaced atomically in search); a page that now
  answers 404/410, or that a complete crawl no longer reaches, is deleted. When the crawl
  stopped at the page limit, pages it did not reach are kept (nothing says they are gone).
- A newer crawl of the same website, or deleting it, stops this one at the next page.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from uuid import UUID

import httpx
from parley_platform.db import Database
from parley_platform.errors import ParleyError
from protego import Protego

from parley_knowledge import metrics
from parley_knowledge.config import Settings
from parley_knowledge.domain.documents import Kind
from parley_knowledge.domain.extraction import MediaType, UnreadableDocument, extract
from parley_knowledge.domain.urls import InvalidUrl, normalize_url, same_site, sitemap_entries
from parley_knowledge.errors import QuotaExceeded
from parley_knowledge.repository.websites import CrawlReport, Website
from parley_knowledge.service import documents
from parley_knowledge.service.documents import Upload
from parley_knowledge.service.fetching import BlockedAddress, Fetched, Fetcher
from parley_knowledge.service.work import tenant_work

log = logging.getLogger(__name__)

MAX_CRAWL_DELAY_S = 5.0
MAX_SITEMAPS = 10
MAX_SITEMAP_BYTES = 10 * 1024 * 1024
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass
class _Progress:
    found: int = 0
    changed: int = 0
    removed: int = 0
    skipped: int = 0
    seen: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    complete: bool = True
    failure: str | None = None

    def report(self) -> CrawlReport:
        return CrawlReport(self.found, self.changed, self.removed, self.skipped, self.failure)


class CrawlAborted(Exception):
    """The crawl is no longer wanted (a newer one started, or the website was deleted)."""


class Crawler:
    """Runs website imports for the crawl consumer."""

    def __init__(self, database: Database, settings: Settings, fetcher: Fetcher) -> None:
        self._database = database
        self._settings = settings
        self._fetcher = fetcher

    async def crawl(self, tenant_id: UUID, website_id: UUID, crawl: int) -> None:
        """Run crawl number `crawl` of the website (if it is still the one wanted)."""
        async with tenant_work(self._database, tenant_id) as work:
            website = await work.websites.get(website_id, lock=True)
            if website is None or website.crawl != crawl or website.state in ("done", "failed"):
                return
            website = await work.websites.start_crawl(website_id)
        progress = _Progress()
        try:
            await self._run(tenant_id, website, progress)
        except CrawlAborted:
            return
        except _Stop:
            pass
        except BlockedAddress:
            progress.failure = (
                "the site's address is in a private or local network, which cannot be imported"
            )
            progress.complete = False
        async with tenant_work(self._database, tenant_id) as work:
            current = await work.websites.get(website_id, lock=True)
            if current is None or current.crawl != crawl:
                return
            for document in await work.documents.of_website(website_id):
                url = document.external_id or ""
                if url in progress.gone or (progress.complete and url not in progress.seen):
                    await documents.delete(work, document.id)
                    progress.removed += 1
            await work.websites.finish_crawl(website_id, progress.report())
        log.info(
            "website crawled",
            extra={"website_id": str(website_id), "pages": progress.found},
        )

    async def fail(self, tenant_id: UUID, website_id: UUID, crawl: int, reason: str) -> None:
        """End crawl number `crawl` as failed with `reason`."""
        async with tenant_work(self._database, tenant_id) as work:
            current = await work.websites.get(website_id, lock=True)
            if current is not None and current.crawl == crawl:
                await work.websites.finish_crawl(
                    website_id, CrawlReport(0, 0, 0, 0, failure_reason=reason)
                )

    # ------------------------------------------------------------------ the crawl

    async def _run(self, tenant_id: UUID, website: Website, progress: _Progress) -> None:
        start = website.start_url
        agent = self._settings.crawl_user_agent
        robots = await self._robots(start)
        if robots is None:
            progress.failure = "the site's robots.txt could not be read; try again later"
            progress.complete = False
            return
        delay = min(float(robots.crawl_delay(agent) or 0), MAX_CRAWL_DELAY_S)
        queue: deque[str] = deque([start])
        queued = {start}
        for url in await self._sitemap_pages(start, robots):
            if url not in queued:
                queue.append(url)
                queued.add(url)
        while queue:
            if progress.found >= website.page_limit:
                progress.complete = False
                break
            url = queue.popleft()
            if not robots.can_fetch(url, agent):
                progress.skipped += 1
                continue
            page = await self._fetch_page(url, start, progress)
            if page is None:
                continue
            final_url, fetched = page
            stored = await self._store(tenant_id, website, final_url, fetched, progress)
            if stored is None:
                continue
            for link in stored:
                try:
                    normalized = normalize_url(link)
                except InvalidUrl:
                    continue
                if normalized not in queued and same_site(normalized, start):
                    queue.append(normalized)
                    queued.add(normalized)
            await self._still_wanted(tenant_id, website, progress)
            if delay:
                await asyncio.sleep(delay)

    async def _robots(self, start: str) -> Protego | None:
        """The site's robots.txt rules (none: allow everything); None when it cannot be
        read right now (a server error), in which case nothing is crawled."""
        robots_url = normalize_url(str(httpx.URL(start).join("/robots.txt")))
        try:
            fetched = await self._fetcher.get(robots_url, max_bytes=512 * 1024)
        except BlockedAddress:
            raise
        except httpx.HTTPError:
            return None
        if fetched.status >= 500:
            return None
        if fetched.status != 200:
            return Protego.parse("")
        return Protego.parse(fetched.content.decode("utf-8", errors="replace"))

    async def _sitemap_pages(self, start: str, robots: Protego) -> list[str]:
        """Pages listed by the site's sitemaps (nested indexes followed, bounded)."""
        sitemaps = list(robots.sitemaps) or [str(httpx.URL(start).join("/sitemap.xml"))]
        pages: list[str] = []
        fetched_maps = 0
        while sitemaps and fetched_maps < MAX_SITEMAPS:
            sitemap = sitemaps.pop(0)
            try:
                sitemap = normalize_url(sitemap)
            except InvalidUrl:
                continue
            if not same_site(sitemap, start):
                continue
            fetched_maps += 1
            try:
                fetched = await self._fetcher.get(sitemap, max_bytes=MAX_SITEMAP_BYTES)
            except httpx.HTTPError:
                continue
            if fetched.status != 200:
                continue
            found, nested = sitemap_entries(fetched.content)
            sitemaps.extend(nested)
            for url in found:
                try:
                    normalized = normalize_url(url)
                except InvalidUrl:
                    continue
                if same_site(normalized, start):
                    pages.append(normalized)
        return pages

    async def _fetch_page(
        self, url: str, start: str, progress: _Progress
    ) -> tuple[str, Fetched] | None:
        """The page at `url` after on-site redirects, or None (recorded as skipped or gone)."""
        current = url
        for _ in range(self._settings.crawl_max_redirects + 1):
            if current != url and current in progress.seen:
                return None  # redirected to a page this crawl already has
            try:
                fetched = await self._fetcher.get(current)
            except BlockedAddress:
                raise
            except httpx.HTTPError:
                progress.skipped += 1
                metrics.PAGES_CRAWLED.labels("error").inc()
                return None
            if fetched.status in (301, 302, 303, 307, 308):
                try:
                    target = normalize_url(fetched.url)
                except InvalidUrl:
                    progress.skipped += 1
                    return None
                if not same_site(target, start):
                    progress.skipped += 1
                    return None
                current = target
                continue
            if fetched.status in (404, 410):
                progress.gone.add(url)
                metrics.PAGES_CRAWLED.labels("gone").inc()
                return None
            media_type = fetched.content_type.split(";")[0].strip().lower()
            if fetched.status != 200 or media_type not in HTML_TYPES or fetched.too_large:
                progress.skipped += 1
                metrics.PAGES_CRAWLED.labels("skipped").inc()
                return None
            progress.seen.add(url)
            progress.seen.add(current)
            return current, fetched
        progress.skipped += 1
        return None

    async def _store(
        self,
        tenant_id: UUID,
        website: Website,
        url: str,
        fetched: Fetched,
        progress: _Progress,
    ) -> tuple[str, ...] | None:
        """Make the page a document (or leave it, unchanged); returns its links."""
        try:
            page = await asyncio.to_thread(extract, fetched.content, MediaType.HTML, url)
        except UnreadableDocument:
            progress.skipped += 1
            metrics.PAGES_CRAWLED.labels("unreadable").inc()
            return ()
        upload = Upload(
            kind=Kind.WEB_PAGE,
            content=fetched.content,
            title=(page.title or url)[: self._settings.max_title_chars],
            declared_type=MediaType.HTML.value,
            external_id=url,
            source_uri=url,
            website_id=website.id,
        )
        checked = documents.Checked(MediaType.HTML, page.page_count, page.title)
        try:
            async with tenant_work(self._database, tenant_id) as work:
                accepted = await documents.accept(
                    work, upload, checked, documents.quotas_of(self._settings)
                )
        except QuotaExceeded as exc:
            progress.failure = f"stopped after {progress.found} pages: {exc.message}"
            progress.complete = False
            raise _Stop from exc
        except ParleyError:
            progress.skipped += 1
            return ()
        progress.found += 1
        if not accepted.unchanged:
            progress.changed += 1
        metrics.PAGES_CRAWLED.labels("changed" if not accepted.unchanged else "unchanged").inc()
        return page.links

    async def _still_wanted(self, tenant_id: UUID, website: Website, progress: _Progress) -> None:
        """Raise CrawlAborted when a newer crawl started or the website was deleted; else
        show the progress so far."""
        async with tenant_work(self._database, tenant_id) as work:
            current = await work.websites.get(website.id, lock=True)
            if current is None or current.crawl != website.crawl:
                raise CrawlAborted
            await work.websites.record_progress(website.id, progress.report())


class _Stop(Exception):
    """The crawl cannot go on (quota); what it found so far stays."""
