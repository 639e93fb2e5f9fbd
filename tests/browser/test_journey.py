"""A business's whole day in a real browser: sign up on the landing page, connect the
sandbox number, add a document (ready), set up the AI with a language model (a wrong key is
refused in words), a customer asks in the sandbox, the AI's answer appears live in the inbox
with its source, the agent takes over and replies, the customer sees the reply in the
sandbox, the agent hands back, another customer asks for a person, and the analytics and AI
usage pages count it all (tokens and cost included); a customer's HTML is shown as text; an
ended session comes back without losing the reply being typed."""

from __future__ import annotations

import re
import secrets
from typing import Any

from parley_testing.polling import eventually
from playwright.async_api import BrowserContext, Page, expect

from .steps import (
    PASSWORD,
    PHONE,
    Platform,
    connect_sandbox_number,
    customer_chat,
    customer_writes,
    sign_up,
)


async def set_up_the_ai(page: Page, platform: Platform, shoot: Any) -> None:
    """Settings > AI: a language model (the stand-in) with its key, a budget and a price. A
    wrong key is refused with the provider's reason in words, and nothing is saved."""
    key = f"sk-parley-{secrets.token_hex(8)}"
    configured = await platform.llm_stub.client.put(
        "/control/config", json={"api_keys": [key], "models": []}
    )
    assert configured.status_code == 200, configured.text
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_role("link", name="AI", exact=True).click()
    form = page.locator(".ai-form")
    await expect(form.get_by_label("Quotes from your knowledge")).to_be_checked()
    await form.get_by_label("A language model").check()
    await form.get_by_label("Preset").select_option("local-stub")
    await expect(form.get_by_label("Model", exact=True)).to_have_value("stub-large")
    await form.get_by_label("Base URL").fill(platform.llm_base_url)
    await form.get_by_label("API key").fill("sk-wrong")
    await form.get_by_label("Business name").fill("Harbour Bikes")
    await form.get_by_label("Monthly budget (US$)").fill("5")
    await form.get_by_role("button", name="Add a price").click()
    await form.get_by_label("Model of price 1").fill("stub-large")
    await form.get_by_label("Input price of stub-large").fill("3")
    await form.get_by_label("Output price of stub-large").fill("6")
    await form.get_by_role("button", name="Save").click()
    await expect(form.get_by_role("alert")).to_contain_text("rejected the API key (401)")
    await expect(form.locator(".key-state")).to_contain_text("No key stored")

    await form.get_by_label("API key").fill(key)
    await form.get_by_role("button", name="Save").click()
    await expect(form.get_by_role("status")).to_contain_text("Saved")
    await expect(form.locator(".key-state")).to_contain_text("A key is stored")
    # The key is never shown again, not even in the field.
    await expect(form.get_by_label("New API key")).to_have_value("")
    assert key not in await page.content()
    await expect(page.locator(".budget")).to_contain_text("of $5.00 spent this month")


