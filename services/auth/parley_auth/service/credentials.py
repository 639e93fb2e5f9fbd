"""Verifying a bearer credential for another service: an access token or an API key.

The gateway verifies access tokens itself (against the JWKS) and asks here only about API
keys; this answers both, from the database, so it is also the authoritative check. An API
key never does more than the user who created it may do now (domain.roles.api_key_authority).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from parley_platform.access_tokens import InvalidAccessToken, verify_access_token
from parley_platform.errors import Unauthenticated
from parley_platform.identity import Principal

from parley_auth.domain import roles
from parley_auth.domain.credentials import CredentialKind, OpaqueCredential, parse_credential
from parley_auth.repository.api_keys import ApiKeyRepository
from parley_auth.repository.lookups import CrossTenantLookups
from parley_auth.repository.users import UserRepository
from parley_auth.service.context import AuthContext


async def find_credential(
    ctx: AuthContext, text: str, kind: CredentialKind
) -> tuple[OpaqueCredential, UUID] | None:
    """The credential `text` spells (of `kind`) and the tenant it belongs to, looked up
    across tenants; None when it is malformed or nobody's. Whether its secret matches is
    for the caller to check, in the tenant's transaction."""
    credential = parse_credential(text, kind)
    if credential is None:
        return None
    async with ctx.database.system_session() as session:
        tenant_id = await CrossTenantLookups(session).tenant_of_credential(kind, credential.id)
    return None if tenant_id is None else (credential, tenant_id)


@dataclass(frozen=True)
class VerifiedCredential:
    principal: Principal
    expires_at: datetime | None
    # The user an API key acts for: its authority follows theirs (None for access tokens).
    created_by: UUID | None = None


def _invalid() -> Unauthenticated:
    return Unauthenticated("the credential is not valid", code="invalid_credential")


async def verify_credential(ctx: AuthContext, credential: str) -> VerifiedCredential:
    if credential.startswith(f"{CredentialKind.API_KEY.value}_"):
        return await _verify_api_key(ctx, credential)
    return await _verify_access_token(ctx, credential)


async def _verify_api_key(ctx: AuthContext, text: str) -> VerifiedCredential:
    found_key = await find_credential(ctx, text, CredentialKind.API_KEY)
    if found_key is None:
        raise _invalid()
    credential, tenant_id = found_key
    async with ctx.database.tenant_session(tenant_id) as session:
        found = await ApiKeyRepository(session, tenant_id).get_with_digest(credential.id)
        if found is None:
            raise _invalid()
        key, digest = found
        if not credential.matches(digest) or not key.usable_at(datetime.now(UTC)):
            raise _invalid()
        creator = await UserRepository(session, tenant_id).get(key.created_by)
    assert creator is not None  # the foreign key guarantees it
    authority = roles.api_key_authority(key.role, key.scopes, creator.role, creator.active)
    if authority is None:
        raise _invalid()
    role, scopes = authority
    principal = Principal(tenant_id=key.tenant_id, role=role, api_key_id=key.id, scopes=scopes)
    return VerifiedCredential(
        principal=principal, expires_at=key.expires_at, created_by=key.created_by
    )


async def _verify_access_token(ctx: AuthContext, token: str) -> VerifiedCredential:
    try:
        verified = verify_access_token(
            token,
            ctx.keyring.public_keys(),
            issuer=ctx.settings.token_issuer,
            audience=ctx.settings.token_audience,
        )
    except InvalidAccessToken:
        raise _invalid() from None
    principal = verified.principal
    assert principal.user_id is not None
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        credentials = await UserRepository(session, principal.tenant_id).get_credentials(
            principal.user_id
        )
    if credentials is None or not credentials.user.can_sign_in:
        raise _invalid()
    valid_after = credentials.tokens_valid_after
    if valid_after is not None and verified.issued_at < int(valid_after.timestamp()):
        raise _invalid()
    return VerifiedCredential(
        principal=principal, expires_at=datetime.fromtimestamp(verified.expires_at, UTC)
    )
