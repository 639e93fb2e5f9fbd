"""Fixtures of the auth service's tests: auth and the gateway served for real, and tenants
populated with one of everything (users, a team, an API key, a WhatsApp channel)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from parley.auth.v1 import auth_pb2_grpc
from parley_platform.grpc import create_channel
from parley_testing.edge import ApiClient, Edge, serve_edge


@pytest.fixture
async def edge(settings_factory) -> AsyncIterator[Edge]:
    async with serve_edge(settings_factory) as running:
        yield running


@pytest.fixture
async def grpc_as(edge):
    """`grpc_as("whatsapp")`: an AuthService client whose calls carry that service's
    credential (the tenant comes from `tenant_scope`, as in the services)."""
    channels = []

    def make(service: str) -> auth_pb2_grpc.AuthServiceStub:
        cls = type(edge.gateway_settings)
        as_service = type(f"{service}Settings", (cls,), {"service_name": service})
        settings = as_service(**edge.gateway_settings.model_dump())
        channel = create_channel(settings, edge.auth_grpc_target, "auth")
        channels.append(channel)
        return auth_pb2_grpc.AuthServiceStub(channel)

    yield make
    for channel in channels:
        await channel.close()


async def new_channel_body(edge: Edge, **overrides: object) -> dict[str, object]:
    """A body registering a new WhatsApp number, created first at Meta (the edge's sandbox),
    with the token Meta issued for it."""
    number = await edge.new_number()
    return {**number.registration(), "display_phone_number": "+1 555 000 1111", **overrides}


@pytest.fixture
def channel_body(edge):
    """`await channel_body(**overrides)`: a valid body registering a new WhatsApp number."""

    async def make(**overrides: object) -> dict[str, object]:
        return await new_channel_body(edge, **overrides)

    return make


@dataclass
class TenantWorld:
    """One tenant with one of everything, and the secrets only it may ever see."""

    owner: ApiClient
    admin: ApiClient
    agent: ApiClient
    invited_user_id: str
    team: dict
    api_key: dict
    channel: dict
    channel_access_token: str
    channel_app_secret: str

    @property
    def tenant_id(self) -> str:
        return str(self.owner.tenant_id)

    def ids(self) -> dict[str, str]:
        return {
            "user": str(self.agent.user_id),
            "invited_user": self.invited_user_id,
            "team": self.team["id"],
            "api_key": self.api_key["id"],
            "channel": self.channel["id"],
        }

    def identifying_text(self) -> list[str]:
        """Strings that only this tenant's data contains (must never show up elsewhere)."""
        return [
            self.tenant_id,
            self.agent.email or "",
            self.team["name"],
            self.api_key["name"],
            self.channel["phone_number_id"],
            self.channel_access_token,
            self.channel_app_secret,
        ]


async def populate(edge: Edge, company: str) -> TenantWorld:
    owner = await edge.sign_up(company)
    admin = await edge.add_user(owner, "admin")
    agent = await edge.add_user(owner, "agent")
    invited = await owner.post(
        "/api/v1/users",
        json={"email": f"pending-{uuid.uuid4().hex[:10]}@example.com", "name": "P"},
    )
    team = await owner.post(
        "/api/v1/teams", json={"name": f"{company} team {uuid.uuid4().hex[:6]}"}
    )
    await owner.put(f"/api/v1/teams/{team.json()['id']}/members/{agent.user_id}")
    # The membership voided the agent's token (team ids are in it): refresh, as a client does.
    refreshed = await edge.anonymous().post(
        "/api/v1/auth/refresh", json={"refresh_token": agent.refresh_token}
    )
    assert refreshed.status_code == 200
    agent.credential = refreshed.json()["access_token"]
    agent.refresh_token = refreshed.json()["refresh_token"]
    key = await owner.post(
        "/api/v1/api-keys",
        json={"name": f"{company} key {uuid.uuid4().hex[:6]}", "scopes": ["users:read"]},
    )
    app_secret = uuid.uuid4().hex
    body = await new_channel_body(edge, app_secret=app_secret)
    channel = await owner.post("/api/v1/channels/whatsapp", json=body)
    for response in (invited, team, key, channel):
        assert response.status_code == 201, response.text
    return TenantWorld(
        owner=owner,
        admin=admin,
        agent=agent,
        invited_user_id=invited.json()["user"]["id"],
        team=team.json(),
        api_key=key.json(),
        channel=channel.json(),
        channel_access_token=str(body["access_token"]),
        channel_app_secret=app_secret,
    )


@pytest.fixture
async def two_tenants(edge) -> tuple[TenantWorld, TenantWorld]:
    return await populate(edge, "Alpha"), await populate(edge, "Bravo")
