"""Reading uploaded content: which kind of document it is, and its text as blocks.

Each format is read with a well-kept library: pypdf (PDF text layer, page by page, the
outline as headings), python-docx (Word headings, paragraphs and tables in order),
trafilatura (the main content of an HTML page, without navigation, footers, scripts or
cookie banners), markdown-it-py (Markdown structure). Content that cannot be read raises
`UnreadableDocument` with a reason written for the person who uploaded it.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterator
from enum import StrEnum
from urllib.parse import urldefrag, urljoin

from parley_knowledge.domain.blocks import Block, ExtractedDocument

# A page's worth of characters, to count pages of formats that have none (quotas).
CHARS_PER_PAGE = 3_000
WORDS_PER_DOCX_PAGE = 500


class MediaType(StrEnum):
    TEXT = "text/plain"
    MARKDOWN = "text/markdown"
    HTML = "text/html"
    PDF = "application/pdf"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


_EXTENSIONS = {
    ".txt": MediaType.TEXT,
    ".text": MediaType.TEXT,
    ".md": MediaType.MARKDOWN,
    ".markdown": MediaType.MARKDOWN,
    ".html": MediaType.HTML,
    ".htm": MediaType.HTML,
    ".pdf": MediaType.PDF,
    ".docx": MediaType.DOCX,
}
_DECLARED = {m.value: m for m in MediaType} | {
    "text/x-markdown": MediaType.MARKDOWN,
    "application/xhtml+xml": MediaType.HTML,
    "application/x-pdf": MediaType.PDF,
}
_GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
SUPPORTED_DESCRIPTION = "plain text, Markdown, HTML, PDF or DOCX (Word)"


class UnsupportedDocumentType(ValueError):
    """The content is of a kind this service does not read."""


class UnreadableDocument(ValueError):
    """The content is of a supported kind but cannot be read (damaged, encrypted, empty);
    the message says why, for a person."""


def detect_media_type(declared: str | None, filename: str | None, head: bytes) -> MediaType:
    """The kind of an upload from its first bytes, declared content type and file name."""
    declared_type = (declared or "").split(";")[0].strip().lower()
    extension = ""
    if filename and "." in filename:
        extension = filename[filename.rfind(".") :].lower()
    if head.startswith(b"%PDF-"):
        return MediaType.PDF
    if head.startswith(b"PK\x03\x04"):
        if _DECLARED.get(declared_type) is MediaType.DOCX or extension == ".docx":
            return MediaType.DOCX
        raise UnsupportedDocumentType(
            f"this archive is not a Word document; upload {SUPPORTED_DESCRIPTION}"
        )
    claimed = _DECLARED.get(declared_type)
    if declared_type in _GENERIC_TYPES | {"text/plain"}:
        # Browsers and clients often send Markdown and HTML files as text/plain or bytes.
        claimed = _EXTENSIONS.get(extension) or claimed
    if claimed is None and declared_type in _GENERIC_TYPES:
        claimed = MediaType.TEXT if _looks_like_text(head) else None
    if claimed in (MediaType.PDF, MediaType.DOCX):
        raise UnreadableDocument(f"the file is not a readable {claimed.name} file")
    if claimed is None:
        shown = declared_type or extension or "unknown"
        raise UnsupportedDocumentType(
            f"files of type {shown} are not supported; upload {SUPPORTED_DESCRIPTION}"
        )
    if not _looks_like_text(head):
        raise UnsupportedDocumentType(
            f"the file is binary, not {claimed.name.lower()} text; upload {SUPPORTED_DESCRIPTION}"
        )
    return claimed


def _looks_like_text(head: bytes) -> bool:
    return b"\x00" not in head[:8192]


def decode_text(content: bytes) -> str:
    """Text of an upload: UTF-8 (with or without BOM), else the most likely encoding."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(content).best()
    if best is None:
        raise UnreadableDocument("the text's character encoding could not be recognised")
    return str(best)


