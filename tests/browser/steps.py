"""Steps that several browser journeys share: signing up from the landing page (confirming
the emailed link), connecting a sandbox number the way a business connects its WhatsApp
number (with the token Meta issued), and the customer's side in the sandbox."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from parley_devstack.seeding import Mailbox
from playwright.async_api import Page, expect

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
    number = {
        "phone_number_id": phone_number_id,
        "waba_id": waba_id,
        "display_phone_number": display,
        # The platform's own app signs the webhooks.
        "app_secret": settings.whatsapp_app_secret.get_secret_value(),
    }
    created = await platform.sandbox.client.post("/sandbox/numbers", json=number)
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
            **number,
            "access_token": access_token,
            "webhook_url": f"{platform.url}/webhooks/whatsapp",
        },
    )
    assert pointed.status_code == 201, pointed.text
    return phone_number_id


async def customer_writes(
    platform: Platform, phone_number_id: str, wa_id: str, text: str, name: str = "Ana Costa"
) -> None:
    sent = await platform.sandbox.client.post(
        f"/sandbox/customers/{wa_id}/messages",
        json={"phone_number_id": phone_number_id, "name": name, "text": text},
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["webhook_status"] == 200, sent.json()


async def customer_chat(platform: Platform, phone_number_id: str, wa_id: str) -> list[Any]:
    chat = await platform.sandbox.client.get(
        "/sandbox/conversation", params={"phone_number_id": phone_number_id, "wa_id": wa_id}
    )
    assert chat.status_code == 200, chat.text
    return list(chat.json())
