"""The primary model, then the fallback model: each attempt asks the model's breaker first,
retryable failures are retried (tenacity: exponential backoff with jitter, or the provider's
`Retry-After` when it gives one and it fits), and every attempt is written to a `CallLog`
so that usage counts every call made, even when a newer message cancels the work midway.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import Counter, Histogram
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from parley_ai.domain.pricing import Price, price_of
from parley_ai.llm.breaker import CircuitBreakers, breaker_name
from parley_ai.llm.client import ChatClient, Completion, Endpoint, FailureKind, ProviderError

LLM_CALLS = Counter(
    "parley_ai_llm_calls_total", "Chat-completions attempts, by outcome", ["outcome"]
)
LLM_LATENCY = Histogram(
    "parley_ai_llm_call_seconds",
    "Duration of one chat-completions attempt",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3  # per model
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 4.0
    # A Retry-After longer than this is not waited for: the fallback model is tried instead.
    max_retry_after_s: float = 10.0


@dataclass
class CallRecord:
    """One attempt at one model."""

    model: str
    outcome: str  # "ok" or a FailureKind value
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    detail: str = ""

    @property
    def sent(self) -> bool:
        """Whether a request left for the provider (a refused breaker sends nothing)."""
        return self.outcome != FailureKind.BREAKER_OPEN


@dataclass
class CallLog:
    """The attempts made for one customer message, in order, and the price tables that say
    what they cost (the tenant's own, then the operator's)."""

    records: list[CallRecord] = field(default_factory=list)
    price_tables: tuple[Mapping[str, Price], ...] = ()

    @property
    def sent(self) -> list[CallRecord]:
        return [r for r in self.records if r.sent]

    def cost_usd(self, record: CallRecord) -> float:
        return price_of(record.model, *self.price_tables).cost(
            record.prompt_tokens, record.completion_tokens
        )


@dataclass(frozen=True)
class ChainResult:
    completion: Completion | None
    fallback_used: bool
    failure: str  # why nothing came back (empty on success)


def _wait(policy: RetryPolicy) -> object:
    backoff = wait_exponential_jitter(
        multiplier=policy.backoff_initial_s,
        max=policy.backoff_max_s,
        jitter=policy.backoff_initial_s,
    )

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ProviderError) and error.retry_after_s is not None:
            return error.retry_after_s
        return float(backoff(state))

    return wait


def _stop(policy: RetryPolicy) -> object:
    attempts = stop_after_attempt(policy.max_attempts)

    def stop(state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if (
            isinstance(error, ProviderError)
            and error.retry_after_s is not None
            and error.retry_after_s > policy.max_retry_after_s
        ):
            return True  # the provider asks for a pause longer than a customer should wait
        return bool(attempts(state))

    return stop


class ModelChain:
    """Calls the primary model, then the fallback, through the shared breakers."""

    def __init__(self, client: ChatClient, breakers: CircuitBreakers, retry: RetryPolicy) -> None:
        self._client = client
        self._breakers = breakers
        self._retry = retry

    async def _attempt(
        self,
        endpoint: Endpoint,
        breaker: str,
        messages: list[dict[str, str]],
        log: CallLog,
        *,
        temperature: float,
        max_tokens: int,
        timeout_s: float,
    ) -> Completion:
        if not await self._breakers.allow(breaker):
            log.records.append(CallRecord(endpoint.model, FailureKind.BREAKER_OPEN.value))
            LLM_CALLS.labels(FailureKind.BREAKER_OPEN.value).inc()
            raise ProviderError(FailureKind.BREAKER_OPEN, f"{endpoint.model}: circuit open")
        record = CallRecord(endpoint.model, FailureKind.CANCELLED.value)
        log.records.append(record)  # in the log before it is sent: a cancel still counts it
        started = time.monotonic()
        try:
            completion = await self._client.complete(
                endpoint,
                messages,
                temperature=temperature,
                max_tokens=max_tokens,
                timeout_s=timeout_s,
            )
        except ProviderError as error:
            record.outcome, record.detail = error.kind.value, error.detail
            record.latency_s = time.monotonic() - started
            LLM_CALLS.labels(error.kind.value).inc()
            LLM_LATENCY.observe(record.latency_s)
            if error.counts_against_breaker:
                await self._breakers.record_failure(breaker)
            raise
        except asyncio.CancelledError:
            record.latency_s = time.monotonic() - started
            LLM_CALLS.labels(FailureKind.CANCELLED.value).inc()
            raise
        record.outcome = "ok"
        record.prompt_tokens = completion.prompt_tokens
        record.completion_tokens = completion.completion_tokens
        record.latency_s = time.monotonic() - started
        LLM_CALLS.labels("ok").inc()
        LLM_LATENCY.observe(record.latency_s)
        await self._breakers.record_success(breaker)
        return completion

    async def complete(
        self,
        base_url: str,
        api_key: str,
        models: Sequence[str],
        messages: list[dict[str, str]],
        log: CallLog,
        *,
        temperature: float,
        max_tokens: int,
        timeout_s: float,
    ) -> ChainResult:
        """The first completion from `models` in order, or why none came."""
        failures: list[str] = []
        for index, model in enumerate(m for m in models if m):
            endpoint = Endpoint(base_url, api_key, model)
            breaker = breaker_name(base_url, model)
            retrying = AsyncRetrying(
                stop=_stop(self._retry),  # type: ignore[arg-type]
                wait=_wait(self._retry),  # type: ignore[arg-type]
                retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and e.retryable),
                reraise=True,
            )
            try:
                completion: Completion = await retrying(
                    self._attempt,
                    endpoint,
                    breaker,
                    messages,
                    log,
                    temperature=temperature,
                    max_tokens=max_tokens,
                    timeout_s=timeout_s,
                )
            except ProviderError as error:
                failures.append(f"{model}: {error.detail}")
                continue
            return ChainResult(completion, fallback_used=index > 0, failure="")
        return ChainResult(None, fallback_used=False, failure="; ".join(failures)[:500])
