"""Uploading files: each supported format ends searchable with its structure (pages,
headings, tables), and every kind of bad upload is refused with the right status and a
reason, leaving nothing stored."""

from __future__ import annotations

import uuid
from pathlib import Path

from parley_knowledge.config import Settings
from parley_knowledge.main import create_app
from parley_testing.services import serve_app

from .conftest import DOCUMENTS, Knowledge, admin, agent
from .unit.test_extraction import HELP_PAGE

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def test_a_pdf_is_searchable_with_page_numbers_and_headings(knowledge: Knowledge):
    tenant = uuid.uuid4()
    response = await knowledge.upload(
        admin(tenant), "handbook.pdf", (FIXTURES / "handbook.pdf").read_bytes(), "application/pdf"
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert (accepted["kind"], accepted["title"], accepted["page_count"]) == (
        "file",
        "Customer handbook",
        3,
    )
    ready = await knowledge.ready(admin(tenant), accepted["id"])
    assert ready["media_type"] == "application/pdf"
    assert ready["source_uri"] == "handbook.pdf"

    (late_fee, *_) = await knowledge.search(agent(tenant), "is there a fee for late payment")
    assert late_fee["page"] == 2
    assert late_fee["heading"] == "Support and billing"
    assert "reminder fee of ten euros" in " ".join(late_fee["text"].split())

    (prices, *_) = await knowledge.search(agent(tenant), "Enterprise plan monthly price")
    assert prices["page"] == 3
    assert "Enterprise 99 euros 1 TB" in prices["text"]
    chunks = await knowledge.grpc_search(tenant, "Enterprise plan monthly price")
    assert chunks[0].page == 3
    assert chunks[0].source_uri == "handbook.pdf"


async def test_an_html_page_is_searchable_without_its_navigation_and_footer(
    knowledge: Knowledge,
):
    tenant = uuid.uuid4()
    response = await knowledge.upload(
        admin(tenant), "returns.html", HELP_PAGE.encode(), "text/html", title="Returns"
    )
    assert response.status_code == 202, response.text
    ready = await knowledge.ready(admin(tenant), response.json()["id"])
    assert ready["chunk_count"] == 3

    (refund, *_) = await knowledge.search(agent(tenant), "when will I get my refund")
    assert refund["heading"] == "Returns policy > Refund timing"
    for boilerplate in ("copyright", "careers", "cookies", "contact"):
        assert await knowledge.search(agent(tenant), boilerplate) == [], boilerplate


async def test_a_docx_is_searchable_with_its_headings_and_table(knowledge: Knowledge):
    tenant = uuid.uuid4()
    response = await knowledge.upload(
        admin(tenant), "guide.docx", (FIXTURES / "guide.docx").read_bytes(), DOCX
    )
    assert response.status_code == 202, response.text
    await knowledge.ready(admin(tenant), response.json()["id"])

    (password, *_) = await knowledge.search(agent(tenant), "where do I find the wifi password")
    assert password["heading"] == "Setting up the router > Wi-Fi password"
    (light, *_) = await knowledge.search(agent(tenant), "router light blinking red")
    assert "Blinking red | No signal on the phone line" in light["text"]


async def test_markdown_and_text_files_are_read(knowledge: Knowledge):
    tenant = uuid.uuid4()
    markdown = await knowledge.upload(
        admin(tenant),
        "faq.md",
        b"# Pets\n\n## Dogs\n\nDogs are welcome in the lobby.",
        "text/plain",
    )
    text = await knowledge.upload(
        admin(tenant), "parking.txt", b"Parking\n\nThe garage closes at midnight.", "text/plain"
    )
    for response in (markdown, text):
        assert response.status_code == 202, response.text
        await knowledge.ready(admin(tenant), response.json()["id"])
    assert markdown.json()["media_type"] == "text/markdown"
    (dogs,) = await knowledge.search(agent(tenant), "are dogs allowed")
    assert dogs["heading"] == "Pets > Dogs"
    (garage,) = await knowledge.search(agent(tenant), "when does the garage close")
    assert garage["document_title"] == "parking"


async def test_bad_files_are_refused_with_the_reason_and_nothing_is_stored(
    knowledge: Knowledge,
):
    tenant = uuid.uuid4()
    cases = [
        ("encrypted.pdf", (FIXTURES / "encrypted.pdf").read_bytes(), "application/pdf", 422),
        ("scanned.pdf", (FIXTURES / "scanned.pdf").read_bytes(), "application/pdf", 422),
        ("broken.pdf", (FIXTURES / "handbook.pdf").read_bytes()[:500], "application/pdf", 422),
        ("broken.docx", b"PK\x03\x04 garbage", DOCX, 422),
        ("empty.txt", b"", "text/plain", 422),
        ("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", 415),
        ("archive.zip", b"PK\x03\x04\x14\x00", "application/zip", 415),
    ]
    reasons = {}
    for filename, content, content_type, expected in cases:
        response = await knowledge.upload(admin(tenant), filename, content, content_type)
        assert response.status_code == expected, (filename, response.text)
        reasons[filename] = response.json()["error"]["message"]
    assert "password" in reasons["encrypted.pdf"]
    assert "no text layer" in reasons["scanned.pdf"]
    assert "damaged" in reasons["broken.pdf"]
    assert "empty" in reasons["empty.txt"]
    assert "not supported" in reasons["logo.png"]
    listed = await knowledge.request("GET", admin(tenant), DOCUMENTS)
    assert listed.json()["items"] == []


async def test_a_document_over_the_size_limit_is_413(settings_factory):
    settings = await settings_factory("knowledge", max_document_bytes=2048)
    assert isinstance(settings, Settings)
    async with serve_app(create_app(settings)) as running:
        knowledge = Knowledge(running, settings)
        tenant = uuid.uuid4()
        big = await knowledge.upload(admin(tenant), "big.txt", b"word " * 1000, "text/plain")
        assert big.status_code == 413
        assert "limit" in big.json()["error"]["message"]
        big_json = await knowledge.request(
            "POST", admin(tenant), DOCUMENTS, json={"title": "Big", "text": "word " * 1000}
        )
        assert big_json.status_code == 413


async def test_quotas_refuse_what_would_exceed_them_with_a_clear_reason(settings_factory):
    settings = await settings_factory(
        "knowledge", quota_documents=2, quota_pages=4, quota_bytes=100_000
    )
    assert isinstance(settings, Settings)
    async with serve_app(create_app(settings)) as running:
        knowledge = Knowledge(running, settings)
        tenant, other = uuid.uuid4(), uuid.uuid4()
        pdf = (FIXTURES / "handbook.pdf").read_bytes()  # 3 pages
        assert (
            await knowledge.upload(admin(tenant), "a.pdf", pdf, "application/pdf")
        ).status_code == 202
        too_many_pages = await knowledge.upload(admin(tenant), "b.pdf", pdf, "application/pdf")
        assert too_many_pages.status_code == 403
        assert too_many_pages.json()["error"]["code"] == "quota_exceeded"
        assert "6 pages; the limit is 4" in too_many_pages.json()["error"]["message"]

        await knowledge.add_text(admin(tenant), "Note", "A short note.")
        third = await knowledge.request(
            "POST", admin(tenant), DOCUMENTS, json={"title": "Third", "text": "One more."}
        )
        assert third.status_code == 403
        assert "3 documents; the limit is 2" in third.json()["error"]["message"]
        # Replacing a document by its external id does not count it twice.
        # Another tenant's quota is its own.
        assert (
            await knowledge.upload(admin(other), "a.pdf", pdf, "application/pdf")
        ).status_code == 202
