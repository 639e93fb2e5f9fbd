"""The WhatsApp channel registry: a tenant's business numbers and their secrets.

The access token, the business's own app secret and the verify token are sealed (AES-GCM,
bound to tenant, channel and field) before they reach the database, and opened only for the
callers that need them: the gateway (app secret and verify token, to check webhooks) and the
whatsapp service (access token, to send). No API response carries the access token or the
app secret. A phone_number_id belongs to one tenant across Parley.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from parley_platform.errors import Conflict, InvalidRequest, NotFound
from parley_platform.identity import Principal, Role
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.models import WhatsAppChannel
from parley_auth.repository import channels as repo
from parley_auth.repository import lookups
from parley_auth.service.context import AuthContext

DEFAULT_MESSAGES_PER_SECOND = 80


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


def _context(channel: WhatsAppChannel | tuple[UUID, UUID], field: str) -> str:
    tenant_id, channel_id = (
        (channel.tenant_id, channel.id) if isinstance(channel, WhatsAppChannel) else channel
    )
    return f"whatsapp_channels:{tenant_id}:{channel_id}:{field}"


def _may_change_channels(actor: Principal) -> None:
    actor.require_role(Role.ADMIN)
    actor.require_scope("channels:write")


async def _channel(
    session: AsyncSession, channel_id: UUID, *, lock: bool = False
) -> WhatsAppChannel:
    channel = await repo.get_channel(session, channel_id, lock=lock)
    if channel is None:
        raise _not_found(channel_id)
    return channel


async def open_secrets(
    ctx: AuthContext, session: AsyncSession, channel: WhatsAppChannel
) -> ChannelSecrets:
    sealed = await repo.get_sealed_secrets(session, channel.id)
    if sealed is None:
        raise _not_found(channel.id)
    box = ctx.channel_secrets
    return ChannelSecrets(
        channel=channel,
        access_token=box.open_text(sealed.access_token, _context(channel, "access_token")),
        app_secret=(
            box.open_text(sealed.app_secret, _context(channel, "app_secret"))
            if sealed.app_secret is not None
            else None
        ),
        verify_token=box.open_text(sealed.verify_token, _context(channel, "verify_token")),
    )


async def _view(ctx: AuthContext, session: AsyncSession, channel: WhatsAppChannel) -> ChannelView:
    if not channel.uses_own_app:
        return ChannelView(channel=channel, verify_token=None)
    opened = await open_secrets(ctx, session, channel)
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
    channel_id = uuid.uuid4()
    where = (actor.tenant_id, channel_id)
    box = ctx.channel_secrets
    try:
        await repo.insert_channel(
            session,
            tenant_id=actor.tenant_id,
            id=channel_id,
            phone_number_id=phone_number_id,
            waba_id=waba_id,
            display_phone_number=display_phone_number,
            access_token_sealed=box.seal_text(access_token, _context(where, "access_token")),
            app_secret_sealed=(
                box.seal_text(app_secret, _context(where, "app_secret")) if app_secret else None
            ),
            verify_token_sealed=box.seal_text(
                verify_token or secrets.token_urlsafe(24), _context(where, "verify_token")
            ),
            messages_per_second=messages_per_second,
        )
    except repo.PhoneNumberTaken:
        raise Conflict(
            "this phone_number_id is already registered with Parley", code="phone_number_taken"
        ) from None
    return await _view(ctx, session, await _channel(session, channel_id))


async def list_channels(
    ctx: AuthContext, session: AsyncSession, actor: Principal
) -> list[ChannelView]:
    actor.require_scope("channels:read")
    return [await _view(ctx, session, c) for c in await repo.list_channels(session)]


async def get_channel(
    ctx: AuthContext, session: AsyncSession, actor: Principal, channel_id: UUID
) -> ChannelView:
    actor.require_scope("channels:read")
    return await _view(ctx, session, await _channel(session, channel_id))


async def update_channel(
    ctx: AuthContext,
    session: AsyncSession,
    actor: Principal,
    channel_id: UUID,
    changes: dict[str, Any],
) -> ChannelView:
    """Apply the fields present in `changes` (an absent field is left as it is; an
    `app_secret` of None switches the channel back to the platform's app)."""
    _may_change_channels(actor)
    channel = await _channel(session, channel_id, lock=True)
    box = ctx.channel_secrets
    values: dict[str, Any] = {}
    for field in ("waba_id", "display_phone_number", "messages_per_second"):
        if field in changes:
            if changes[field] is None:
                raise InvalidRequest(f"{field} cannot be removed", code="invalid_field")
            values[field] = changes[field]
    if "access_token" in changes:
        if not changes["access_token"]:
            raise InvalidRequest("access_token cannot be removed", code="invalid_field")
        values["access_token_sealed"] = box.seal_text(
            changes["access_token"], _context(channel, "access_token")
        )
        # A new token is the fix for a disconnected channel.
        values["disconnected_at"] = None
        values["disconnect_reason"] = None
    if "app_secret" in changes:
        secret = changes["app_secret"]
        values["app_secret_sealed"] = (
            box.seal_text(secret, _context(channel, "app_secret")) if secret else None
        )
    if "verify_token" in changes:
        if not changes["verify_token"]:
            raise InvalidRequest("verify_token cannot be removed", code="invalid_field")
        values["verify_token_sealed"] = box.seal_text(
            changes["verify_token"], _context(channel, "verify_token")
        )
    if values:
        await repo.update_channel(session, channel_id, **values)
    return await _view(ctx, session, await _channel(session, channel_id))


async def delete_channel(session: AsyncSession, actor: Principal, channel_id: UUID) -> None:
    _may_change_channels(actor)
    if not await repo.delete_channel(session, channel_id):
        raise _not_found(channel_id)


async def resolve_phone_number_id(ctx: AuthContext, phone_number_id: str) -> ChannelSecrets:
    """The channel (and tenant) a webhook for `phone_number_id` belongs to, with the secrets
    that verify it. Owns its transactions: the tenant is not known before."""
    async with ctx.database.system_session() as session:
        ref = await lookups.channel_of_phone_number_id(session, phone_number_id)
    if ref is None:
        raise _not_found(phone_number_id)
    async with ctx.database.tenant_session(ref.tenant_id) as session:
        return await open_secrets(ctx, session, await _channel(session, ref.channel_id))


async def channel_by_id(ctx: AuthContext, channel_id: UUID) -> ChannelSecrets:
    """The channel `channel_id` with its secrets (per-channel webhook endpoint)."""
    async with ctx.database.system_session() as session:
        tenant_id = await lookups.tenant_of_channel(session, channel_id)
    if tenant_id is None:
        raise _not_found(channel_id)
    async with ctx.database.tenant_session(tenant_id) as session:
        return await open_secrets(ctx, session, await _channel(session, channel_id))


async def send_credentials(
    ctx: AuthContext,
    session: AsyncSession,
    *,
    channel_id: UUID | None,
    phone_number_id: str | None,
) -> ChannelSecrets:
    """The session's tenant's channel, by id or by number, with its access token."""
    if channel_id is not None:
        channel = await repo.get_channel(session, channel_id)
    elif phone_number_id:
        channel = await repo.get_channel_by_phone_number_id(session, phone_number_id)
    else:
        raise InvalidRequest("give channel_id or phone_number_id")
    if channel is None:
        raise _not_found(channel_id or phone_number_id or "")
    return await open_secrets(ctx, session, channel)


async def mark_disconnected(session: AsyncSession, channel_id: UUID, reason: str) -> None:
    """Record that Meta rejected the channel's token; a new token reconnects it."""
    channel = await _channel(session, channel_id, lock=True)
    if channel.disconnected_at is None:
        await repo.update_channel(
            session,
            channel_id,
            disconnected_at=datetime.now(UTC),
            disconnect_reason=reason[:500] or "access token rejected",
        )
