"""API keys of the caller's tenant (managed by signed-in owners and admins)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status
from parley_platform.http.internal import CurrentPrincipal

from parley_auth.api.deps import AuthContextDep
from parley_auth.api.schemas import ApiKeyIn, ApiKeyOut, CreatedApiKeyOut, errors, role_of
from parley_auth.service import api_keys

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])


@router.get("", summary="List API keys (without secrets)", responses=errors(401, 403))
async def list_api_keys(principal: CurrentPrincipal, ctx: AuthContextDep) -> list[ApiKeyOut]:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        return [ApiKeyOut.of(k) for k in await api_keys.list_api_keys(session, principal)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key; its secret is shown only in this response",
    responses=errors(400, 401, 403, 422),
)
async def create_api_key(
    body: ApiKeyIn, principal: CurrentPrincipal, ctx: AuthContextDep
) -> CreatedApiKeyOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        key, secret = await api_keys.create_api_key(
            session,
            principal,
            name=body.name,
            role=role_of(body.role),
            scopes=frozenset(body.scopes),
            expires_in_days=body.expires_in_days,
        )
    return CreatedApiKeyOut(**ApiKeyOut.of(key).model_dump(), key=secret)


@router.get(
    "/{key_id}", summary="One API key (without its secret)", responses=errors(401, 403, 404)
)
async def get_api_key(key_id: UUID, principal: CurrentPrincipal, ctx: AuthContextDep) -> ApiKeyOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        return ApiKeyOut.of(await api_keys.get_api_key(session, principal, key_id))


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key (it stops working at once)",
    responses=errors(401, 403, 404),
)
async def revoke_api_key(
    key_id: UUID, principal: CurrentPrincipal, ctx: AuthContextDep
) -> Response:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        await api_keys.revoke_api_key(ctx, session, principal, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
