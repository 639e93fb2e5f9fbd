"""The WhatsApp channel registry: a tenant's business numbers and their secrets.

A number is connected the way Meta's Embedded Signup does it, and only then stored: the
Graph API must confirm that the given token can read the number and that the number belongs
to the given WhatsApp Business Account, and the token's app is subscribed to that account's
webhooks. The same check runs again whenever the token, the account or the app (Parley's or
the business's own) of a channel changes. Whoever cannot prove control of a number with
Meta gets one answer, whether or not the number exists or is registered with Parley; a
number that another tenant registered is refused (409) only to someone who proved control of
it, and without saying by whom.

The access token, the business's own app secret and the verify token are sealed (AES-GCM,
bound to tenant, channel and field) before they reach the database, and opened only for the
callers that need them: the gateway (app secret and verify token, to check webhooks) and the
whatsapp service (access token, to send). No API response carries the access token or the
app secret. A phone_number_id belongs to one tenant across Parley.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from parley_platform.errors import Conflict, InvalidRequest, NotFound, Unavailable
from parley_platform.identity import Principal, Role
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.models import WhatsAppChannel
from parley_auth.graph_api import GraphRefusal, GraphUnreachable
from parley_auth.repository.channels import (
    ChannelRepository,
    NewChannel,
    PhoneNumberTaken,
    SealedSecrets,
)
from parley_auth.repository.lookups import CrossTenantLookups
from parley_auth.service.context import AuthContext

log = logging.getLogger(__name__)

DEFAULT_MESSAGES_PER_SECOND = 80

# What the webhook's channel look-ups cost the registry (the gateway caches their answers).
WEBHOOK_LOOKUPS = Counter(
    "parley_auth_webhook_channel_lookups_total",
    "Channel look-ups for webhooks (by number or channel id) and whether a channel was found",
    ["by", "outcome"],
)


@dataclass(frozen=True)
class ChannelView:
    """A channel as its tenant's admins see it: no access token, no app secret; the verify
    token only when the business configures its own app's webhook."""

    channel: WhatsAppChannel
    verify_token: str | None


@dataclass(frozen=True)
class ChannelSecrets:
    """A channel with its opened secrets, for the gateway and the whatsapp service."""

    channel: WhatsAppChannel
    access_token: str
    app_secret: str | None
    verify_token: str


def _not_found(channel_id: UUID | str) -> NotFound:
    return NotFound(f"channel {channel_id} not found")


def _not_verified() -> InvalidRequest:
    return InvalidRequest(
        "Meta did not confirm that this access token can manage this phone number in this "
        "WhatsApp Business Account; check the three and that the token has the "
        "whatsapp_business_management and whatsapp_business_messaging permissions",
        code="channel_not_verified",
    )


async def verify_with_meta(
    ctx: AuthContext, *, phone_number_id: str, waba_id: str, access_token: str
) -> None:
    """Embedded Signup's checks, in its order: the token reads the number, the number is one
    of the WABA's, and the token's app is subscribed to the WABA's webhooks. Any refusal is
    the same answer (channel_not_verified), so that nobody learns from it which numbers
    exist; Meta unreachable is 503."""
    graph = ctx.graph
    try:
        number = await graph.phone_number(access_token, phone_number_id)
        if number.id != phone_number_id:
            raise _not_verified()
        if phone_number_id not in await graph.waba_phone_number_ids(access_token, waba_id):
            raise _not_verified()
        await graph.subscribe_app(access_token, waba_id)
    except GraphRefusal as exc:
        log.info("channel not verified by Meta (Graph error %s)", exc.code)
        raise _not_verified() from None
    except GraphUnreachable as exc:
        log.warning("Meta unreachable while verifying a channel: %s", exc)
        raise Unavailable(
            "Meta could not be reached to verify the number; try again shortly"
        ) from None


def _context(tenant_id: UUID, channel_id: UUID, field: str) -> str:
    return f"whatsapp_channels:{tenant_id}:{channel_id}:{field}"


def _may_change_channels(actor: Principal) -> None:
    actor.require_role(Role.ADMIN)
    actor.require_scope("channels:write")


async def _channel(
    channels: ChannelRepository, channel_id: UUID, *, lock: bool = False
) -> WhatsAppChannel:
    channel = await channels.get(channel_id, lock=lock)
    if channel is None:
        raise _not_found(channel_id)
    return channel


