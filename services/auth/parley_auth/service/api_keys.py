"""API keys: server-to-server credentials of one tenant, with a role and scopes.

Only signed-in admins and owners manage keys (a key never creates or revokes keys). The
secret is returned once, at creation; only its digest is stored. Revoking writes a
revocation marker in Redis that the gateway checks on every request, so a revoked key stops
working at once even where the gateway still caches its verification.

A key never does more than its creator may do now: demoting the creator narrows the key to
the new role, deactivating the creator stops the key (until reactivation). The gateway learns
of it at once: the creator's revocation marker, written on those changes, makes it verify
the key again (docs/security.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from parley_platform.errors import NotFound, PermissionDenied
from parley_platform.identity import Principal, Role
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain import roles
from parley_auth.domain.credentials import CredentialKind, new_credential
from parley_auth.domain.models import ApiKey, User
from parley_auth.repository.api_keys import ApiKeyRepository
from parley_auth.repository.users import UserRepository
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
) -> tuple[ApiKeyView, str]:
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
    return ApiKeyView(key, (key.role, key.scopes)), str(credential)


@dataclass(frozen=True)
class ApiKeyView:
    """A key with what it may do now (its creator's current role bounds it; None while the
    creator is deactivated)."""

    key: ApiKey
    authority: tuple[Role, frozenset[str]] | None


def _view(key: ApiKey, creator: User | None) -> ApiKeyView:
    assert creator is not None  # the foreign key guarantees it
    return ApiKeyView(
        key, roles.api_key_authority(key.role, key.scopes, creator.role, creator.active)
    )


async def list_api_keys(session: AsyncSession, actor: Principal) -> list[ApiKeyView]:
    _require_signed_in_admin(actor)
    creators = {u.id: u for u in await UserRepository(session, actor.tenant_id).list()}
    keys = await ApiKeyRepository(session, actor.tenant_id).list()
    return [_view(key, creators.get(key.created_by)) for key in keys]


async def get_api_key(session: AsyncSession, actor: Principal, key_id: UUID) -> ApiKeyView:
    _require_signed_in_admin(actor)
    key = await ApiKeyRepository(session, actor.tenant_id).get(key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    return _view(key, await UserRepository(session, actor.tenant_id).get(key.created_by))


async def revoke_api_key(
    ctx: AuthContext, session: AsyncSession, actor: Principal, key_id: UUID
) -> None:
    """Revoke a key (revoking a revoked key changes nothing)."""
    key = (await get_api_key(session, actor, key_id)).key
    if key.revoked_at is None:
        await ApiKeyRepository(session, actor.tenant_id).revoke(key_id)
        await ctx.revocations.revoke_api_key(
            actor.tenant_id, key_id, keep_s=ctx.settings.api_key_marker_keep_s
        )
