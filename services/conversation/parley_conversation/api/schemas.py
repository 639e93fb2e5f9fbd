"""Request and response bodies of the inbox API (they are the public OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from parley_conversation.domain.delivery import MessageStatus
from parley_conversation.domain.ownership import State
from parley_conversation.domain.window import window_closes_at, window_is_open
from parley_conversation.repository.contacts import Contact
from parley_conversation.repository.conversations import Conversation
from parley_conversation.repository.messages import Author, Direction, Message
from parley_conversation.repository.transitions import TransitionRecord

MAX_TEXT = 4096  # WhatsApp's limit for a text body


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# ------------------------------------------------------------------------------ responses


class ContactOut(BaseModel):
    """A customer, as WhatsApp identifies them to the business."""

    id: UUID
    wa_id: str | None = Field(description="WhatsApp id (the number's digits, E.164 without +)")
    from_wa_id: str | None = Field(
        description="The `from` number of their messages when it differs from `wa_id`"
    )
    bsuid: str | None = Field(description="Business-scoped user id (e.g. `US.1349...`)")
    profile_name: str | None = Field(description="Their WhatsApp profile name")
    username: str | None = Field(description="Their WhatsApp username, when they set one")
    created_at: datetime

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        return cls(
            id=contact.id,
            wa_id=contact.wa_id,
            from_wa_id=contact.from_wa_id,
            bsuid=contact.bsuid,
            profile_name=contact.profile_name,
            username=contact.username,
            created_at=contact.created_at,
        )


class WindowOut(BaseModel):
    """WhatsApp's 24-hour customer service window."""

    open: bool = Field(description="Free-form replies are allowed now (else only templates)")
    closes_at: datetime | None = Field(
        description="When it closes (or closed); null if the customer never wrote"
    )


class ConversationOut(BaseModel):
    """A conversation with one customer on one WhatsApp number."""

    id: UUID
    state: State = Field(
        description="Who answers: `ai`, `waiting_human` (handed off, waiting for an agent), "
        "`human` (an agent holds it; the AI is silent) or `closed`"
    )
    contact: ContactOut
    channel_id: str = Field(description="The business's WhatsApp channel")
    assignee_user_id: UUID | None = Field(
        description="The user responsible (in `human`: the holder)"
    )
    assignee_team_id: UUID | None = Field(description="The team responsible")
    labels: list[str]
    unread_count: int = Field(description="Customer messages since the team last marked it read")
    last_activity_at: datetime = Field(description="Time of the latest message (list order)")
    last_inbound_at: datetime | None = Field(description="Time of the customer's latest message")
    last_message_preview: str | None
    window: WindowOut
    ai_request_in_flight: bool = Field(description="The AI is working on an answer")
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int = Field(description="Increases with every change of this conversation")

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationOut:
        now = datetime.now(UTC)
        return cls(
            id=conversation.id,
            state=conversation.state,
            contact=ContactOut.of(conversation.contact),
            channel_id=conversation.channel_id,
            assignee_user_id=conversation.assignee_user_id,
            assignee_team_id=conversation.assignee_team_id,
            labels=conversation.labels,
            unread_count=conversation.unread_count,
            last_activity_at=conversation.last_activity_at,
            last_inbound_at=conversation.last_inbound_at,
            last_message_preview=conversation.last_message_preview,
            window=WindowOut(
                open=window_is_open(conversation.last_inbound_at, now),
                closes_at=window_closes_at(conversation.last_inbound_at),
            ),
            ai_request_in_flight=conversation.ai_request_id is not None,
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
            closed_at=conversation.closed_at,
            version=conversation.version,
        )


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")


class MessageOut(BaseModel):
    """One message of a conversation's timeline."""

    id: UUID
    conversation_id: UUID
    direction: Direction = Field(
        description="`inbound` (customer), `outbound` or `internal` (note)"
    )
    author: Author
    author_user_id: UUID | None = Field(description="The agent who wrote it")
    type: str = Field(description="WhatsApp type (text, image, template, ...) or `note`")
    text: str | None = Field(description="Text, caption, or a short description of the content")
    content: dict[str, Any] = Field(description="The full content; media by reference")
    private: bool = Field(description="A private note: never sent to the customer")
    wamid: str | None = Field(description="WhatsApp's message id")
    reply_to_wamid: str | None = Field(description="The message it quotes")
    status: MessageStatus = Field(
        description="received (customer), internal (note); outbound: pending, sent, delivered, "
        "read, played, failed; discarded (an AI reply not sent)"
    )
    status_at: datetime | None
    failure_reason: str | None = Field(description="Why it failed or was discarded")
    error: dict[str, Any] | None = Field(description="WhatsApp's error, verbatim")
    possible_duplicate: bool = Field(
        description="A retry after an uncertain send: the customer may have got it twice"
    )
    occurred_at: datetime = Field(description="When it was written (timeline order)")
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls(
            id=message.id,
            conversation_id=message.conversation_id,
            direction=message.direction,
            author=message.author,
            author_user_id=message.author_user_id,
            type=message.type,
            text=message.text,
            content=message.content,
            private=message.direction == Direction.INTERNAL,
            wamid=message.wamid,
            reply_to_wamid=message.reply_to_wamid,
            status=message.status,
            status_at=message.status_at,
            failure_reason=message.failure_reason,
            error=message.error,
            possible_duplicate=message.possible_duplicate,
            occurred_at=message.occurred_at,
            created_at=message.created_at,
        )


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")


