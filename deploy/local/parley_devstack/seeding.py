"""Seed a tenant with a WhatsApp channel: the one helper that tests, benchmarks and `make run`'s
demo use, so that a business is always set up the way a person would set it up.

Everything goes through Parley's public API over HTTP, with any `httpx.AsyncClient` (an app
served in-process or a real URL):

- through the gateway (`AuthApi(client, mailbox=auth_client)`): sign-up emails a link, which
  seeding reads in auth's local mailbox (`/dev/mailbox`, what the owner would read in their
  inbox) and confirms; the answer carries the owner's access token, which authenticates the
  next calls, as for a dashboard user;
- straight to auth, for set-ups without a gateway (`AuthApi(client, as_gateway=issuer)`):
  each call carries the internal token the gateway would forward for the owner.

A number is first created at the WhatsApp sandbox (Meta's stand-in), which issues the
business's access token for it (what Embedded Signup hands a tech provider), then registered
with Parley with that token: Parley verifies it with the Graph API (the token reads the
number, the number is in the WABA) and subscribes to the WABA's webhooks, so a number Meta
does not know, or a token Meta did not issue for it, cannot be registered.

    number = WhatsAppNumber.random()
    seeded = await seed_tenant_with_channel(AuthApi(gateway_client), number, sandbox=sandbox)
    seeded.number.access_token  # the token the sandbox issued
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

import httpx
import jwt
from parley_platform.grpc.credentials import ServiceTokenIssuer
from parley_platform.http.internal import internal_headers
from parley_platform.identity import Principal, Role


class SeedingError(RuntimeError):
    """A step of seeding was refused (the message has the status and Parley's answer)."""


@dataclass(frozen=True)
class WhatsAppNumber:
    """A business number as Meta knows it, and the credentials Parley is given for it."""

    phone_number_id: str
    waba_id: str
    display_phone_number: str
    # The business's token for the number: empty until Meta (the sandbox) issued one.
    access_token: str = field(default="", repr=False)
    # Set when the business receives webhooks through its own Meta app (signed with it).
    app_secret: str | None = field(default=None, repr=False)
    messages_per_second: int = 80

    def registration(self) -> dict[str, Any]:
        """The body that registers this number with Parley (`POST /api/v1/channels/whatsapp`)."""
        body: dict[str, Any] = {
            "phone_number_id": self.phone_number_id,
            "waba_id": self.waba_id,
            "display_phone_number": self.display_phone_number,
            "access_token": self.access_token,
            "messages_per_second": self.messages_per_second,
        }
        if self.app_secret:
            body["app_secret"] = self.app_secret
        return body

    @classmethod
    def random(
        cls, *, messages_per_second: int = 80, app_secret: str | None = None
    ) -> WhatsAppNumber:
        """A number no other seeding used (ids of Meta's 15-digit shape), not yet created at
        Meta: `Sandbox.serve` creates it there and gets its token."""
        return cls(
            phone_number_id=str(10**14 + secrets.randbelow(9 * 10**14)),
            waba_id=str(10**14 + secrets.randbelow(9 * 10**14)),
            display_phone_number=f"1555{secrets.randbelow(10**7):07d}",
            app_secret=app_secret,
            messages_per_second=messages_per_second,
        )


@dataclass(frozen=True)
class Owner:
    """A tenant's owner, signed in."""

    tenant_id: UUID
    user_id: UUID
    email: str
    password: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)

    @property
    def principal(self) -> Principal:
        """The owner as the gateway forwards it to the services."""
        return Principal(tenant_id=self.tenant_id, role=Role.OWNER, user_id=self.user_id)


@dataclass(frozen=True)
class SeededChannel:
    """A tenant, its owner, and a WhatsApp number registered as its channel."""

    owner: Owner
    number: WhatsAppNumber
    channel_id: str
    # The token Meta must echo in the webhook handshake; None when Parley's own app
    # receives the number's webhooks.
    verify_token: str | None = field(repr=False)

    @property
    def tenant_id(self) -> UUID:
        return self.owner.tenant_id


