"""The contacts API: the customers behind the caller's visible conversations."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query
from parley_platform.http.internal import CurrentPrincipal

from parley_conversation.api import cursors
from parley_conversation.api.dependencies import CONTACTS_READ_SCOPE, ServicesDep
from parley_conversation.api.schemas import ContactDetail, ContactOut, ContactPage, ConversationOut
from parley_conversation.service.inbox import Inbox

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])

ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Not called through the gateway with a valid credential"},
    403: {"description": "The API key lacks the needed scope"},
}


@router.get(
    "",
    summary="List contacts",
    response_model=ContactPage,
    responses={**ERRORS, 400: {"description": "An invalid cursor"}},
)
async def list_contacts(
    principal: CurrentPrincipal,
    services: ServicesDep,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="Name, username or number contains"),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> ContactPage:
    """Contacts with at least one conversation the caller may see, by name."""
    principal.require_scope(CONTACTS_READ_SCOPE)
    after = cursors.contact_key(cursor) if cursor else None
    async with services.reading(principal) as session:
        found = await Inbox(session, principal).contacts(q, after=after, limit=limit + 1)
    page, next_cursor = cursors.page_of(
        found, limit, "contacts", lambda c: (c.profile_name or "", c.id)
    )
    return ContactPage(items=[ContactOut.of(c) for c in page], next_cursor=next_cursor)


@router.get(
    "/{contact_id}",
    summary="Get a contact",
    response_model=ContactDetail,
    responses={**ERRORS, 404: {"description": "No such contact visible to the caller"}},
)
async def get_contact(
    contact_id: Annotated[UUID, Path()], principal: CurrentPrincipal, services: ServicesDep
) -> ContactDetail:
    """A contact and the conversations with them that the caller may see."""
    principal.require_scope(CONTACTS_READ_SCOPE)
    async with services.reading(principal) as session:
        contact, conversations = await Inbox(session, principal).contact(contact_id)
    return ContactDetail(
        contact=ContactOut.of(contact),
        conversations=[ConversationOut.of(c) for c in conversations],
    )
