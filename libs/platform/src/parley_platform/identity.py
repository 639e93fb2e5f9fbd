"""Who is acting: the verified principal behind a request (a user or an API key of a
tenant), as the gateway established it and passes it on to the services behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from parley_platform.errors import PermissionDenied


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"


_RANK = {Role.AGENT: 1, Role.ADMIN: 2, Role.OWNER: 3}


@dataclass(frozen=True)
class Principal:
    """A verified actor of one tenant."""

    tenant_id: UUID
    role: Role
    user_id: UUID | None = None
    api_key_id: UUID | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    team_ids: frozenset[UUID] = field(default_factory=frozenset)

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    def has_role(self, minimum: Role) -> bool:
        return _RANK[self.role] >= _RANK[minimum]

    def require_role(self, minimum: Role) -> None:
        """Raise PermissionDenied unless the principal's role is at least `minimum`."""
        if not self.has_role(minimum):
            raise PermissionDenied(f"this needs the {minimum.value} role or higher")

    def has_scope(self, scope: str) -> bool:
        """Whether `scope` allows the principal: API keys must hold it; users are governed
        by their role instead."""
        return not self.is_api_key or scope in self.scopes

    def require_scope(self, scope: str) -> None:
        """API keys must hold `scope`; users are governed by their role instead."""
        if not self.has_scope(scope):
            raise PermissionDenied(f"this API key lacks the {scope!r} scope")

    def to_claims(self) -> dict[str, Any]:
        return {
            "tenant_id": str(self.tenant_id),
            "role": self.role.value,
            "user_id": str(self.user_id) if self.user_id else None,
            "api_key_id": str(self.api_key_id) if self.api_key_id else None,
            "scopes": sorted(self.scopes),
            "team_ids": sorted(str(t) for t in self.team_ids),
        }

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        return cls(
            tenant_id=UUID(claims["tenant_id"]),
            role=Role(claims["role"]),
            user_id=UUID(claims["user_id"]) if claims.get("user_id") else None,
            api_key_id=UUID(claims["api_key_id"]) if claims.get("api_key_id") else None,
            scopes=frozenset(claims.get("scopes") or ()),
            team_ids=frozenset(UUID(t) for t in claims.get("team_ids") or ()),
        )
