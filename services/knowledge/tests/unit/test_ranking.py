"""Reciprocal rank fusion, query words and the vocabulary kept for misspellings."""

from __future__ import annotations

from parley_knowledge.domain.ranking import query_words, reciprocal_rank_fusion, vocabulary


def test_first_in_every_ranking_scores_one():
    fused = reciprocal_rank_fusion([["a", "b"], ["a", "c"]], k=60)
    assert fused[0] == ("a", 1.0)


def test_an_item_found_by_both_rankings_beats_one_found_by_one():
    fused = dict(reciprocal_rank_fusion([["x", "both"], ["y", "both"]], k=60))
    assert fused["both"] > fused["x"]
    assert fused["both"] > fused["y"]


def test_scores_fall_with_rank_and_stay_in_range():
    fused = reciprocal_rank_fusion([list("abcdefghij")], k=60)
    scores = [score for _, score in fused]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)
    assert [item for item, _ in fused] == list("abcdefghij")


def test_no_rankings_fuse_to_nothing():
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[]]) == []


def test_query_words_are_lowercased_and_unique():
    assert query_words("Where is MY parcel? my parcel!") == ["where", "is", "my", "parcel"]


def test_vocabulary_leaves_out_short_words_and_numbers():
    assert vocabulary("An order of 1234 items, delivered") == {"order", "items", "delivered"}
