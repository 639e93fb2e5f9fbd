"""The public API edge: what authenticating and proxying at the gateway adds to a request.

Auth and the gateway run in this process on the local stack (test profile); the same
request, `GET /api/v1/me` (one tenant transaction in auth), is timed four ways:

- direct: straight to auth's port with an internal token (no gateway), the baseline;
- access token: through the gateway, JWT verified locally + one Redis GET (revocation) and
  one Redis script (the tenant's request limit, set out of reach here);
- API key: through the gateway, key verification cached (+ the same two Redis calls);
- sign-in: `POST /api/v1/auth/login` through the gateway (argon2id at the configured cost).

    make bench BENCH_ARGS="api_edge --requests 1000"
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from parley_auth.config import Settings as AuthSettings
from parley_auth.main import create_app as create_auth
from parley_devstack.seeding import AuthApi, sign_up_owner
from parley_devstack.services import prepare_database, service
from parley_gateway.config import Settings as GatewaySettings
from parley_gateway.limits.plans import ApiPlan
from parley_gateway.main import create_app as create_gateway
from parley_platform.db.provision import drop
from parley_platform.settings import PLACEHOLDER_PREFIXES, ServiceSettings
from parley_testing.edge import PASSWORD
from parley_testing.infrastructure import test_infrastructure
from parley_testing.services import RunningApp, principal_headers, serve_app
from pydantic import SecretStr

from bench.stats import summary_ms

T = TypeVar("T", bound=ServiceSettings)
UNLIMITED_PLAN = ApiPlan(
    requests_per_minute=10**9,
    api_key_requests_per_minute=10**9,
    streams=10**6,
    streams_per_principal=10**6,
    replays_per_minute=10**6,
)


def _settings(cls: type[T], **values: Any) -> T:
    """`cls(**values)`, with a random value for every secret left at a placeholder."""
    for name, info in cls.model_fields.items():
        default = info.default
        if isinstance(default, SecretStr) and default.get_secret_value().startswith(
            PLACEHOLDER_PREFIXES
        ):
            values.setdefault(name, secrets.token_urlsafe(32))
    return cls(**values)


async def _time(count: int, call: Callable[[], Awaitable[httpx.Response]]) -> list[float]:
    for _ in range(min(50, count)):  # warm-up: connections, caches
        (await call()).raise_for_status()
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = await call()
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
    return latencies


async def run(requests: int, logins: int) -> None:
    with test_infrastructure() as infra:
        spec = service("auth")
        db = spec.database(
            host=infra.postgres_host,
            port=infra.postgres_port,
            passwords={"owner": secrets.token_urlsafe(16), "app": secrets.token_urlsafe(16)},
            suffix=f"_bench_{uuid.uuid4().hex[:6]}",
        )
        await prepare_database(infra.postgres_admin_dsn, spec, db)
        common = {
            "environment": "test",
            "kafka_bootstrap": infra.kafka_bootstrap,
            "kafka_topic_prefix": f"bench-{uuid.uuid4().hex[:6]}.",
            "redis_url": infra.redis_url,
            "service_token_secret": secrets.token_urlsafe(32),
            "http_port": 0,
            "grpc_port": 0,
            "log_level": "WARNING",
        }
        auth_settings = _settings(
            AuthSettings,
            **common,
            database_url=db.app_url(),
            login_failures_per_account_and_address=1_000_000,
            login_failures_per_address=1_000_000,
            login_failures_per_account=1_000_000,
        )
        try:
            async with serve_app(create_auth(auth_settings)) as auth:
                gateway_settings = _settings(
                    GatewaySettings,
                    **common,
                    auth_http_url=auth.base_url,
                    auth_grpc_target=f"127.0.0.1:{auth.runtime.grpc_port}",
                    # The request limits are counted (their Redis call is part of what is
                    # measured) but set far above what the benchmark sends.
                    api_plans={"standard": UNLIMITED_PLAN},
                )
                async with serve_app(create_gateway(gateway_settings)) as gateway:
                    await _measure(auth, gateway, auth_settings, requests, logins)
        finally:
            await drop(infra.postgres_admin_dsn, db)


async def _measure(
    auth: RunningApp,
    gateway: RunningApp,
    auth_settings: AuthSettings,
    requests: int,
    logins: int,
) -> None:
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    api = AuthApi(gateway.client, mailbox=auth.client)
    owner = await sign_up_owner(api, company="Bench", email=email, password=PASSWORD)
    bearer = api.headers(owner)
    key = await gateway.client.post(
        "/api/v1/api-keys", json={"name": "bench", "scopes": ["users:read"]}, headers=bearer
    )
    key.raise_for_status()
    key_header = {"Authorization": f"Bearer {key.json()['key']}"}

    direct = await _time(
        requests,
        lambda: auth.client.get(
            "/api/v1/me", headers=principal_headers(auth_settings, owner.principal)
        ),
    )
    via_token = await _time(requests, lambda: gateway.client.get("/api/v1/me", headers=bearer))
    via_key = await _time(requests, lambda: gateway.client.get("/api/v1/me", headers=key_header))
    login = await _time(
        logins,
        lambda: gateway.client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        ),
    )
    print(f"GET /api/v1/me, {requests} sequential requests each (after warm-up)")  # noqa: T201
    print(f"  direct to auth (internal token)  : {summary_ms(direct)}")  # noqa: T201
    print(f"  gateway + access token (JWT)     : {summary_ms(via_token)}")  # noqa: T201
    print(f"  gateway + API key (cached)       : {summary_ms(via_key)}")  # noqa: T201
    print(f"POST /api/v1/auth/login through the gateway: {summary_ms(login)}")  # noqa: T201


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--logins", type=int, default=50)
    args = parser.parse_args(argv)
    asyncio.run(run(args.requests, args.logins))


if __name__ == "__main__":
    main()
