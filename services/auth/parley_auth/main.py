"""Auth service process wiring: REST API (behind the gateway), gRPC AuthService, key ring."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from parley.auth.v1 import auth_pb2_grpc
from parley_platform.errors import Unavailable
from parley_platform.http import create_service_app
from parley_platform.runtime import ServiceRuntime

from parley_auth.api import accounts, api_keys, channels, teams, users
from parley_auth.config import Settings
from parley_auth.grpc.servicer import ALLOWED_CALLERS, SERVICE_NAME, AuthServicer
from parley_auth.service.context import AuthContext, create_context
from parley_auth.service.housekeeping import prune_forever


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, database=True, redis=True)
    app = create_service_app(
        runtime,
        title="Parley auth",
        routers=[accounts.router, users.router, teams.router, api_keys.router, channels.router],
    )
    app.state.auth = None
    servicer = AuthServicer(lambda: app.state.auth)
    runtime.serve_grpc(
        register=[lambda server: auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server)],
        service_names=[SERVICE_NAME],
        allowed_callers=ALLOWED_CALLERS,
    )
    background: list[asyncio.Task[None]] = []

    async def start() -> None:
        assert runtime.database is not None and runtime.redis is not None
        ctx = create_context(settings, runtime.database, runtime.redis)
        await ctx.keyring.start()
        app.state.auth = ctx
        background.append(asyncio.create_task(prune_forever(ctx), name="refresh-token-prune"))

    async def stop() -> None:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        ctx: AuthContext | None = app.state.auth
        if ctx is not None:
            await ctx.keyring.stop()

    async def signing_key_ready() -> None:
        ctx: AuthContext | None = app.state.auth
        if ctx is None:
            raise Unavailable("starting")
        ctx.keyring.signing_key()

    runtime.on_start(start)
    runtime.on_stop(stop)
    runtime.add_readiness_check("signing_key", signing_key_ready)
    return app
