"""The demo business's knowledge base: a small coffee shop's opening hours, returns policy,
shipping and prices, loaded through the public API so that the AI answers the sandbox's
customers out of the box.

`make run` calls `load_demo_knowledge(client, headers)` with a client of the gateway and the
demo owner's bearer headers; documents already there (by title) are not uploaded again.
"""

from __future__ import annotations

from typing import Any

import httpx

DOCUMENTS: tuple[tuple[str, str], ...] = (
    (
        "Opening hours",
        "Demo Coffee Roasters is open Monday to Friday from 8:00 to 19:00, and on Saturday "
        "from 9:00 to 14:00. On Sundays and public holidays the shop is closed. Online orders "
        "can be placed at any time.",
    ),
    (
        "Returns policy",
        "You can return unopened coffee and any unused equipment within 30 days of delivery "
        "for a full refund. Opened coffee bags cannot be returned unless the product is "
        "faulty. To start a return, write to us here with your order number; refunds go back "
        "to the original payment method within 5 working days of receiving the return.",
    ),
    (
        "Shipping",
        "We ship to Portugal, Spain, France and Germany. Standard shipping costs 4.90 EUR and "
        "takes 2 to 4 working days; express shipping costs 9.90 EUR and arrives the next "
        "working day when ordered before 12:00. Orders over 40 EUR ship for free (standard).",
    ),
    (
        "Prices",
        "Our prices: house espresso blend 250 g 9.50 EUR, single-origin Ethiopia 250 g "
        "12.00 EUR, decaf 250 g 10.00 EUR, the monthly coffee subscription 24.00 EUR per "
        "month. A cup of filter coffee in the shop costs 2.20 EUR and an espresso 1.30 EUR.",
    ),
)

DOCUMENTS_PATH = "/api/v1/knowledge/documents"


def _titles(listing: Any) -> set[str]:
    items = listing.get("items", []) if isinstance(listing, dict) else listing
    return {str(item.get("title")) for item in items or [] if isinstance(item, dict)}


def load_demo_knowledge(client: httpx.Client, headers: dict[str, str]) -> int:
    """Upload the demo documents the tenant does not have yet; returns how many were added.
    Raises httpx.HTTPStatusError when the knowledge API refuses a document."""
    existing = client.get(DOCUMENTS_PATH, headers=headers, params={"limit": 100})
    have = _titles(existing.json()) if existing.status_code == 200 else set()
    added = 0
    for title, text in DOCUMENTS:
        if title in have:
            continue
        response = client.post(DOCUMENTS_PATH, headers=headers, json={"title": title, "text": text})
        response.raise_for_status()
        added += 1
    return added
