"""Who may see a conversation (the same rule for lists, reads, actions and live events).

Owners and admins see every conversation of their tenant. An agent sees the unassigned
ones, those assigned to them, and those assigned to one of their teams. The SQL form of
this rule is `repository.conversations.visible_to`; both must say the same.
"""

from __future__ import annotations

from uuid import UUID

from parley_platform.identity import Principal, Role


def can_see(
    principal: Principal, assignee_user_id: UUID | None, assignee_team_id: UUID | None
) -> bool:
    """Whether `principal` may see a conversation with this assignment."""
    if principal.has_role(Role.ADMIN):
        return True
    if assignee_user_id is None and assignee_team_id is None:
        return True
    if assignee_user_id is not None and assignee_user_id == principal.user_id:
        return True
    return assignee_team_id is not None and assignee_team_id in principal.team_ids
