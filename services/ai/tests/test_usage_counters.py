"""A tenant's answers are counted without waiting for each other, and the usage report still
adds every one of them up (the counters are spread over shards: repository.usage)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

from parley_ai.repository.usage import COUNTER_SHARDS, ModelCall, UsageRepository
from parley_platform.db import Database, driver
from parley_platform.identity import Principal, Role
from parley_testing.services import principal_headers

# Far longer than any write takes; reached only if the second answer's count waits for the
# first answer's transaction to end (which, in this test, it never would on its own).
BLOCKED_S = 10


async def _shard(transaction: driver.SqlSession) -> int:
    row = await driver.fetch_one(transaction, "SELECT pg_backend_pid()")
    assert row is not None
    return int(row[0]) % COUNTER_SHARDS


async def test_an_unfinished_answer_does_not_hold_up_the_next_answers_count(
    ai_service, ai_settings
) -> None:
    tenant = uuid.uuid4()
    today = datetime.now(UTC).date()
    database = Database(ai_settings.database_url.get_secret_value(), pool_size=8, instrument=False)
    try:
        async with contextlib.AsyncExitStack() as open_transactions:
            first = await open_transactions.enter_async_context(database.tenant_transaction(tenant))
            first_usage = UsageRepository(first, tenant)
            await first_usage.count_outcome(today, "answer", 120)
            await first_usage.count_calls(today, [ModelCall("stub-large", True, 50, 10, 0.5, 90)])
            # The first answer's transaction stays open (its commit is waiting for the disk,
            # say). Another connection of the pool answers meanwhile: the next one on another
            # shard, as a busy service's connections are.
            for _ in range(7):  # the pool has eight connections
                second = await open_transactions.enter_async_context(
                    database.tenant_transaction(tenant)
                )
                if await _shard(second) != await _shard(first):
                    break
            else:
                raise AssertionError("every connection of the pool writes the same shard")
            second_usage = UsageRepository(second, tenant)
            await asyncio.wait_for(second_usage.count_outcome(today, "answer", 300), BLOCKED_S)
            await asyncio.wait_for(
                second_usage.count_calls(today, [ModelCall("stub-large", False, 40, 0, 0.25, 70)]),
                BLOCKED_S,
            )
    finally:
        await database.dispose()

    owner = Principal(tenant_id=tenant, role=Role.OWNER, user_id=uuid.uuid4())
    response = await ai_service.client.get(
        "/api/v1/ai/usage", headers=principal_headers(ai_settings, owner)
    )
    assert response.status_code == 200, response.text
    report = response.json()
    (day,) = report["days"]
    for counted in (day, report["totals"]):
        assert counted["answers"] == 2 and counted["requests"] == 2
        assert counted["average_latency_ms"] == 210.0 and counted["max_latency_ms"] == 300
        (model,) = counted["models"]
        assert model["calls"] == 2 and model["failed_calls"] == 1
        assert model["prompt_tokens"] == 90 and model["completion_tokens"] == 10
        assert model["cost_usd"] == 0.75 and model["average_latency_ms"] == 80.0
    assert report["budget"]["spent_this_month_usd"] == 0.75
