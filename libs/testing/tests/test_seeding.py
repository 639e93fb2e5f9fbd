"""Seeding a tenant with a WhatsApp channel (parley_devstack.seeding), the one helper behind
the tests' tenants, the benchmarks' and `make run`'s demo: through the gateway or straight to
auth, the number created at the sandbox first (which issues its token, which auth verifies
with it), safe to run again."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from parley_devstack.seeding import (
    AuthApi,
    SeedingError,
    WhatsAppNumber,
    seed_tenant_with_channel,
)
from parley_platform.grpc.credentials import ServiceTokenIssuer
from parley_testing.edge import serve_edge


@pytest.fixture
async def edge(settings_factory):
    # Meta (the sandbox) as auth verifies numbers with it and as it sends webhooks, the
    # numbers' webhooks posted to this gateway (`edge.meta`).
    async with serve_edge(settings_factory) as running:
        yield running


async def test_a_seeded_channel_receives_its_customers_messages(edge) -> None:
    sandbox = edge.sandbox
    number = WhatsAppNumber.random(messages_per_second=40)
    seeded = await seed_tenant_with_channel(edge.auth_api(), number, sandbox=edge.meta)
    assert seeded.number.access_token.startswith("EAAG")  # issued by Meta, the sandbox
    owner = edge.client_of(seeded.owner)
    [channel] = (await owner.get("/api/v1/channels/whatsapp")).json()
    assert (channel["id"], channel["phone_number_id"], channel["messages_per_second"]) == (
        seeded.channel_id,
        number.phone_number_id,
        40,
    )
    served = {
        n["phone_number_id"]: n for n in (await sandbox.client.get("/sandbox/numbers")).json()
    }
    assert served[number.phone_number_id]["app_subscribed"]  # Parley subscribed to its WABA
    # A customer writes to the number: Meta (the sandbox) signs it, the gateway accepts it.
    written = await sandbox.client.post(
        "/sandbox/customers/447700900123/messages",
        json={"phone_number_id": number.phone_number_id, "text": "hello"},
    )
    assert written.json()["webhook_status"] == 200


async def test_seeding_the_same_business_again_finds_what_is_there(edge) -> None:
    # What `make run` does on every start: sign in instead of signing up, keep the number
    # (and its token, which Meta keeps too).
    number = replace(WhatsAppNumber.random(), access_token=f"EAAG{uuid.uuid4().hex}")
    email, password = f"demo-{uuid.uuid4().hex[:8]}@example.com", "Demo-pass-1234"

    async def seed(existing_ok: bool = True):
        return await seed_tenant_with_channel(
            edge.auth_api(),
            number,
            sandbox=edge.meta,
            email=email,
            password=password,
            existing_ok=existing_ok,
        )

    first = await seed()
    again = await seed()
    assert (again.tenant_id, again.owner.user_id, again.channel_id) == (
        first.tenant_id,
        first.owner.user_id,
        first.channel_id,
    )
    assert len((await edge.client_of(again.owner).get("/api/v1/channels/whatsapp")).json()) == 1
    # Without `existing_ok` the address is refused, as it is for a person.
    with pytest.raises(SeedingError, match="email_taken"):
        await seed(existing_ok=False)


async def test_a_number_of_another_business_is_refused_clearly(edge) -> None:
    first = await seed_tenant_with_channel(
        edge.auth_api(), WhatsAppNumber.random(), sandbox=edge.meta
    )
    with pytest.raises(SeedingError, match="phone_number_taken"):
        await seed_tenant_with_channel(edge.auth_api(), first.number)
    # A number Meta does not know (no token it issued) cannot be registered at all.
    with pytest.raises(SeedingError, match="no access token"):
        await seed_tenant_with_channel(edge.auth_api(), WhatsAppNumber.random())


async def test_seeding_straight_to_auth_as_the_gateway_would_forward(edge) -> None:
    issuer = ServiceTokenIssuer(
        edge.auth_settings.service_token_secret.get_secret_value(), "gateway"
    )
    number = WhatsAppNumber.random(app_secret="the-business-own-app-secret")
    seeded = await seed_tenant_with_channel(
        AuthApi(edge.auth.client, as_gateway=issuer), number, sandbox=edge.meta
    )
    assert seeded.verify_token  # a business on its own app configures the handshake itself
    # The same tenant and channel, seen through the gateway with the owner's own token.
    [channel] = (await edge.client_of(seeded.owner).get("/api/v1/channels/whatsapp")).json()
    assert (channel["id"], channel["uses_own_app"]) == (seeded.channel_id, True)
    # Without the gateway's token auth refuses: the tenant comes only from a verified source.
    with pytest.raises(SeedingError, match="401"):
        await seed_tenant_with_channel(
            AuthApi(edge.auth.client), WhatsAppNumber.random(), sandbox=edge.meta
        )
