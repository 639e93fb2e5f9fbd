"""Settings of the gateway service (environment variables `PARLEY_GATEWAY_*`)."""

from __future__ import annotations

from typing import ClassVar

from parley_platform.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    """The public edge: webhook ingress and the REST API."""

    model_config = service_config("gateway")
    service_name: ClassVar[str] = "gateway"

    http_port: int = 8080

    auth_grpc_target: str = "127.0.0.1:50051"
