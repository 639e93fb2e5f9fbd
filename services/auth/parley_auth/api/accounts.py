"""Sign-up, sign-in, refresh, sign-out, invitations, password change, and /me."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from parley_platform.http.internal import CurrentPrincipal, InternalCallDep

from parley_auth.api.deps import AuthContextDep, ClientAddressDep
from parley_auth.api.schemas import (
    AcceptInvitationIn,
    ApiKeyOut,
    ChangePasswordIn,
    ConfirmSignupIn,
    LoginIn,
    MeOut,
    RefreshIn,
    SessionOut,
    SignupIn,
    SignupOut,
    SignupRequestedOut,
    TenantOut,
    UserOut,
    errors,
)
from parley_auth.service import accounts
from parley_auth.service.api_keys import ApiKeyView
from parley_auth.service.sessions import IssuedSession

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _session_out(issued: IssuedSession) -> SessionOut:
    return SessionOut(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
        user=UserOut.of(issued.user),
    )


@router.post(
    "/signup",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Sign a business up: a link is emailed to confirm the address (nothing is created "
    "before); the same answer whether or not the address has an account",
    responses=errors(400, 422, 429),
)
async def sign_up(
    body: SignupIn, ctx: AuthContextDep, address: ClientAddressDep, _: InternalCallDep
) -> SignupRequestedOut:
    sent_to = await accounts.request_sign_up(
        ctx,
        company_name=body.company_name,
        name=body.name,
        email=body.email,
        password=body.password,
        client_address=address,
    )
    return SignupRequestedOut(email=sent_to)


@router.post(
    "/signup/confirm",
    status_code=status.HTTP_201_CREATED,
    summary="Confirm a sign-up with the emailed link's token: creates the tenant and its "
    "owner, and signs the owner in",
    responses=errors(401, 409, 422),
)
async def confirm_sign_up(
    body: ConfirmSignupIn, ctx: AuthContextDep, _: InternalCallDep
) -> SignupOut:
    tenant, issued = await accounts.confirm_sign_up(ctx, body.token)
    return SignupOut(**_session_out(issued).model_dump(), tenant=TenantOut.of(tenant))


@router.post(
    "/auth/login",
    summary="Sign in with email and password",
    responses=errors(401, 422, 429),
)
async def log_in(
    body: LoginIn, ctx: AuthContextDep, address: ClientAddressDep, _: InternalCallDep
) -> SessionOut:
    issued = await accounts.log_in(
        ctx, email=body.email, password=body.password, client_address=address
    )
    return _session_out(issued)


@router.post(
    "/auth/refresh",
    summary="Exchange a refresh token for a new session (the old token is used up)",
    responses=errors(401, 422),
)
async def refresh(body: RefreshIn, ctx: AuthContextDep, _: InternalCallDep) -> SessionOut:
    return _session_out(await accounts.refresh(ctx, body.refresh_token))


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out: ends the session the refresh token belongs to",
    responses=errors(422),
)
async def log_out(body: RefreshIn, ctx: AuthContextDep, _: InternalCallDep) -> Response:
    await accounts.log_out(ctx, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/accept-invite",
    summary="Accept an invitation: choose a password and sign in",
    responses=errors(401, 409, 422),
)
async def accept_invitation(
    body: AcceptInvitationIn, ctx: AuthContextDep, _: InternalCallDep
) -> SessionOut:
    issued = await accounts.accept_invitation(
        ctx, invitation=body.invitation, password=body.password, name=body.name
    )
    return _session_out(issued)


@router.post(
    "/auth/password",
    summary="Change your password; every other session is signed out",
    responses=errors(400, 401, 403, 422, 429),
)
async def change_password(
    body: ChangePasswordIn,
    principal: CurrentPrincipal,
    ctx: AuthContextDep,
    address: ClientAddressDep,
) -> SessionOut:
    issued = await accounts.change_password(
        ctx,
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
        client_address=address,
    )
    return _session_out(issued)


@router.get("/me", summary="Who you are: tenant, role, user or API key", responses=errors(401))
async def me(principal: CurrentPrincipal, ctx: AuthContextDep) -> MeOut:
    found = await accounts.whoami(ctx, principal)
    return MeOut(
        tenant=TenantOut.of(found.tenant),
        role=principal.role.value,
        scopes=sorted(principal.scopes),
        user=UserOut.of(found.user) if found.user else None,
        api_key=(
            ApiKeyOut.of(ApiKeyView(found.api_key, (principal.role, principal.scopes)))
            if found.api_key
            else None
        ),
    )
