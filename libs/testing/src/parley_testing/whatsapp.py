"""WhatsApp test set-ups shared by the gateway's and the whatsapp service's tests: the real
auth service with a tenant and a registered channel, and the WhatsApp sandbox (the stand-in
for Meta) serving that channel's number."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from parley_platform.identity import Principal, Role
from parley_platform.settings import ServiceSettings

from parley_testing.services import RunningApp, free_port, principal_headers, serve_app

SettingsFactory = Callable[..., Awaitable[ServiceSettings]]


@dataclass
class AuthService:
    """The auth service running in the test's event loop."""

    running: RunningApp
    settings: ServiceSettings

    @property
    def grpc_target(self) -> str:
        """Where auth's gRPC server listens."""
        return f"127.0.0.1:{self.running.runtime.grpc_port}"


@dataclass
class TenantChannel:
    """A tenant with one WhatsApp channel, as registered in auth."""

    tenant_id: UUID
    owner: Principal
    channel_id: str
    phone_number_id: str
    waba_id: str
    display_phone_number: str
    access_token: str = field(repr=False)
    app_secret: str | None = field(default=None, repr=False)
    verify_token: str | None = field(default=None, repr=False)
    messages_per_second: int = 80


@asynccontextmanager
async def running_auth(
    settings_factory: SettingsFactory, **overrides: Any
) -> AsyncIterator[AuthService]:
    """The auth service (HTTP and gRPC) on loopback ports."""
    from parley_auth.config import Settings
    from parley_auth.main import create_app

    settings = await settings_factory(
        "auth",
        # Every test signs a business up; the per-address sign-up limit is not under test.
        # (The encryption key is the session's, from settings_factory: the session's auth
        # database outlives each test's auth service.)
        **{
            "signups_per_address_per_hour": 1_000_000,
            **overrides,
        },
    )
    assert isinstance(settings, Settings)
    async with serve_app(create_app(settings)) as running:
        yield AuthService(running, settings)


async def new_tenant_with_channel(
    auth: AuthService,
    *,
    messages_per_second: int = 80,
    own_app_secret: str | None = None,
) -> TenantChannel:
    """Sign a new business up and register a WhatsApp number for it, through auth's API."""
    client, settings = auth.running.client, auth.settings
    tag = uuid.uuid4().hex[:10]
    signup = await client.post(
        "/api/v1/signup",
        json={
            "company_name": f"Test Co {tag}",
            "name": "Test Owner",
            "email": f"owner-{tag}@example.com",
            "password": secrets.token_urlsafe(16) + "Aa1!",
        },
        headers=principal_headers(settings, None),
    )
    assert signup.status_code in (200, 201), signup.text
    body = signup.json()
    owner = Principal(
        tenant_id=UUID(body["tenant"]["id"]), role=Role.OWNER, user_id=UUID(body["user"]["id"])
    )
    phone_number_id = str(10**14 + secrets.randbelow(9 * 10**14))
    channel = TenantChannel(
        tenant_id=owner.tenant_id,
        owner=owner,
        channel_id="",
        phone_number_id=phone_number_id,
        waba_id=str(10**14 + secrets.randbelow(9 * 10**14)),
        display_phone_number=f"1555{secrets.randbelow(10**7):07d}",
        access_token=f"EAAG{secrets.token_urlsafe(32)}",
        app_secret=own_app_secret,
        messages_per_second=messages_per_second,
    )
    registration: dict[str, Any] = {
        "phone_number_id": channel.phone_number_id,
        "waba_id": channel.waba_id,
        "display_phone_number": channel.display_phone_number,
        "access_token": channel.access_token,
        "messages_per_second": messages_per_second,
    }
    if own_app_secret:
        registration["app_secret"] = own_app_secret
    created = await client.post(
        "/api/v1/channels/whatsapp",
        json=registration,
        headers=principal_headers(settings, owner),
    )
    assert created.status_code in (200, 201), created.text
    channel.channel_id = str(created.json()["id"])
    channel.verify_token = created.json()["webhook"]["verify_token"]
    return channel


@asynccontextmanager
async def running_sandbox(**settings: Any) -> AsyncIterator[RunningApp]:
    """The WhatsApp sandbox on a free loopback port (its media URLs point at that port)."""
    from parley_sandbox.app import create_app
    from parley_sandbox.config import SandboxSettings

    port = free_port()
    config = SandboxSettings(public_base_url=f"http://127.0.0.1:{port}", **settings)
    async with serve_app(create_app(config), port=port) as running:
        yield running


async def serve_number_in_sandbox(
    sandbox: RunningApp, channel: TenantChannel, *, webhook_url: str, app_secret: str
) -> None:
    """Make the sandbox answer for `channel`'s number and post its webhooks to `webhook_url`."""
    response = await sandbox.client.post(
        "/sandbox/numbers",
        json={
            "phone_number_id": channel.phone_number_id,
            "waba_id": channel.waba_id,
            "display_phone_number": channel.display_phone_number,
            "access_token": channel.access_token,
            "app_secret": app_secret,
            "webhook_url": webhook_url,
            "messages_per_second": channel.messages_per_second,
        },
    )
    assert response.status_code == 201, response.text


async def connect_sandbox_to_gateway(
    sandbox: RunningApp, channel: TenantChannel, gateway: RunningApp
) -> None:
    """Make the sandbox answer for `channel`'s number and sign and post its webhooks to
    `gateway`, as Meta would for a number on the platform's app."""
    await serve_number_in_sandbox(
        sandbox,
        channel,
        webhook_url=f"{gateway.base_url}/webhooks/whatsapp",
        app_secret=gateway.runtime.settings.whatsapp_app_secret.get_secret_value(),
    )


@asynccontextmanager
async def running_gateway(
    settings_factory: SettingsFactory, auth: AuthService, **overrides: Any
) -> AsyncIterator[RunningApp]:
    """The gateway, resolving channels through `auth`."""
    from parley_gateway.config import Settings
    from parley_gateway.main import create_app

    settings = await settings_factory(
        "gateway", **{"auth_grpc_target": auth.grpc_target, **overrides}
    )
    assert isinstance(settings, Settings)
    async with serve_app(create_app(settings)) as running:
        yield running


@asynccontextmanager
async def running_whatsapp(
    settings_factory: SettingsFactory, auth: AuthService, sandbox: RunningApp, **overrides: Any
) -> AsyncIterator[RunningApp]:
    """The whatsapp service, sending to the sandbox and asking `auth` for credentials."""
    from parley_whatsapp.config import Settings
    from parley_whatsapp.main import create_app

    settings = await settings_factory(
        "whatsapp",
        auth_grpc_target=auth.grpc_target,
        graph_api_base_url=sandbox.base_url,
        **overrides,
    )
    assert isinstance(settings, Settings)
    async with serve_app(create_app(settings)) as running:
        yield running


async def post_signed(
    client: Any, raw: bytes, app_secret: str, path: str = "/webhooks/whatsapp"
) -> Any:
    """POST webhook bytes signed like Meta signs them."""
    from parley_sandbox import meta

    return await client.post(
        path,
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta.signature(app_secret, raw),
        },
    )
