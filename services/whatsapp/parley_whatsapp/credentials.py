"""The credentials a channel sends with, asked of auth (`GetSendCredentials`) and reused
briefly; and reporting a rejected token back (`MarkChannelDisconnected`).

Calls run in the tenant of the event being handled (the gRPC client forwards it), so auth
answers only for that tenant's channels. Tokens live in memory only and never in a log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

import grpc
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from parley_platform.errors import NotFound
from parley_platform.grpc import domain_error


@dataclass(frozen=True)
class SendCredentials:
    """How to send as one channel."""

    channel_id: str
    phone_number_id: str
    access_token: str = field(repr=False)
    messages_per_second: int
    disconnected: bool


class CredentialStore:
    """Send credentials by (tenant, channel), cached for `ttl_s`."""

    def __init__(self, channel: Callable[[], grpc.aio.Channel], *, ttl_s: float) -> None:
        self._channel = channel
        self._ttl_s = ttl_s
        self._cache: dict[tuple[UUID, str], tuple[float, SendCredentials]] = {}

    def _stub(self) -> auth_pb2_grpc.AuthServiceStub:
        return auth_pb2_grpc.AuthServiceStub(self._channel())

    async def get(self, tenant: UUID, channel_id: str, phone_number_id: str) -> SendCredentials:
        """The channel's credentials. Raises NotFound when the tenant has no such channel, and
        another ParleyError (e.g. Unavailable) when auth cannot answer."""
        key = (tenant, channel_id or phone_number_id)
        hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            credentials = hit[1]
        else:
            credentials = await self._fetch(channel_id, phone_number_id)
            self._cache[key] = (time.monotonic() + self._ttl_s, credentials)
        if phone_number_id and credentials.phone_number_id != phone_number_id:
            # The command names a number that is not this channel's: never send as another.
            raise NotFound("the channel does not own that phone_number_id")
        return credentials

    async def _fetch(self, channel_id: str, phone_number_id: str) -> SendCredentials:
        try:
            answer = await self._stub().GetSendCredentials(
                auth_pb2.GetSendCredentialsRequest(
                    channel_id=channel_id, phone_number_id=phone_number_id
                )
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc) from exc
        return SendCredentials(
            channel_id=answer.channel_id or channel_id,
            phone_number_id=answer.phone_number_id or phone_number_id,
            access_token=answer.access_token,
            messages_per_second=answer.messages_per_second,
            disconnected=answer.disconnected,
        )

    def forget(self, tenant: UUID, channel_id: str) -> None:
        """Drop cached credentials (Meta rejected the token)."""
        for key in [k for k in self._cache if k[0] == tenant and k[1] == channel_id]:
            del self._cache[key]

    async def mark_disconnected(self, tenant: UUID, channel_id: str, reason: str) -> None:
        """Tell auth the channel's token was rejected (error 190)."""
        self.forget(tenant, channel_id)
        try:
            await self._stub().MarkChannelDisconnected(
                auth_pb2.MarkChannelDisconnectedRequest(channel_id=channel_id, reason=reason)
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc) from exc
