"""Settings of the knowledge service (environment variables `PARLEY_KNOWLEDGE_*`)."""

from __future__ import annotations

from typing import ClassVar

from parley_platform.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    """Documents, chunks and retrieval."""

    model_config = service_config("knowledge")
    service_name: ClassVar[str] = "knowledge"
    database_extensions: ClassVar[tuple[str, ...]] = ("vector",)

    http_port: int = 8085
    grpc_port: int = 50052
