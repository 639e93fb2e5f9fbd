"""The only queries that cross tenants: calls of the SECURITY DEFINER functions created by the
migrations, in a session bound to no tenant. Each look-up answers one narrow question with
ids, never with credentials; the caller then reads the row itself inside that tenant's
transaction, under row-level security."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.credentials import CredentialKind


@dataclass(frozen=True)
class AccountRef:
    """The tenant and user of an account."""

    tenant_id: UUID
    user_id: UUID


# The SECURITY DEFINER function that finds the tenant of each kind of credential.
_TENANT_OF_CREDENTIAL = {
    CredentialKind.REFRESH_TOKEN: "auth_tenant_of_refresh_token",
    CredentialKind.API_KEY: "auth_tenant_of_api_key",
    CredentialKind.INVITATION: "auth_tenant_of_invitation",
    CredentialKind.SIGNUP: "auth_tenant_of_signup_request",
}


@dataclass(frozen=True)
class ChannelRef:
    """The tenant and id of a channel."""

    tenant_id: UUID
    channel_id: UUID


class CrossTenantLookups:
    """The narrow cross-tenant questions, asked in a session without a tenant
    (`Database.system_session`)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def account_of_email(self, email: str) -> AccountRef | None:
        row = (
            await self._session.execute(
                text("SELECT tenant_id, user_id FROM auth_account_of_email(:email)"),
                {"email": email},
            )
        ).first()
        return AccountRef(row.tenant_id, row.user_id) if row else None

    async def tenant_of_credential(self, kind: CredentialKind, credential_id: UUID) -> UUID | None:
        """The tenant of the refresh token, API key, invitation (a user's id) or sign-up
        request with this id."""
        return await self._tenant_of(_TENANT_OF_CREDENTIAL[kind], credential_id)

    async def tenant_of_channel(self, channel_id: UUID) -> UUID | None:
        return await self._tenant_of("auth_tenant_of_channel", channel_id)

    async def channel_of_phone_number_id(self, phone_number_id: str) -> ChannelRef | None:
        row = (
            await self._session.execute(
                text("SELECT tenant_id, channel_id FROM auth_channel_of_phone_number_id(:pnid)"),
                {"pnid": phone_number_id},
            )
        ).first()
        return ChannelRef(row.tenant_id, row.channel_id) if row else None

    async def prune_refresh_tokens(self, keep_days: int) -> int:
        """Delete refresh tokens expired more than `keep_days` ago (every tenant's)."""
        value = (
            await self._session.execute(
                text("SELECT auth_prune_refresh_tokens(make_interval(days => :days))"),
                {"days": keep_days},
            )
        ).scalar()
        return int(value or 0)

    async def prune_signup_requests(self) -> int:
        """Delete sign-ups nobody confirmed in time (every tenant's)."""
        value = (await self._session.execute(text("SELECT auth_prune_signup_requests()"))).scalar()
        return int(value or 0)

    async def _tenant_of(self, function: str, key: object) -> UUID | None:
        # `function` is one of this class's constants, never input.
        value = (
            await self._session.execute(text(f"SELECT {function}(:key)"), {"key": key})
        ).scalar()
        return value if isinstance(value, UUID) else None
