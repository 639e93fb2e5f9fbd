"""Signing up, signing in and out, refreshing, accepting an invitation, changing a password.

These entry points start without a verified tenant (except changing a password), so each
finds the tenant first through a narrow SECURITY DEFINER look-up, then does its work in one
transaction of that tenant, under row-level security. They own those transactions.

Every failure to sign in answers the same way, whether the email is unknown, the password
wrong, the account deactivated or not yet activated; an unknown email costs the same
argon2id work as a wrong password. Failed attempts are throttled (service.throttling) before
any of that work is done; successful ones do not count.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from parley_platform.errors import (
    Conflict,
    InvalidRequest,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)
from parley_platform.identity import Principal
from parley_platform.ratelimit import Limit, address_bucket
from prometheus_client import Counter

from parley_auth import email as emails
from parley_auth.domain.credentials import CredentialKind, new_credential
from parley_auth.domain.emails import canonical_email
from parley_auth.domain.models import ApiKey, Tenant, User
from parley_auth.domain.passwords import check_password_policy
from parley_auth.repository.api_keys import ApiKeyRepository
from parley_auth.repository.lookups import CrossTenantLookups
from parley_auth.repository.refresh_tokens import RefreshTokenRepository
from parley_auth.repository.signup_requests import SignupRequestRepository
from parley_auth.repository.tenants import TenantRepository
from parley_auth.repository.users import EmailTaken, UserRepository
from parley_auth.service.context import AuthContext
from parley_auth.service.credentials import find_credential
from parley_auth.service.sessions import (
    IssuedSession,
    end_all_sessions,
    issue_session,
    void_access_tokens,
)
from parley_auth.service.throttling import PLATFORM_PREFIX, Admission, email_digest

log = logging.getLogger(__name__)

SIGN_INS = Counter("parley_auth_sign_ins_total", "Sign-in attempts by outcome", ["outcome"])


def _invalid_login() -> Unauthenticated:
    SIGN_INS.labels("refused").inc()
    return Unauthenticated("the email address or password is not correct", code="invalid_login")


def _invalid_refresh() -> Unauthenticated:
    return Unauthenticated(
        "the refresh token is not valid; sign in again", code="invalid_refresh_token"
    )


@dataclass(frozen=True)
class Whoami:
    tenant: Tenant
    principal: Principal
    user: User | None
    api_key: ApiKey | None


async def _take(ctx: AuthContext, key: str, limit: Limit, what: str) -> None:
    decision = await ctx.login_limiter.try_acquire(key, limit)
    if not decision.allowed:
        raise RateLimited(f"too many {what}; try again later", retry_after_s=decision.retry_after_s)


async def _admit_sign_in(ctx: AuthContext, email: str, client_address: str) -> Admission:
    try:
        return await ctx.sign_in_throttle.admit(email, client_address)
    except RateLimited:
        SIGN_INS.labels("throttled").inc()
        raise


async def request_sign_up(
    ctx: AuthContext,
    *,
    company_name: str,
    name: str,
    email: str,
    password: str,
    client_address: str,
) -> str:
    """Ask to sign a business up: nothing is created until the address is confirmed. A link
    goes to the address (or, if it already has an account, a note saying so); the caller
    gets the same answer either way, so sign-up says nothing about which addresses have
    accounts. Returns the address written to."""
    email = canonical_email(email)
    check_password_policy(password, email=email)
    await _take(
        ctx,
        f"{PLATFORM_PREFIX}:signup:address:{address_bucket(client_address)}",
        Limit.per(ctx.settings.signups_per_address_per_hour, 3600),
        "sign-ups from this address",
    )
    await _take(
        ctx,
        f"{PLATFORM_PREFIX}:signup:email:{email_digest(email)}",
        Limit.per(ctx.settings.signups_per_email_per_hour, 3600),
        "sign-ups for this email address",
    )
    # Hashed either way, so that both answers cost the same.
    password_hash = await ctx.hashing(lambda: ctx.passwords.hash(password))
    async with ctx.database.system_session() as session:
        existing = await CrossTenantLookups(session).account_of_email(email)
    base = ctx.settings.public_base_url.rstrip("/")
    if existing is not None:
        await ctx.email.send(emails.signup_existing_account(email, f"{base}/signin"))
        return email
    tenant_id = uuid.uuid4()
    confirmation = new_credential(CredentialKind.SIGNUP)
    async with ctx.database.tenant_session(tenant_id) as session:
        await SignupRequestRepository(session, tenant_id).add(
            confirmation.id,
            email=email,
            company_name=company_name,
            owner_name=name,
            password_hash=password_hash,
            secret_digest=confirmation.digest(),
            expires_at=datetime.now(UTC)
            + timedelta(seconds=ctx.settings.signup_confirmation_ttl_s),
        )
    # The token travels in the fragment, which no server or log sees.
    link = f"{base}/verify-email#{confirmation}"
    await ctx.email.send(emails.signup_confirmation(email, company_name, link))
    return email


async def confirm_sign_up(ctx: AuthContext, token: str) -> tuple[Tenant, IssuedSession]:
    """The link of a sign-up confirmation was opened: create the tenant and its owner (with
    the password chosen when asking) and sign the owner in."""
    invalid = Unauthenticated(
        "this confirmation link is not valid or has expired; sign up again",
        code="invalid_confirmation",
    )
    found = await find_credential(ctx, token, CredentialKind.SIGNUP)
    if found is None:
        raise invalid
    credential, tenant_id = found
    async with ctx.database.tenant_session(tenant_id) as session:
        requests = SignupRequestRepository(session, tenant_id)
        request = await requests.get_for_update(credential.id)
        if request is None or not credential.matches(request.secret_digest):
            raise invalid
        if request.expires_at <= datetime.now(UTC):
            raise invalid
        await requests.remove(credential.id)
        tenant = await TenantRepository(session, tenant_id).create(request.company_name)
        try:
            owner = await UserRepository(session, tenant_id).add_owner(
                uuid.uuid4(),
                email=request.email,
                name=request.owner_name,
                password_hash=request.password_hash,
            )
        except EmailTaken:
            # Confirmed by the address's owner (they hold the link), so it may be said.
            raise Conflict(
                "this address has had a Parley account since you asked; sign in instead",
                code="email_taken",
            ) from None
        issued = await issue_session(ctx, session, owner, None)
    log.info("tenant signed up", extra={"tenant_id": str(tenant_id)})
    return tenant, issued


async def log_in(
    ctx: AuthContext, *, email: str, password: str, client_address: str
) -> IssuedSession:
    """Check the password and start a session (one answer for every kind of failure)."""
    try:
        email = canonical_email(email)
    except InvalidRequest:
        raise _invalid_login() from None
    admission = await _admit_sign_in(ctx, email, client_address)
    async with ctx.database.system_session() as session:
        account = await CrossTenantLookups(session).account_of_email(email)
    if account is None:
        await ctx.hashing(lambda: ctx.passwords.verify(None, password))
        raise _invalid_login()
    async with ctx.database.tenant_session(account.tenant_id) as session:
        users = UserRepository(session, account.tenant_id)
        credentials = await users.get_credentials(account.user_id)
        stored_hash = credentials.password_hash if credentials else None
        if not await ctx.hashing(lambda: ctx.passwords.verify(stored_hash, password)):
            raise _invalid_login()
        assert credentials is not None and stored_hash is not None
        if not credentials.user.can_sign_in:
            raise _invalid_login()
        if ctx.passwords.needs_rehash(stored_hash):
            new_hash = await ctx.hashing(lambda: ctx.passwords.hash(password))
            await users.set_password(account.user_id, new_hash)
        issued = await issue_session(ctx, session, credentials.user, credentials.tokens_valid_after)
    await ctx.sign_in_throttle.succeeded(admission)
    SIGN_INS.labels("signed_in").inc()
    return issued


async def refresh(ctx: AuthContext, token: str) -> IssuedSession:
    """Exchange a refresh token for a new session. A token already exchanged once revokes its
    whole family (someone else holds a copy) and voids the user's access tokens."""
    found = await find_credential(ctx, token, CredentialKind.REFRESH_TOKEN)
    if found is None:
        raise _invalid_refresh()
    credential, tenant_id = found
    reused = False
    issued: IssuedSession | None = None
    async with ctx.database.tenant_session(tenant_id) as session:
        tokens = RefreshTokenRepository(session, tenant_id)
        stored = await tokens.get_for_update(credential.id)
        if stored is None or not credential.matches(stored.secret_digest):
            raise _invalid_refresh()
        if stored.revoked_at is not None:
            raise _invalid_refresh()
        user_credentials = await UserRepository(session, tenant_id).get_credentials(stored.user_id)
        assert user_credentials is not None  # the foreign key guarantees it
        user = user_credentials.user
        if stored.rotated_at is not None:
            reused = True
            await tokens.revoke_family(stored.family_id)
            await void_access_tokens(ctx, session, user)
        elif stored.expires_at <= datetime.now(UTC) or not user.can_sign_in:
            await tokens.revoke_family(stored.family_id)
        else:
            await tokens.mark_rotated(stored.id)
            issued = await issue_session(
                ctx,
                session,
                user,
                user_credentials.tokens_valid_after,
                family_id=stored.family_id,
            )
    # Raised after the block so that the revocation above is committed.
    if reused:
        log.warning(
            "refresh token reused; its family is revoked",
            extra={"tenant_id": str(tenant_id), "user_id": str(user.id)},
        )
        raise Unauthenticated(
            "this refresh token was already used; every session it started has been signed "
            "out, sign in again",
            code="refresh_token_reused",
        )
    if issued is None:
        raise _invalid_refresh()
    return issued


