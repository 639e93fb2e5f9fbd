"""Auth service process wiring: REST API (behind the gateway), gRPC AuthService, key ring,
and the clean-up of expired refresh tokens."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from parley.auth.v1 import auth_pb2_grpc
from parley_platform.http import create_service_app
from parley_platform.runtime import Resources, ServiceRuntime
from parley_platform.settings import Environment

from parley_auth.api import accounts, api_keys, channels, dev_mailbox, teams, users
from parley_auth.config import Settings
from parley_auth.grpc.servicer import ALLOWED_CALLERS, SERVICE_NAME, AuthServicer
from parley_auth.service.context import AuthContext, create_context
from parley_auth.service.housekeeping import (
    PRUNE_INTERVAL_S,
    prune_refresh_tokens,
    prune_signup_requests,
)

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def wire(resources: Resources) -> AuthContext:
        ctx = create_context(settings, resources.database, resources.redis)
        resources.on_stop(ctx.graph.close)
        await ctx.keyring.start()
        resources.every(
            "signing-key-refresh",
            settings.signing_key_reload_s,
            ctx.keyring.refresh,
            initial_delay_s=settings.signing_key_reload_s,
        )
        servicer = AuthServicer(ctx)
        resources.serve_grpc(
            register=[
                lambda server: auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server)
            ],
            service_names=[SERVICE_NAME],
            allowed_callers=ALLOWED_CALLERS,
        )
        resources.every(
            "refresh-token-pruning", PRUNE_INTERVAL_S, lambda: prune_refresh_tokens(ctx)
        )
        resources.every(
            "signup-request-pruning", PRUNE_INTERVAL_S, lambda: prune_signup_requests(ctx)
        )
        if ctx.mailbox is not None and settings.environment == Environment.PRODUCTION:
            log.warning(
                "%s=mailbox in production: confirmation and invitation emails are kept, not "
                "sent, so nobody can complete a sign-up or an invitation; configure SMTP",
                settings.env_name("email_delivery"),
            )

        async def signing_key_ready() -> None:
            ctx.keyring.signing_key()

        resources.readiness_check("signing_key", signing_key_ready)
        return ctx

    runtime = ServiceRuntime(settings, wire, database=True, redis=True)
    routers = [accounts.router, users.router, teams.router, api_keys.router, channels.router]
    if settings.email_delivery == "mailbox" and settings.environment != Environment.PRODUCTION:
        routers.append(dev_mailbox.router)  # /dev/mailbox: the mail a person would receive
    return create_service_app(runtime, title="Parley auth", routers=routers)
