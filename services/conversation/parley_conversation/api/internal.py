"""Questions other Parley services ask on behalf of a user (`/internal/v1`, never proxied by
the gateway and absent from the public API document).

`GET /internal/v1/messages/by-wamid?wamid=...`: the whatsapp service asks, before handing out
a file a customer sent, whether the user may see the conversation of that message, so that
media downloads follow the same visibility rule as the conversation itself.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from parley_platform.errors import PermissionDenied
from parley_platform.http.internal import CurrentPrincipal, InternalCallDep
from pydantic import BaseModel

from parley_conversation.api.dependencies import READ_SCOPE, ServicesDep
from parley_conversation.service.inbox import Inbox

router = APIRouter(prefix="/internal/v1", include_in_schema=False)

# The services that may ask (each question is on behalf of the principal they forward).
CALLERS = frozenset({"whatsapp"})


class VisibleMessage(BaseModel):
    conversation_id: UUID
    message_id: UUID


@router.get("/messages/by-wamid")
async def visible_message(
    call: InternalCallDep,
    principal: CurrentPrincipal,
    services: ServicesDep,
    # A query parameter: WhatsApp ids are base64 and may contain "/".
    wamid: Annotated[str, Query(min_length=1, max_length=512)],
) -> VisibleMessage:
    """The message with this WhatsApp id, if the principal may see its conversation (404
    otherwise, the same as for a message that does not exist)."""
    if call.caller not in CALLERS:
        raise PermissionDenied("this question is for Parley's own services")
    principal.require_scope(READ_SCOPE)
    async with services.reading(principal) as session:
        message = await Inbox(session, principal).message_with_wamid(wamid)
    return VisibleMessage(conversation_id=message.conversation_id, message_id=message.id)
