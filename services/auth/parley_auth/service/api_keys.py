"""API keys: server-to-server credentials of one tenant, with a role and scopes.

Only signed-in admins and owners manage keys (a key never creates or revokes keys). The
secret is returned once, at creation; only its digest is stored. Revoking writes a
revocation marker in Redis that the gateway checks on every request, so a revoked key stops
working at once even where the gateway still caches its verification.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

from parley_platform.errors import NotFound, PermissionDenied
from parley_platform.identity import Principal, Role
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain import roles
from parley_auth.domain.credentials import CredentialKind, new_credential
from parley_auth.domain.models import ApiKey
from parley_auth.repository.api_keys import ApiKeyRepository
from parley_auth.service.context import AuthContext


def _require_signed_in_admin(actor: Principal) -> UUID:
    if actor.user_id is None:
        raise PermissionDenied("API keys are managed by signed-in users, not by API keys")
    actor.require_role(Role.ADMIN)
    return actor.user_id


async def create_api_key(
    session: AsyncSession,
    actor: Principal,
    *,
    name: str,
    role: Role,
    scopes: frozenset[str],
    expires_in_days: int | None,
) -> tuple[ApiKey, str]:
    """The new key and its secret (the only time the secret is available)."""
    creator = _require_signed_in_admin(actor)
    roles.check_api_key_grant(actor, role, scopes)
    credential = new_credential(CredentialKind.API_KEY, uuid.uuid4())
    key = await ApiKeyRepository(session, actor.tenant_id).create(
        credential.id,
        name=name,
        role=role,
        scopes=scopes,
        secret_digest=credential.digest(),
        created_by=creator,
        expires_at=(
            datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
        ),
    )
    return key, str(credential)


async def list_api_keys(session: AsyncSession, actor: Principal) -> list[ApiKey]:
    _require_signed_in_admin(actor)
    return await ApiKeyRepository(session, actor.tenant_id).list()


async def get_api_key(session: AsyncSession, actor: Principal, key_id: UUID) -> ApiKey:
    _require_signed_in_admin(actor)
    key = await ApiKeyRepository(session, actor.tenant_id).get(key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    return key


async def revoke_api_key(
    ctx: AuthContext, session: AsyncSession, actor: Principal, key_id: UUID
) -> None:
    """Revoke a key (revoking a revoked key changes nothing)."""
    key = await get_api_key(session, actor, key_id)
    if key.revoked_at is None:
        await ApiKeyRepository(session, actor.tenant_id).revoke(key_id)
        await ctx.revocations.revoke_api_key(
            actor.tenant_id, key_id, keep_s=ctx.settings.api_key_marker_keep_s
        )
