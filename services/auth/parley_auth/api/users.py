"""Users of the caller's tenant."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status
from parley_platform.http.internal import CurrentPrincipal

from parley_auth.api.deps import AuthContextDep
from parley_auth.api.schemas import (
    InvitationOut,
    InviteUserIn,
    UpdateUserIn,
    UserOut,
    errors,
    role_of,
)
from parley_auth.service import users
from parley_auth.service.users import Invitation

router = APIRouter(prefix="/api/v1/users", tags=["users"])


def _invitation_out(invitation: Invitation) -> InvitationOut:
    return InvitationOut(
        user=UserOut.of(invitation.user),
        sent_to=invitation.user.email,
        expires_at=invitation.expires_at,
    )


@router.get("", summary="List the tenant's users", responses=errors(401, 403))
async def list_users(principal: CurrentPrincipal, ctx: AuthContextDep) -> list[UserOut]:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        return [UserOut.of(u) for u in await users.list_users(session, principal)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Invite a user (owner/admin): a one-time link is emailed to the address",
    responses=errors(400, 401, 403, 409, 422, 429),
)
async def invite_user(
    body: InviteUserIn, principal: CurrentPrincipal, ctx: AuthContextDep
) -> InvitationOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        invitation = await users.invite_user(
            ctx, session, principal, email=body.email, name=body.name, role=role_of(body.role)
        )
    return _invitation_out(invitation)


@router.get("/{user_id}", summary="One user", responses=errors(401, 403, 404))
async def get_user(user_id: UUID, principal: CurrentPrincipal, ctx: AuthContextDep) -> UserOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        return UserOut.of(await users.get_user(session, principal, user_id))


@router.patch(
    "/{user_id}",
    summary="Rename, change the role of, deactivate or reactivate a user (owner/admin)",
    responses=errors(401, 403, 404, 409, 422),
)
async def update_user(
    user_id: UUID, body: UpdateUserIn, principal: CurrentPrincipal, ctx: AuthContextDep
) -> UserOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        user = await users.update_user(
            ctx,
            session,
            principal,
            user_id,
            name=body.name,
            role=role_of(body.role) if body.role else None,
            active=body.active,
        )
    return UserOut.of(user)


@router.post(
    "/{user_id}/invitation",
    summary="Email a new invitation to a user who has not accepted yet (owner/admin)",
    responses=errors(401, 403, 404, 409, 429),
)
async def reissue_invitation(
    user_id: UUID, principal: CurrentPrincipal, ctx: AuthContextDep
) -> InvitationOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        invitation = await users.reissue_invitation(ctx, session, principal, user_id)
    return _invitation_out(invitation)
