"""The six services as the local stack sees them: settings class, database, migrations,
ports and how they find each other.

Ports come from each service's settings defaults (shifted by `PARLEY_PORT_OFFSET`, or set
per service in the environment). A setting named `<service>_grpc_target` or
`<service>_http_url` in any service is wired to that service's actual address, so adding a
dependency between services needs no change here.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from parley_platform.db import migrations
from parley_platform.db.provision import ServiceDatabase, provision
from parley_platform.settings import ServiceSettings

from parley_devstack.layout import port_offset

# Start order: what others call comes first.
SERVICE_NAMES = ("auth", "knowledge", "conversation", "ai", "whatsapp", "gateway")


@dataclass(frozen=True)
class ServiceSpec:
    """One service of the platform."""

    name: str

    @property
    def module(self) -> str:
        return f"parley_{self.name}"

    def settings_class(self) -> type[ServiceSettings]:
        cls: type[ServiceSettings] = importlib.import_module(f"{self.module}.config").Settings
        return cls

    def migrations_dir(self) -> Path | None:
        """The service's Alembic folder; None for services without a database."""
        package = importlib.import_module(self.module)
        folder = Path(package.__file__ or "").parent / "migrations"
        return folder if folder.is_dir() else None

    def env_prefix(self) -> str:
        return f"PARLEY_{self.name.upper()}_"

    def port(self, field: str) -> int:
        """`http_port` or `grpc_port` as the service will see it (environment, else the
        default shifted by the port offset; 0 stays 0: no gRPC server)."""
        configured = os.environ.get(f"{self.env_prefix()}{field.upper()}")
        if configured:
            return int(configured)
        default = int(self.settings_class().model_fields[field].default)
        return default + port_offset() if default else 0

    def wiring(self) -> dict[str, str]:
        """Environment variables pointing this service at the others it calls."""
        env = {f"{self.env_prefix()}HTTP_PORT": str(self.port("http_port"))}
        if self.port("grpc_port"):
            env[f"{self.env_prefix()}GRPC_PORT"] = str(self.port("grpc_port"))
        fields = self.settings_class().model_fields
        for other in SERVICES:
            if f"{other.name}_grpc_target" in fields and other.port("grpc_port"):
                env[f"{self.env_prefix()}{other.name.upper()}_GRPC_TARGET"] = (
                    f"127.0.0.1:{other.port('grpc_port')}"
                )
            if f"{other.name}_http_url" in fields:
                env[f"{self.env_prefix()}{other.name.upper()}_HTTP_URL"] = (
                    f"http://127.0.0.1:{other.port('http_port')}"
                )
        return env

    def database(
        self, *, host: str, port: int, passwords: dict[str, str], suffix: str = ""
    ) -> ServiceDatabase:
        base = f"parley_{self.name}{suffix}"
        return ServiceDatabase(
            database=base,
            owner_role=f"{base}_owner",
            owner_password=passwords["owner"],
            app_role=f"{base}_app",
            app_password=passwords["app"],
            host=host,
            port=port,
            extensions=self.settings_class().database_extensions,
        )


SERVICES = tuple(ServiceSpec(name) for name in SERVICE_NAMES)


def service(name: str) -> ServiceSpec:
    return next(s for s in SERVICES if s.name == name)


async def prepare_database(admin_dsn: str, spec: ServiceSpec, db: ServiceDatabase) -> None:
    """Create the service's database and roles if needed and migrate it to the latest schema."""
    migrations_dir = spec.migrations_dir()
    assert migrations_dir is not None, f"{spec.name} has no database"
    await provision(admin_dsn, db)
    await asyncio.to_thread(migrations.upgrade, migrations_dir, db.owner_url())


def provision_all_from_environment() -> None:
    """Provision and migrate every service database described by environment variables
    (see `parley-stack provision --help`)."""
    from urllib.parse import urlparse

    admin_dsn = os.environ["PARLEY_POSTGRES_ADMIN_DSN"]
    parsed = urlparse(admin_dsn)
    for spec in SERVICES:
        if spec.migrations_dir() is None:
            continue
        prefix = spec.env_prefix()
        db = spec.database(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            passwords={
                "owner": os.environ[f"{prefix}DB_OWNER_PASSWORD"],
                "app": os.environ[f"{prefix}DB_APP_PASSWORD"],
            },
        )
        asyncio.run(prepare_database(admin_dsn, spec, db))
        print(f"{spec.name}: database {db.database} ready")
