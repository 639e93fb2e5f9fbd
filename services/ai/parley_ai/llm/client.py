"""One chat-completions call to an OpenAI-compatible API (OpenRouter, OpenAI, vLLM, Ollama,
llama.cpp server, the local stand-in), over httpx.

A call either returns a `Completion` or raises a `ProviderError` whose `kind` says what went
wrong, which decides whether it is retried (429, 5xx, timeouts, unreachable) and whether it
counts against the model's circuit breaker (everything that says the provider is unwell; not
the caller's own mistakes such as a wrong key, nor 429, which is the account's quota).
The API key goes only into the Authorization header; errors and logs never carry it.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import httpx

from parley_ai.domain.prompt import estimate_tokens


class FailureKind(StrEnum):
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    SERVER_ERROR = "server_error"  # 5xx
    RATE_LIMITED = "rate_limited"  # 429
    REJECTED = "rejected"  # other 4xx: key, model name, request
    MALFORMED = "malformed"  # not a chat completion
    BREAKER_OPEN = "breaker_open"  # not sent: the model's breaker is open
    CANCELLED = "cancelled"  # a newer customer message superseded the request


RETRYABLE = frozenset(
    {
        FailureKind.TIMEOUT,
        FailureKind.UNREACHABLE,
        FailureKind.SERVER_ERROR,
        FailureKind.RATE_LIMITED,
    }
)
BREAKER_FAILURES = frozenset(
    {FailureKind.TIMEOUT, FailureKind.UNREACHABLE, FailureKind.SERVER_ERROR, FailureKind.MALFORMED}
)


class ProviderError(Exception):
    """A chat-completions call that did not produce a completion."""

    def __init__(
        self,
        kind: FailureKind,
        detail: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def counts_against_breaker(self) -> bool:
        return self.kind in BREAKER_FAILURES


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to call: base URL (ending in `/v1` or the provider's equivalent),
    API key (may be empty for local servers) and model."""

    base_url: str
    api_key: str
    model: str

    def __repr__(self) -> str:  # never show the key
        return f"Endpoint(base_url={self.base_url!r}, model={self.model!r})"


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    tokens_estimated: bool  # the provider reported no usage


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: a number of seconds or an HTTP date (None if absent or
    unreadable)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _error_message(response: httpx.Response) -> str:
    """The provider's own error message (OpenAI's `{"error": {"message"}}`), short."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])[:300]
    if isinstance(error, str):
        return error[:300]
    return response.reason_phrase or f"HTTP {response.status_code}"


def _failure(response: httpx.Response) -> ProviderError:
    status = response.status_code
    message = _error_message(response)
    if status == 429:
        return ProviderError(
            FailureKind.RATE_LIMITED,
            f"rate limited (429): {message}",
            status=status,
            retry_after_s=retry_after_seconds(response.headers.get("retry-after")),
        )
    if status >= 500:
        return ProviderError(
            FailureKind.SERVER_ERROR,
            f"provider error ({status}): {message}",
            status=status,
            retry_after_s=retry_after_seconds(response.headers.get("retry-after")),
        )
    if status in (401, 403):
        return ProviderError(
            FailureKind.REJECTED,
            f"the provider rejected the API key ({status}): {message}",
            status=status,
        )
    if status == 404:
        return ProviderError(
            FailureKind.REJECTED,
            f"not found (404): check the base URL and the model name: {message}",
            status=status,
        )
    return ProviderError(
        FailureKind.REJECTED, f"request refused ({status}): {message}", status=status
    )


def parse_completion(body: Any, messages: list[dict[str, str]], model: str) -> Completion:
    """The completion in an OpenAI-shaped response body (MALFORMED when it is not one)."""
    try:
        choice = body["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ProviderError(FailureKind.MALFORMED, "the response is not a chat completion") from exc
    if not isinstance(content, str):
        raise ProviderError(FailureKind.MALFORMED, "the completion has no text content")
    usage = body.get("usage") if isinstance(body, dict) else None
    prompt_tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    completion_tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    estimated = not (isinstance(prompt_tokens, int) and isinstance(completion_tokens, int))
    if estimated:
        prompt_tokens = sum(estimate_tokens(m["content"]) for m in messages)
        completion_tokens = estimate_tokens(content)
    reported_model = body.get("model") if isinstance(body.get("model"), str) else model
    return Completion(
        text=content,
        model=str(reported_model or model),
        prompt_tokens=int(prompt_tokens or 0),
        completion_tokens=int(completion_tokens or 0),
        tokens_estimated=estimated,
    )


class ChatClient:
    """Chat-completions calls over one shared connection pool."""

    def __init__(self, http: httpx.AsyncClient | None = None) -> None:
        self._http = http or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            follow_redirects=False,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def complete(
        self,
        endpoint: Endpoint,
        messages: list[dict[str, str]],
        *,
        temperature: float,
        max_tokens: int,
        timeout_s: float,
    ) -> Completion:
        """One attempt (no retries): the completion, or a ProviderError."""
        url = endpoint.base_url.rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json"}
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        payload = {
            "model": endpoint.model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout_s):
                response = await self._http.post(
                    url,
                    headers=headers,
                    content=json.dumps(payload),
                    timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise ProviderError(FailureKind.TIMEOUT, f"no answer within {timeout_s:g}s") from exc
        except httpx.TransportError as exc:
            raise ProviderError(
                FailureKind.UNREACHABLE, f"could not reach the provider ({type(exc).__name__})"
            ) from exc
        if response.status_code != 200:
            raise _failure(response)
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderError(
                FailureKind.MALFORMED,
                f"the response is not JSON (after {time.monotonic() - started:.1f}s)",
            ) from exc
        if not isinstance(body, dict):
            raise ProviderError(FailureKind.MALFORMED, "the response is not a JSON object")
        return parse_completion(body, messages, endpoint.model)
