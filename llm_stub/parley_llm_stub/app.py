"""The stand-in's HTTP API, shaped like OpenAI's, and its control API.

- `POST /v1/chat/completions`: `{model, messages, temperature?, max_tokens?}` → a chat
  completion answered from the passages in the prompt (see parley_llm_stub.chat), with
  `usage`; unless a fault says otherwise.
- `POST /v1/embeddings`: `{model, input: str | [str], dimensions?}` → OpenAI's list of
  embeddings with `usage`.
- `GET /v1/models`: the models it answers for (any name is accepted unless limited).
- `/control/faults` (POST one, GET, DELETE all), `/control/requests` (GET, DELETE),
  `PUT /control/config` (`{api_keys, models}`): make it fail, see what it was sent, limit
  the keys and models it accepts. Like the WhatsApp sandbox's `/sandbox` API, it is for
  tests and people trying things, never exposed beyond this machine.
- `/healthz`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from parley_llm_stub import chat
from parley_llm_stub.config import StubSettings
from parley_llm_stub.embeddings import count_tokens, embed
from parley_llm_stub.faults import FaultBook, FaultMode


class EmbeddingsRequest(BaseModel):
    model: str = Field(min_length=1)
    input: str | list[str]
    dimensions: int | None = Field(default=None, ge=1)
    encoding_format: str = "float"


class ChatMessage(BaseModel):
    role: str
    content: str = ""


class ChatRequest(BaseModel):
    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, ge=1)


class FaultIn(BaseModel):
    mode: FaultMode
    model: str | None = None
    times: int | None = Field(default=None, ge=1)
    retry_after_s: float = Field(default=1.0, ge=0)
    delay_s: float = Field(default=600.0, ge=0)


class ConfigIn(BaseModel):
    api_keys: list[str] = []
    models: list[str] = []


FOREIGN_LINK = "https://totally-not-phishing.example/login"


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": None}}, status, headers=headers
    )


def create_app(settings: StubSettings | None = None) -> FastAPI:
    """The stand-in server."""
    settings = settings or StubSettings()
    book = FaultBook(api_keys=list(settings.api_keys), models=list(settings.chat_models))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        book.clear()  # release hanging requests so the server can stop

    app = FastAPI(title="Parley LLM stand-in", lifespan=lifespan)
    app.state.faults = book

    def authorize(authorization: str | None) -> None:
        if not book.api_keys:
            return
        token = (authorization or "").removeprefix("Bearer ").strip()
        if token not in book.api_keys:
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
        names = ["stub-embed", *(book.models or ["stub-large", "stub-small"])]
        return {"object": "list", "data": [{"id": n, "object": "model"} for n in names]}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(
        request: ChatRequest, authorization: Annotated[str | None, Header()] = None
    ) -> Response | dict[str, Any]:
        messages = [m.model_dump() for m in request.messages]
        try:
            authorize(authorization)
        except HTTPException:
            book.record(request.model, messages, "unauthorized")
            raise
        if book.models and request.model not in book.models:
            book.record(request.model, messages, "unknown_model")
            return _error(
                404, f"The model `{request.model}` does not exist", "invalid_request_error"
            )
        fault = book.take(request.model)
        mode = fault.mode if fault else None
        book.record(request.model, messages, mode.value if mode else "ok")
        prompt = chat.read_prompt(messages)
        if fault is not None and mode == FaultMode.ERROR_500:
            return _error(
                500, "The server had an error while processing your request", "server_error"
            )
        if fault is not None and mode == FaultMode.RATE_LIMIT:
            return _error(
                429,
                "Rate limit reached for requests",
                "rate_limit_error",
                headers={"Retry-After": f"{fault.retry_after_s:g}"},
            )
        if fault is not None and mode == FaultMode.HANG:
            await book.hang(fault.delay_s)
            return _error(504, "the stand-in was told to hang", "timeout")
        if fault is not None and mode == FaultMode.SLOW:
            await asyncio.sleep(fault.delay_s)
        if mode == FaultMode.MALFORMED_JSON:
            return Response(
                '{"id": "chatcmpl-broken", "choices": [{"mess', media_type="application/json"
            )
        text = chat.answer(prompt)
        if mode == FaultMode.NO_CITATION:
            passage = chat.best_passage(prompt)
            text = passage.text if passage else "We are happy to help with that."
        elif mode == FaultMode.FOREIGN_LINK:
            text = f"{text} Details and payment: {FOREIGN_LINK}"
        elif mode == FaultMode.LEAK_INSTRUCTIONS:
            text = f"Sure! My instructions are: {prompt.system}"
        prompt_tokens = sum(chat.count_tokens(m["content"]) for m in messages)
        completion_tokens = chat.count_tokens(text)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    @app.post("/control/faults", status_code=201)
    async def add_fault(fault: FaultIn) -> dict[str, Any]:
        return book.add(
            fault.mode,
            model=fault.model,
            remaining=fault.times,
            retry_after_s=fault.retry_after_s,
            delay_s=fault.delay_s,
        ).view()

    @app.get("/control/faults")
    async def list_faults() -> list[dict[str, Any]]:
        return [f.view() for f in book.faults]

    @app.delete("/control/faults", status_code=204)
    async def clear_faults() -> None:
        book.clear()

    @app.get("/control/requests")
    async def list_requests(model: str | None = None) -> list[dict[str, Any]]:
        return [r.view() for r in book.requests if model is None or r.model == model]

    @app.delete("/control/requests", status_code=204)
    async def clear_requests() -> None:
        book.requests.clear()

    @app.put("/control/config")
    async def configure(config: ConfigIn) -> dict[str, Any]:
        book.api_keys = list(config.api_keys)
        book.models = list(config.models)
        return {"api_keys": len(book.api_keys), "models": book.models}

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
