"""Who may do what: roles, the permissions each grants, API-key scopes, and the rules about
owners.

Roles are ranked owner > admin > agent. Permissions and scopes share one vocabulary,
`<resource>:<action>`; an API key's scopes must be permissions of its role. Only an owner
may make or unmake an owner, and a tenant always keeps at least one active owner.
"""

from __future__ import annotations

from parley_platform.errors import InvalidRequest, PermissionDenied, PreconditionFailed
from parley_platform.identity import Principal, Role

_AGENT = frozenset(
    {
        "conversations:read",
        "conversations:write",
        "contacts:read",
        "contacts:write",
        "documents:read",
        "media:read",
        "users:read",
        "teams:read",
        "channels:read",
    }
)
_ADMIN = _AGENT | {
    "documents:write",
    "users:write",
    "teams:write",
    "channels:write",
    "settings:write",
    "api-keys:read",
    "api-keys:write",
}
_OWNER = _ADMIN | {"owners:write"}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.AGENT: _AGENT,
    Role.ADMIN: frozenset(_ADMIN),
    Role.OWNER: frozenset(_OWNER),
}
# Scopes an API key can never hold: keys do not mint keys, and owner powers stay with people.
_NOT_FOR_API_KEYS = frozenset({"api-keys:read", "api-keys:write", "owners:write"})
API_KEY_SCOPES = frozenset(ROLE_PERMISSIONS[Role.ADMIN] - _NOT_FOR_API_KEYS)
API_KEY_ROLES = (Role.AGENT, Role.ADMIN)


_RANKED = (Role.AGENT, Role.ADMIN, Role.OWNER)


def api_key_authority(
    key_role: Role, key_scopes: frozenset[str], creator_role: Role, creator_active: bool
) -> tuple[Role, frozenset[str]] | None:
    """What an API key may do now: never more than its creator may do now. A key made by an
    admin later demoted to agent acts as an agent (its admin-only scopes lapse); a key whose
    creator is deactivated does nothing (None) until the creator is reactivated."""
    if not creator_active:
        return None
    role = min(key_role, creator_role, key=_RANKED.index)
    return role, frozenset(key_scopes & ROLE_PERMISSIONS[role])


def role_allows(role: Role, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def check_api_key_grant(actor: Principal, role: Role, scopes: frozenset[str]) -> None:
    """Raise unless `actor` may create a key with `role` and `scopes`."""
    if role not in API_KEY_ROLES:
        raise InvalidRequest("an API key's role is agent or admin", code="invalid_role")
    if not actor.has_role(role):
        raise PermissionDenied("an API key cannot have a higher role than its creator")
    unknown = sorted(scopes - API_KEY_SCOPES)
    if unknown:
        raise InvalidRequest(
            f"unknown or forbidden scopes: {', '.join(unknown)}",
            code="invalid_scope",
            details={"allowed": sorted(API_KEY_SCOPES)},
        )
    beyond_role = sorted(scopes - ROLE_PERMISSIONS[role])
    if beyond_role:
        raise InvalidRequest(
            f"the {role.value} role does not allow: {', '.join(beyond_role)}",
            code="invalid_scope",
        )


def check_may_manage(actor: Principal, target_role: Role) -> None:
    """Admins manage agents and admins; only an owner manages an owner."""
    actor.require_role(Role.ADMIN)
    if target_role == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied("only an owner can change an owner")


def check_may_grant(actor: Principal, new_role: Role) -> None:
    """Only an owner can make someone an owner."""
    actor.require_role(Role.ADMIN)
    if new_role == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied("only an owner can make someone an owner")


def check_owner_remains(active_owners_after_change: int) -> None:
    """A change must never leave the tenant without an active owner."""
    if active_owners_after_change < 1:
        raise PreconditionFailed(
            "a tenant must keep at least one active owner; make someone else owner first",
            code="last_owner",
        )
