"""FAQ entries: a question and its answer, one chunk each; and reading them from CSV.

An entry is indexed as a section whose heading is the question and whose text is the
answer, so a customer's question matches the entry's question strongly (headings weigh
most in full-text ranking) and the AI receives the answer with the question as heading.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

from parley_knowledge.domain.blocks import Block, ExtractedDocument
from parley_knowledge.domain.extraction import UnreadableDocument, decode_text
from parley_knowledge.domain.languages import is_language_code

MAX_QUESTION_CHARS = 500
MAX_ANSWER_CHARS = 20_000
MAX_IMPORT_ROWS = 5_000
QUESTION_COLUMNS = ("question", "q", "title")
ANSWER_COLUMNS = ("answer", "a", "text")


@dataclass(frozen=True)
class FaqEntry:
    """One question and its answer (optionally with the business's id and a language)."""

    question: str
    answer: str
    external_id: str | None = None
    language: str | None = None


def faq_document(question: str, answer: str) -> ExtractedDocument:
    """An entry as a document: the question as heading, the answer's paragraphs as text."""
    paragraphs = [p.strip() for p in answer.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return ExtractedDocument(
        blocks=(Block(question, level=1), *(Block(p) for p in paragraphs)), title=question
    )


def imported_external_id(question: str) -> str:
    """The external id of an imported entry that has none: derived from its question, so
    importing the same file again updates the entries instead of adding copies."""
    normalized = " ".join(question.lower().split())
    return "faq:" + hashlib.sha256(normalized.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class RowProblem:
    """Why one row of an import was refused (rows are numbered as a spreadsheet shows
    them: the header is row 1)."""

    row: int
    reason: str


class FaqImportError(ValueError):
    """The CSV as a whole, or some of its rows, cannot be imported (nothing is)."""

    def __init__(self, message: str, problems: list[RowProblem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def parse_faq_csv(content: bytes) -> list[FaqEntry]:
    """The entries of a CSV with a header row naming `question` and `answer` columns (and
    optionally `external_id` and `language`); comma, semicolon or tab separated."""
    try:
        text = decode_text(content)
    except UnreadableDocument as exc:
        raise FaqImportError(str(exc)) from exc
    if not text.strip():
        raise FaqImportError("the file is empty")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    header = rows[0] if rows else []
    question_at = _column(header, QUESTION_COLUMNS)
    answer_at = _column(header, ANSWER_COLUMNS)
    if question_at is None or answer_at is None:
        raise FaqImportError(
            "the first row must name the columns, with at least `question` and `answer`"
        )
    id_at = _column(header, ("external_id", "id"))
    language_at = _column(header, ("language", "lang"))
    if len(rows) - 1 > MAX_IMPORT_ROWS:
        raise FaqImportError(f"the file has more than {MAX_IMPORT_ROWS} entries")
    entries: list[FaqEntry] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}

    def cell(row: list[str], at: int | None) -> str:
        return row[at].strip() if at is not None and at < len(row) else ""

    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        question = " ".join(cell(row, question_at).split())
        answer = cell(row, answer_at)
        external_id = cell(row, id_at) or None
        language = cell(row, language_at) or None
        reason = _row_problem(question, answer, external_id, language)
        if reason is None:
            key = external_id or imported_external_id(question)
            if key in seen:
                reason = f"the same entry as row {seen[key]}"
            seen[key] = number
        if reason:
            problems.append(RowProblem(number, reason))
            continue
        entries.append(FaqEntry(question, answer, external_id, language))
    if problems:
        raise FaqImportError(f"{len(problems)} row(s) cannot be imported", problems)
    if not entries:
        raise FaqImportError("the file has no entries")
    return entries


def _row_problem(
    question: str, answer: str, external_id: str | None, language: str | None
) -> str | None:
    if not question:
        return "the question is empty"
    if not answer:
        return "the answer is empty"
    if len(question) > MAX_QUESTION_CHARS:
        return f"the question is longer than {MAX_QUESTION_CHARS} characters"
    if len(answer) > MAX_ANSWER_CHARS:
        return f"the answer is longer than {MAX_ANSWER_CHARS} characters"
    if external_id is not None and len(external_id) > 200:
        return "the external id is longer than 200 characters"
    if language is not None and not is_language_code(language):
        return "the language must be a lowercase ISO 639-1 code such as `en`"
    return None
