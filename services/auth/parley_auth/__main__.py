"""`python -m parley_auth`: run the auth service.

`python -m parley_auth rotate-signing-key` adds a new token-signing key instead (with the
service's own settings: PARLEY_AUTH_DATABASE_URL, PARLEY_AUTH_ENCRYPTION_KEY). The new key is
published at once and signs after PARLEY_AUTH_SIGNING_KEY_PUBLISH_DELAY_S; tokens signed by
the old key keep working until they expire (docs/security.md).

`python -m parley_auth set-plan TENANT_ID PLAN` puts a tenant on a plan (the gateway's
request limits follow it within PARLEY_GATEWAY_PLAN_CACHE_TTL_S).
"""

import argparse
import asyncio
from uuid import UUID

from parley_platform.crypto import SecretBox
from parley_platform.db import Database
from parley_platform.errors import ParleyError
from parley_platform.logging import configure_logging
from parley_platform.runtime import serve

from parley_auth.config import Settings
from parley_auth.main import create_app
from parley_auth.service import plans
from parley_auth.service.signing import KeyRing


async def rotate_signing_key(settings: Settings) -> None:
    if settings.database_url is None:
        raise SystemExit(f"{settings.env_name('database_url')} is not set")
    database = Database(settings.database_url.get_secret_value(), pool_size=1, instrument=False)
    try:
        await database.verify_role()
        box = SecretBox(settings.encryption_key.get_secret_value(), "signing-keys", service="auth")
        await KeyRing(database, box, settings).rotate(force=True)
    finally:
        await database.dispose()


async def set_plan(settings: Settings, tenant_id: UUID, plan: str) -> None:
    if settings.database_url is None:
        raise SystemExit(f"{settings.env_name('database_url')} is not set")
    database = Database(settings.database_url.get_secret_value(), pool_size=1, instrument=False)
    try:
        await database.verify_role()
        await plans.put_on_plan(database, tenant_id, plan)
    except ParleyError as exc:
        raise SystemExit(exc.message) from None
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m parley_auth",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command", nargs="?", choices=("serve", "rotate-signing-key", "set-plan"), default="serve"
    )
    parser.add_argument("arguments", nargs="*", help="set-plan: TENANT_ID PLAN")
    args = parser.parse_args()
    settings = Settings()
    if args.command == "rotate-signing-key":
        configure_logging(settings.service_name, settings.log_level)
        asyncio.run(rotate_signing_key(settings))
    elif args.command == "set-plan":
        if len(args.arguments) != 2:
            parser.error("set-plan takes TENANT_ID PLAN")
        configure_logging(settings.service_name, settings.log_level)
        asyncio.run(set_plan(settings, UUID(args.arguments[0]), args.arguments[1]))
    else:
        serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
