"""The stand-in's HTTP API, shaped like OpenAI's.

- `POST /v1/embeddings`: `{model, input: str | [str], dimensions?}` → OpenAI's list of
  embeddings with `usage`.
- `GET /v1/models`: the models it answers for (any name is accepted).
- `/healthz`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

from parley_llm_stub.config import StubSettings
from parley_llm_stub.embeddings import count_tokens, embed


class EmbeddingsRequest(BaseModel):
    model: str = Field(min_length=1)
    input: str | list[str]
    dimensions: int | None = Field(default=None, ge=1)
    encoding_format: str = "float"


def create_app(settings: StubSettings | None = None) -> FastAPI:
    """The stand-in server."""
    settings = settings or StubSettings()
    app = FastAPI(title="Parley LLM stand-in")

    def authorize(authorization: str | None) -> None:
        if not settings.api_keys:
            return
        token = (authorization or "").removeprefix("Bearer ").strip()
        if token not in settings.api_keys:
            raise HTTPException(
                401,
                detail={
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        authorize(authorization)
        return {"object": "list", "data": [{"id": "stub-embed", "object": "model"}]}

    @app.post("/v1/embeddings")
    async def embeddings(
        request: EmbeddingsRequest, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        authorize(authorization)
        if request.encoding_format != "float":
            raise HTTPException(400, detail="only encoding_format=float is supported")
        texts = [request.input] if isinstance(request.input, str) else request.input
        dimensions = min(request.dimensions or settings.embedding_dimensions, 4096)
        tokens = sum(count_tokens(t) for t in texts)
        return {
            "object": "list",
            "model": request.model,
            "data": [
                {"object": "embedding", "index": i, "embedding": embed(text, dimensions)}
                for i, text in enumerate(texts)
            ],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    return app
