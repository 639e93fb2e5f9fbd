"""Reading FAQ entries from CSV: columns by name, any common separator, all-or-nothing with
each bad row named."""

from __future__ import annotations

import pytest
from parley_knowledge.domain.faq import FaqImportError, imported_external_id, parse_faq_csv


def test_entries_are_read_by_column_name():
    entries = parse_faq_csv(
        b'answer,question,external_id\n"We open at 9, daily.",When do you open?,hours\n'
        b"Yes.,Do you ship abroad?,\n"
    )
    assert [(e.question, e.answer, e.external_id) for e in entries] == [
        ("When do you open?", "We open at 9, daily.", "hours"),
        ("Do you ship abroad?", "Yes.", None),
    ]


def test_semicolons_multiline_answers_and_a_bom_are_fine():
    content = (
        '\ufeffQuestion;Answer;Language\n"Où est ma commande ?";"Suivez-la ici.\n\nMerci.";fr\n'
    )
    (entry,) = parse_faq_csv(content.encode())
    assert entry.question == "Où est ma commande ?"
    assert entry.answer == "Suivez-la ici.\n\nMerci."
    assert entry.language == "fr"


def test_bad_rows_are_all_reported_and_nothing_is_imported():
    with pytest.raises(FaqImportError) as refused:
        parse_faq_csv(
            b"question,answer,language\n"
            b"Good question?,Good answer.,en\n"
            b",Answer without question,\n"
            b"Question without answer?,,\n"
            b"Bad language?,Answer.,English\n"
            b"good question?,Again.,\n"
        )
    assert [(p.row, p.reason) for p in refused.value.problems] == [
        (3, "the question is empty"),
        (4, "the answer is empty"),
        (5, "the language must be a lowercase ISO 639-1 code such as `en`"),
        (6, "the same entry as row 2"),
    ]


def test_a_file_without_the_columns_is_refused():
    with pytest.raises(FaqImportError, match="question"):
        parse_faq_csv(b"foo,bar\n1,2\n")
    with pytest.raises(FaqImportError, match="empty"):
        parse_faq_csv(b"")
    with pytest.raises(FaqImportError, match="no entries"):
        parse_faq_csv(b"question,answer\n\n")


def test_imported_ids_follow_the_question_not_its_spacing_or_case():
    assert imported_external_id("Do you ship abroad?") == imported_external_id(
        "do  you SHIP abroad?"
    )
    assert imported_external_id("Do you ship abroad?") != imported_external_id("Returns?")
