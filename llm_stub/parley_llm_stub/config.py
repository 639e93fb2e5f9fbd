"""Settings of the LLM stand-in (environment variables `PARLEY_LLM_STUB_*`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StubSettings(BaseSettings):
    """How the stand-in behaves."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_LLM_STUB_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8095
    log_level: str = "INFO"
    # Bearer keys accepted; empty: any (or none) is accepted, like a local Ollama.
    api_keys: list[str] = []
    # Chat models answered for; empty: any name (an unknown one gets 404 otherwise).
    chat_models: list[str] = []
    # Dimensions of the embedding vectors (models may ask for fewer, OpenAI's `dimensions`).
    embedding_dimensions: int = Field(default=256, ge=8, le=4096)
