"""What the auth service keeps: tenants, users, teams, API keys and WhatsApp channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from parley_platform.identity import Role

# Every tenant starts on this plan; the gateway maps plan names to request limits.
DEFAULT_PLAN = "standard"
PLAN_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"


@dataclass(frozen=True)
class Tenant:
    id: UUID
    name: str
    created_at: datetime
    plan: str = DEFAULT_PLAN


class UserStatus(StrEnum):
    INVITED = "invited"  # has not accepted the invitation (no password yet)
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class User:
    tenant_id: UUID
    id: UUID
    email: str
    name: str
    role: Role
    active: bool
    has_password: bool
    created_at: datetime
    team_ids: frozenset[UUID] = field(default_factory=frozenset)

    @property
    def status(self) -> UserStatus:
        if not self.active:
            return UserStatus.DEACTIVATED
        return UserStatus.ACTIVE if self.has_password else UserStatus.INVITED

    @property
    def can_sign_in(self) -> bool:
        return self.status == UserStatus.ACTIVE


@dataclass(frozen=True)
class Team:
    tenant_id: UUID
    id: UUID
    name: str
    created_at: datetime
    member_ids: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class ApiKey:
    tenant_id: UUID
    id: UUID
    name: str
    role: Role
    scopes: frozenset[str]
    created_by: UUID
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class WhatsAppChannel:
    """A business number registered by a tenant. Secrets are not part of it: they are
    opened only where they are needed (see service.channels)."""

    tenant_id: UUID
    id: UUID
    phone_number_id: str
    waba_id: str
    display_phone_number: str
    uses_own_app: bool
    messages_per_second: int
    disconnected_at: datetime | None
    disconnect_reason: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def active(self) -> bool:
        return self.disconnected_at is None

    def webhook_url(self, public_base_url: str) -> str:
        """Where Meta must send this number's webhooks: the platform app's one endpoint, or a
        per-channel endpoint when the business brings its own Meta app (its own secret)."""
        base = public_base_url.rstrip("/")
        if self.uses_own_app:
            return f"{base}/webhooks/whatsapp/{self.id}"
        return f"{base}/webhooks/whatsapp"
