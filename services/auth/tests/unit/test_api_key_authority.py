"""An API key never does more than its creator may do now (domain.roles.api_key_authority)."""

from __future__ import annotations

from parley_auth.domain.roles import api_key_authority
from parley_platform.identity import Role

ADMIN_SCOPES = frozenset({"users:read", "teams:write", "documents:write"})


def test_a_key_keeps_its_role_and_scopes_while_its_creator_may_grant_them() -> None:
    assert api_key_authority(Role.ADMIN, ADMIN_SCOPES, Role.ADMIN, True) == (
        Role.ADMIN,
        ADMIN_SCOPES,
    )
    assert api_key_authority(Role.AGENT, frozenset({"users:read"}), Role.OWNER, True) == (
        Role.AGENT,
        frozenset({"users:read"}),
    )


def test_a_demoted_creator_narrows_the_key_to_the_new_role() -> None:
    assert api_key_authority(Role.ADMIN, ADMIN_SCOPES, Role.AGENT, True) == (
        Role.AGENT,
        frozenset({"users:read"}),
    )


def test_a_deactivated_creator_stops_the_key() -> None:
    assert api_key_authority(Role.ADMIN, ADMIN_SCOPES, Role.OWNER, False) is None
