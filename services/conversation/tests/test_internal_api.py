"""What other services may ask on a user's behalf (`/internal/v1`): whether a message's
conversation is visible to them (the whatsapp service asks before serving its media). The
same visibility rule as the inbox; only Parley's services ask; another tenant sees nothing."""

from __future__ import annotations

import uuid

from parley_testing.services import principal_headers


async def test_a_message_is_found_only_for_who_may_see_its_conversation(harness) -> None:
    tenant = uuid.uuid4()
    ana = harness.customer(tenant)
    # Base64 wamids may hold "/" and "+": they travel as a query parameter.
    message = await harness.customer_says(ana, "a photo", wamid=f"wamid.HBg/{uuid.uuid4().hex}+")
    admin, bea, carl = harness.admin(tenant), harness.agent(tenant), harness.agent(tenant)
    conversation = await harness.conversation_of(admin, ana)

    async def ask(principal, caller: str = "whatsapp"):
        return await harness.client.get(
            "/internal/v1/messages/by-wamid",
            params={"wamid": message.wamid},
            headers=principal_headers(harness.settings, principal, caller=caller),
        )

    found = await ask(bea)  # unassigned: every agent sees it
    assert found.status_code == 200
    assert found.json()["conversation_id"] == conversation["id"]
    path = f"/api/v1/conversations/{conversation['id']}"
    assert (await harness.post(bea, f"{path}/takeover")).status_code == 200
    assert (await ask(carl)).status_code == 404  # held by Bea: not Carl's to see
    assert (await ask(bea)).status_code == 200
    assert (await ask(admin)).status_code == 200
    assert (await ask(harness.admin(uuid.uuid4()))).status_code == 404  # another tenant
    # Only Parley's own services ask (the gateway never forwards /internal, but even so).
    assert (await ask(admin, caller="gateway")).status_code == 403
    assert (
        await harness.client.get("/internal/v1/messages/by-wamid", params={"wamid": "x"})
    ).status_code == 401
