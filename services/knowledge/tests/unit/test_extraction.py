"""Reading each supported format, and refusing what cannot be read with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from parley_knowledge.domain.extraction import (
    MediaType,
    UnreadableDocument,
    UnsupportedDocumentType,
    detect_media_type,
    extract,
    extract_html,
    extract_markdown,
    page_links,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

HELP_PAGE = """<!doctype html>
<html><head><title>Returns | Acme Help Centre</title>
<script>window.analytics = {track: function () {}};</script>
<style>nav { color: red }</style></head>
<body>
<header><a href="/">Acme</a> <nav><a href="/shipping">Shipping</a>
<a href="/returns">Returns</a> <a href="/contact">Contact us</a></nav></header>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
<button>Accept all cookies</button></div>
<main><article>
<h1>Returns policy</h1>
<p>You can return any item within 30 days of delivery for a full refund, as long as it is
unused and in its original packaging.</p>
<h2>Starting a return</h2>
<p>Open your order page, press the return button and print the prepaid label. Drop the parcel
at any post office within seven days.</p>
<h2>Refund timing</h2>
<p>Refunds reach your card within five business days after the warehouse receives the
parcel.</p>
</article></main>
<footer><p>Copyright 2024 Acme Incorporated. Privacy policy. Terms of service.</p>
<a href="/careers">Careers</a></footer>
</body></html>"""


def test_a_pdf_keeps_pages_outline_headings_columns_in_reading_order_and_its_table():
    document = extract((FIXTURES / "handbook.pdf").read_bytes(), MediaType.PDF)
    assert document.page_count == 3
    assert document.title == "Customer handbook"
    headings = [(b.text, b.page) for b in document.blocks if b.is_heading]
    assert headings == [("Welcome", 1), ("Support and billing", 2), ("Plans and prices", 3)]

    page_two = " ".join(
        " ".join(b.text.split()) for b in document.blocks if b.page == 2 and not b.is_heading
    )
    # Each column reads whole, left before right (not interleaved line by line).
    left = "Our support team answers every message within four hours on working days."
    right = "Invoices are issued on the first day of each month and are payable within fourteen"
    assert left in page_two
    assert right in page_two
    assert page_two.index(left) < page_two.index(right)

    table = [b.text for b in document.blocks if b.page == 3 and not b.is_heading]
    rows = "\n".join(table).split("\n")
    assert "Business 29 euros 100 GB" in rows
    assert "Enterprise 99 euros 1 TB" in rows


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [("encrypted.pdf", "password-protected"), ("scanned.pdf", "no text layer")],
)
def test_pdfs_that_cannot_be_read_say_why(fixture: str, reason: str):
    with pytest.raises(UnreadableDocument, match=reason):
        extract((FIXTURES / fixture).read_bytes(), MediaType.PDF)


def test_a_damaged_pdf_is_unreadable():
    damaged = (FIXTURES / "handbook.pdf").read_bytes()[:400]
    with pytest.raises(UnreadableDocument):
        extract(damaged, MediaType.PDF)


def test_a_docx_keeps_headings_paragraphs_and_tables_in_order():
    document = extract((FIXTURES / "guide.docx").read_bytes(), MediaType.DOCX)
    assert document.title == "Installation guide"
    assert [(b.text, b.level) for b in document.blocks if b.is_heading] == [
        ("Requirements", 1),
        ("Setting up the router", 1),
        ("Wi-Fi password", 2),
    ]
    passages = [b.text for b in document.blocks if not b.is_heading]
    assert passages[0] == "The router needs a power socket and a phone line."
    assert passages[-1] == (
        "Light | Meaning\nGreen | Connected\nBlinking red | No signal on the phone line"
    )


def test_a_damaged_docx_is_unreadable():
    with pytest.raises(UnreadableDocument, match="Word"):
        extract(b"PK\x03\x04 not really a zip", MediaType.DOCX)


def test_html_keeps_the_main_content_only():
    document = extract_html(HELP_PAGE, "https://help.acme.test/returns")
    text = document.text
    assert "Refunds reach your card within five business days" in text
    assert [b.text for b in document.blocks if b.is_heading] == [
        "Returns policy",
        "Starting a return",
        "Refund timing",
    ]
    for boilerplate in ("Copyright", "Careers", "cookies", "Contact us", "analytics", "color"):
        assert boilerplate not in text
    assert (document.title or "").startswith("Returns")
    assert "https://help.acme.test/careers" in document.links


def test_page_links_are_absolute_without_fragments_or_mail_links():
    html = (
        '<a href="/a#top">a</a><a href="b.html">b</a><a href="mailto:x@y.z">m</a>'
        '<a rel="nofollow" href="/private">p</a><a href="https://other.test/c">c</a>'
    )
    assert list(page_links(html, "https://site.test/docs/index.html")) == [
        "https://site.test/a",
        "https://site.test/docs/b.html",
        "https://other.test/c",
    ]


def test_markdown_headings_and_blocks():
    document = extract_markdown(
        "# Guide\n\nIntro text.\n\n## Setup\n\n- one\n- two\n\n```\n# not a heading\n```\n"
        "\nSetext heading\n--------------\n\nLast paragraph."
    )
    assert [(b.text, b.level) for b in document.blocks] == [
        ("Guide", 1),
        ("Intro text.", 0),
        ("Setup", 2),
        ("- one\n- two", 0),
        ("```\n# not a heading\n```", 0),
        ("Setext heading", 2),
        ("Last paragraph.", 0),
    ]
    assert document.title == "Guide"


def test_text_that_is_empty_is_unreadable():
    with pytest.raises(UnreadableDocument, match="no text"):
        extract(b"  \n\n ", MediaType.TEXT)


def test_latin1_text_is_decoded():
    text = (
        "Notre équipe répond à vos questions du lundi au vendredi. Les commandes passées "
        "avant midi sont expédiées le jour même, et la livraison est gratuite dès cinquante "
        "euros d'achat. Vous pouvez retourner un article non utilisé pendant trente jours."
    )
    document = extract(text.encode("latin-1"), MediaType.TEXT)
    assert document.text == text


@pytest.mark.parametrize(
    ("declared", "filename", "head", "expected"),
    [
        ("application/pdf", "a.pdf", b"%PDF-1.7", MediaType.PDF),
        ("application/octet-stream", "a.bin", b"%PDF-1.4", MediaType.PDF),
        ("application/octet-stream", "guide.docx", b"PK\x03\x04", MediaType.DOCX),
        ("text/plain", "notes.md", b"# Notes", MediaType.MARKDOWN),
        ("text/html; charset=utf-8", "page", b"<html>", MediaType.HTML),
        ("", "readme.txt", b"hello", MediaType.TEXT),
        ("text/markdown", None, b"# x", MediaType.MARKDOWN),
    ],
)
def test_media_types_are_recognised(declared, filename, head, expected):
    assert detect_media_type(declared, filename, head) is expected


@pytest.mark.parametrize(
    ("declared", "filename", "head"),
    [
        ("image/png", "logo.png", b"\x89PNG\r\n"),
        ("application/zip", "files.zip", b"PK\x03\x04"),
        ("application/octet-stream", "tool.exe", b"MZ\x00\x00"),
        ("text/plain", "data.txt", b"abc\x00def"),
    ],
)
def test_unsupported_types_are_refused(declared, filename, head):
    with pytest.raises(UnsupportedDocumentType):
        detect_media_type(declared, filename, head)


def test_a_file_claiming_to_be_a_pdf_that_is_not_is_unreadable():
    with pytest.raises(UnreadableDocument):
        detect_media_type("application/pdf", "a.pdf", b"hello")
