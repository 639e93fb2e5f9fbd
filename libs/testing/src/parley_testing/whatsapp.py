"""WhatsApp test set-ups shared by the gateway's and the whatsapp service's tests: the real
auth service with a tenant and a registered channel, and the WhatsApp sandbox (the stand-in
for Meta) serving that channel's number."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
from parley_auth.config import Settings as AuthSettings
from parley_auth.main import create_app as create_auth
from parley_conversation.config import Settings as ConversationSettings
from parley_conversation.main import create_app as create_conversation
from parley_devstack.seeding import AuthApi, Sandbox, WhatsAppNumber, seed_tenant_with_channel
from parley_gateway.config import Settings as GatewaySettings
from parley_gateway.main import create_app as create_gateway
from parley_platform.grpc.credentials import ServiceTokenIssuer
from parley_platform.identity import Principal
from parley_platform.settings import ServiceSettings
from parley_sandbox import meta
from parley_sandbox.app import create_app as create_sandbox
from parley_sandbox.config import SandboxSettings
from parley_whatsapp.config import Settings as WhatsAppSettings
from parley_whatsapp.main import create_app as create_whatsapp

from parley_testing.services import RunningApp, free_port, serve_app

SettingsFactory = Callable[..., Awaitable[ServiceSettings]]


@dataclass
class AuthService:
    """The auth service running in the test's event loop, and the sandbox it verifies
    numbers with (the Meta it asks when a number is registered)."""

    running: RunningApp
    settings: ServiceSettings
    meta: Sandbox

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

    @property
    def number(self) -> WhatsAppNumber:
        """The number as Meta (the sandbox) knows it."""
        return WhatsAppNumber(
            phone_number_id=self.phone_number_id,
            waba_id=self.waba_id,
            display_phone_number=self.display_phone_number,
            access_token=self.access_token,
            app_secret=self.app_secret,
            messages_per_second=self.messages_per_second,
        )


@asynccontextmanager
async def running_auth(
    settings_factory: SettingsFactory, *, sandbox: RunningApp | None = None, **overrides: Any
) -> AsyncIterator[AuthService]:
    """The auth service (HTTP and gRPC) on loopback ports, verifying numbers with `sandbox`
    (one of its own by default: a test's other sandbox, serving the same number for sending
    and webhooks, is then another view of the same Meta)."""
    async with AsyncExitStack() as stack:
        if sandbox is None:
            sandbox = await stack.enter_async_context(
                running_sandbox(status_webhooks=False, webhook_retry_delays_s=[])
            )
        settings = await settings_factory(
            "auth",
            # Every test signs a business up; the per-address sign-up limit is not under
            # test. (The encryption key is the session's, from settings_factory: the session's
            # auth database outlives each test's auth service.)
            **{
                "signups_per_address_per_hour": 1_000_000,
                "graph_api_base_url": sandbox.base_url,
                **overrides,
            },
        )
        assert isinstance(settings, AuthSettings)
        running = await stack.enter_async_context(serve_app(create_auth(settings)))
        yield AuthService(running, settings, Sandbox(sandbox.client))


async def new_tenant_with_channel(
    auth: AuthService,
    *,
    messages_per_second: int = 80,
    own_app_secret: str | None = None,
    sandbox: Sandbox | None = None,
) -> TenantChannel:
    """Sign a new business up and register a random WhatsApp number for it, through auth's
    API as the gateway would forward the calls (parley_devstack.seeding), the number created
    first at the Meta auth verifies with (which issues its token); with `sandbox`, that
    sandbox serves the number too."""
    issuer = ServiceTokenIssuer(auth.settings.service_token_secret.get_secret_value(), "gateway")
    number = WhatsAppNumber.random(
        messages_per_second=messages_per_second, app_secret=own_app_secret
    )
    seeded = await seed_tenant_with_channel(
        AuthApi(auth.running.client, as_gateway=issuer), number, sandbox=auth.meta
    )
    number = seeded.number
    if sandbox is not None:
        await sandbox.serve(number)
    return TenantChannel(
        tenant_id=seeded.tenant_id,
        owner=seeded.owner.principal,
        channel_id=seeded.channel_id,
        phone_number_id=number.phone_number_id,
        waba_id=number.waba_id,
        display_phone_number=number.display_phone_number,
        access_token=number.access_token,
        app_secret=number.app_secret,
        verify_token=seeded.verify_token,
        messages_per_second=number.messages_per_second,
    )


@asynccontextmanager
async def running_sandbox(**settings: Any) -> AsyncIterator[RunningApp]:
    """The WhatsApp sandbox on a free loopback port (its media URLs point at that port)."""
    port = free_port()
    config = SandboxSettings(public_base_url=f"http://127.0.0.1:{port}", **settings)
    async with serve_app(create_sandbox(config), port=port) as running:
        yield running


@dataclass
class SandboxProcess:
    """The WhatsApp sandbox in a process of its own: its base URL and a client."""

    base_url: str
    client: httpx.AsyncClient


@asynccontextmanager
async def sandbox_process(**settings: Any) -> AsyncIterator[SandboxProcess]:
    """The WhatsApp sandbox as a separate process (`python -m parley_sandbox`), for tests
    whose measurement must not share an event loop with what it measures: when Meta counts
    requests per second, it counts them on its own machine."""
    port = free_port()
    given = {
        "http_port": port,
        "public_base_url": f"http://127.0.0.1:{port}",
        "log_level": "WARNING",
        **settings,
    }
    env = {
        **os.environ,
        **{
            f"PARLEY_SANDBOX_{name.upper()}": json.dumps(value)
            if isinstance(value, list | dict)
            else str(value)
            for name, value in given.items()
        },
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "parley_sandbox", env=env, stdout=asyncio.subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                with suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                if process.returncode is not None or asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError("the sandbox process did not start")
                await asyncio.sleep(0.1)
            yield SandboxProcess(base_url, client)
    finally:
        process.terminate()
        await process.wait()


async def serve_number_in_sandbox(
    sandbox: RunningApp | SandboxProcess,
    channel: TenantChannel,
    *,
    webhook_url: str,
    app_secret: str,
) -> None:
    """Make the sandbox answer for `channel`'s number and post its webhooks to `webhook_url`."""
    await Sandbox(sandbox.client, webhook_url=webhook_url, app_secret=app_secret).serve(
        channel.number
    )


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
    settings = await settings_factory(
        "gateway", **{"auth_grpc_target": auth.grpc_target, **overrides}
    )
    assert isinstance(settings, GatewaySettings)
    async with serve_app(create_gateway(settings)) as running:
        yield running


