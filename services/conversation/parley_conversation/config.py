"""Settings of the conversation service (environment variables `PARLEY_CONVERSATION_*`)."""

from __future__ import annotations

from typing import ClassVar

from parley_platform.settings import ServiceSettings, service_config
from pydantic import Field


class Settings(ServiceSettings):
    """Conversations, messages and who answers them."""

    model_config = service_config("conversation")
    service_name: ClassVar[str] = "conversation"

    http_port: int = 8082

    # Users and teams live in auth; assignments are validated there.
    auth_grpc_target: str = "127.0.0.1:50051"

    # The analytics summary asks the ai service for LLM usage (GET /api/v1/ai/usage), and
    # answers without it past this bound.
    ai_http_url: str = "http://127.0.0.1:8083"
    analytics_ai_timeout_s: float = Field(default=2.0, gt=0)

    # Messages before the customer's latest one that an AI request carries.
    ai_history_messages: int = Field(default=20, ge=0, le=200)

    # How long a status or media notice for a wamid we do not know yet is kept, waiting for
    # the send outcome (or inbound message) that names it; after that it is dropped.
    early_update_ttl_s: float = Field(default=86_400.0, gt=0)
    # Agent sends' Idempotency-Key values are remembered this long.
    idempotency_key_ttl_s: float = Field(default=86_400.0, gt=0)
    housekeeping_interval_s: float = Field(default=3_600.0, gt=0)

    # Live event stream (GET /api/v1/events).
    stream_queue_size: int = Field(default=512, ge=1)  # per connection; past it: disconnected
    stream_max_connections: int = Field(default=2_000, ge=1)  # per replica
    stream_replay_max_events: int = Field(default=10_000, ge=0)  # Last-Event-ID catch-up bound