async def test_sign_up_connect_the_ai_answers_take_over_reply_hand_back_and_count(
    platform: Platform, page: Page, shoot: Any
) -> None:
    await sign_up(page, platform, shoot)
    phone_number_id = await connect_sandbox_number(page, platform, shoot)

    await page.get_by_role("link", name="Knowledge").click()
    await page.get_by_label("Title").fill("Opening hours")
    await page.get_by_label("…or write the text").fill(
        "We are open Monday to Saturday from 9:00 to 18:00. On Sundays we are closed."
    )
    await page.get_by_role("button", name="Add", exact=True).click()
    document = page.locator(".card").filter(has_text="Opening hours")
    await expect(document).to_contain_text("Ready", timeout=30_000)
    await page.get_by_label("Question").fill("are you open on saturday")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator(".results")).to_contain_text("Monday to Saturday")
    await shoot(page, "07-knowledge", doc=True, full_page=True)

    await set_up_the_ai(page, platform, shoot)

    await page.get_by_role("link", name="Inbox").click()
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    ana = f"3519{secrets.randbelow(10**8):08d}"
    await customer_writes(platform, phone_number_id, ana, "Are you open on Saturday?")

    # Live: the conversation appears without a reload, and the AI's answer with its source.
    row = page.get_by_role("link", name=re.compile("Ana Costa"))
    await expect(row).to_contain_text("AI answering", timeout=30_000)
    await row.click()
    conversation = page.get_by_role("article")
    await expect(conversation.get_by_role("heading", name="Ana Costa")).to_be_visible()
    answer = conversation.locator(".bubble-ai")
    await expect(answer).to_contain_text("Monday to Saturday", timeout=30_000)
    await expect(answer.locator(".citations")).to_contain_text("Opening hours")
    await expect(answer.locator(".tick")).to_contain_text("Read", timeout=30_000)

    async def customer_got(count: int) -> list[str] | None:
        """The texts the customer has received, once there are `count`."""
        chat = await customer_chat(platform, phone_number_id, ana)
        texts = [str(m) for m in chat if m["direction"] == "out" and m["type"] == "text"]
        return texts if len(texts) >= count else None

    texts = await eventually(lambda: customer_got(1), timeout_s=30)
    assert "Monday to Saturday" in texts[0]
    await shoot(page, "05-ai-answer", doc=True)

    await conversation.get_by_role("button", name="Take over").click()
    await expect(conversation.locator(".status")).to_contain_text("With a person")
    await expect(conversation.locator(".status")).to_contain_text("You")

    reply = "Olá Ana, aqui é a Olive. On Saturdays we close at 18:00 sharp."
    await conversation.get_by_label("Reply to the customer").fill(reply)
    await conversation.get_by_role("button", name="Send").click()
    bubble = conversation.locator(".bubble-out").filter(has_text=reply)
    await expect(bubble).to_be_visible()
    # The ticks follow the sandbox's statuses live, up to read.
    await expect(bubble.locator(".tick")).to_contain_text("Read", timeout=30_000)
    texts = await eventually(lambda: customer_got(2), timeout_s=30)
    assert reply in texts[1]

    await conversation.get_by_role("tab", name="Private note").click()
    await conversation.get_by_label("Private note for your team").fill("VIP customer")
    await conversation.get_by_role("button", name="Add note").click()
    await expect(conversation.locator(".bubble-note")).to_contain_text("VIP customer")
    await conversation.get_by_placeholder("Add label").fill("vip")
    await conversation.get_by_placeholder("Add label").press("Enter")
    await expect(conversation.locator(".chip")).to_contain_text("vip")
    await shoot(page, "05-conversation", doc=True)

    await conversation.get_by_role("button", name="Hand back to AI").click()
    await expect(conversation.locator(".status")).to_contain_text("AI answering")
    # The customer never saw the note.
    chat = await customer_chat(platform, phone_number_id, ana)
    assert not any("VIP" in str(m.get("content")) for m in chat)

    # Another customer asks for a person: handed off, waiting in the inbox.
    ben = f"3519{secrets.randbelow(10**8):08d}"
    await customer_writes(
        platform, phone_number_id, ben, "Quero falar com um atendente, por favor", "Bea Lima"
    )
    waiting = page.get_by_role("link", name=re.compile("Bea Lima"))
    await expect(waiting).to_contain_text("Waiting for a person", timeout=30_000)
    await shoot(page, "04-inbox", doc=True)

    await page.get_by_role("link", name="Analytics").click()

    def figure(label: str) -> Any:
        return page.locator(".figures .figure").filter(has_text=label)

    await expect(figure("Messages in").locator(".figure-value")).to_have_text("2")
    await expect(figure("Messages out").locator(".figure-value")).to_have_text("2")
    await expect(figure("Messages out")).to_contain_text("1 by the AI")
    # Tokens and cost from the ai service's usage (the stand-in's calls at the tenant's price).
    await expect(figure("LLM cost").locator(".figure-value")).to_contain_text("$0.")
    await expect(figure("LLM cost").locator(".figure-value")).not_to_have_text("$0.00")
    await expect(page.locator(".chart").filter(has_text="LLM tokens per day")).to_be_visible()
    reasons = page.locator(".reasons")
    await expect(reasons).to_contain_text("The team took over from the AI")
    await expect(reasons).to_contain_text("The customer asked for a person")
    # The AI answered Ana first; nobody has answered Bea yet.
    for who, answered in (("AI", "1"), ("People", "0")):
        first_response = page.get_by_role("row", name=re.compile(f"^{who} "))
        await expect(first_response.locator("td").first).to_have_text(answered)
    await shoot(page, "06-analytics", doc=True)

    # The AI's own usage against the month's budget.
    await page.goto(platform.url + "/app/settings/ai")
    usage = page.locator(".usage")
    answers = usage.locator(".figure").filter(has_text="Answers").locator(".figure-value")
    await expect(answers).to_have_text("1")
    await expect(usage.get_by_role("row", name=re.compile("^stub-large"))).to_be_visible()
    await expect(usage.locator(".budget")).to_contain_text("of $5.00 spent this month")
    await expect(usage.locator(".budget")).not_to_contain_text("$0.00 of")
    await shoot(page, "11-ai-settings", doc=True, full_page=True)

    for name, path in (
        ("07-users", "/app/settings/users"),
        ("08-teams", "/app/settings/teams"),
        ("09-api-keys", "/app/settings/api-keys"),
        ("10-account", "/app/settings/account"),
    ):
        await page.goto(platform.url + path)
        await expect(page.get_by_role("heading", name="Settings")).to_be_visible()
        await shoot(page, name, doc=True)


