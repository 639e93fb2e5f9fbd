"""Settings of the conversation service (environment variables `PARLEY_CONVERSATION_*`)."""

from __future__ import annotations

from typing import ClassVar

from parley_platform.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    """Conversations, messages and who answers them."""

    model_config = service_config("conversation")
    service_name: ClassVar[str] = "conversation"

    http_port: int = 8082
