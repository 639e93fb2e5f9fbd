"""Queries on WhatsApp channels. Sealed secrets are read only by `get_sealed_secrets`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.models import WhatsAppChannel
from parley_auth.repository.errors import violated_constraint
from parley_auth.repository.tables import whatsapp_channels as channels

NUMBER_TAKEN = "whatsapp_channels_phone_number_id_key"
_SEALED = ("access_token_sealed", "app_secret_sealed", "verify_token_sealed")
_PUBLIC_COLUMNS = [c for c in channels.c if c.name not in _SEALED]


class PhoneNumberTaken(Exception):
    """The phone_number_id is already registered (by this or another tenant)."""


@dataclass(frozen=True)
class SealedSecrets:
    access_token: bytes
    app_secret: bytes | None
    verify_token: bytes


def _channel(row: Any) -> WhatsAppChannel:
    return WhatsAppChannel(
        tenant_id=row.tenant_id,
        id=row.id,
        phone_number_id=row.phone_number_id,
        waba_id=row.waba_id,
        display_phone_number=row.display_phone_number,
        uses_own_app=row.uses_own_app,
        messages_per_second=row.messages_per_second,
        disconnected_at=row.disconnected_at,
        disconnect_reason=row.disconnect_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _select_channels() -> Any:
    return select(*_PUBLIC_COLUMNS, channels.c.app_secret_sealed.is_not(None).label("uses_own_app"))


async def insert_channel(session: AsyncSession, **values: Any) -> None:
    try:
        async with session.begin_nested():
            await session.execute(insert(channels).values(**values))
    except IntegrityError as exc:
        if violated_constraint(exc) == NUMBER_TAKEN:
            raise PhoneNumberTaken from None
        raise


async def get_channel(
    session: AsyncSession, channel_id: UUID, *, lock: bool = False
) -> WhatsAppChannel | None:
    query = _select_channels().where(channels.c.id == channel_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _channel(row) if row else None


async def get_channel_by_phone_number_id(
    session: AsyncSession, phone_number_id: str
) -> WhatsAppChannel | None:
    row = (
        await session.execute(
            _select_channels().where(channels.c.phone_number_id == phone_number_id)
        )
    ).first()
    return _channel(row) if row else None


async def list_channels(session: AsyncSession) -> list[WhatsAppChannel]:
    rows = await session.execute(_select_channels().order_by(channels.c.created_at, channels.c.id))
    return [_channel(row) for row in rows]


async def get_sealed_secrets(session: AsyncSession, channel_id: UUID) -> SealedSecrets | None:
    row = (
        await session.execute(
            select(*(channels.c[name] for name in _SEALED)).where(channels.c.id == channel_id)
        )
    ).first()
    if row is None:
        return None
    return SealedSecrets(row.access_token_sealed, row.app_secret_sealed, row.verify_token_sealed)


async def update_channel(session: AsyncSession, channel_id: UUID, **values: Any) -> None:
    await session.execute(
        update(channels).where(channels.c.id == channel_id).values(**values, updated_at=func.now())
    )


async def delete_channel(session: AsyncSession, channel_id: UUID) -> bool:
    result = await session.execute(
        delete(channels).where(channels.c.id == channel_id).returning(channels.c.id)
    )
    return result.first() is not None
