"""Embeddings from any OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, vLLM,
text-embeddings-inference, the LLM stand-in): base URL, model and key are settings."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx

from parley_knowledge.config import Settings

log = logging.getLogger(__name__)


class EmbeddingUnavailable(RuntimeError):
    """The provider did not return embeddings (down, refused, malformed answer)."""


class EmbeddingClient:
    """Turns texts into vectors with the configured model."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 64,
        timeout_s: float = 20.0,
    ) -> None:
        if not model:
            raise ValueError("an embedding provider needs a model name")
        self.model = model
        self._dimensions = dimensions
        self._batch_size = batch_size
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddingClient | None:
        """The configured client, or None when no provider is configured."""
        if not settings.embedding_base_url:
            return None
        return cls(
            settings.embedding_base_url,
            settings.embedding_model,
            api_key=(
                settings.embedding_api_key.get_secret_value()
                if settings.embedding_api_key
                else None
            ),
            dimensions=settings.embedding_dimensions,
            batch_size=settings.embedding_batch_size,
            timeout_s=settings.embedding_timeout_s,
        )

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(await self._batch(texts[start : start + self._batch_size]))
        return vectors

    async def _batch(self, texts: Sequence[str]) -> list[list[float]]:
        body: dict[str, object] = {"model": self.model, "input": list(texts)}
        if self._dimensions:
            body["dimensions"] = self._dimensions
        try:
            response = await self._client.post("embeddings", json=body)
        except httpx.HTTPError as exc:
            raise EmbeddingUnavailable(
                f"embedding provider unreachable: {type(exc).__name__}"
            ) from exc
        if response.status_code != 200:
            raise EmbeddingUnavailable(f"embedding provider answered {response.status_code}")
        try:
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            vectors = [[float(v) for v in item["embedding"]] for item in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingUnavailable("embedding provider's answer is malformed") from exc
        if len(vectors) != len(texts) or len({len(v) for v in vectors}) > 1:
            raise EmbeddingUnavailable("embedding provider's answer does not match the request")
        return vectors

    async def close(self) -> None:
        await self._client.aclose()
