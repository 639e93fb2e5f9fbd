"""AuthService over gRPC: thin translations between protobuf and the use cases.

Every call is authenticated as a Parley service by the platform's server; `ALLOWED_CALLERS`
narrows each method to the services that need it. Methods about a tenant's data take the
tenant from the call's verified metadata, never from the request, so another tenant's id is
simply not found.
"""

from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID

import grpc
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from parley_platform.context import current_tenant
from parley_platform.errors import InvalidRequest
from parley_platform.identity import Principal, Role

from parley_auth.domain.models import Team, User
from parley_auth.service import channels, credentials, directory
from parley_auth.service.channels import ChannelSecrets
from parley_auth.service.context import AuthContext

SERVICE_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name


def _method(name: str) -> str:
    return f"/{SERVICE_NAME}/{name}"


ALLOWED_CALLERS: dict[str, set[str]] = {
    _method("VerifyCredential"): {"gateway"},
    _method("ResolveChannel"): {"gateway"},
    _method("GetChannel"): {"gateway"},
    _method("GetSendCredentials"): {"whatsapp"},
    _method("MarkChannelDisconnected"): {"whatsapp"},
    _method("GetUser"): {"conversation", "gateway"},
    _method("GetTeam"): {"conversation", "gateway"},
    _method("GetTenant"): {"gateway"},
    # CheckPermission and GetJwks: any authenticated Parley service.
}

_ROLES = {
    Role.OWNER: auth_pb2.ROLE_OWNER,
    Role.ADMIN: auth_pb2.ROLE_ADMIN,
    Role.AGENT: auth_pb2.ROLE_AGENT,
}


def _tenant() -> UUID:
    tenant = current_tenant()
    if tenant is None:
        raise InvalidRequest("this call needs the caller's tenant in its metadata")
    return tenant


def _uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidRequest(f"{what} is not a valid id") from None


def _principal(
    principal: Principal, expires_at: datetime | None, created_by: UUID | None = None
) -> auth_pb2.Principal:
    return auth_pb2.Principal(
        tenant_id=str(principal.tenant_id),
        user_id=str(principal.user_id) if principal.user_id else "",
        api_key_id=str(principal.api_key_id) if principal.api_key_id else "",
        role=_ROLES[principal.role],
        scopes=sorted(principal.scopes),
        team_ids=sorted(str(t) for t in principal.team_ids),
        expires_at_unix=int(expires_at.timestamp()) if expires_at else 0,
        created_by_user_id=str(created_by) if created_by else "",
    )


def _channel(found: ChannelSecrets) -> auth_pb2.Channel:
    c = found.channel
    return auth_pb2.Channel(
        channel_id=str(c.id),
        tenant_id=str(c.tenant_id),
        phone_number_id=c.phone_number_id,
        waba_id=c.waba_id,
        display_phone_number=c.display_phone_number,
        app_secret=found.app_secret or "",
        verify_token=found.verify_token,
        uses_own_app=c.uses_own_app,
        active=c.active,
        messages_per_second=c.messages_per_second,
    )


def _user(user: User) -> auth_pb2.User:
    return auth_pb2.User(
        user_id=str(user.id),
        tenant_id=str(user.tenant_id),
        email=user.email,
        name=user.name,
        role=_ROLES[user.role],
        active=user.active,
        team_ids=sorted(str(t) for t in user.team_ids),
    )


def _team(team: Team) -> auth_pb2.Team:
    return auth_pb2.Team(
        team_id=str(team.id),
        tenant_id=str(team.tenant_id),
        name=team.name,
        member_user_ids=[str(m) for m in team.member_ids],
    )


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    """The AuthService methods."""

    def __init__(self, context: AuthContext) -> None:
        self._context = context

    def _ctx(self) -> AuthContext:
        return self._context

    async def VerifyCredential(
        self, request: auth_pb2.VerifyCredentialRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.Principal:
        verified = await credentials.verify_credential(self._ctx(), request.credential)
        return _principal(verified.principal, verified.expires_at, verified.created_by)

    async def ResolveChannel(
        self, request: auth_pb2.ResolveChannelRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.Channel:
        if not request.phone_number_id.isdigit():
            raise InvalidRequest("phone_number_id must be digits")
        return _channel(
            await channels.resolve_phone_number_id(self._ctx(), request.phone_number_id)
        )

    async def GetChannel(
        self, request: auth_pb2.GetChannelRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.Channel:
        channel_id = _uuid(request.channel_id, "channel_id")
        return _channel(await channels.channel_by_id(self._ctx(), channel_id))

    async def GetSendCredentials(
        self, request: auth_pb2.GetSendCredentialsRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.SendCredentials:
        ctx = self._ctx()
        channel_id = _uuid(request.channel_id, "channel_id") if request.channel_id else None
        tenant = _tenant()
        async with ctx.database.tenant_session(tenant) as session:
            found = await channels.send_credentials(
                ctx,
                session,
                tenant,
                channel_id=channel_id,
                phone_number_id=request.phone_number_id,
            )
        return auth_pb2.SendCredentials(
            channel_id=str(found.channel.id),
            phone_number_id=found.channel.phone_number_id,
            access_token=found.access_token,
            messages_per_second=found.channel.messages_per_second,
            disconnected=not found.channel.active,
        )

    async def MarkChannelDisconnected(
        self, request: auth_pb2.MarkChannelDisconnectedRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.MarkChannelDisconnectedResponse:
        channel_id = _uuid(request.channel_id, "channel_id")
        tenant = _tenant()
        async with self._ctx().database.tenant_session(tenant) as session:
            await channels.mark_disconnected(session, tenant, channel_id, request.reason)
        return auth_pb2.MarkChannelDisconnectedResponse()

    async def CheckPermission(
        self, request: auth_pb2.CheckPermissionRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.CheckPermissionResponse:
        user_id = _uuid(request.user_id, "user_id")
        tenant = _tenant()
        async with self._ctx().database.tenant_session(tenant) as session:
            allowed = await directory.user_may(session, tenant, user_id, request.permission)
        return auth_pb2.CheckPermissionResponse(allowed=allowed)

    async def GetJwks(
        self, request: auth_pb2.GetJwksRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.Jwks:
        return auth_pb2.Jwks(json=json.dumps(self._ctx().keyring.jwks()))

    async def GetUser(
        self, request: auth_pb2.GetUserRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.User:
        user_id = _uuid(request.user_id, "user_id")
        tenant = _tenant()
        async with self._ctx().database.tenant_session(tenant) as session:
            return _user(await directory.find_user(session, tenant, user_id))

    async def GetTeam(
        self, request: auth_pb2.GetTeamRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.Team:
        team_id = _uuid(request.team_id, "team_id")
        tenant = _tenant()
        async with self._ctx().database.tenant_session(tenant) as session:
            return _team(await directory.find_team(session, tenant, team_id))

    async def GetTenant(
        self, request: auth_pb2.GetTenantRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.Tenant:
        tenant_id = _tenant()
        async with self._ctx().database.tenant_session(tenant_id) as session:
            tenant = await directory.find_tenant(session, tenant_id)
        return auth_pb2.Tenant(tenant_id=str(tenant.id), name=tenant.name, plan=tenant.plan)
