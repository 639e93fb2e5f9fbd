"""Managing the knowledge base in a real browser: FAQ entries added, edited and deleted; a CSV
with a bad row refused row by row with nothing imported, then imported, and imported again
without duplicates; a help centre imported from its start URL, its pages listed, crawled
again after a page changed, then deleted; the search shows what the AI would get from each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from parley_testing.polling import eventually
from parley_testing.services import serve_app
from playwright.async_api import Dialog, FilePayload, Page, expect

from .steps import Platform, sign_up


def accept_confirmations(page: Page) -> None:
    """Say yes to the page's "Delete …?" confirmations (Playwright says no by default)."""

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.on("dialog", accept)


async def faq_csv(page: Page, name: str, content: str) -> None:
    """Choose a CSV file in the import form and import it."""
    form = page.locator(".panel").filter(has=page.get_by_role("heading", name="Import from a CSV"))
    csv: FilePayload = {"name": name, "mimeType": "text/csv", "buffer": content.encode()}
    await form.get_by_label("CSV file").set_input_files(files=[csv])
    await form.get_by_role("button", name="Import").click()


async def search(page: Page, question: str) -> Any:
    """Ask the search what the AI would get; returns its answer (passages or "nothing")."""
    panel = page.locator(".panel").filter(has=page.get_by_role("heading", name="Try a question"))
    await panel.get_by_label("Question").fill(question)
    await panel.get_by_role("button", name="Search").click()
    answer = panel.locator(".results li").or_(panel.locator(".empty"))
    await expect(answer.first).to_be_visible()
    return panel.locator(".search-answer")


async def search_until(page: Page, question: str, text: str) -> None:
    """Search again until the AI would get `text` (a page is indexed a moment after it
    changes)."""

    async def found() -> bool:
        return text in await (await search(page, question)).inner_text()

    await eventually(found, timeout_s=30, interval_s=0.5)


async def test_faq_entries_are_added_edited_imported_and_deleted(
    platform: Platform, page: Page, shoot: Any
) -> None:
    accept_confirmations(page)
    await sign_up(page, platform, shoot, company="Tiny Shop")
    await page.goto(platform.url + "/app/knowledge/faq")

    add = page.locator(".panel").filter(has=page.get_by_role("heading", name="Add a question"))
    await add.get_by_label("Question").fill("Do you deliver on Sundays?")
    await add.get_by_label("Answer").fill("No: deliveries run Monday to Saturday.")
    await add.get_by_role("button", name="Add question").click()
    sundays = page.locator(".faq-entry").filter(has_text="Do you deliver on Sundays?")
    await expect(sundays.locator(".badge")).to_have_text("Ready", timeout=30_000)

    await sundays.get_by_role("button", name="Edit").click()
    editing = page.locator(".card").filter(has=page.get_by_role("button", name="Cancel"))
    await editing.get_by_label("Answer").fill("Yes: on Sundays between 10:00 and 14:00.")
    await editing.get_by_role("button", name="Save").click()
    await expect(sundays).to_contain_text("between 10:00 and 14:00")
    await expect(sundays.locator(".badge")).to_have_text("Ready", timeout=30_000)
    # The AI now gets the new answer, never the old one.
    results = await search(page, "deliver on sundays")
    await expect(results).to_contain_text("between 10:00 and 14:00")
    await expect(results).not_to_contain_text("Monday to Saturday")

    # A file with a bad row: each bad row is named, nothing is imported.
    await faq_csv(
        page,
        "faq.csv",
        "question,answer\nHow long do refunds take?,\nIs shipping free?,Over 50 euros it is.\n"
        "Do gift cards expire?\n",
    )
    refused = page.get_by_role("alert").filter(has_text="Nothing was imported")
    await expect(refused).to_contain_text("Row 2")
    await expect(refused).to_contain_text("Row 4")
    await expect(page.locator(".faq-entry").filter(has_text="Is shipping free?")).to_have_count(0)

    good = (
        "question;answer\n"
        "How long do refunds take?;Refunds reach your card within 5 working days.\n"
        "Is shipping free?;Shipping is free for orders over 50 euros.\n"
    )
    await faq_csv(page, "faq.csv", good)
    await expect(page.get_by_role("status")).to_contain_text("2 new, 0 updated, 0 unchanged")
    refunds = page.locator(".faq-entry").filter(has_text="How long do refunds take?")
    await expect(refunds.locator(".badge")).to_have_text("Ready", timeout=30_000)
    await shoot(page, "12-knowledge-faq", doc=True, full_page=True)
    # The same file again changes nothing and adds nothing.
    await faq_csv(page, "faq.csv", good)
    await expect(page.get_by_role("status")).to_contain_text("0 new, 0 updated, 2 unchanged")
    await expect(page.locator(".faq-entry")).to_have_count(3)

    await refunds.get_by_role("button", name="Delete").click()
    await expect(refunds).to_have_count(0)
    results = await search(page, "how long do refunds take")
    await expect(results).not_to_contain_text("5 working days")

    # Every entry is a document too, listed with its kind.
    await page.get_by_role("link", name="Documents").click()
    await page.get_by_label("Kind").select_option("faq")
    await expect(page.locator(".card").filter(has_text="FAQ entry")).to_have_count(2)

    # A file that is not a document is refused in words, and nothing is added.
    await page.get_by_label("Kind").select_option("")
    add = page.locator(".panel").filter(has=page.get_by_role("heading", name="Add knowledge"))
    program: FilePayload = {
        "name": "setup.exe",
        "mimeType": "application/octet-stream",
        "buffer": b"MZ\x90\x00" + bytes(range(256)) * 8,
    }
    await add.get_by_label("A file").set_input_files(files=[program])
    await add.get_by_role("button", name="Upload").click()
    await expect(add.get_by_role("alert")).to_contain_text("are not supported; upload")
    await expect(page.locator(".cards > .card")).to_have_count(2)


