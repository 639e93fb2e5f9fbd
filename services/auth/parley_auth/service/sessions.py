"""Sign-in sessions: access tokens, refresh-token families, and voiding a user's tokens.

A sign-in starts a refresh-token family. Each refresh exchanges the presented token for the
next one in its family; a token presented a second time means someone kept a copy, so the
whole family is revoked. Voiding a user's access tokens (deactivation, role or team change,
password change, logout) writes `tokens_valid_after` in the database and the same instant as
a revocation marker in Redis, which the gateway checks on every request.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from parley_platform.access_tokens import DEFAULT_LEEWAY_S, issue_access_token
from parley_platform.identity import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.domain.credentials import CredentialKind, new_credential
from parley_auth.domain.models import User
from parley_auth.repository.refresh_tokens import RefreshTokenRepository
from parley_auth.repository.users import UserRepository
from parley_auth.service.context import AuthContext


@dataclass(frozen=True)
class IssuedSession:
    """What a client receives when it signs in or refreshes."""

    user: User
    access_token: str
    refresh_token: str
    expires_in: int


def _epoch(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment else 0


def access_token_for(ctx: AuthContext, user: User, tokens_valid_after: datetime | None) -> str:
    """A signed access token for `user`. It is never issued before the user's
    `tokens_valid_after` (which may lie up to a second ahead), so it is not born void."""
    kid, private_key = ctx.keyring.signing_key()
    principal = Principal(
        tenant_id=user.tenant_id, role=user.role, user_id=user.id, team_ids=user.team_ids
    )
    return issue_access_token(
        principal=principal,
        private_key=private_key,
        key_id=kid,
        issuer=ctx.settings.token_issuer,
        audience=ctx.settings.token_audience,
        issued_at=max(int(time.time()), _epoch(tokens_valid_after)),
        ttl_s=ctx.settings.access_token_ttl_s,
        token_id=uuid.uuid4().hex,
    )


async def issue_session(
    ctx: AuthContext,
    session: AsyncSession,
    user: User,
    tokens_valid_after: datetime | None,
    family_id: UUID | None = None,
) -> IssuedSession:
    """Access token plus the next refresh token of `family_id` (a new family if None)."""
    refresh = new_credential(CredentialKind.REFRESH_TOKEN)
    await RefreshTokenRepository(session, user.tenant_id).issue(
        refresh.id,
        family_id=family_id or uuid.uuid4(),
        user_id=user.id,
        secret_digest=refresh.digest(),
        expires_at=datetime.now(UTC) + timedelta(seconds=ctx.settings.refresh_token_ttl_s),
    )
    return IssuedSession(
        user=user,
        access_token=access_token_for(ctx, user, tokens_valid_after),
        refresh_token=str(refresh),
        expires_in=ctx.settings.access_token_ttl_s,
    )


async def void_access_tokens(ctx: AuthContext, session: AsyncSession, user: User) -> datetime:
    """Make every access token `user` holds now invalid, at the gateway at once.

    The marker goes to Redis before the transaction commits: if the commit then fails, the
    user only has to refresh, whereas the other order could leave a deactivated user's token
    working. Tokens issued in the current second are void too (the instant is rounded up).
    """
    valid_after = datetime.fromtimestamp(int(time.time()) + 1, UTC)
    await UserRepository(session, user.tenant_id).void_tokens_issued_before(user.id, valid_after)
    await ctx.revocations.void_user_tokens(
        user.tenant_id,
        user.id,
        int(valid_after.timestamp()),
        keep_s=ctx.settings.access_token_ttl_s + 2 * DEFAULT_LEEWAY_S,
    )
    return valid_after


async def end_all_sessions(ctx: AuthContext, session: AsyncSession, user: User) -> None:
    """Revoke every refresh-token family of `user` and void its access tokens."""
    await RefreshTokenRepository(session, user.tenant_id).revoke_all_of_user(user.id)
    await void_access_tokens(ctx, session, user)