def _pages_of_text(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_PAGE))


def _paragraphs(text: str, page: int | None = None) -> list[Block]:
    return [Block(p.strip(), page=page) for p in re.split(r"\n\s*\n", text) if p.strip()]


def _require_text(document: ExtractedDocument, what: str) -> ExtractedDocument:
    if document.is_empty:
        raise UnreadableDocument(f"{what} contains no text to search")
    return document


# ---------------------------------------------------------------------- formats


def extract_plain_text(text: str) -> ExtractedDocument:
    """Plain text: paragraphs separated by blank lines (plain text names no title)."""
    text = text.replace("\r\n", "\n")
    return _require_text(
        ExtractedDocument(blocks=tuple(_paragraphs(text)), page_count=_pages_of_text(text)),
        "the text",
    )


def extract_markdown(text: str) -> ExtractedDocument:
    """Markdown: headings (ATX and setext) as headings, every other top-level block (a
    paragraph, list, table, quote, code) as a passage of its source lines."""
    from markdown_it import MarkdownIt

    lines = text.replace("\r\n", "\n").split("\n")
    tokens = MarkdownIt("commonmark").enable("table").parse("\n".join(lines))
    blocks: list[Block] = []
    title: str | None = None
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.level == 0 and token.type == "heading_open":
            content = tokens[index + 1].content.strip()
            level = int(token.tag[1])
            if content:
                blocks.append(Block(content, level=level))
                if level == 1 and title is None:
                    title = content
            index += 3
            continue
        if token.level == 0 and token.map is not None and token.nesting >= 0:
            start, end = token.map
            passage = "\n".join(lines[start:end]).strip()
            if passage:
                blocks.append(Block(passage))
            if token.nesting == 1:  # skip to the matching close
                depth = 1
                while depth and index + 1 < len(tokens):
                    index += 1
                    depth += tokens[index].nesting
        index += 1
    return _require_text(
        ExtractedDocument(blocks=tuple(blocks), page_count=_pages_of_text(text), title=title),
        "the Markdown",
    )


def extract_html(html: str, base_url: str | None = None) -> ExtractedDocument:
    """An HTML page's main content (trafilatura drops navigation, headers, footers, scripts,
    cookie banners), as Markdown blocks; its title; and its links (absolute, for crawling)."""
    import trafilatura

    markdown = trafilatura.extract(
        html,
        output_format="markdown",
        include_tables=True,
        include_links=False,
        include_images=False,
        include_comments=False,
        favor_recall=True,
        url=base_url,
    )
    metadata = trafilatura.extract_metadata(html)
    title = metadata.title if metadata is not None and metadata.title else None
    links = tuple(page_links(html, base_url)) if base_url else ()
    if not markdown or not markdown.strip():
        raise UnreadableDocument("the page has no readable main text")
    content = extract_markdown(markdown)
    return ExtractedDocument(
        blocks=content.blocks,
        page_count=content.page_count,
        title=title or content.title,
        links=links,
    )


def page_links(html: str, base_url: str) -> Iterator[str]:
    """Absolute URLs of the page's `<a href>` links (fragments removed), in page order;
    `rel=nofollow` links are left out."""
    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return
    base = root.find(".//base[@href]")
    if base is not None:
        base_url = urljoin(base_url, base.get("href", ""))
    for anchor in root.iterfind(".//a[@href]"):
        if "nofollow" in (anchor.get("rel") or "").lower():
            continue
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("mailto:", "tel:", "javascript:", "#")):
            continue
        yield urldefrag(urljoin(base_url, href)).url


