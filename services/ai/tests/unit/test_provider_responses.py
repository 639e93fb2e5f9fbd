"""Reading providers' answers: completions, errors, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from parley_ai.domain.provider_url import UnsafeProviderUrl, check_shape, is_internal
from parley_ai.llm.client import FailureKind, ProviderError, parse_completion, retry_after_seconds


def test_retry_after_as_seconds_or_http_date() -> None:
    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("Fri, 27 Nov 2026 12:00:05 GMT", now) == 5.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_a_completion_without_usage_gets_estimated_tokens() -> None:
    completion = parse_completion(
        {"choices": [{"message": {"content": "Open at nine [1]"}}]},
        [{"role": "user", "content": "x" * 400}],
        "m",
    )
    assert completion.text == "Open at nine [1]"
    assert completion.tokens_estimated and completion.prompt_tokens == 100


def test_a_body_that_is_not_a_completion_is_malformed() -> None:
    with pytest.raises(ProviderError) as caught:
        parse_completion({"choices": []}, [], "m")
    assert caught.value.kind == FailureKind.MALFORMED
    assert caught.value.counts_against_breaker and not caught.value.retryable


def test_rate_limits_are_retried_but_do_not_trip_the_breaker() -> None:
    error = ProviderError(FailureKind.RATE_LIMITED, "429", retry_after_s=1)
    assert error.retryable and not error.counts_against_breaker
    rejected = ProviderError(FailureKind.REJECTED, "401")
    assert not rejected.retryable and not rejected.counts_against_breaker


def test_provider_urls_must_be_public_https_outside_development() -> None:
    assert check_shape("https://openrouter.ai/api/v1", allow_private=False) == "openrouter.ai"
    for url in ("http://openrouter.ai/api/v1", "https://user:pw@x.example/v1", "ftp://x/v1"):
        with pytest.raises(UnsafeProviderUrl):
            check_shape(url, allow_private=False)
    assert check_shape("http://127.0.0.1:11434/v1", allow_private=True) == "127.0.0.1"
    assert is_internal("10.0.0.7") and is_internal("169.254.169.254") and is_internal("::1")
    assert not is_internal("104.18.2.115")


def test_an_http_error_body_is_read_for_its_message() -> None:
    from parley_ai.llm.client import _failure

    error = _failure(httpx.Response(401, json={"error": {"message": "Incorrect API key provided"}}))
    assert error.kind == FailureKind.REJECTED
    assert "Incorrect API key provided" in error.detail
