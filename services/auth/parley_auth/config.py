"""Settings of the auth service (environment variables `PARLEY_AUTH_*`)."""

from __future__ import annotations

from typing import ClassVar

from parley_platform.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    """Tenants, users, credentials and the WhatsApp channel registry."""

    model_config = service_config("auth")
    service_name: ClassVar[str] = "auth"

    http_port: int = 8081
    grpc_port: int = 50051