def extract_pdf(content: bytes) -> ExtractedDocument:
    """A PDF's text layer, page by page (page numbers kept), with the outline's entries as
    headings at the pages they point to."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument(
                "the PDF is password-protected; upload a copy without a password"
            )
        pages = list(reader.pages)
    except UnreadableDocument:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, OSError) as exc:
        raise UnreadableDocument("the file is damaged or not a PDF") from exc
    if not pages:
        raise UnreadableDocument("the PDF has no pages")
    headings = _outline_headings(reader)
    blocks: list[Block] = []
    for number, page in enumerate(pages, start=1):
        blocks.extend(headings.get(number, ()))
        try:
            text = page.extract_text() or ""
        except (PdfReadError, PyPdfError, ValueError, KeyError) as exc:
            raise UnreadableDocument(f"page {number} of the PDF is damaged") from exc
        blocks.extend(_paragraphs(_join_hyphenated(text), page=number))
    metadata_title = None
    try:
        metadata_title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, PyPdfError, ValueError, KeyError):
        metadata_title = None
    document = ExtractedDocument(
        blocks=tuple(blocks), page_count=len(pages), title=metadata_title or None
    )
    if document.is_empty:
        raise UnreadableDocument(
            "the PDF has no text layer (it may be scanned images); upload a PDF with "
            "selectable text"
        )
    return document


def _join_hyphenated(text: str) -> str:
    return re.sub(r"(\w)-\n(\w)", r"\1\2", text)


def _outline_headings(reader) -> dict[int, list[Block]]:  # type: ignore[no-untyped-def]
    """Outline (bookmark) titles by the page they point to (1-based), nested as levels."""
    found: dict[int, list[Block]] = {}

    def walk(items: list, level: int) -> None:  # type: ignore[type-arg]
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item) + 1
                title = str(item.title).strip()
            except Exception:  # noqa: S112 - a broken bookmark only loses a heading
                continue
            if title and page > 0:
                found.setdefault(page, []).append(Block(title, level=min(level, 6), page=page))

    try:
        walk(reader.outline, 1)
    except Exception:
        return {}
    return found


def extract_docx(content: bytes) -> ExtractedDocument:
    """A Word document's headings, paragraphs and tables, in document order."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(content))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableDocument("the file is damaged or not a Word (.docx) document") from exc
    blocks: list[Block] = []
    title = (document.core_properties.title or "").strip() or None
    words = 0
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = []
            for row in item.rows:
                cells = [" ".join(c.text.split()) for c in row.cells]
                rows.append(" | ".join(_dedupe_merged(cells)))
            text = "\n".join(r for r in rows if r.strip(" |"))
            if text:
                blocks.append(Block(text))
                words += len(text.split())
            continue
        text = item.text.strip()
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        if style == "Title":  # the document's name, above its headings
            title = title or " ".join(text.split())
            continue
        level = _docx_heading_level(style)
        if level:
            blocks.append(Block(" ".join(text.split()), level=level))
        else:
            blocks.append(Block(text))
            words += len(text.split())
    return _require_text(
        ExtractedDocument(
            blocks=tuple(blocks),
            page_count=max(1, math.ceil(words / WORDS_PER_DOCX_PAGE)),
            title=title,
        ),
        "the Word document",
    )


def _docx_heading_level(style: str) -> int:
    match = re.fullmatch(r"Heading (\d)", style)
    return min(int(match.group(1)), 6) if match else 0


def _dedupe_merged(cells: list[str]) -> list[str]:
    """python-docx repeats a merged cell's text in each grid cell it spans: keep one."""
    kept: list[str] = []
    for cell in cells:
        if not kept or cell != kept[-1]:
            kept.append(cell)
    return kept


def extract(
    content: bytes, media_type: MediaType, base_url: str | None = None
) -> ExtractedDocument:
    """The readable content of `content` of kind `media_type`."""
    if media_type is MediaType.PDF:
        return extract_pdf(content)
    if media_type is MediaType.DOCX:
        return extract_docx(content)
    text = decode_text(content)
    if media_type is MediaType.HTML:
        return extract_html(text, base_url)
    if media_type is MediaType.MARKDOWN:
        return extract_markdown(text)
    return extract_plain_text(text)
