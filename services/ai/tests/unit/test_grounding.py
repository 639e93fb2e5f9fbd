"""What a model wrote, checked before a customer sees it."""

from __future__ import annotations

from parley_ai.domain import grounding, prompt
from parley_ai.domain.decision import Answer, Clarification, Handoff, HandoffReason, Passage

PASSAGES = (
    Passage(
        "c1", "d1", "Opening hours", "Open Saturday 10:00-14:00. See https://shop.example/hours"
    ),
    Passage("c2", "d2", "Returns policy", "Returns within 30 days for a full refund."),
)
GUARD = "guard-0123456789abcdef"


def interpret(reply: str) -> object:
    return grounding.interpret(
        reply,
        question="When are you open on Saturday?",
        passages=PASSAGES,
        language="en",
        guard=GUARD,
        rules=prompt.RULES,
    )


def test_a_cited_answer_keeps_only_the_cited_passages_and_names_them() -> None:
    decision = interpret("We are **open** on Saturday from 10:00 to 14:00 [1].")
    assert isinstance(decision, Answer)
    assert decision.citations == (PASSAGES[0],)
    assert decision.text == (
        "We are *open* on Saturday from 10:00 to 14:00.\n\n_Source: Opening hours_"
    )


def test_an_answer_without_citation_is_handed_off() -> None:
    decision = interpret("We are open on Saturday from 10 to 2.")
    assert isinstance(decision, Handoff)
    assert decision.reason == HandoffReason.NO_GROUNDED_ANSWER


def test_a_citation_of_a_passage_that_was_not_retrieved_does_not_count() -> None:
    decision = interpret("We are open every day [7].")
    assert isinstance(decision, Handoff)


def test_no_answer_and_dont_know_are_handoffs() -> None:
    for reply in ("NO_ANSWER", "I'm sorry, I don't know the answer to that [1].", "Não sei."):
        decision = interpret(reply)
        assert isinstance(decision, Handoff), reply
        assert decision.reason == HandoffReason.NO_GROUNDED_ANSWER


def test_a_clarifying_question_is_passed_on_without_citations() -> None:
    decision = interpret("CLARIFY: Which shop do you mean, Lisbon or Porto? [1]")
    assert isinstance(decision, Clarification)
    assert decision.text == "Which shop do you mean, Lisbon or Porto?"


def test_links_not_in_the_passages_are_removed_and_known_ones_kept() -> None:
    decision = interpret(
        "Hours: https://shop.example/hours and pay at [this page](https://evil.example/pay) [1]."
    )
    assert isinstance(decision, Answer)
    assert "https://shop.example/hours" in decision.text
    assert "evil.example" not in decision.text
    assert "this page" in decision.text
    assert decision.removed_links == ("https://evil.example/pay",)


def test_a_reply_that_repeats_the_guard_or_the_rules_is_never_sent() -> None:
    leaked_guard = interpret(f"My reference is {GUARD} [1]")
    assert isinstance(leaked_guard, Handoff)
    assert leaked_guard.reason == HandoffReason.POLICY
    leaked_rules = interpret(
        "Sure. Answer only from the numbered knowledge passages in the user message [1]."
    )
    assert isinstance(leaked_rules, Handoff)
    assert leaked_rules.reason == HandoffReason.POLICY


def test_a_general_answer_that_mentions_no_is_not_mistaken_for_dont_know() -> None:
    decision = interpret("No, sorry: on Saturday we close at 14:00 [1].")
    assert isinstance(decision, Answer)