@dataclass
class HelpCentre:
    """A business's small help centre, served by the test: a start page linking to two
    articles, one more only in the sitemap, and a staff area robots.txt excludes."""

    base_url: str = ""
    pages: dict[str, tuple[str, str, list[str]]] = field(
        default_factory=lambda: {
            "/help": (
                "Help centre",
                "Welcome to the Tiny Shop help.",
                ["/help/returns", "/staff/door"],
            ),
            "/help/returns": (
                "Returns",
                "Unworn shoes can be returned within 30 days for a refund.",
                ["/help", "/help/shipping"],
            ),
            "/help/shipping": (
                "Shipping",
                "Parcels leave our warehouse within two working days.",
                ["/help/returns"],
            ),
            "/help/gift-cards": ("Gift cards", "Gift cards never expire.", []),
            "/staff/door": ("Staff", "The staff door code is 4321.", []),
        }
    )

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/robots.txt")
        async def robots() -> PlainTextResponse:
            return PlainTextResponse(
                f"User-agent: *\nDisallow: /staff/\nSitemap: {self.base_url}/sitemap.xml\n"
            )

        @app.get("/sitemap.xml")
        async def sitemap() -> Response:
            urls = "".join(
                f"<url><loc>{self.base_url}{path}</loc></url>"
                for path in ("/help", "/help/gift-cards")
            )
            return Response(
                '<?xml version="1.0" encoding="UTF-8"?><urlset '
                f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
                media_type="application/xml",
            )

        @app.get("/{path:path}")
        async def page(path: str) -> Response:
            found = self.pages.get(f"/{path}")
            if found is None:
                return PlainTextResponse("not found", status_code=404)
            title, text, links = found
            anchors = " ".join(f'<a href="{href}">{href}</a>' for href in links)
            return HTMLResponse(
                f"<html><head><title>{title}</title></head><body><main><h1>{title}</h1>"
                f"<p>{text}</p><p>See also: {anchors}</p></main></body></html>"
            )

        return app


@pytest.fixture
async def help_centre() -> AsyncIterator[HelpCentre]:
    site = HelpCentre()
    async with serve_app(site.app()) as running:
        site.base_url = running.base_url
        yield site


async def test_a_help_centre_is_imported_crawled_again_and_deleted(
    platform: Platform, page: Page, shoot: Any, help_centre: HelpCentre
) -> None:
    accept_confirmations(page)
    await sign_up(page, platform, shoot, company="Tiny Shop")
    await page.goto(platform.url + "/app/knowledge/websites")
    await page.get_by_label("Start URL").fill(f"{help_centre.base_url}/help")
    await page.get_by_label("Page limit").fill("10")
    await page.get_by_role("button", name="Import website").click()

    website = page.locator(".website").filter(has_text=f"{help_centre.base_url}/help")
    await expect(website.locator(".badge").first).to_have_text("Imported", timeout=60_000)
    # The start page, its links, the sitemap's page; not the staff area.
    await expect(website).to_contain_text("4 pages (4 new or changed, 1 skipped)")
    await website.get_by_role("button", name="Show pages").click()
    pages = website.locator(".website-pages")
    for title in ("Help centre", "Returns", "Shipping", "Gift cards"):
        await expect(pages.get_by_role("link", name=title)).to_be_visible()
    await expect(pages).not_to_contain_text("Staff")
    await expect(pages.locator(".badge").filter(has_text="Ready")).to_have_count(4, timeout=30_000)
    results = await search(page, "can I return shoes")
    await expect(results).to_contain_text("within 30 days")
    await expect(
        results.get_by_role("link", name=f"{help_centre.base_url}/help/returns")
    ).to_be_visible()
    await shoot(page, "13-knowledge-websites", doc=True, full_page=True)

    # The shop changes its returns policy: a new crawl replaces only that page.
    help_centre.pages["/help/returns"] = (
        "Returns",
        "Unworn shoes can be returned within 60 days for a refund.",
        ["/help", "/help/shipping"],
    )
    await website.get_by_role("button", name="Crawl again").click()
    await expect(website).to_contain_text("crawl 2")
    await expect(website).to_contain_text("4 pages (1 new or changed, 1 skipped)", timeout=60_000)
    await search_until(page, "can I return shoes", "within 60 days")

    await website.get_by_role("button", name="Delete").click()
    await expect(website).to_have_count(0)
    await expect(page.get_by_text("No website imported.")).to_be_visible()
    results = await search(page, "can I return shoes")
    await expect(results).not_to_contain_text("within 60 days")