class AuthApi:
    """Where seeding sends its requests (auth's public routes) and how it authenticates.

    `keys_patience_s`: a gateway that started before auth had its first signing key learns it
    within seconds; until then it refuses the owner's token, so such refusals are retried
    this long (for `make run`, which starts them together)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        as_gateway: ServiceTokenIssuer | None = None,
        keys_patience_s: float = 0.0,
        mailbox: httpx.AsyncClient | None = None,
    ) -> None:
        self.client = client
        self._as_gateway = as_gateway
        self._keys_patience_s = keys_patience_s
        # Auth's local mailbox (auth itself, by default: `client` when it talks to auth).
        self.mailbox = Mailbox(mailbox or client)

    def headers(self, owner: Owner | None) -> dict[str, str]:
        """Headers of a request on behalf of `owner` (None: a public route)."""
        if self._as_gateway is not None:
            principal = owner.principal if owner else None
            return internal_headers(self._as_gateway, "auth", principal)
        return {"Authorization": f"Bearer {owner.access_token}"} if owner else {}

    async def call(
        self, method: str, path: str, owner: Owner | None, *, json: Any = None
    ) -> httpx.Response:
        """One request to auth's API, on behalf of `owner` (None: a public route)."""
        deadline = time.monotonic() + self._keys_patience_s
        while True:
            response = await self.client.request(
                method, path, json=json, headers=self.headers(owner)
            )
            if response.status_code != 401 or owner is None or time.monotonic() > deadline:
                return response
            await asyncio.sleep(0.5)


class Mailbox:
    """Auth's local mailbox (`/dev/mailbox`, EMAIL_DELIVERY=mailbox): what Parley emailed,
    read as the owner of the address reads their inbox."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def newest(
        self, to: str, purpose: str | tuple[str, ...] | None = None, patience_s: float = 10.0
    ) -> dict[str, Any]:
        """The newest message to `to` (of `purpose`), waiting a little for it."""
        wanted = (purpose,) if isinstance(purpose, str) else purpose
        deadline = time.monotonic() + patience_s
        while True:
            found = [m for m in await self.messages_to(to) if not wanted or m["purpose"] in wanted]
            if found:
                return dict(found[0])
            if time.monotonic() > deadline:
                raise SeedingError(f"no {purpose or 'message'} arrived for {to}")
            await asyncio.sleep(0.1)

    async def messages_to(self, to: str) -> list[dict[str, Any]]:
        """Every kept message to `to`, newest first."""
        response = await self.client.get("/dev/mailbox/messages", params={"to": to})
        return list(_expect(response, 200, "mailbox"))

    async def link_token(self, to: str, purpose: str) -> str:
        """The one-time token of the newest `purpose` link sent to `to` (after the `#`)."""
        message = await self.newest(to, purpose)
        return str(message["link"]).split("#", 1)[1]


class Sandbox:
    """The WhatsApp sandbox's control API: which numbers it serves as Meta, where it posts
    their webhooks and with which app secret it signs them (None: the sandbox's defaults)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        webhook_url: str | None = None,
        app_secret: str | None = None,
    ) -> None:
        self.client = client
        self.webhook_url = webhook_url
        self.app_secret = app_secret

    async def serve(self, number: WhatsAppNumber) -> WhatsAppNumber:
        """Make the sandbox answer for `number` (again, after a restart: it forgets). Returns
        the number with its token: the one it had, or the one the sandbox issued for it."""
        registration: dict[str, Any] = {
            "phone_number_id": number.phone_number_id,
            "waba_id": number.waba_id,
            "display_phone_number": number.display_phone_number,
            "messages_per_second": number.messages_per_second,
        }
        if number.access_token:
            registration["access_token"] = number.access_token
        # A business on its own Meta app has its webhooks signed with its own secret.
        app_secret = number.app_secret or self.app_secret
        if app_secret:
            registration["app_secret"] = app_secret
        if self.webhook_url:
            registration["webhook_url"] = self.webhook_url
        served = _expect(
            await self.client.post("/sandbox/numbers", json=registration), 201, "sandbox"
        )
        return replace(number, access_token=served.get("access_token") or number.access_token)


def _claims(access_token: str) -> dict[str, Any]:
    # Not verified: the token was just received from auth itself, and only read here.
    return dict(jwt.decode(access_token, options={"verify_signature": False}))


def _expect(response: httpx.Response, status: int | tuple[int, ...], step: str) -> Any:
    if response.status_code not in (status if isinstance(status, tuple) else (status,)):
        raise SeedingError(f"{step} refused ({response.status_code}): {response.text[:300]}")
    return response.json()


