"""Users and teams, as the auth service knows them: an assignment must name a user or team of
the caller's own tenant (the tenant travels in the call's metadata, from the request's
verified principal; another tenant's id is simply not found)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar
from uuid import UUID

import grpc
from parley.auth.v1 import auth_pb2
from parley.auth.v1.auth_pb2_grpc import AuthServiceStub
from parley_platform.errors import InvalidRequest, NotFound, ParleyError, Unavailable
from parley_platform.grpc import domain_error

T = TypeVar("T")


class Directory:
    """Look-ups of the current tenant's users and teams."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._auth = AuthServiceStub(channel)

    async def require_assignable(self, user_id: UUID | None, team_id: UUID | None) -> None:
        """Raise NotFound unless each given id is an (active) user or a team of the tenant."""
        if user_id is not None:
            user = await self._call(
                self._auth.GetUser(auth_pb2.GetUserRequest(user_id=str(user_id))),
                f"user {user_id} not found",
            )
            if not user.active:
                raise InvalidRequest(
                    f"user {user_id} is deactivated and cannot be assigned", code="user_inactive"
                )
        if team_id is not None:
            await self._call(
                self._auth.GetTeam(auth_pb2.GetTeamRequest(team_id=str(team_id))),
                f"team {team_id} not found",
            )

    @staticmethod
    async def _call(call: Awaitable[T], not_found: str) -> T:
        try:
            return await call
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise NotFound(not_found) from exc
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise Unavailable("the user directory is unavailable; try again shortly") from exc
            error: ParleyError = domain_error(exc)
            raise error from exc
