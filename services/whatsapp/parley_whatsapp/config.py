"""Settings of the whatsapp service (environment variables `PARLEY_WHATSAPP_*`)."""

from __future__ import annotations

from typing import ClassVar

from parley_platform.settings import ServiceSettings, service_config
from pydantic import Field


class Settings(ServiceSettings):
    """The outbound WhatsApp sender and the inbound media fetcher."""

    model_config = service_config("whatsapp")
    service_name: ClassVar[str] = "whatsapp"

    http_port: int = 8084

    auth_grpc_target: str = "127.0.0.1:50051"
    # The conversation service decides who may see a conversation, so who may open its
    # media (asked on each download).
    conversation_http_url: str = "http://127.0.0.1:8082"
    conversation_timeout_s: float = Field(default=3.0, gt=0)

    # The Cloud API (the sandbox is just another base URL). The version is pinned, never
    # discovered at run time.
    graph_api_base_url: str = "https://graph.facebook.com"
    graph_api_version: str = Field(default="v25.0", pattern=r"^v\d+\.\d+$")
    graph_connect_timeout_s: float = Field(default=3.0, gt=0)
    graph_timeout_s: float = Field(default=10.0, gt=0)
    # Hosts (besides the Graph API's) that may receive the bearer token to download media.
    media_download_host_suffixes: list[str] = [".fbsbx.com", ".facebook.com", ".whatsapp.net"]

    # Send credentials from auth are reused this long (a 190 forgets them at once).
    credentials_cache_ttl_s: float = Field(default=60.0, ge=0)
    credentials_cache_size: int = Field(default=10_000, ge=1)

    # Meta's limits, enforced before each request and shared by every replica via Redis.
    default_messages_per_second: int = Field(default=80, ge=1)
    # Requests are spaced evenly at this share of a number's limit (the pace), and right before
    # one leaves it must also pass a sliding window (every replica's) of the requests let in
    # and not yet answered, or answered within the last second plus `throughput_guard_s`. Meta
    # counts a request between its leaving and its answer, so what Meta can count in any
    # second is bounded by the limit however late a request was scheduled (event-loop lag, a
    # busy machine), with no guard needed; the guard is a margin an operator may add.
    # docs/performance.md has the measurements behind both defaults.
    throughput_headroom: float = Field(default=0.97, gt=0, le=1)
    throughput_guard_s: float = Field(default=0.0, ge=0, le=1)
    pair_messages_per_s: float = Field(default=1 / 6, gt=0)
    pair_burst: int = Field(default=10, ge=1)
    # A send that would wait longer than this for the pair limit fails instead of blocking
    # the partition (the customer is being flooded).
    pair_max_wait_s: float = Field(default=20.0, ge=0)

    # Retries of one send command (retryable Meta errors, timeouts): bounded in count and
    # time, so a partition is never blocked for long.
    send_max_attempts: int = Field(default=8, ge=1)
    send_retry_budget_s: float = Field(default=60.0, gt=0)
    send_backoff_initial_s: float = Field(default=0.5, gt=0)
    send_backoff_max_s: float = Field(default=15.0, gt=0)

    # Inbound media: stored in this service's database (bytea) up to this size.
    media_max_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    media_download_attempts: int = Field(default=3, ge=1)