async def test_customer_html_is_shown_as_text(platform: Platform, page: Page, shoot: Any) -> None:
    await sign_up(page, platform, shoot, company="Escaping Ltd")
    phone_number_id = await connect_sandbox_number(page, platform, shoot)
    hostile = (
        '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
        "<b>bold</b> & <i>friends</i>"
    )
    wa_id = f"4477{secrets.randbelow(10**8):08d}"
    await customer_writes(platform, phone_number_id, wa_id, hostile)
    await page.get_by_role("link", name="Inbox").click()
    row = page.get_by_role("link", name=re.compile("Ana Costa"))
    await expect(row).to_be_visible(timeout=30_000)
    await row.click()
    bubble = page.locator(".bubble-in").first
    await expect(bubble.locator(".text")).to_have_text(hostile)
    assert await bubble.locator("script, img, b, i").count() == 0
    assert await page.evaluate("window.__pwned") is None
    await shoot(page, "escaped-html")


async def test_an_ended_session_keeps_the_draft_and_carries_on(
    platform: Platform, page: Page, context: BrowserContext, shoot: Any
) -> None:
    email = await sign_up(page, platform, shoot, company="Draft Keepers")
    cookies = {c["name"]: c for c in await context.cookies()}
    session = next(c for n, c in cookies.items() if n.endswith("parley_session"))
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert "parley_session" not in await page.evaluate("document.cookie")

    # The access token is gone (expired): the next call refreshes quietly.
    await context.clear_cookies(name=session["name"])
    await page.goto(platform.url + "/app/settings/teams")
    await page.get_by_label("New team").fill("Support")
    await page.get_by_role("button", name="Create team").click()
    await expect(page.locator(".card")).to_contain_text("Support")

    # Now the whole session ends (both cookies): a dialog asks to sign in, over the page.
    for cookie in await context.cookies():
        if "parley_session" in cookie["name"] or "parley_refresh" in cookie["name"]:
            await context.clear_cookies(name=cookie["name"])
    await page.get_by_label("New team").fill("Sales")
    await page.get_by_role("button", name="Create team").click()
    dialog = page.get_by_role("dialog", name="Your session has ended")
    await expect(dialog).to_be_visible()
    await shoot(page, "session-ended")
    await dialog.get_by_label("Password").fill(PASSWORD)
    assert await dialog.get_by_label("Email").input_value() == email
    await dialog.get_by_role("button", name="Sign in").click()
    await expect(dialog).to_be_hidden()
    # What was being done goes on: the team the person asked for is created.
    await expect(page.locator(".card").filter(has_text="Sales")).to_be_visible()


async def test_the_inbox_works_on_a_phone(platform: Platform, browser: Any, shoot: Any) -> None:
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = await context.new_page()
        await sign_up(page, platform, shoot, company="Pocket Co")
        phone_number_id = await connect_sandbox_number(page, platform, shoot)
        await customer_writes(
            platform, phone_number_id, f"5511{secrets.randbelow(10**8):08d}", "oi"
        )
        await page.get_by_role("button", name="Menu").click()
        await page.get_by_role("link", name="Inbox").click()
        row = page.get_by_role("link", name=re.compile("Ana Costa"))
        await expect(row).to_be_visible(timeout=30_000)
        await shoot(page, "phone-inbox", doc=True)
        await row.click()
        # One pane at a time: the list gives way to the conversation, with a way back.
        await expect(row).to_be_hidden()
        await expect(page.get_by_role("button", name="← Conversations")).to_be_visible()
        await shoot(page, "phone-conversation", doc=True)
        await page.get_by_role("button", name="← Conversations").click()
        await expect(row).to_be_visible()

        # The AI settings and usage fit the screen: nothing to scroll sideways.
        await page.goto(platform.url + "/app/settings/ai")
        await expect(page.get_by_role("heading", name="How the AI answers")).to_be_visible()
        await expect(page.locator(".budget")).to_contain_text("spent this month")
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await shoot(page, "phone-ai-settings")
    finally:
        await context.close()
