"""Website imports: a start URL (a help centre) crawled within its own site, honouring
robots.txt and the sitemap, up to a page limit; crawled again on demand, replacing only the
pages that changed. Each page becomes a document of kind `web_page`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Response, status
from parley_platform.errors import NotFound
from parley_platform.http.internal import CurrentPrincipal
from pydantic import BaseModel, Field

from parley_knowledge.api.dependencies import ComponentsDep, may_read, may_write
from parley_knowledge.repository.websites import Website
from parley_knowledge.service import websites

router = APIRouter(prefix="/api/v1/knowledge/websites", tags=["knowledge"])
WebsiteId = Annotated[UUID, Path(description="The website import")]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not called through the gateway with a valid credential"},
    403: {"description": "Not allowed (role or API-key scope)"},
    404: {"description": "No such website import"},
}


class WebsiteIn(BaseModel):
    start_url: str = Field(min_length=8, max_length=2000, examples=["https://help.example.com/"])
    page_limit: int | None = Field(default=None, ge=1, description="Pages to import at most")


class CrawlIn(BaseModel):
    page_limit: int | None = Field(default=None, ge=1, description="A new page limit")


class WebsiteOut(BaseModel):
    id: UUID
    start_url: str
    page_limit: int
    state: Literal["queued", "crawling", "done", "failed"]
    failure_reason: str | None
    crawl: int = Field(description="Number of the latest crawl")
    pages_found: int = Field(description="Pages imported by the latest crawl")
    pages_changed: int = Field(description="Of those, new or changed")
    pages_removed: int = Field(description="Pages removed because the site no longer has them")
    pages_skipped: int = Field(description="Excluded by robots.txt, not HTML, or unreadable")
    crawl_started_at: datetime | None
    crawl_finished_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, website: Website) -> WebsiteOut:
        return cls(
            id=website.id,
            start_url=website.start_url,
            page_limit=website.page_limit,
            state=website.state,  # type: ignore[arg-type]  # checked by the table
            failure_reason=website.failure_reason,
            crawl=website.crawl,
            pages_found=website.pages_found,
            pages_changed=website.pages_changed,
            pages_removed=website.pages_removed,
            pages_skipped=website.pages_skipped,
            crawl_started_at=website.crawl_started_at,
            crawl_finished_at=website.crawl_finished_at,
            created_at=website.created_at,
        )


@router.post(
    "",
    summary="Import a website",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebsiteOut,
    responses={
        **ERRORS,
        409: {"description": "This start URL is already imported"},
        422: {"description": "Not an http(s) URL of a public site"},
    },
)
async def add_website(
    body: WebsiteIn, principal: CurrentPrincipal, components: ComponentsDep
) -> WebsiteOut:
    """Queue the import of a site, starting at `start_url`; follow its progress with GET."""
    may_write(principal)
    settings = components.settings
    start_url = await websites.checked_start_url(body.start_url, settings)
    page_limit = websites.page_limit_of(body.page_limit, settings)
    async with components.transaction(principal) as work:
        website = await websites.add(work, start_url, page_limit)
    return WebsiteOut.of(website)


@router.get("", summary="List website imports", response_model=list[WebsiteOut], responses=ERRORS)
async def list_websites(principal: CurrentPrincipal, components: ComponentsDep) -> list[WebsiteOut]:
    may_read(principal)
    async with components.transaction(principal) as work:
        return [WebsiteOut.of(w) for w in await work.websites.all()]


@router.get(
    "/{website_id}", summary="Get a website import", response_model=WebsiteOut, responses=ERRORS
)
async def get_website(
    website_id: WebsiteId, principal: CurrentPrincipal, components: ComponentsDep
) -> WebsiteOut:
    may_read(principal)
    async with components.transaction(principal) as work:
        website = await work.websites.get(website_id)
    if website is None:
        raise NotFound("no such website")
    return WebsiteOut.of(website)


@router.post(
    "/{website_id}/crawl",
    summary="Crawl a website again",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebsiteOut,
    responses=ERRORS,
)
async def crawl_again(
    website_id: WebsiteId,
    principal: CurrentPrincipal,
    components: ComponentsDep,
    body: CrawlIn | None = None,
) -> WebsiteOut:
    """Crawl again: changed pages are replaced, new ones added, gone ones removed; pages
    that did not change are left as they are."""
    may_write(principal)
    page_limit = (
        websites.page_limit_of(body.page_limit, components.settings)
        if body and body.page_limit
        else None
    )
    async with components.transaction(principal) as work:
        website = await websites.recrawl(work, website_id, page_limit)
    return WebsiteOut.of(website)


@router.delete(
    "/{website_id}",
    summary="Delete a website import and its pages",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ERRORS,
)
async def delete_website(
    website_id: WebsiteId, principal: CurrentPrincipal, components: ComponentsDep
) -> Response:
    may_write(principal)
    async with components.transaction(principal) as work:
        await websites.delete(work, website_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
