"""Teams of the caller's tenant."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status
from parley_platform.http.internal import CurrentPrincipal

from parley_auth.api.deps import AuthContextDep
from parley_auth.api.schemas import TeamIn, TeamOut, errors
from parley_auth.service import teams

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])


@router.get("", summary="List teams", responses=errors(401, 403))
async def list_teams(principal: CurrentPrincipal, ctx: AuthContextDep) -> list[TeamOut]:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        return [TeamOut.of(t) for t in await teams.list_teams(session, principal)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a team (owner/admin)",
    responses=errors(401, 403, 409, 422),
)
async def create_team(body: TeamIn, principal: CurrentPrincipal, ctx: AuthContextDep) -> TeamOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        return TeamOut.of(await teams.create_team(session, principal, body.name))


@router.get("/{team_id}", summary="One team with its members", responses=errors(401, 403, 404))
async def get_team(team_id: UUID, principal: CurrentPrincipal, ctx: AuthContextDep) -> TeamOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        return TeamOut.of(await teams.get_team(session, principal, team_id))


@router.patch(
    "/{team_id}", summary="Rename a team (owner/admin)", responses=errors(401, 403, 404, 409, 422)
)
async def rename_team(
    team_id: UUID, body: TeamIn, principal: CurrentPrincipal, ctx: AuthContextDep
) -> TeamOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        return TeamOut.of(await teams.rename_team(session, principal, team_id, body.name))


@router.delete(
    "/{team_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a team (owner/admin)",
    responses=errors(401, 403, 404),
)
async def delete_team(team_id: UUID, principal: CurrentPrincipal, ctx: AuthContextDep) -> Response:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        await teams.delete_team(ctx, session, principal, team_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{team_id}/members/{user_id}",
    summary="Add a user to a team (owner/admin)",
    responses=errors(401, 403, 404),
)
async def add_member(
    team_id: UUID, user_id: UUID, principal: CurrentPrincipal, ctx: AuthContextDep
) -> TeamOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        return TeamOut.of(await teams.add_member(ctx, session, principal, team_id, user_id))


@router.delete(
    "/{team_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a user from a team (owner/admin)",
    responses=errors(401, 403, 404),
)
async def remove_member(
    team_id: UUID, user_id: UUID, principal: CurrentPrincipal, ctx: AuthContextDep
) -> Response:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        await teams.remove_member(ctx, session, principal, team_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