@asynccontextmanager
async def running_conversation(
    settings_factory: SettingsFactory, auth: AuthService, **overrides: Any
) -> AsyncIterator[RunningApp]:
    """The conversation service (its consumers assigned), asking `auth` about users."""
    settings = await settings_factory(
        "conversation", **{"auth_grpc_target": auth.grpc_target, **overrides}
    )
    assert isinstance(settings, ConversationSettings)
    async with serve_app(create_conversation(settings)) as running:
        for consumer in running.runtime.consumers:
            await consumer.wait_until_assigned()
        yield running


@asynccontextmanager
async def running_whatsapp(
    settings_factory: SettingsFactory,
    auth: AuthService,
    sandbox: RunningApp | SandboxProcess,
    **overrides: Any,
) -> AsyncIterator[RunningApp]:
    """The whatsapp service, sending to the sandbox and asking `auth` for credentials."""
    settings = await settings_factory(
        "whatsapp",
        auth_grpc_target=auth.grpc_target,
        graph_api_base_url=sandbox.base_url,
        **overrides,
    )
    assert isinstance(settings, WhatsAppSettings)
    async with serve_app(create_whatsapp(settings)) as running:
        yield running


async def post_signed(
    client: Any, raw: bytes, app_secret: str, path: str = "/webhooks/whatsapp"
) -> Any:
    """POST webhook bytes signed like Meta signs them."""
    return await client.post(
        path,
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta.signature(app_secret, raw),
        },
    )
