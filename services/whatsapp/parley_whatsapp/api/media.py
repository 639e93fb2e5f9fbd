"""`GET /api/v1/media/{storage_id}`: an agent opens a file a customer sent.

Only requests the gateway forwarded with a verified principal pass; the file is looked up in
that principal's tenant session, so another tenant's id is simply not found; and the
conversation service must confirm that the principal may see the conversation of the
message the file came with (the same visibility as the conversation itself), or the file
is not found either.
"""

from __future__ import annotations

import re
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response
from parley_platform.errors import NotFound, PreconditionFailed
from parley_platform.http.errors import error_responses as errors
from parley_platform.http.internal import CurrentPrincipal

from parley_whatsapp.api.dependencies import ComponentsDep
from parley_whatsapp.repository.media import MediaRepository

router = APIRouter(prefix="/api/v1/media", tags=["media"])

# Types a browser may show inline; anything else is offered as a download only.
_INLINE_PREFIXES = ("image/", "audio/", "video/")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ -]")


@router.get(
    "/{storage_id}",
    summary="Download a file a customer sent",
    responses=errors(401, 403, 404, 409),
)
async def download_media(
    storage_id: str, principal: CurrentPrincipal, components: ComponentsDep
) -> Response:
    principal.require_scope("media:read")
    try:
        key = UUID(storage_id)
    except ValueError:
        raise NotFound("media not found") from None
    async with components.database.tenant_session(principal.tenant_id) as session:
        media = await MediaRepository(session, principal.tenant_id).get(key)
    if media is None:
        raise NotFound("media not found")
    await components.conversations.require_visible(principal, media.wamid)
    if media.content is None:
        raise PreconditionFailed(
            f"the file could not be fetched from WhatsApp: {media.error}", code="media_unavailable"
        )
    inline = media.mime_type.startswith(_INLINE_PREFIXES) and "svg" not in media.mime_type
    filename = _UNSAFE_FILENAME.sub("_", media.filename or f"{media.kind or 'media'}-{key}")
    return Response(
        media.content,
        media_type=media.mime_type or "application/octet-stream",
        headers={
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=300",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
