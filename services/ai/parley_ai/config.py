"""Settings of the ai service (environment variables `PARLEY_AI_*`)."""

from __future__ import annotations

from typing import ClassVar

from parley_platform.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    """The AI responder."""

    model_config = service_config("ai")
    service_name: ClassVar[str] = "ai"

    http_port: int = 8083

    knowledge_grpc_target: str = "127.0.0.1:50052"
