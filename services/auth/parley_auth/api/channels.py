"""WhatsApp channels of the caller's tenant."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status
from parley_platform.http.internal import CurrentPrincipal

from parley_auth.api.deps import AuthContextDep
from parley_auth.api.schemas import ChannelIn, ChannelOut, ChannelPatchIn, errors
from parley_auth.service import channels

router = APIRouter(prefix="/api/v1/channels/whatsapp", tags=["whatsapp channels"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a WhatsApp business number (owner/admin)",
    responses=errors(400, 401, 403, 409, 422, 503),
)
async def register_channel(
    body: ChannelIn, principal: CurrentPrincipal, ctx: AuthContextDep
) -> ChannelOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        view = await channels.register_channel(
            ctx,
            session,
            principal,
            phone_number_id=body.phone_number_id,
            waba_id=body.waba_id,
            display_phone_number=body.display_phone_number,
            access_token=body.access_token,
            app_secret=body.app_secret,
            verify_token=body.verify_token,
            messages_per_second=body.messages_per_second,
        )
    return ChannelOut.of(view, ctx.settings.public_base_url)


@router.get("", summary="List WhatsApp channels", responses=errors(401, 403))
async def list_channels(principal: CurrentPrincipal, ctx: AuthContextDep) -> list[ChannelOut]:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        views = await channels.list_channels(ctx, session, principal)
    return [ChannelOut.of(v, ctx.settings.public_base_url) for v in views]


@router.get("/{channel_id}", summary="One WhatsApp channel", responses=errors(401, 403, 404))
async def get_channel(
    channel_id: UUID, principal: CurrentPrincipal, ctx: AuthContextDep
) -> ChannelOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        view = await channels.get_channel(ctx, session, principal, channel_id)
    return ChannelOut.of(view, ctx.settings.public_base_url)


@router.patch(
    "/{channel_id}",
    summary="Change a channel: new access token, own app secret, verify token, rate (owner/admin)",
    responses=errors(400, 401, 403, 404, 422, 503),
)
async def update_channel(
    channel_id: UUID, body: ChannelPatchIn, principal: CurrentPrincipal, ctx: AuthContextDep
) -> ChannelOut:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        view = await channels.update_channel(
            ctx, session, principal, channel_id, body.model_dump(exclude_unset=True)
        )
    return ChannelOut.of(view, ctx.settings.public_base_url)


@router.delete(
    "/{channel_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a channel (owner/admin)",
    responses=errors(401, 403, 404),
)
async def delete_channel(
    channel_id: UUID, principal: CurrentPrincipal, ctx: AuthContextDep
) -> Response:
    async with ctx.database.tenant_session(principal.tenant_id) as session:
        await channels.delete_channel(session, principal, channel_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
