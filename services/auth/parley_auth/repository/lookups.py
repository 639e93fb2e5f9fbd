"""The only queries that cross tenants: calls of the SECURITY DEFINER look-ups created by the
migrations. Each answers one narrow question with ids, never with credentials; the caller
then reads the row itself inside that tenant's transaction, under row-level security."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class AccountRef:
    tenant_id: UUID
    user_id: UUID


@dataclass(frozen=True)
class ChannelRef:
    tenant_id: UUID
    channel_id: UUID


async def account_of_email(session: AsyncSession, email: str) -> AccountRef | None:
    row = (
        await session.execute(
            text("SELECT tenant_id, user_id FROM auth_account_of_email(:email)"),
            {"email": email},
        )
    ).first()
    return AccountRef(row.tenant_id, row.user_id) if row else None


async def _tenant_of(session: AsyncSession, function: str, key: object) -> UUID | None:
    # `function` is one of this module's constants, never input.
    value = (await session.execute(text(f"SELECT {function}(:key)"), {"key": key})).scalar()
    return value if isinstance(value, UUID) else None


async def tenant_of_refresh_token(session: AsyncSession, token_id: UUID) -> UUID | None:
    return await _tenant_of(session, "auth_tenant_of_refresh_token", token_id)


async def tenant_of_api_key(session: AsyncSession, key_id: UUID) -> UUID | None:
    return await _tenant_of(session, "auth_tenant_of_api_key", key_id)


async def tenant_of_invitation(session: AsyncSession, user_id: UUID) -> UUID | None:
    return await _tenant_of(session, "auth_tenant_of_invitation", user_id)


async def tenant_of_channel(session: AsyncSession, channel_id: UUID) -> UUID | None:
    return await _tenant_of(session, "auth_tenant_of_channel", channel_id)


async def channel_of_phone_number_id(
    session: AsyncSession, phone_number_id: str
) -> ChannelRef | None:
    row = (
        await session.execute(
            text("SELECT tenant_id, channel_id FROM auth_channel_of_phone_number_id(:pnid)"),
            {"pnid": phone_number_id},
        )
    ).first()
    return ChannelRef(row.tenant_id, row.channel_id) if row else None


async def prune_refresh_tokens(session: AsyncSession, keep_days: int) -> int:
    """Delete refresh tokens expired more than `keep_days` ago (every tenant's)."""
    value = (
        await session.execute(
            text("SELECT auth_prune_refresh_tokens(make_interval(days => :days))"),
            {"days": keep_days},
        )
    ).scalar()
    return int(value or 0)