async def open_secrets(
    ctx: AuthContext, channels: ChannelRepository, channel: WhatsAppChannel
) -> ChannelSecrets:
    sealed = await channels.get_sealed_secrets(channel.id)
    if sealed is None:
        raise _not_found(channel.id)
    box = ctx.channel_secrets

    def context(field: str) -> str:
        return _context(channel.tenant_id, channel.id, field)

    return ChannelSecrets(
        channel=channel,
        access_token=box.open_text(sealed.access_token, context("access_token")),
        app_secret=(
            box.open_text(sealed.app_secret, context("app_secret"))
            if sealed.app_secret is not None
            else None
        ),
        verify_token=box.open_text(sealed.verify_token, context("verify_token")),
    )


async def _view(
    ctx: AuthContext, channels: ChannelRepository, channel: WhatsAppChannel
) -> ChannelView:
    if not channel.uses_own_app:
        return ChannelView(channel=channel, verify_token=None)
    opened = await open_secrets(ctx, channels, channel)
    return ChannelView(channel=channel, verify_token=opened.verify_token)


async def register_channel(
    ctx: AuthContext,
    session: AsyncSession,
    actor: Principal,
    *,
    phone_number_id: str,
    waba_id: str,
    display_phone_number: str,
    access_token: str,
    app_secret: str | None,
    verify_token: str | None,
    messages_per_second: int,
) -> ChannelView:
    _may_change_channels(actor)
    # Meta first: until the caller proved control of the number, nothing about it (not even
    # whether another tenant registered it) is said.
    await verify_with_meta(
        ctx, phone_number_id=phone_number_id, waba_id=waba_id, access_token=access_token
    )
    channels = ChannelRepository(session, actor.tenant_id)
    channel_id = uuid.uuid4()
    box = ctx.channel_secrets

    def context(field: str) -> str:
        return _context(actor.tenant_id, channel_id, field)

    sealed = SealedSecrets(
        access_token=box.seal_text(access_token, context("access_token")),
        app_secret=box.seal_text(app_secret, context("app_secret")) if app_secret else None,
        verify_token=box.seal_text(
            verify_token or secrets.token_urlsafe(24), context("verify_token")
        ),
    )
    try:
        await channels.register(
            NewChannel(
                id=channel_id,
                phone_number_id=phone_number_id,
                waba_id=waba_id,
                display_phone_number=display_phone_number,
                messages_per_second=messages_per_second,
                secrets=sealed,
            )
        )
    except PhoneNumberTaken:
        raise Conflict(
            "this number is already connected to a Parley account (yours or another "
            "business's); if it should be yours, remove it there or contact support",
            code="phone_number_taken",
        ) from None
    return await _view(ctx, channels, await _channel(channels, channel_id))


async def list_channels(
    ctx: AuthContext, session: AsyncSession, actor: Principal
) -> list[ChannelView]:
    actor.require_scope("channels:read")
    channels = ChannelRepository(session, actor.tenant_id)
    return [await _view(ctx, channels, c) for c in await channels.list()]


async def get_channel(
    ctx: AuthContext, session: AsyncSession, actor: Principal, channel_id: UUID
) -> ChannelView:
    actor.require_scope("channels:read")
    channels = ChannelRepository(session, actor.tenant_id)
    return await _view(ctx, channels, await _channel(channels, channel_id))


def _kept(changes: dict[str, Any], field: str) -> Any:
    """The new value of a field that cannot be removed (None or empty is refused)."""
    value = changes[field]
    if value is None or value == "":
        raise InvalidRequest(f"{field} cannot be removed", code="invalid_field")
    return value


