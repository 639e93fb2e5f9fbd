"""Queries on WhatsApp channels. Sealed secrets are read only by `get_sealed_secrets`; they
are written already sealed (the service seals them, bound to tenant, channel and field)."""

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
    """A channel's secrets as stored (sealed)."""

    access_token: bytes
    app_secret: bytes | None
    verify_token: bytes


@dataclass(frozen=True)
class NewChannel:
    """What registering a number stores (secrets already sealed)."""

    id: UUID
    phone_number_id: str
    waba_id: str
    display_phone_number: str
    messages_per_second: int
    secrets: SealedSecrets


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


class ChannelRepository:
    """WhatsApp channels of one tenant (the session's)."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    def _select(self) -> Any:
        return select(
            *_PUBLIC_COLUMNS, channels.c.app_secret_sealed.is_not(None).label("uses_own_app")
        ).where(channels.c.tenant_id == self._tenant_id)

    def _one(self, channel_id: UUID) -> Any:
        return (channels.c.tenant_id == self._tenant_id) & (channels.c.id == channel_id)

    async def register(self, channel: NewChannel) -> None:
        """Store a new number; PhoneNumberTaken when any tenant already registered it."""
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    insert(channels).values(
                        tenant_id=self._tenant_id,
                        id=channel.id,
                        phone_number_id=channel.phone_number_id,
                        waba_id=channel.waba_id,
                        display_phone_number=channel.display_phone_number,
                        messages_per_second=channel.messages_per_second,
                        access_token_sealed=channel.secrets.access_token,
                        app_secret_sealed=channel.secrets.app_secret,
                        verify_token_sealed=channel.secrets.verify_token,
                    )
                )
        except IntegrityError as exc:
            if violated_constraint(exc) == NUMBER_TAKEN:
                raise PhoneNumberTaken from None
            raise

    async def get(self, channel_id: UUID, *, lock: bool = False) -> WhatsAppChannel | None:
        """One channel; with `lock`, held until the transaction ends."""
        query = self._select().where(channels.c.id == channel_id)
        if lock:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return _channel(row) if row else None

    async def get_by_phone_number_id(self, phone_number_id: str) -> WhatsAppChannel | None:
        row = (
            await self._session.execute(
                self._select().where(channels.c.phone_number_id == phone_number_id)
            )
        ).first()
        return _channel(row) if row else None

    async def list(self) -> list[WhatsAppChannel]:
        rows = await self._session.execute(
            self._select().order_by(channels.c.created_at, channels.c.id)
        )
        return [_channel(row) for row in rows]

    async def get_sealed_secrets(self, channel_id: UUID) -> SealedSecrets | None:
        row = (
            await self._session.execute(
                select(*(channels.c[name] for name in _SEALED)).where(self._one(channel_id))
            )
        ).first()
        if row is None:
            return None
        return SealedSecrets(
            row.access_token_sealed, row.app_secret_sealed, row.verify_token_sealed
        )

    async def change_number_details(
        self,
        channel_id: UUID,
        *,
        waba_id: str | None = None,
        display_phone_number: str | None = None,
        messages_per_second: int | None = None,
    ) -> None:
        """What Meta says about the number (None: unchanged)."""
        values = {
            name: value
            for name, value in (
                ("waba_id", waba_id),
                ("display_phone_number", display_phone_number),
                ("messages_per_second", messages_per_second),
            )
            if value is not None
        }
        if values:
            await self._change(channel_id, **values)

    async def replace_access_token(self, channel_id: UUID, sealed: bytes) -> None:
        """A new access token; it reconnects a channel whose token Meta rejected."""
        await self._change(
            channel_id, access_token_sealed=sealed, disconnected_at=None, disconnect_reason=None
        )

    async def replace_app_secret(self, channel_id: UUID, sealed: bytes | None) -> None:
        """The business's own app secret; None moves the number back to the platform's app."""
        await self._change(channel_id, app_secret_sealed=sealed)

    async def replace_verify_token(self, channel_id: UUID, sealed: bytes) -> None:
        await self._change(channel_id, verify_token_sealed=sealed)

    async def mark_disconnected(self, channel_id: UUID, reason: str) -> None:
        """Meta rejected the access token; the first reason recorded is kept."""
        await self._session.execute(
            update(channels)
            .where(self._one(channel_id), channels.c.disconnected_at.is_(None))
            .values(disconnected_at=func.now(), disconnect_reason=reason, updated_at=func.now())
        )

    async def delete(self, channel_id: UUID) -> bool:
        """Remove the channel; False if there was none."""
        result = await self._session.execute(
            delete(channels).where(self._one(channel_id)).returning(channels.c.id)
        )
        return result.first() is not None

    async def _change(self, channel_id: UUID, **columns: Any) -> None:
        # Private: each public method above names the change it makes.
        await self._session.execute(
            update(channels).where(self._one(channel_id)).values(**columns, updated_at=func.now())
        )
