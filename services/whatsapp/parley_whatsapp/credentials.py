"""The credentials a channel sends with, asked of auth (`GetSendCredentials`) and reused
briefly; and reporting a rejected token back (`MarkChannelDisconnected`).

Calls run in the tenant of the event being handled (the gRPC client forwards it), so auth
answers only for that tenant's channels. Tokens live in memory only and never in a log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

import grpc
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from parley_platform.cache import TtlCache
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
    """Send credentials by (tenant, channel), cached for `ttl_s` (parley_platform.cache)."""

    def __init__(self, channel: grpc.aio.Channel, *, ttl_s: float, max_entries: int) -> None:
        self._stub = auth_pb2_grpc.AuthServiceStub(channel)
        self._cache: TtlCache[tuple[UUID, str], SendCredentials] = TtlCache(
            ttl_s=ttl_s, negative_ttl_s=0, max_entries=max_entries
        )

    async def get(self, tenant: UUID, channel_id: str, phone_number_id: str) -> SendCredentials:
        """The channel's credentials. Raises NotFound when the tenant has no such channel, and
        another ParleyError (e.g. Unavailable) when auth cannot answer."""
        credentials = await self._cache.get(
            (tenant, channel_id or phone_number_id),
            lambda: self._fetch(channel_id, phone_number_id),
        )
        assert credentials is not None  # _fetch raises rather than answering "none"
        if phone_number_id and credentials.phone_number_id != phone_number_id:
            # The command names a number that is not this channel's: never send as another.
            raise NotFound("the channel does not own that phone_number_id")
        return credentials

    async def _fetch(self, channel_id: str, phone_number_id: str) -> SendCredentials:
        try:
            answer = await self._stub.GetSendCredentials(
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
        self._cache.invalidate_where(lambda key: key[0] == tenant and key[1] == channel_id)

    async def mark_disconnected(self, tenant: UUID, channel_id: str, reason: str) -> None:
        """Tell auth the channel's token was rejected (error 190)."""
        self.forget(tenant, channel_id)
        try:
            await self._stub.MarkChannelDisconnected(
                auth_pb2.MarkChannelDisconnectedRequest(channel_id=channel_id, reason=reason)
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc) from exc
