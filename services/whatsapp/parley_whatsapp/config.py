"""Settings of the whatsapp service (environment variables `PARLEY_WHATSAPP_*`)."""

from __future__ import annotations

from typing import ClassVar

from parley_platform.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    """The outbound WhatsApp sender."""

    model_config = service_config("whatsapp")
    service_name: ClassVar[str] = "whatsapp"

    http_port: int = 8084

    auth_grpc_target: str = "127.0.0.1:50051"
