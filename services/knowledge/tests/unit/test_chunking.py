"""Chunking follows headings and paragraphs, keeps heading paths and pages, sizes chunks
for retrieval and overlaps the cuts inside a section."""

from __future__ import annotations

import itertools

import pytest
from parley_knowledge.domain.blocks import Block
from parley_knowledge.domain.chunking import ChunkSizes, chunk_blocks, count_tokens


def sentence(n: int) -> str:
    return f"Sentence number {n} says something about the topic at hand."


def test_a_heading_starts_a_new_chunk_and_names_its_path():
    chunks = chunk_blocks(
        [
            Block("Returns", level=1),
            Block("You can return items within 30 days."),
            Block("Refunds", level=2),
            Block("Refunds reach your card in five days."),
            Block("Exchanges", level=2),
            Block("Exchanges are free."),
            Block("Shipping", level=1),
            Block("We ship worldwide."),
        ]
    )
    assert [c.heading_path for c in chunks] == [
        ("Returns",),
        ("Returns", "Refunds"),
        ("Returns", "Exchanges"),
        ("Shipping",),
    ]
    assert chunks[1].heading == "Returns > Refunds"
    assert [c.ordinal for c in chunks] == [0, 1, 2, 3]


def test_short_paragraphs_of_a_section_are_gathered_into_one_chunk():
    chunks = chunk_blocks([Block("First paragraph."), Block("Second paragraph.")])
    assert len(chunks) == 1
    assert chunks[0].text == "First paragraph.\n\nSecond paragraph."


def test_a_long_section_is_cut_near_the_target_with_overlap():
    sizes = ChunkSizes(target=60, maximum=90, overlap=15)
    paragraphs = [Block(" ".join(sentence(p * 3 + i) for i in range(3))) for p in range(12)]
    chunks = chunk_blocks([Block("Guide", level=1), *paragraphs], sizes)

    assert len(chunks) > 3
    assert all(c.token_count <= sizes.maximum + sizes.overlap for c in chunks)
    assert all(c.heading_path == ("Guide",) for c in chunks)
    for before, after in itertools.pairwise(chunks):
        last_sentence = before.text.split(". ")[-1]
        assert after.text.startswith(last_sentence.rstrip(".")), (before.text, after.text)
    # Every sentence is in some chunk.
    text = " ".join(c.text for c in chunks)
    assert all(sentence(n) in text for n in range(36))


def test_a_paragraph_longer_than_the_maximum_is_cut_at_sentence_ends():
    sizes = ChunkSizes(target=40, maximum=50, overlap=0)
    long = " ".join(sentence(n) for n in range(20))
    chunks = chunk_blocks([Block(long)], sizes)
    assert len(chunks) > 1
    assert all(c.text.endswith(".") for c in chunks)
    assert all(c.token_count <= sizes.maximum for c in chunks)


def test_a_sentence_without_ends_is_cut_at_words():
    chunks = chunk_blocks([Block("word " * 1000)], ChunkSizes(target=100, maximum=150, overlap=0))
    assert len(chunks) > 5
    assert all(count_tokens(c.text) <= 150 for c in chunks)


def test_pages_are_kept():
    chunks = chunk_blocks(
        [
            Block("Intro", level=1, page=1),
            Block("On page one.", page=1),
            Block("Prices", level=1, page=2),
            Block("On page two.", page=2),
            Block("Still on page three.", page=3),
        ]
    )
    assert [c.page for c in chunks] == [1, 2]


def test_headings_without_text_make_no_chunk():
    chunks = chunk_blocks([Block("Empty", level=1), Block("Also empty", level=2), Block("  ")])
    assert chunks == []


def test_a_deeper_heading_after_a_shallower_one_resets_the_path():
    chunks = chunk_blocks(
        [
            Block("A", level=1),
            Block("B", level=3),
            Block("text b"),
            Block("C", level=2),
            Block("text c"),
        ]
    )
    assert [c.heading_path for c in chunks] == [("A", "B"), ("A", "C")]


def test_sizes_must_be_consistent():
    with pytest.raises(ValueError):
        ChunkSizes(target=100, maximum=50)
    with pytest.raises(ValueError):
        ChunkSizes(target=100, maximum=200, overlap=100)
