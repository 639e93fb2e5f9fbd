"""Request and response bodies of the auth API.

Request bodies refuse unknown fields (`extra="forbid"`): a client cannot slip in a
`tenant_id`, an `id` or a `role` where none is expected; the tenant always comes from the
verified principal. Responses never carry a password hash, a token digest, an access token
of a channel or an app secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from parley_platform.identity import Role
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from parley_auth.domain.models import Team, Tenant, User, UserStatus
from parley_auth.service.api_keys import ApiKeyView
from parley_auth.service.channels import ChannelView

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TeamName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254)]
# Bounded here so that a huge body is refused before hashing; the policy has the real limits.
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
OpaqueToken = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Digits = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,32}$")]
Secret = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]+$", min_length=8, max_length=256)]
AccessTokenText = Annotated[
    str, StringConstraints(pattern=r"^[\x21-\x7e]+$", min_length=8, max_length=4096)
]
DisplayNumber = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 ()-]{2,31}$")]
MessagesPerSecond = Annotated[int, Field(ge=1, le=1000)]
UserRole = Literal["owner", "admin", "agent"]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------- errors


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None
    trace_id: str | None = None


class ErrorBody(BaseModel):
    """Every error has this body."""

    error: ErrorDetail


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for error statuses."""
    return {status: {"model": ErrorBody} for status in statuses}


# ---------------------------------------------------------------------------- accounts


class SignupIn(Request):
    company_name: Name
    name: Name
    email: Email
    password: Password


class SignupRequestedOut(BaseModel):
    status: Literal["confirmation_sent"] = "confirmation_sent"
    email: str = Field(description="Where the confirmation link was sent")
    message: str = "We sent a link to this address: open it to create your account. It works once."


class ConfirmSignupIn(Request):
    token: OpaqueToken = Field(description="The `su_...` token of the emailed link")


class LoginIn(Request):
    email: Email
    password: Password


class RefreshIn(Request):
    refresh_token: OpaqueToken


class AcceptInvitationIn(Request):
    invitation: OpaqueToken
    password: Password
    name: Name | None = None


class ChangePasswordIn(Request):
    current_password: Password
    new_password: Password


class TenantOut(BaseModel):
    id: UUID
    name: str
    created_at: datetime
    plan: str = Field(description="The plan, which sets the API's request limits")

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls(id=tenant.id, name=tenant.name, created_at=tenant.created_at, plan=tenant.plan)


class UserOut(BaseModel):
    id: UUID
    email: str
    name: str
    role: UserRole
    status: UserStatus
    team_ids: list[UUID]
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role.value,
            status=user.status,
            team_ids=sorted(user.team_ids),
            created_at=user.created_at,
        )


class SessionOut(BaseModel):
    """A signed-in session: send `access_token` as `Authorization: Bearer ...`; exchange
    `refresh_token` at /api/v1/auth/refresh before the access token expires."""

    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name
    expires_in: int
    user: UserOut


class SignupOut(SessionOut):
    tenant: TenantOut


# ---------------------------------------------------------------------------- API keys


class ApiKeyIn(Request):
    name: TeamName
    role: Literal["agent", "admin"] = "agent"
    scopes: list[Annotated[str, StringConstraints(max_length=64)]] = Field(max_length=32)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


def _key_role(role: Role) -> Literal["agent", "admin"]:
    return "admin" if role is Role.ADMIN else "agent"  # keys are never owners


class ApiKeyOut(BaseModel):
    id: UUID
    name: str
    role: Literal["agent", "admin"]
    scopes: list[str]
    created_by: UUID
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    effective_role: Literal["agent", "admin"] | None = Field(
        description="What the key acts as now: never above its creator's current role; null "
        "while the creator is deactivated (the key is refused until they are reactivated)"
    )
    effective_scopes: list[str] = Field(
        description="The key's scopes that its effective role still allows"
    )

    @classmethod
    def of(cls, view: ApiKeyView) -> ApiKeyOut:
        key = view.key
        role, scopes = view.authority or (None, frozenset[str]())
        return cls(
            id=key.id,
            name=key.name,
            role=_key_role(key.role),
            scopes=sorted(key.scopes),
            created_by=key.created_by,
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            effective_role=_key_role(role) if role else None,
            effective_scopes=sorted(scopes),
        )


class CreatedApiKeyOut(ApiKeyOut):
    key: str = Field(description="The secret key: shown only in this response.")


class MeOut(BaseModel):
    tenant: TenantOut
    role: UserRole
    scopes: list[str]
    user: UserOut | None
    api_key: ApiKeyOut | None


# ---------------------------------------------------------------------------- users


class InviteUserIn(Request):
    email: Email
    name: Name
    role: UserRole = "agent"


class UpdateUserIn(Request):
    name: Name | None = None
    role: UserRole | None = None
    active: bool | None = None


class InvitationOut(BaseModel):
    user: UserOut
    sent_to: str = Field(
        description="The invitation (a one-time link) was emailed to this address, and only "
        "there: accepting it proves the invitee receives its mail"
    )
    expires_at: datetime


# ---------------------------------------------------------------------------- teams


class TeamIn(Request):
    name: TeamName


class TeamOut(BaseModel):
    id: UUID
    name: str
    member_ids: list[UUID]
    created_at: datetime

    @classmethod
    def of(cls, team: Team) -> TeamOut:
        return cls(
            id=team.id, name=team.name, member_ids=list(team.member_ids), created_at=team.created_at
        )


# ---------------------------------------------------------------------------- channels


class ChannelIn(Request):
    phone_number_id: Digits
    waba_id: Digits
    display_phone_number: DisplayNumber
    access_token: AccessTokenText
    app_secret: Secret | None = Field(
        default=None, description="Only when the business uses its own Meta app."
    )
    verify_token: Secret | None = Field(
        default=None, description="Own app only; generated when not given."
    )
    messages_per_second: MessagesPerSecond = 80


class ChannelPatchIn(Request):
    waba_id: Digits | None = None
    display_phone_number: DisplayNumber | None = None
    access_token: AccessTokenText | None = None
    app_secret: Secret | None = Field(
        default=None, description="null switches the channel back to Parley's app."
    )
    verify_token: Secret | None = None
    messages_per_second: MessagesPerSecond | None = None


class WebhookOut(BaseModel):
    """What to paste into Meta's App Dashboard (WhatsApp > Configuration)."""

    url: str
    verify_token: str | None = Field(
        description="Set for a business's own app; null when Parley's app receives the "
        "webhooks (Parley's operator configured it)."
    )
    uses_own_app: bool


class ChannelOut(BaseModel):
    id: UUID
    phone_number_id: str
    waba_id: str
    display_phone_number: str
    messages_per_second: int
    uses_own_app: bool
    status: Literal["connected", "disconnected"]
    disconnect_reason: str | None
    webhook: WebhookOut
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: ChannelView, public_base_url: str) -> ChannelOut:
        c = view.channel
        return cls(
            id=c.id,
            phone_number_id=c.phone_number_id,
            waba_id=c.waba_id,
            display_phone_number=c.display_phone_number,
            messages_per_second=c.messages_per_second,
            uses_own_app=c.uses_own_app,
            status="connected" if c.active else "disconnected",
            disconnect_reason=c.disconnect_reason,
            webhook=WebhookOut(
                url=c.webhook_url(public_base_url),
                verify_token=view.verify_token,
                uses_own_app=c.uses_own_app,
            ),
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


def role_of(value: UserRole) -> Role:
    return Role(value)
