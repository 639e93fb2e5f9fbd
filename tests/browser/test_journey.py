"""A business's whole day in a real browser: sign up on the landing page (confirming the
emailed link), connect the sandbox number (with the token Meta issued), a customer writes,
the conversation appears live in the inbox, the agent takes over and replies, the customer
sees the reply in the sandbox, the agent hands back, and the analytics page counts it; a
customer's HTML is shown as text; an ended session comes back without losing the reply
being typed."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from parley_devstack.seeding import Mailbox
from parley_testing.polling import eventually
from playwright.async_api import BrowserContext, Page, expect

PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 780}
Platform = Any  # the `platform` fixture (tests/browser/conftest.py)


async def sign_up(
    page: Page, platform: Platform, shoot: Any, company: str = "Harbour Bikes"
) -> str:
    """From the landing page to a signed-in owner; returns the email."""
    email = f"owner-{uuid.uuid4().hex[:10]}@example.com"
    await page.goto(platform.url + "/")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("WhatsApp")
    await shoot(page, "01-landing", doc=True)
    await page.get_by_role("link", name="Start free").click()
    await page.get_by_label("Company name").fill(company)
    await page.get_by_label("Your name").fill("Olive Owner")
    await page.get_by_label("Work email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await shoot(page, "02-sign-up", doc=True)
    await page.get_by_role("button", name="Create account").click()
    # Nothing exists until the address is confirmed: the link arrives by email (here, in
    # auth's local mailbox) and opening it creates the account.
    await expect(page.get_by_role("status")).to_contain_text(email)
    token = await Mailbox(platform.auth.running.client).link_token(email, "signup_confirmation")
    await page.goto(f"{platform.url}/verify-email#{token}")
    await page.get_by_role("button", name="Create my account").click()
    await expect(page).to_have_url(re.compile(r"/app/settings/channels$"))
    return email


async def connect_sandbox_number(page: Page, platform: Platform, shoot: Any) -> str:
    """Create a number at 'Meta' (the sandbox), which issues its access token (as Embedded
    Signup hands it over), connect it in the dashboard with that token (Parley verifies it
    with Meta and subscribes to the number's webhooks), and have Meta post them to the URL
    the dashboard shows. Returns the phone number id."""
    phone_number_id = str(10**14 + secrets.randbelow(9 * 10**14))
    waba_id = str(10**14 + secrets.randbelow(9 * 10**14))
    display = f"+1 555 {secrets.randbelow(10**7):07d}"
    settings = platform.gateway.runtime.settings
    created = await platform.sandbox.client.post(
        "/sandbox/numbers",
        json={
            "phone_number_id": phone_number_id,
            "waba_id": waba_id,
            "display_phone_number": display,
            # The platform's own app signs the webhooks.
            "app_secret": settings.whatsapp_app_secret.get_secret_value(),
        },
    )
    assert created.status_code == 201, created.text
    access_token = created.json()["access_token"]
    await page.get_by_label("Display number").fill(display)
    await page.get_by_label("Phone number ID").fill(phone_number_id)
    await page.get_by_label("WhatsApp Business Account ID").fill(waba_id)
    await page.get_by_label("Access token").fill(access_token)
    await page.get_by_role("button", name="Connect number").click()
    shown = page.get_by_role("status").filter(has_text="is connected")
    await expect(shown).to_contain_text("/webhooks/whatsapp")
    await shoot(page, "03-channels", doc=True)
    webhook_url = await shown.locator("dd code").first.inner_text()
    assert webhook_url.endswith("/webhooks/whatsapp")
    # Meta's side: the webhook URL the dashboard told us to paste (served here by the test's
    # gateway).
    pointed = await platform.sandbox.client.post(
        "/sandbox/numbers",
        json={
            "phone_number_id": phone_number_id,
            "waba_id": waba_id,
            "display_phone_number": display,
            "access_token": access_token,
            "app_secret": settings.whatsapp_app_secret.get_secret_value(),
            "webhook_url": f"{platform.url}/webhooks/whatsapp",
        },
    )
    assert pointed.status_code == 201, pointed.text
    return phone_number_id


async def customer_writes(platform: Platform, phone_number_id: str, wa_id: str, text: str) -> None:
    sent = await platform.sandbox.client.post(
        f"/sandbox/customers/{wa_id}/messages",
        json={"phone_number_id": phone_number_id, "name": "Ana Costa", "text": text},
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["webhook_status"] == 200, sent.json()


async def customer_chat(platform: Platform, phone_number_id: str, wa_id: str) -> list[Any]:
    chat = await platform.sandbox.client.get(
        "/sandbox/conversation", params={"phone_number_id": phone_number_id, "wa_id": wa_id}
    )
    assert chat.status_code == 200, chat.text
    return list(chat.json())


async def test_sign_up_connect_handoff_take_over_reply_hand_back_and_count(
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
    await shoot(page, "07-knowledge", doc=True)

    await page.get_by_role("link", name="Inbox").click()
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    ana = f"3519{secrets.randbelow(10**8):08d}"
    await customer_writes(platform, phone_number_id, ana, "Quero falar com um atendente, por favor")

    # Live: the conversation appears without a reload, waiting for a person.
    row = page.get_by_role("link", name=re.compile("Ana Costa"))
    await expect(row).to_contain_text("Waiting for a person", timeout=30_000)
    await expect(row).to_contain_text("Quero falar com um atendente")
    await shoot(page, "04-inbox", doc=True)

    await row.click()
    conversation = page.get_by_role("article")
    await expect(conversation.get_by_role("heading", name="Ana Costa")).to_be_visible()
    await expect(conversation.locator(".status")).to_contain_text("Waiting for a person")

    await conversation.get_by_role("button", name="Take over").click()
    await expect(conversation.locator(".status")).to_contain_text("With a person")
    await expect(conversation.locator(".status")).to_contain_text("You")

    reply = "Olá Ana, aqui é a Olive. Como posso ajudar?"
    await conversation.get_by_label("Reply to the customer").fill(reply)
    await conversation.get_by_role("button", name="Send").click()
    bubble = conversation.locator(".bubble-out").filter(has_text=reply)
    await expect(bubble).to_be_visible()
    # The ticks follow the sandbox's statuses live, up to read.
    await expect(bubble.locator(".tick")).to_contain_text("Read", timeout=30_000)

    async def customer_got_it() -> list[Any] | None:
        chat = await customer_chat(platform, phone_number_id, ana)
        return chat if any(m["direction"] == "out" for m in chat) else None

    chat = await eventually(customer_got_it, timeout_s=30)
    assert reply in str([m for m in chat if m["direction"] == "out"][-1])

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

    await page.get_by_role("link", name="Analytics").click()
    figures = page.locator(".figures")
    await expect(figures.locator(".figure").filter(has_text="Messages in")).to_contain_text("1")
    await expect(figures.locator(".figure").filter(has_text="Messages out")).to_contain_text("1")
    reasons = page.locator(".reasons")
    await expect(reasons).to_contain_text("The customer asked for a person")
    first_response = page.get_by_role("row", name=re.compile("^People"))
    await expect(first_response.locator("td").first).to_have_text("1")
    await shoot(page, "06-analytics", doc=True)

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
    finally:
        await context.close()
