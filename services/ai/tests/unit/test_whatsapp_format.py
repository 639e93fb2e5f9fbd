"""Text as WhatsApp shows it."""

from __future__ import annotations

from parley_ai.domain.whatsapp import (
    MAX_MESSAGE_CHARS,
    remove_foreign_links,
    to_whatsapp,
    with_sources,
)


def test_markdown_becomes_whatsapp_formatting() -> None:
    assert to_whatsapp("## Hours\n**Open** *daily*, ~~not~~ <b>ever</b>\n* one") == (
        "*Hours*\n*Open* _daily_, ~not~ ever\n- one"
    )


def test_a_message_never_exceeds_whatsapps_limit_and_keeps_its_sources() -> None:
    body = "A fairly long sentence about our shop. " * 400
    text = with_sources(body, "Source", ["Opening hours"])
    assert len(text) <= MAX_MESSAGE_CHARS
    assert text.endswith("_Source: Opening hours_")


def test_foreign_links_go_known_links_stay_and_punctuation_survives() -> None:
    text, removed = remove_foreign_links(
        "Book at https://www.shop.example/book/. Or try http://phish.example/x!",
        {"shop.example/book"},
    )
    assert text == "Book at https://www.shop.example/book/. Or try!"
    assert removed == ["http://phish.example/x"]