async def sign_up_owner(
    api: AuthApi,
    *,
    company: str,
    email: str,
    password: str,
    name: str = "Olive Owner",
    existing_ok: bool = False,
) -> Owner:
    """Sign a business up, confirming the link emailed to `email`, and return its owner,
    signed in. With `existing_ok`, an email that already has an account signs in instead
    (seeding the same business again)."""
    if existing_ok:
        signed_in = await api.call(
            "POST", "/api/v1/auth/login", None, json={"email": email, "password": password}
        )
        if signed_in.status_code == 200:
            return _owner_of(signed_in.json(), email, password)
    asked = await api.call(
        "POST",
        "/api/v1/signup",
        None,
        json={"company_name": company, "name": name, "email": email, "password": password},
    )
    _expect(asked, 202, "sign-up")
    mail = await api.mailbox.newest(email, ("signup_confirmation", "signup_existing_account"))
    if mail["purpose"] == "signup_existing_account":
        if not existing_ok:
            raise SeedingError(f"sign-up refused: email_taken ({email} already has an account)")
        response = await api.call(
            "POST", "/api/v1/auth/login", None, json={"email": email, "password": password}
        )
    else:
        token = str(mail["link"]).split("#", 1)[1]
        response = await api.call("POST", "/api/v1/signup/confirm", None, json={"token": token})
    return _owner_of(_expect(response, (200, 201), "sign-up"), email, password)


def _owner_of(body: dict[str, Any], email: str, password: str) -> Owner:
    # Sign-up names the tenant; a sign-in's answer does not, its access token does.
    tenant_id = body["tenant"]["id"] if "tenant" in body else _claims(body["access_token"])["tid"]
    return Owner(
        tenant_id=UUID(tenant_id),
        user_id=UUID(body["user"]["id"]),
        email=email,
        password=password,
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
    )


async def register_number(
    api: AuthApi, owner: Owner, number: WhatsAppNumber, *, sandbox: Sandbox | None = None
) -> SeededChannel:
    """Register `number` as a channel of `owner`'s tenant (after making the sandbox serve it,
    when given). A number the tenant registered before is kept, and verified with Meta
    again (which also renews the app's subscription to its WABA, forgotten by a restarted
    sandbox)."""
    if sandbox is not None:
        number = await sandbox.serve(number)
    if not number.access_token:
        raise SeedingError("the number has no access token: serve it in the sandbox first")
    response = await api.call(
        "POST", "/api/v1/channels/whatsapp", owner, json=number.registration()
    )
    if response.status_code == 409:
        listed = _expect(
            await api.call("GET", "/api/v1/channels/whatsapp", owner), 200, "channel list"
        )
        for channel in listed:
            if channel["phone_number_id"] == number.phone_number_id:
                renewed = await api.call(
                    "PATCH",
                    f"/api/v1/channels/whatsapp/{channel['id']}",
                    owner,
                    json={"access_token": number.access_token},
                )
                return _seeded(owner, number, _expect(renewed, 200, "channel verification"))
    return _seeded(owner, number, _expect(response, 201, "channel registration"))


def _seeded(owner: Owner, number: WhatsAppNumber, channel: dict[str, Any]) -> SeededChannel:
    return SeededChannel(
        owner=owner,
        number=number,
        channel_id=str(channel["id"]),
        verify_token=channel["webhook"]["verify_token"],
    )


async def seed_tenant_with_channel(
    api: AuthApi,
    number: WhatsAppNumber | None = None,
    *,
    sandbox: Sandbox | None = None,
    company: str | None = None,
    owner_name: str = "Olive Owner",
    email: str | None = None,
    password: str | None = None,
    existing_ok: bool = False,
) -> SeededChannel:
    """A business signed up (a new one unless `email` and `existing_ok` name an existing
    account) with `number` (a random one by default) registered as its WhatsApp channel, and
    served by `sandbox` first when given."""
    tag = uuid.uuid4().hex[:10]
    owner = await sign_up_owner(
        api,
        company=company or f"Test Co {tag}",
        email=email or f"owner-{tag}@example.com",
        password=password or secrets.token_urlsafe(16) + "Aa1!",
        name=owner_name,
        existing_ok=existing_ok,
    )
    return await register_number(api, owner, number or WhatsAppNumber.random(), sandbox=sandbox)