async def log_out(ctx: AuthContext, token: str) -> None:
    """End the session (refresh-token family) `token` belongs to. Unknown tokens are
    ignored: signing out twice is not an error."""
    found = await find_credential(ctx, token, CredentialKind.REFRESH_TOKEN)
    if found is None:
        return
    credential, tenant_id = found
    async with ctx.database.tenant_session(tenant_id) as session:
        tokens = RefreshTokenRepository(session, tenant_id)
        stored = await tokens.get_for_update(credential.id)
        if stored is None or not credential.matches(stored.secret_digest):
            return
        await tokens.revoke_family(stored.family_id)
        user = await UserRepository(session, tenant_id).get(stored.user_id)
        assert user is not None
        await void_access_tokens(ctx, session, user)


async def accept_invitation(
    ctx: AuthContext, *, invitation: str, password: str, name: str | None
) -> IssuedSession:
    """An invited user sets a password and is signed in; the invitation is used up."""
    invalid = Unauthenticated(
        "this invitation is not valid or has expired; ask an admin for a new one",
        code="invalid_invitation",
    )
    found = await find_credential(ctx, invitation, CredentialKind.INVITATION)
    if found is None:
        raise invalid
    credential, tenant_id = found
    async with ctx.database.tenant_session(tenant_id) as session:
        users = UserRepository(session, tenant_id)
        credentials = await users.get_credentials(credential.id, lock=True)
        if (
            credentials is None
            or credentials.invitation_digest is None
            or not credential.matches(credentials.invitation_digest)
            or credentials.invitation_expires_at is None
            or credentials.invitation_expires_at <= datetime.now(UTC)
            or not credentials.user.active
        ):
            raise invalid
        check_password_policy(password, email=credentials.user.email)
        password_hash = await ctx.hashing(lambda: ctx.passwords.hash(password))
        try:
            await users.accept_invitation(credential.id, password_hash, name)
        except EmailTaken:
            # The invitee holds the link sent to the address, so this may be said to them.
            raise Conflict(
                "this address already has a Parley account (one address is one account); "
                "ask to be invited with another address",
                code="email_taken",
            ) from None
        user = await users.get(credential.id)
        assert user is not None
        return await issue_session(ctx, session, user, credentials.tokens_valid_after)


