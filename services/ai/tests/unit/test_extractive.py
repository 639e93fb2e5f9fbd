"""The extractive answerer: the business's own passage, its source, or a handoff."""

from __future__ import annotations

from parley_ai.domain import extractive
from parley_ai.domain.decision import Answer, Clarification, Handoff, HandoffReason, Passage

HOURS = Passage(
    "c1",
    "d1",
    "Opening hours",
    "We are open Monday to Friday from 9:00 to 18:00 and on Saturday from 10:00 to 14:00. "
    "On Sundays and public holidays the shop is closed.",
)
RETURNS = Passage(
    "c2",
    "d2",
    "Returns policy",
    "You can return any unused item within 30 days of delivery for a full refund. "
    "Refunds are paid to the original payment method within 5 working days.",
)
SHIPPING_PRICES = Passage(
    "c3", "d3", "Shipping", "Shipping prices: standard delivery costs 4.90 EUR, express 9.90 EUR."
)
PRODUCT_PRICES = Passage(
    "c4", "d4", "Price list", "Prices of our coffee: espresso beans 12 EUR, filter blend 10 EUR."
)


def test_answers_with_the_passage_that_covers_the_question_and_names_its_source() -> None:
    decision = extractive.answer(
        "When are you open on Saturday?", [RETURNS, HOURS], language="en", threshold=0.6
    )
    assert isinstance(decision, Answer)
    assert "Saturday from 10:00 to 14:00" in decision.text
    assert decision.text.endswith("_Source: Opening hours_")
    assert decision.citations == (HOURS,)
    assert decision.confidence == 1.0


def test_hands_off_when_no_passage_covers_enough_of_the_question() -> None:
    decision = extractive.answer(
        "Do you repair bicycles?", [HOURS, RETURNS], language="en", threshold=0.6
    )
    assert isinstance(decision, Handoff)
    assert decision.reason == HandoffReason.NO_GROUNDED_ANSWER


def test_hands_off_when_retrieval_found_nothing() -> None:
    decision = extractive.answer("What is your returns policy?", [], language="en", threshold=0.6)
    assert isinstance(decision, Handoff)


def test_a_greeting_gets_a_question_back_in_the_customers_language() -> None:
    decision = extractive.answer("Olá!", [HOURS], language="pt", threshold=0.6)
    assert isinstance(decision, Clarification)
    assert decision.text == "Olá! Em que posso ajudar?"


def test_a_one_word_question_two_documents_answer_equally_gets_a_clarifying_question() -> None:
    decision = extractive.answer(
        "prices?", [SHIPPING_PRICES, PRODUCT_PRICES], language="en", threshold=0.6
    )
    assert isinstance(decision, Clarification)
    assert decision.text == "Do you mean *Shipping* or *Price list*?"


def test_a_long_passage_is_trimmed_around_the_sentence_that_answers() -> None:
    filler = " ".join(f"Sentence number {i} talks about our history." for i in range(40))
    long = Passage("c9", "d9", "About us", f"{filler} Parking is free behind the shop. {filler}")
    decision = extractive.answer(
        "Is parking free?", [long], language="en", threshold=0.6, max_chars=300
    )
    assert isinstance(decision, Answer)
    assert "Parking is free behind the shop." in decision.text
    body = decision.text.split("\n\n_Source")[0]
    assert len(body) <= 300
    assert body.startswith("…") and body.endswith("…")


def test_matches_words_across_inflections_and_accents() -> None:
    devolucao = Passage(
        "c5",
        "d5",
        "Devoluções",
        "Aceitamos devoluções de produtos sem uso em até 30 dias após a entrega.",
    )
    decision = extractive.answer(
        "Qual é o prazo para devolução?", [devolucao], language="pt", threshold=0.5
    )
    assert isinstance(decision, Answer)
    assert decision.text.endswith("_Fonte: Devoluções_")
