"""Managing a tenant's people: invite, change role or name, deactivate and reactivate.

New users are invited, never given a password by an admin: a one-time invitation (valid
`invitation_ttl_s`) is emailed to the address, and only there, so accepting it proves the
invitee receives that address's mail; the invitee chooses a password when accepting. Until
then the address is not bound: the same answer comes whether or not it has an account
elsewhere (accepting then says so, to the address's owner only). Invitations are throttled
per tenant and per address. Changes that affect what a user may do (role, deactivation) void
the user's access tokens at once; deactivation also ends every session. Changes that touch
owners lock the tenant row, so two concurrent changes cannot both remove "the other" owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from parley_platform.errors import Conflict, NotFound, PreconditionFailed, RateLimited
from parley_platform.identity import Principal, Role
from parley_platform.ratelimit import Limit, tenant_key
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth import email as emails
from parley_auth.domain import roles
from parley_auth.domain.credentials import CredentialKind, new_credential
from parley_auth.domain.emails import canonical_email
from parley_auth.domain.models import User, UserStatus
from parley_auth.repository.refresh_tokens import RefreshTokenRepository
from parley_auth.repository.tenants import TenantRepository
from parley_auth.repository.users import EmailTaken, UserRepository
from parley_auth.service.context import AuthContext
from parley_auth.service.sessions import void_access_tokens
from parley_auth.service.throttling import PLATFORM_PREFIX, email_digest


@dataclass(frozen=True)
class Invitation:
    """A user waiting to accept an invitation emailed to them."""

    user: User
    expires_at: datetime


def _not_found(user_id: UUID) -> NotFound:
    return NotFound(f"user {user_id} not found")


async def list_users(session: AsyncSession, actor: Principal) -> list[User]:
    actor.require_scope("users:read")
    return await UserRepository(session, actor.tenant_id).list()


async def get_user(session: AsyncSession, actor: Principal, user_id: UUID) -> User:
    actor.require_scope("users:read")
    user = await UserRepository(session, actor.tenant_id).get(user_id)
    if user is None:
        raise _not_found(user_id)
    return user


async def _throttle_invitation(ctx: AuthContext, actor: Principal, email: str) -> None:
    limiter = ctx.login_limiter
    decision = await limiter.try_acquire_all(
        [
            (
                tenant_key(actor.tenant_id, "invitations"),
                Limit.per(ctx.settings.invitations_per_tenant_per_hour, 3600),
            ),
            (
                f"{PLATFORM_PREFIX}:invitations:email:{email_digest(email)}",
                Limit.per(ctx.settings.invitations_per_email_per_hour, 3600),
            ),
        ]
    )
    if not decision.allowed:
        raise RateLimited(
            "too many invitations; try again later", retry_after_s=decision.retry_after_s
        )


async def _send_invitation(
    ctx: AuthContext, session: AsyncSession, actor: Principal, user: User
) -> datetime:
    """A new one-time invitation for `user`, emailed to their address (the previous one stops
    working); returns when it expires."""
    invitation = new_credential(CredentialKind.INVITATION, user.id)
    expires_at = datetime.now(UTC) + timedelta(seconds=ctx.settings.invitation_ttl_s)
    users = UserRepository(session, actor.tenant_id)
    await users.renew_invitation(user.id, invitation.digest(), expires_at)
    tenant = await TenantRepository(session, actor.tenant_id).get()
    inviter = await users.get(actor.user_id) if actor.user_id else None
    base = ctx.settings.public_base_url.rstrip("/")
    # The token travels in the fragment, which no server or log sees.
    await ctx.email.send(
        emails.invitation(
            user.email,
            tenant.name if tenant else "your team",
            inviter.name if inviter else "An administrator",
            f"{base}/invitation#{invitation}",
        )
    )
    return expires_at


async def invite_user(
    ctx: AuthContext,
    session: AsyncSession,
    actor: Principal,
    *,
    email: str,
    name: str,
    role: Role,
) -> Invitation:
    actor.require_scope("users:write")
    roles.check_may_grant(actor, role)
    email = canonical_email(email)
    await _throttle_invitation(ctx, actor, email)
    try:
        user = await UserRepository(session, actor.tenant_id).add_invited(
            uuid.uuid4(), email=email, name=name, role=role
        )
    except EmailTaken:
        # Only this tenant's own users can collide here (an invitation binds no address).
        raise Conflict(
            "someone with this email address is already a user of your organisation",
            code="email_taken",
        ) from None
    expires_at = await _send_invitation(ctx, session, actor, user)
    return Invitation(user=user, expires_at=expires_at)


async def reissue_invitation(
    ctx: AuthContext, session: AsyncSession, actor: Principal, user_id: UUID
) -> Invitation:
    """A new invitation for a user who has not accepted yet (the old one stops working)."""
    actor.require_scope("users:write")
    users = UserRepository(session, actor.tenant_id)
    user = await users.get(user_id, lock=True)
    if user is None:
        raise _not_found(user_id)
    roles.check_may_manage(actor, user.role)
    if user.status != UserStatus.INVITED:
        raise PreconditionFailed(
            "this user has already accepted the invitation, or is deactivated",
            code="not_invited",
        )
    await _throttle_invitation(ctx, actor, user.email)
    expires_at = await _send_invitation(ctx, session, actor, user)
    return Invitation(user=user, expires_at=expires_at)


async def update_user(
    ctx: AuthContext,
    session: AsyncSession,
    actor: Principal,
    user_id: UUID,
    *,
    name: str | None = None,
    role: Role | None = None,
    active: bool | None = None,
) -> User:
    """Rename, change the role of, deactivate or reactivate a user."""
    actor.require_scope("users:write")
    actor.require_role(Role.ADMIN)
    users = UserRepository(session, actor.tenant_id)
    await TenantRepository(session, actor.tenant_id).lock()
    user = await users.get(user_id, lock=True)
    if user is None:
        raise _not_found(user_id)
    roles.check_may_manage(actor, user.role)
    new_role = role if role is not None else user.role
    new_active = active if active is not None else user.active
    if new_role != user.role:
        roles.check_may_grant(actor, new_role)
    if user.role == Role.OWNER and user.active and (new_role != Role.OWNER or not new_active):
        roles.check_owner_remains(await users.count_active_owners() - 1)

    if name is not None and name != user.name:
        await users.rename(user_id, name)
    if new_role != user.role:
        await users.change_role(user_id, new_role)
    if new_active != user.active:
        await users.set_active(user_id, new_active)
    if not new_active and user.active:
        await RefreshTokenRepository(session, actor.tenant_id).revoke_all_of_user(user_id)
    if new_role != user.role or (not new_active and user.active):
        await void_access_tokens(ctx, session, user)
    updated = await users.get(user_id)
    assert updated is not None
    return updated
