"""Website imports: adding one (checked before anything is stored), crawling it again,
deleting it with its pages."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit
from uuid import UUID

import anyio
from parley_platform.errors import Conflict, InvalidRequest, NotFound

from parley_knowledge.config import Settings
from parley_knowledge.domain.urls import InvalidUrl, is_public_address, normalize_url
from parley_knowledge.errors import UnreadableContent
from parley_knowledge.events.outgoing import crawl_requested
from parley_knowledge.repository.websites import Website
from parley_knowledge.service import documents
from parley_knowledge.service.work import Work


async def checked_start_url(url: str, settings: Settings) -> str:
    """The normalised start URL, refused (422) when it is not a public http(s) site: the
    crawler checks every connection again, this only answers early."""
    try:
        normalized = normalize_url(url)
    except InvalidUrl as exc:
        raise UnreadableContent(str(exc)) from exc
    if settings.crawl_allow_private_addresses:
        return normalized
    parts = urlsplit(normalized)
    try:
        infos = await anyio.getaddrinfo(
            parts.hostname or "", parts.port or 443, type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise UnreadableContent(f"the host {parts.hostname} cannot be found") from exc
    if not any(is_public_address(str(info[4][0])) for info in infos):
        raise UnreadableContent(
            "the site's address is in a private or local network, which cannot be imported"
        )
    return normalized


async def add(work: Work, start_url: str, page_limit: int) -> Website:
    """Add a website import and queue its first crawl."""
    if await work.websites.by_start_url(start_url) is not None:
        raise Conflict(
            "this website is already imported; crawl it again with POST "
            "/api/v1/knowledge/websites/{id}/crawl"
        )
    website = await work.websites.add(start_url, page_limit)
    work.emit(crawl_requested(work.tenant_id, website.id, website.crawl))
    return website


async def recrawl(work: Work, website_id: UUID, page_limit: int | None) -> Website:
    """Queue a new crawl (one still running stops at its next page)."""
    if await work.websites.get(website_id, lock=True) is None:
        raise NotFound("no such website")
    website = await work.websites.request_crawl(website_id, page_limit)
    work.emit(crawl_requested(work.tenant_id, website.id, website.crawl))
    return website


async def delete(work: Work, website_id: UUID) -> None:
    """Delete the import and every page it brought (they leave search at once)."""
    if await work.websites.get(website_id, lock=True) is None:
        raise NotFound("no such website")
    for document in await work.documents.of_website(website_id):
        await documents.delete(work, document.id)
    await work.websites.delete(website_id)


def page_limit_of(requested: int | None, settings: Settings) -> int:
    limit = requested or settings.crawl_default_page_limit
    if limit > settings.crawl_max_page_limit:
        raise InvalidRequest(f"page_limit is at most {settings.crawl_max_page_limit}")
    return limit