async def update_channel(
    ctx: AuthContext,
    session: AsyncSession,
    actor: Principal,
    channel_id: UUID,
    changes: dict[str, Any],
) -> ChannelView:
    """Apply the fields present in `changes` (an absent field is left as it is; an
    `app_secret` of None switches the channel back to the platform's app). A new access
    token, WABA or app is verified with Meta first (`verify_with_meta`)."""
    _may_change_channels(actor)
    channels = ChannelRepository(session, actor.tenant_id)
    channel = await _channel(channels, channel_id, lock=True)
    box = ctx.channel_secrets

    def context(field: str) -> str:
        return _context(channel.tenant_id, channel.id, field)

    # Check every field before changing any: a refused request changes nothing.
    details = {
        field: _kept(changes, field)
        for field in ("waba_id", "display_phone_number", "messages_per_second")
        if field in changes
    }
    access_token = _kept(changes, "access_token") if "access_token" in changes else None
    verify_token = _kept(changes, "verify_token") if "verify_token" in changes else None
    switches_app = "app_secret" in changes and bool(changes["app_secret"]) != channel.uses_own_app
    if access_token is not None or "waba_id" in details or switches_app:
        # A new token, another account, or a switch between Parley's app and the
        # business's own: Meta must confirm it all again, and the (other) app subscribes.
        token = access_token or (await open_secrets(ctx, channels, channel)).access_token
        await verify_with_meta(
            ctx,
            phone_number_id=channel.phone_number_id,
            waba_id=details.get("waba_id", channel.waba_id),
            access_token=token,
        )
    await channels.change_number_details(channel_id, **details)
    if access_token is not None:
        # A new token is the fix for a disconnected channel.
        await channels.replace_access_token(
            channel_id, box.seal_text(access_token, context("access_token"))
        )
    if "app_secret" in changes:
        secret = changes["app_secret"]
        await channels.replace_app_secret(
            channel_id, box.seal_text(secret, context("app_secret")) if secret else None
        )
    if verify_token is not None:
        await channels.replace_verify_token(
            channel_id, box.seal_text(verify_token, context("verify_token"))
        )
    return await _view(ctx, channels, await _channel(channels, channel_id))


async def delete_channel(session: AsyncSession, actor: Principal, channel_id: UUID) -> None:
    _may_change_channels(actor)
    if not await ChannelRepository(session, actor.tenant_id).delete(channel_id):
        raise _not_found(channel_id)


async def resolve_phone_number_id(ctx: AuthContext, phone_number_id: str) -> ChannelSecrets:
    """The channel (and tenant) a webhook for `phone_number_id` belongs to, with the secrets
    that verify it. Owns its transactions: the tenant is not known before."""
    async with ctx.database.system_session() as session:
        ref = await CrossTenantLookups(session).channel_of_phone_number_id(phone_number_id)
    WEBHOOK_LOOKUPS.labels("phone_number_id", "unknown" if ref is None else "found").inc()
    if ref is None:
        raise _not_found(phone_number_id)
    async with ctx.database.tenant_session(ref.tenant_id) as session:
        channels = ChannelRepository(session, ref.tenant_id)
        return await open_secrets(ctx, channels, await _channel(channels, ref.channel_id))


async def channel_by_id(ctx: AuthContext, channel_id: UUID) -> ChannelSecrets:
    """The channel `channel_id` with its secrets (per-channel webhook endpoint)."""
    async with ctx.database.system_session() as session:
        tenant_id = await CrossTenantLookups(session).tenant_of_channel(channel_id)
    WEBHOOK_LOOKUPS.labels("channel_id", "unknown" if tenant_id is None else "found").inc()
    if tenant_id is None:
        raise _not_found(channel_id)
    async with ctx.database.tenant_session(tenant_id) as session:
        channels = ChannelRepository(session, tenant_id)
        return await open_secrets(ctx, channels, await _channel(channels, channel_id))


async def send_credentials(
    ctx: AuthContext,
    session: AsyncSession,
    tenant_id: UUID,
    *,
    channel_id: UUID | None,
    phone_number_id: str | None,
) -> ChannelSecrets:
    """The session's tenant's channel, by id or by number, with its access token."""
    channels = ChannelRepository(session, tenant_id)
    if channel_id is not None:
        channel = await channels.get(channel_id)
    elif phone_number_id:
        channel = await channels.get_by_phone_number_id(phone_number_id)
    else:
        raise InvalidRequest("give channel_id or phone_number_id")
    if channel is None:
        raise _not_found(channel_id or phone_number_id or "")
    return await open_secrets(ctx, channels, channel)


async def mark_disconnected(
    session: AsyncSession, tenant_id: UUID, channel_id: UUID, reason: str
) -> None:
    """Record that Meta rejected the channel's token; a new token reconnects it."""
    channels = ChannelRepository(session, tenant_id)
    await _channel(channels, channel_id, lock=True)
    await channels.mark_disconnected(channel_id, reason[:500] or "access token rejected")
