"""The model chain against the LLM stand-in over HTTP, with its breakers in the real Redis:
fallback on 500 and on timeout, Retry-After honoured, the breaker opening, refusing, and
closing after a successful probe."""

from __future__ import annotations

import asyncio

import pytest
from parley_ai.llm.breaker import BreakerPolicy, BreakerState, CircuitBreakers, breaker_name
from parley_ai.llm.chain import CallLog, ModelChain, RetryPolicy
from parley_ai.llm.client import ChatClient, FailureKind

MESSAGES = [
    {"role": "system", "content": "Rules."},
    {
        "role": "user",
        "content": '<passage id="1" title="Hours">\nWe open on Saturday at ten.\n</passage>\n'
        "<customer_message>\nWhen do you open on Saturday?\n</customer_message>",
    },
]
MODELS = ("stub-large", "stub-small")


@pytest.fixture
async def chain(redis_client):
    client = ChatClient()
    breakers = CircuitBreakers(
        redis_client, BreakerPolicy(threshold=3, window_s=60, open_s=0.5, probe_lease_s=5)
    )
    yield (
        ModelChain(
            client,
            breakers,
            RetryPolicy(
                max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.05, max_retry_after_s=5
            ),
        ),
        breakers,
    )
    await client.close()


async def ask(chain: ModelChain, stub, log: CallLog | None = None, timeout_s: float = 5.0):
    log = log if log is not None else CallLog()
    result = await chain.complete(
        stub.base_url, "", MODELS, MESSAGES, log, temperature=0, max_tokens=100, timeout_s=timeout_s
    )
    return result, log


async def test_the_fallback_model_answers_when_the_primary_returns_500(chain, llm_stub) -> None:
    model_chain, _ = chain
    await llm_stub.fault("error_500", model="stub-large")
    result, log = await ask(model_chain, llm_stub)
    assert result.completion is not None and result.fallback_used
    assert result.completion.model == "stub-small"
    assert result.completion.text == "We open on Saturday at ten. [1]"
    assert [(r.model, r.outcome) for r in log.records] == [
        ("stub-large", "server_error"),
        ("stub-large", "server_error"),
        ("stub-small", "ok"),
    ]
    assert len(await llm_stub.requests("stub-large")) == 2


async def test_the_fallback_model_answers_when_the_primary_hangs(chain, llm_stub) -> None:
    model_chain, _ = chain
    await llm_stub.fault("hang", model="stub-large")
    result, log = await ask(model_chain, llm_stub, timeout_s=0.3)
    assert result.completion is not None and result.completion.model == "stub-small"
    assert [r.outcome for r in log.records if r.model == "stub-large"] == ["timeout", "timeout"]


async def test_a_429_is_retried_after_its_retry_after(chain, llm_stub) -> None:
    model_chain, _ = chain
    await llm_stub.fault("rate_limit", model="stub-large", times=1, retry_after_s=1)
    result, log = await ask(model_chain, llm_stub)
    assert result.completion is not None and not result.fallback_used
    assert [r.outcome for r in log.records] == ["rate_limited", "ok"]
    first, second = await llm_stub.requests("stub-large")
    # The provider asked for a second's pause; the retry came no sooner.
    assert second["at"] - first["at"] >= 0.95


async def test_a_retry_after_longer_than_a_customer_should_wait_goes_to_the_fallback(
    chain, llm_stub
) -> None:
    model_chain, _ = chain
    await llm_stub.fault("rate_limit", model="stub-large", retry_after_s=3600)
    result, log = await ask(model_chain, llm_stub)
    assert result.completion is not None and result.fallback_used
    assert [r.outcome for r in log.records] == ["rate_limited", "ok"]


async def test_when_every_model_fails_the_chain_says_why(chain, llm_stub) -> None:
    model_chain, _ = chain
    await llm_stub.fault("error_500")
    result, log = await ask(model_chain, llm_stub)
    assert result.completion is None
    assert "stub-large" in result.failure and "stub-small" in result.failure
    assert len(log.sent) == 4


async def test_the_breaker_opens_sends_nothing_while_open_and_closes_after_a_good_probe(
    chain, llm_stub
) -> None:
    model_chain, breakers = chain
    name = breaker_name(llm_stub.base_url, "stub-large")
    await llm_stub.fault("error_500", model="stub-large")
    await ask(model_chain, llm_stub)  # two failures
    await ask(model_chain, llm_stub)  # the third opens it; the fourth is refused
    assert await breakers.state(name) == BreakerState.OPEN
    sent_to_primary = len(await llm_stub.requests("stub-large"))
    assert sent_to_primary == 3

    result, log = await ask(model_chain, llm_stub)
    assert result.completion is not None and result.fallback_used
    assert log.records[0].outcome == FailureKind.BREAKER_OPEN
    assert len(await llm_stub.requests("stub-large")) == sent_to_primary  # nothing sent

    await llm_stub.clear_faults()
    await asyncio.sleep(0.6)  # the breaker's open time (0.5 s) passes
    result, log = await ask(model_chain, llm_stub)
    assert result.completion is not None and not result.fallback_used  # the probe succeeded
    assert await breakers.state(name) == BreakerState.CLOSED
    assert len(await llm_stub.requests("stub-large")) == sent_to_primary + 1


async def test_replicas_share_one_breaker_and_only_one_probes(redis_client, infra) -> None:
    import redis.asyncio as aioredis

    other_replica = aioredis.from_url(infra.redis_url)
    policy = BreakerPolicy(threshold=2, window_s=60, open_s=0.2, probe_lease_s=30)
    first, second = CircuitBreakers(redis_client, policy), CircuitBreakers(other_replica, policy)
    name = breaker_name("https://provider.example/v1", f"model-{id(policy)}")
    try:
        await first.record_failure(name)
        await second.record_failure(name)
        assert await first.state(name) == BreakerState.OPEN
        assert not await second.allow(name)
        await asyncio.sleep(0.3)
        probes = await asyncio.gather(*(b.allow(name) for b in (first, second) * 5))
        assert probes.count(True) == 1
        await second.record_failure(name)  # the probe failed: open again
        assert not await first.allow(name)
    finally:
        await redis_client.delete(name)
        await other_replica.aclose()
