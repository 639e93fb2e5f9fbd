"""Steps that several browser journeys share: signing up from the landing page, connecting a
sandbox number the way a business connects its WhatsApp number, and the customer's side in
the sandbox."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

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
    await expect(page).to_have_url(re.compile(r"/app/settings/channels$"))
    return email


async def connect_sandbox_number(page: Page, platform: Platform, shoot: Any) -> str:
    """Create a number at 'Meta' (the sandbox), connect it in the dashboard, and point the
    number's webhooks at the URL the dashboard shows. Returns the phone number id."""
    phone_number_id = str(10**14 + secrets.randbelow(9 * 10**14))
    waba_id = str(10**14 + secrets.randbelow(9 * 10**14))
    access_token = f"EAAG{secrets.token_urlsafe(24)}"
    display = f"+1 555 {secrets.randbelow(10**7):07d}"
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
    # Meta's side: the number, its token, and the webhook the dashboard told us to paste
    # (served here by the test's gateway; the platform's own app signs it).
    settings = platform.gateway.runtime.settings
    registered = await platform.sandbox.client.post(
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
    assert registered.status_code == 201, registered.text
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
