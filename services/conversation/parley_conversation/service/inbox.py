"""What the team reads: conversation lists, one conversation, its timeline and its
ownership history, contacts. Every read applies the visibility rule; what the caller may
not see does not exist for them."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from parley_platform.errors import NotFound
from parley_platform.identity import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from parley_conversation.repository.contacts import Contact, ContactRepository
from parley_conversation.repository.conversations import (
    Conversation,
    ConversationFilter,
    ConversationRepository,
    visible_to,
)
from parley_conversation.repository.messages import Message, MessageRepository
from parley_conversation.repository.transitions import TransitionRecord, TransitionRepository


class Inbox:
    """Read-only queries of one tenant transaction on behalf of `principal`."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self._principal = principal
        tenant = principal.tenant_id
        self._conversations = ConversationRepository(session, tenant)
        self._messages = MessageRepository(session, tenant)
        self._transitions = TransitionRepository(session, tenant)
        self._contacts = ContactRepository(session, tenant)

    async def conversations(
        self, wanted: ConversationFilter, *, after: tuple[datetime, UUID] | None, limit: int
    ) -> list[Conversation]:
        return await self._conversations.list(self._principal, wanted, after=after, limit=limit)

    async def conversation(self, conversation_id: UUID) -> Conversation:
        found = await self._conversations.get(conversation_id, self._principal)
        if found is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return found

    async def messages(
        self,
        conversation_id: UUID,
        *,
        newest_first: bool,
        after: tuple[datetime, int] | None,
        limit: int,
    ) -> list[Message]:
        await self.conversation(conversation_id)
        return await self._messages.page(
            conversation_id, newest_first=newest_first, after=after, limit=limit
        )

    async def message(self, conversation_id: UUID, message_id: UUID) -> Message:
        await self.conversation(conversation_id)
        found = await self._messages.get(message_id)
        if found is None or found.conversation_id != conversation_id:
            raise NotFound(f"message {message_id} not found")
        return found

    async def message_with_wamid(self, wamid: str) -> Message:
        """The message a WhatsApp id belongs to, if its conversation is visible to the
        caller (other services ask before serving what belongs to a message: its media)."""
        found = await self._messages.by_wamid(wamid)
        if found is None:
            raise NotFound("message not found")
        await self.conversation(found.conversation_id)
        return found

    async def transitions(
        self, conversation_id: UUID, *, after_id: int | None, limit: int
    ) -> list[TransitionRecord]:
        await self.conversation(conversation_id)
        return await self._transitions.of_conversation(
            conversation_id, after_id=after_id, limit=limit
        )

    async def contacts(
        self, query: str | None, *, after: tuple[str, UUID] | None, limit: int
    ) -> list[Contact]:
        return await self._contacts.search(
            visible=visible_to(self._principal), query=query, after=after, limit=limit
        )

    async def contact(self, contact_id: UUID) -> tuple[Contact, list[Conversation]]:
        """A contact and the conversations with them the caller may see (none: not found)."""
        contact = await self._contacts.get(contact_id)
        conversations = (
            await self._conversations.list(
                self._principal, ConversationFilter(contact_id=contact_id), after=None, limit=50
            )
            if contact
            else []
        )
        if contact is None or not conversations:
            raise NotFound(f"contact {contact_id} not found")
        return contact, conversations