class TransitionOut(BaseModel):
    """One change of who answers or who is responsible: who, when, why."""

    id: int
    from_state: State
    to_state: State
    from_assignee_user_id: UUID | None
    from_assignee_team_id: UUID | None
    to_assignee_user_id: UUID | None
    to_assignee_team_id: UUID | None
    actor_kind: Literal["customer", "ai", "user", "api_key", "system"]
    actor_id: str | None = Field(description="The user or API key, when one acted")
    reason: str
    at: datetime

    @classmethod
    def of(cls, record: TransitionRecord) -> TransitionOut:
        return cls.model_validate(record, from_attributes=True)


class TransitionPage(BaseModel):
    items: list[TransitionOut]
    next_cursor: str | None


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_cursor: str | None


class ContactDetail(BaseModel):
    contact: ContactOut
    conversations: list[ConversationOut] = Field(description="Those the caller may see")


LiveKind = Literal["message_added", "message_status", "state_changed", "assigned", "updated"]


class ConversationLiveEvent(BaseModel):
    """The `data` of a server-sent event about a conversation (the SSE `event` field
    repeats `kind`)."""

    kind: LiveKind
    conversation_id: UUID
    message_id: UUID | None = None
    message_status: str | None = None
    author: str | None = None
    state: State
    assignee_user_id: UUID | None = None
    assignee_team_id: UUID | None = None
    unread_count: int
    detail: str = ""
    at: datetime


class LiveDocument(BaseModel):
    """A knowledge document as of a change of its processing state (the knowledge
    service's `knowledge.document-changed.v1`)."""

    id: UUID
    state: Literal["queued", "processing", "ready", "failed", "deleted"] = Field(
        description="Where the document is in processing; `deleted` once it left search"
    )
    title: str
    kind: str = Field(description="text, file, faq or web_page")
    external_id: str | None
    failure_reason: str | None = Field(description="Why processing failed, for a person")
    revision: int = Field(description="Version number: 1, then +1 per replacement")
    page_count: int
    chunk_count: int
    website_id: UUID | None = Field(description="The imported website it is a page of")
    changed_at: datetime


class DocumentLiveEvent(BaseModel):
    """The `data` of a server-sent event about a knowledge document (only to callers who
    may read the knowledge base)."""

    kind: Literal["document_changed"]
    document: LiveDocument


LiveEvent = ConversationLiveEvent | DocumentLiveEvent


# ------------------------------------------------------------------------------- requests

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
Label = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[^\x00-\x1f]+$"
    ),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplyIn(_Request):
    text: Text = Field(description="The message (at most 4096 characters)")
    reply_to_message_id: UUID | None = Field(
        default=None, description="A message of this conversation to quote"
    )

    _blank = field_validator("text")(_not_blank)


ParameterText = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class TemplateParameterIn(_Request):
    text: ParameterText
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")] | None = Field(
        default=None, description="For templates with named parameters"
    )


Payload = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class TemplateIn(_Request):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,512}$")] = Field(
        description="The approved template's name"
    )
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")] = Field(
        description="Its language code, e.g. `en_GB`, `pt_BR`, `es`"
    )
    parameters: list[TemplateParameterIn | ParameterText] = Field(
        default_factory=list, max_length=50, description="Body placeholders, in order"
    )
    header_parameters: list[TemplateParameterIn | ParameterText] = Field(
        default_factory=list, max_length=5, description="Text header placeholders"
    )
    quick_reply_payloads: list[Payload] = Field(
        default_factory=list, max_length=10, description="Payload of each quick-reply button"
    )

    def parameter_pairs(self, which: str) -> list[tuple[str, str | None]]:
        """(text, name) of each of `which` parameters."""
        return [(p, None) if isinstance(p, str) else (p.text, p.name) for p in getattr(self, which)]


class NoteIn(_Request):
    text: Text = Field(description="Visible to the team only")

    _blank = field_validator("text")(_not_blank)


class LabelsIn(_Request):
    labels: list[Label] = Field(min_length=1, max_length=20)


class AssignIn(_Request):
    user_id: UUID | None = Field(default=None, description="A user of your tenant")
    team_id: UUID | None = Field(default=None, description="A team of your tenant")
