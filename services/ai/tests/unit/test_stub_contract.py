"""The LLM stand-in reads the prompts this service writes: passages and the question come
through, and its citation points at the passage that answers."""

from __future__ import annotations

from parley_ai.domain import grounding, prompt
from parley_ai.domain.decision import Answer, Passage
from parley_llm_stub import chat


def test_the_stand_in_answers_our_prompt_with_a_citation_we_accept() -> None:
    passages = [
        Passage("c1", "d1", "Returns", "Returns within 30 days & free of charge."),
        Passage("c2", "d2", "Hours", "We open on Saturday from 10 to 14."),
    ]
    built = prompt.build(
        customer_text="When do you open on Saturday?",
        history=[],
        passages=passages,
        voice=prompt.Voice(business_name="Shop"),
        language="en",
    )
    read = chat.read_prompt(built.messages)
    assert [p.text for p in read.passages] == [p.text for p in passages]
    assert read.question == "When do you open on Saturday?"
    assert read.guard == built.guard
    decision = grounding.interpret(
        chat.answer(read),
        question="When do you open on Saturday?",
        passages=built.passages,
        language="en",
        guard=built.guard,
        rules=built.rules,
    )
    assert isinstance(decision, Answer)
    assert decision.citations == (passages[1],)