async def change_password(
    ctx: AuthContext,
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    client_address: str,
) -> IssuedSession:
    """Replace the signed-in user's password; every other session is signed out."""
    if principal.user_id is None:
        raise PermissionDenied("only a signed-in user can change a password")
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        users = UserRepository(session, principal.tenant_id)
        credentials = await users.get_credentials(principal.user_id, lock=True)
        if credentials is None or not credentials.user.can_sign_in:
            raise Unauthenticated("authentication required")
        user = credentials.user
        admission = await _admit_sign_in(ctx, user.email, client_address)
        stored_hash = credentials.password_hash
        if not await ctx.hashing(lambda: ctx.passwords.verify(stored_hash, current_password)):
            raise InvalidRequest("the current password is not correct", code="wrong_password")
        await ctx.sign_in_throttle.succeeded(admission)
        check_password_policy(new_password, email=user.email)
        new_hash = await ctx.hashing(lambda: ctx.passwords.hash(new_password))
        await users.set_password(user.id, new_hash)
        await end_all_sessions(ctx, session, user)
        refreshed = await users.get_credentials(user.id)
        assert refreshed is not None
        return await issue_session(ctx, session, user, refreshed.tokens_valid_after)


async def whoami(ctx: AuthContext, principal: Principal) -> Whoami:
    """The verified principal with its tenant and user (or API key)."""
    tenant_id = principal.tenant_id
    async with ctx.database.tenant_session(tenant_id) as session:
        tenant = await TenantRepository(session, tenant_id).get()
        user_id, key_id = principal.user_id, principal.api_key_id
        user = await UserRepository(session, tenant_id).get(user_id) if user_id else None
        key = await ApiKeyRepository(session, tenant_id).get(key_id) if key_id else None
    if tenant is None or (user is None and key is None):
        raise Unauthenticated("authentication required")
    return Whoami(tenant=tenant, principal=principal, user=user, api_key=key)
