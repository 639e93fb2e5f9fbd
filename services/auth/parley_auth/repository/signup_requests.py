"""Queries on sign-ups waiting for their email address to be confirmed (each under the
tenant id it will create, so row-level security applies as to every tenant row)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.repository.tables import signup_requests


@dataclass(frozen=True)
class SignupRequest:
    """A business that asked to sign up, with the password its owner chose (hashed)."""

    tenant_id: UUID
    id: UUID
    email: str
    company_name: str
    owner_name: str
    password_hash: str = field(repr=False)
    secret_digest: bytes = field(repr=False)
    expires_at: datetime


class SignupRequestRepository:
    """Sign-up requests of one (future) tenant: the session's."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add(
        self,
        request_id: UUID,
        *,
        email: str,
        company_name: str,
        owner_name: str,
        password_hash: str,
        secret_digest: bytes,
        expires_at: datetime,
    ) -> None:
        await self._session.execute(
            insert(signup_requests).values(
                tenant_id=self._tenant_id,
                id=request_id,
                email=email,
                company_name=company_name,
                owner_name=owner_name,
                password_hash=password_hash,
                secret_digest=secret_digest,
                expires_at=expires_at,
            )
        )

    async def get_for_update(self, request_id: UUID) -> SignupRequest | None:
        """The request, held until the transaction ends (a link is used once)."""
        row = (
            await self._session.execute(
                select(signup_requests)
                .where(
                    signup_requests.c.tenant_id == self._tenant_id,
                    signup_requests.c.id == request_id,
                )
                .with_for_update()
            )
        ).first()
        if row is None:
            return None
        values = {k: v for k, v in row._mapping.items() if k != "created_at"}
        return SignupRequest(**values)

    async def remove(self, request_id: UUID) -> None:
        """The request is used up (confirmed, or its link expired)."""
        await self._session.execute(
            delete(signup_requests).where(
                signup_requests.c.tenant_id == self._tenant_id,
                signup_requests.c.id == request_id,
            )
        )
