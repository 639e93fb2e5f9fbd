"""Parley's public edge for tests: the auth service and the gateway served for real, the
gateway pointing at auth's actual HTTP and gRPC ports, plus a small client of the public API;
and the WhatsApp sandbox as the Meta that auth verifies numbers with (posting customers'
webhooks to this gateway).

    async with serve_edge(settings_factory) as edge:
        owner = await edge.sign_up()
        response = await owner.get("/api/v1/me")
        number = await edge.new_number()  # created at "Meta", with the token it issued

Other services' tests can put their own service behind the same gateway with
`gateway={"conversation_http_url": running.base_url}`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
from parley_auth.config import Settings as AuthSettings
from parley_auth.main import create_app as create_auth
from parley_devstack.seeding import (
    AuthApi,
    Mailbox,
    Owner,
    Sandbox,
    WhatsAppNumber,
    sign_up_owner,
)
from parley_gateway.config import Settings as GatewaySettings
from parley_gateway.main import create_app as create_gateway

from parley_testing.plugin import SettingsFactory
from parley_testing.services import RunningApp, serve_app
from parley_testing.whatsapp import running_sandbox

# Cheap argon2id parameters and throttles high enough that a whole test session, which
# signs up and in from one loopback address, is never throttled unless a test asks for it.
AUTH_TEST_DEFAULTS: dict[str, Any] = {
    "password_hash_time_cost": 1,
    "password_hash_memory_kib": 8 * 1024,
    "password_hash_parallelism": 1,
    "signups_per_address_per_hour": 1_000_000,
    "login_failures_per_address": 1_000_000,
    "signing_key_publish_delay_s": 0,
}
GATEWAY_TEST_DEFAULTS: dict[str, Any] = {
    "jwks_min_refresh_interval_s": 0,
    # Nothing listens there: those services answer 503 unless a test serves them.
    "conversation_http_url": "http://127.0.0.1:9",
    "knowledge_http_url": "http://127.0.0.1:9",
    "ai_http_url": "http://127.0.0.1:9",
    "whatsapp_http_url": "http://127.0.0.1:9",
}
PASSWORD = "correct horse battery staple"  # noqa: S105 - the test users' password


@dataclass
class ApiClient:
    """The public API as one caller sees it (its bearer credential on every request)."""

    http: httpx.AsyncClient
    credential: str | None = None
    tenant_id: UUID | None = None
    user_id: UUID | None = None
    email: str | None = None
    password: str | None = None
    refresh_token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, headers: dict[str, str] | None = None) -> dict[str, str]:
        merged = dict(headers or {})
        if self.credential:
            merged.setdefault("Authorization", f"Bearer {self.credential}")
        return merged

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        kwargs["headers"] = self.headers(kwargs.get("headers"))
        return await self.http.request(method, path, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)


@dataclass
class Edge:
    """Auth and the gateway, running, and the sandbox that stands in for Meta."""

    auth: RunningApp
    gateway: RunningApp
    auth_settings: AuthSettings
    gateway_settings: GatewaySettings
    sandbox: RunningApp

    @property
    def meta(self) -> Sandbox:
        """The sandbox's control API, its numbers' webhooks posted to this gateway and signed
        with the gateway's (the platform's) app secret."""
        return Sandbox(
            self.sandbox.client,
            webhook_url=f"{self.gateway.base_url}/webhooks/whatsapp",
            app_secret=self.gateway_settings.whatsapp_app_secret.get_secret_value(),
        )

    async def new_number(self, **kw: Any) -> WhatsAppNumber:
        """A new business number created at Meta (the sandbox), with the token it issued."""
        return await self.meta.serve(WhatsAppNumber.random(**kw))

    @property
    def auth_grpc_target(self) -> str:
        return f"127.0.0.1:{self.auth.runtime.grpc_port}"

    def anonymous(self) -> ApiClient:
        return ApiClient(self.gateway.client)

    def client(self, credential: str) -> ApiClient:
        return ApiClient(self.gateway.client, credential)

    async def sign_up(self, company: str = "Acme") -> ApiClient:
        """A new tenant (signed up through the gateway); returns its owner, signed in."""
        owner = await sign_up_owner(
            self.auth_api(),
            company=company,
            email=f"owner-{uuid.uuid4().hex[:12]}@example.com",
            password=PASSWORD,
        )
        return self.client_of(owner)

    def auth_api(self) -> AuthApi:
        """Seeding's view of this edge: through the gateway, reading auth's mailbox."""
        return AuthApi(self.gateway.client, mailbox=self.auth.client)

    @property
    def mailbox(self) -> Mailbox:
        """What Parley emailed (auth's local mailbox)."""
        return Mailbox(self.auth.client)

    def client_of(self, owner: Owner) -> ApiClient:
        """The public API as `owner` (seeded by parley_devstack.seeding) sees it."""
        return ApiClient(
            self.gateway.client,
            credential=owner.access_token,
            tenant_id=owner.tenant_id,
            user_id=owner.user_id,
            email=owner.email,
            password=owner.password,
            refresh_token=owner.refresh_token,
        )

    async def add_user(self, admin: ApiClient, role: str = "agent") -> ApiClient:
        """A user of `admin`'s tenant with `role`, invited and signed in."""
        email = f"{role}-{uuid.uuid4().hex[:12]}@example.com"
        invited = await admin.post(
            "/api/v1/users", json={"email": email, "name": f"A {role}", "role": role}
        )
        assert invited.status_code == 201, invited.text
        accepted = await self.gateway.client.post(
            "/api/v1/auth/accept-invite",
            json={
                "invitation": await self.mailbox.link_token(email, "invitation"),
                "password": PASSWORD,
            },
        )
        assert accepted.status_code == 200, accepted.text
        body = accepted.json()
        return ApiClient(
            self.gateway.client,
            credential=body["access_token"],
            tenant_id=admin.tenant_id,
            user_id=UUID(body["user"]["id"]),
            email=email,
            password=PASSWORD,
            refresh_token=body["refresh_token"],
        )


@asynccontextmanager
async def serve_edge(
    settings_factory: SettingsFactory,
    *,
    auth: dict[str, Any] | None = None,
    gateway: dict[str, Any] | None = None,
    sandbox: RunningApp | None = None,
) -> AsyncIterator[Edge]:
    """Serve auth (verifying numbers with `sandbox`, a new one by default), then a gateway
    wired to it (settings overrides per service)."""
    async with AsyncExitStack() as stack:
        if sandbox is None:
            sandbox = await stack.enter_async_context(
                running_sandbox(status_webhooks=False, webhook_retry_delays_s=[])
            )
        edge = await stack.enter_async_context(
            _serve_edge(settings_factory, sandbox, auth=auth or {}, gateway=gateway or {})
        )
        yield edge


@asynccontextmanager
async def _serve_edge(
    settings_factory: SettingsFactory,
    sandbox: RunningApp,
    *,
    auth: dict[str, Any],
    gateway: dict[str, Any],
) -> AsyncIterator[Edge]:
    auth_settings = await settings_factory(
        "auth", **{**AUTH_TEST_DEFAULTS, "graph_api_base_url": sandbox.base_url, **auth}
    )
    assert isinstance(auth_settings, AuthSettings)
    auth_app = create_auth(auth_settings)
    async with serve_app(auth_app) as running_auth:
        gateway_settings = await settings_factory(
            "gateway",
            **{
                **GATEWAY_TEST_DEFAULTS,
                "auth_http_url": running_auth.base_url,
                "auth_grpc_target": f"127.0.0.1:{running_auth.runtime.grpc_port}",
                **gateway,
            },
        )
        assert isinstance(gateway_settings, GatewaySettings)
        gateway_app = create_gateway(gateway_settings)
        async with serve_app(gateway_app) as running_gateway:
            yield Edge(running_auth, running_gateway, auth_settings, gateway_settings, sandbox)
