"""Importing a website: a small local site with a sitemap, a robots.txt exclusion and a
link loop; a re-crawl that replaces only what changed; the page limit; and private
addresses refused unless the operator allows them."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from parley_knowledge.config import Settings
from parley_knowledge.main import create_app
from parley_testing.polling import eventually
from parley_testing.services import serve_app

from .conftest import DOCUMENTS, Knowledge, admin, agent

WEBSITES = "/api/v1/knowledge/websites"


def page(title: str, body: str, links: list[str]) -> str:
    anchors = " ".join(f'<a href="{href}">{href}</a>' for href in links)
    return (
        f"<html><head><title>{title}</title></head><body>"
        f"<nav><a href='/help'>Help home</a> <a href='/private/admin'>Admin</a></nav>"
        f"<main><h1>{title}</h1><p>{body}</p><p>See also: {anchors}</p></main>"
        f"<footer>Copyright Tiny Site</footer></body></html>"
    )


@dataclass
class TinySite:
    """A help centre served by the test: /help ↔ /help/billing ↔ /help/shipping form a loop,
    /help/hidden is only in the sitemap, /private/ is excluded by robots.txt."""

    pages: dict[str, str] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    base_url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/robots.txt")
        async def robots() -> PlainTextResponse:
            self.requests["/robots.txt"] += 1
            return PlainTextResponse(
                f"User-agent: *\nDisallow: /private/\nSitemap: {self.base_url}/sitemap.xml\n"
            )

        @app.get("/sitemap.xml")
        async def sitemap() -> Response:
            self.requests["/sitemap.xml"] += 1
            urls = "".join(
                f"<url><loc>{self.base_url}{path}</loc></url>" for path in ("/help", "/help/hidden")
            )
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
            )
            return Response(xml, media_type="application/xml")

        @app.get("/{path:path}")
        async def any_page(path: str, request: Request) -> Response:
            self.requests[f"/{path}"] += 1
            if f"/{path}" == "/old-help":
                return Response(status_code=301, headers={"location": "/help"})
            html = self.pages.get(f"/{path}")
            if html is None:
                return PlainTextResponse("not found", status_code=404)
            return HTMLResponse(html)

        return app

    def build(self) -> None:
        self.pages = {
            "/help": page(
                "Help centre",
                "Welcome to the Tiny Shop help centre.",
                ["/help/billing", "/help/shipping", "/old-help", "https://elsewhere.test/x"],
            ),
            "/help/billing": page(
                "Billing",
                "Invoices are sent by email on the first of the month.",
                ["/help/shipping", "/help", "/help/billing#top"],
            ),
            "/help/shipping": page(
                "Shipping",
                "Parcels leave the warehouse within two working days.",
                ["/help/billing", "/help?ref=loop"],
            ),
            "/help/hidden": page(
                "Gift cards", "Gift cards never expire and work in every store.", []
            ),
            "/private/admin": page("Admin", "The staff door code is 4321.", []),
        }


@pytest.fixture
async def site() -> AsyncIterator[TinySite]:
    tiny = TinySite()
    tiny.build()
    async with serve_app(tiny.app()) as running:
        tiny.base_url = running.base_url
        yield tiny


@pytest.fixture
async def crawling_knowledge(settings_factory) -> AsyncIterator[Knowledge]:
    settings = await settings_factory("knowledge", crawl_allow_private_addresses=True)
    assert isinstance(settings, Settings)
    async with serve_app(create_app(settings)) as running:
        for consumer in running.runtime.consumers:
            await consumer.wait_until_assigned()
        yield Knowledge(running, settings)


async def crawled(knowledge: Knowledge, tenant: uuid.UUID, website_id: str, crawl: int) -> Any:
    async def finished() -> Any:
        response = await knowledge.request("GET", admin(tenant), f"{WEBSITES}/{website_id}")
        website = response.json()
        return (
            website
            if website["crawl"] == crawl and website["state"] in ("done", "failed")
            else None
        )

    return await eventually(finished, timeout_s=60)


async def pages_of(knowledge: Knowledge, tenant: uuid.UUID, website_id: str) -> dict[str, Any]:
    listed = await knowledge.request(
        "GET", admin(tenant), DOCUMENTS, params={"website_id": website_id, "limit": 100}
    )
    documents = {d["source_uri"]: d for d in listed.json()["items"]}
    for document in documents.values():
        await knowledge.ready(admin(tenant), document["id"])
    return {uri: await knowledge.document(admin(tenant), d["id"]) for uri, d in documents.items()}


async def test_a_site_is_imported_within_robots_sitemap_and_loops(
    crawling_knowledge: Knowledge, site: TinySite
):
    knowledge, tenant = crawling_knowledge, uuid.uuid4()
    response = await knowledge.request(
        "POST", admin(tenant), WEBSITES, json={"start_url": f"{site.base_url}/help"}
    )
    assert response.status_code == 202, response.text
    website = await crawled(knowledge, tenant, response.json()["id"], 1)
    assert website["state"] == "done", website

    pages = await pages_of(knowledge, tenant, website["id"])
    base = site.base_url
    assert set(pages) == {
        f"{base}/help",
        f"{base}/help/billing",
        f"{base}/help/shipping",
        f"{base}/help/hidden",  # only in the sitemap
        f"{base}/help?ref=loop",  # a distinct URL (query), once
    }
    assert website["pages_found"] == 5
    assert all(d["kind"] == "web_page" for d in pages.values())
    # robots.txt: never fetched; the loop: each page fetched once.
    assert site.requests["/private/admin"] == 0
    assert site.requests["/help/billing"] == 1
    assert site.requests["/help/shipping"] == 1

    (gift,) = [r for r in await knowledge.search(agent(tenant), "do gift cards expire")][:1]
    assert gift["source_uri"] == f"{base}/help/hidden"
    assert gift["document_title"] == "Gift cards"
    assert await knowledge.search(agent(tenant), "staff door code") == []
    assert await knowledge.search(agent(tenant), "copyright") == []


async def test_a_recrawl_replaces_only_what_changed(crawling_knowledge: Knowledge, site: TinySite):
    knowledge, tenant = crawling_knowledge, uuid.uuid4()
    response = await knowledge.request(
        "POST", admin(tenant), WEBSITES, json={"start_url": f"{site.base_url}/help"}
    )
    website_id = response.json()["id"]
    await crawled(knowledge, tenant, website_id, 1)
    before = await pages_of(knowledge, tenant, website_id)

    base = site.base_url
    site.pages["/help/billing"] = page(
        "Billing", "Invoices are now sent by post on the fifth of the month.", ["/help"]
    )
    del site.pages["/help/hidden"]
    again = await knowledge.request("POST", admin(tenant), f"{WEBSITES}/{website_id}/crawl")
    assert again.status_code == 202
    website = await crawled(knowledge, tenant, website_id, 2)
    assert (website["pages_changed"], website["pages_removed"]) == (1, 1), website

    after = await pages_of(knowledge, tenant, website_id)
    assert f"{base}/help/hidden" not in after
    assert after[f"{base}/help/billing"]["revision"] == 2
    for unchanged in ("/help", "/help/shipping"):
        assert after[f"{base}{unchanged}"]["revision"] == 1
        assert (
            after[f"{base}{unchanged}"]["indexed_at"] == before[f"{base}{unchanged}"]["indexed_at"]
        )
    (billing, *_) = await knowledge.search(agent(tenant), "when are invoices sent")
    assert "by post on the fifth" in billing["text"]
    assert await knowledge.search(agent(tenant), "gift cards") == []


async def test_the_page_limit_bounds_the_import(crawling_knowledge: Knowledge, site: TinySite):
    knowledge, tenant = crawling_knowledge, uuid.uuid4()
    response = await knowledge.request(
        "POST",
        admin(tenant),
        WEBSITES,
        json={"start_url": f"{site.base_url}/help", "page_limit": 2},
    )
    website = await crawled(knowledge, tenant, response.json()["id"], 1)
    assert website["pages_found"] == 2
    assert len(await pages_of(knowledge, tenant, website["id"])) == 2


async def test_deleting_an_import_removes_its_pages(crawling_knowledge: Knowledge, site: TinySite):
    knowledge, tenant = crawling_knowledge, uuid.uuid4()
    response = await knowledge.request(
        "POST", admin(tenant), WEBSITES, json={"start_url": f"{site.base_url}/help"}
    )
    website_id = response.json()["id"]
    await crawled(knowledge, tenant, website_id, 1)
    await pages_of(knowledge, tenant, website_id)
    assert await knowledge.search(agent(tenant), "gift cards")

    deleted = await knowledge.request("DELETE", admin(tenant), f"{WEBSITES}/{website_id}")
    assert deleted.status_code == 204
    assert await knowledge.search(agent(tenant), "gift cards") == []
    assert (await knowledge.request("GET", admin(tenant), DOCUMENTS)).json()["items"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/help",
        "http://localhost:{port}/help",
        "http://[::1]:{port}/help",
        "http://10.1.2.3/help",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_private_and_loopback_addresses_are_refused_by_default(
    knowledge: Knowledge, site: TinySite, url: str
):
    port = site.base_url.rsplit(":", 1)[1]
    tenant = uuid.uuid4()
    response = await knowledge.request(
        "POST", admin(tenant), WEBSITES, json={"start_url": url.format(port=port)}
    )
    assert response.status_code == 422, response.text
    assert "private or local network" in response.json()["error"]["message"]
    assert site.requests == Counter()


async def test_the_crawler_refuses_private_addresses_when_it_connects(
    knowledge: Knowledge, site: TinySite
):
    # The address check is made on each connection, not only when the import is added: the
    # crawler of a service that does not allow private addresses never reaches the site.
    from parley_knowledge.service.fetching import BlockedAddress, Fetcher

    fetcher = Fetcher(allow_private=False, timeout_s=5, user_agent="test", max_bytes=10_000)
    try:
        with pytest.raises(BlockedAddress):
            await fetcher.get(f"{site.base_url}/help")
        port = site.base_url.rsplit(":", 1)[1]
        with pytest.raises(BlockedAddress):
            await fetcher.get(f"http://localhost:{port}/help")
    finally:
        await fetcher.close()
    assert site.requests == Counter()


async def test_bad_start_urls_are_refused(knowledge: Knowledge):
    tenant = uuid.uuid4()
    for url in ("ftp://example.com/", "https://user:pw@example.com/", "not a url at all"):
        response = await knowledge.request("POST", admin(tenant), WEBSITES, json={"start_url": url})
        assert response.status_code == 422, (url, response.text)
