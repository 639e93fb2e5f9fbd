"""Kafka stops: the webhook answers 503 within the publish bound (never hangs, so Meta
retries); once Kafka is back, the retry is accepted and nothing is lost or doubled."""

from __future__ import annotations

from collections import Counter

from parley.whatsapp.v1 import events_pb2 as wa
from parley_platform.events.topics import WHATSAPP_INBOUND
from parley_testing.infrastructure import disposable_kafka
from parley_testing.kafka import header, new_marker, read_until_marker
from parley_testing.polling import eventually
from parley_testing.whatsapp import (
    connect_sandbox_to_gateway,
    new_tenant_with_channel,
    running_auth,
    running_gateway,
    running_sandbox,
)

PUBLISH_BOUND_S = 2.0
CUSTOMER = "447700900123"


async def test_kafka_down_gives_503_and_metas_retry_succeeds_once_it_is_back(
    settings_factory, tmp_path
) -> None:
    async with (
        disposable_kafka(tmp_path) as kafka,
        running_auth(settings_factory) as auth,
        running_gateway(
            settings_factory,
            auth,
            kafka_bootstrap=kafka.bootstrap,
            kafka_send_timeout_s=PUBLISH_BOUND_S,
        ) as gateway,
        # The sandbox gives up on an answer after bound + 3 s: a hanging gateway shows as 0.
        running_sandbox(
            status_webhooks=False,
            webhook_timeout_s=PUBLISH_BOUND_S + 3,
            # Like Meta: soon, then less often; long enough for a slow Kafka restart.
            webhook_retry_delays_s=[1, 1, 2, 2, 3, 3] + [5] * 30,
        ) as sandbox,
    ):
        channel = await new_tenant_with_channel(auth)
        await connect_sandbox_to_gateway(sandbox, channel, gateway)

        async def customer_writes(text: str) -> dict:
            response = await sandbox.client.post(
                f"/sandbox/customers/{CUSTOMER}/messages",
                json={"phone_number_id": channel.phone_number_id, "text": text},
            )
            assert response.status_code == 200
            return response.json()

        assert (await customer_writes("before the outage"))["webhook_status"] == 200
        await kafka.stop()
        during = await customer_writes("while Kafka is down")
        # Answered (not timed out by the sandbox), within the bound, so Meta retries.
        assert during["webhook_status"] == 503, (
            await sandbox.client.get("/sandbox/webhooks")
        ).json()

        await kafka.start()

        async def redelivered() -> bool:
            log = (await sandbox.client.get("/sandbox/webhooks")).json()
            return any(w["status"] == 200 and w["attempt"] > 1 for w in log)

        await eventually(redelivered, timeout_s=120, interval_s=0.5)

        # The same customer writes once more: the gateway's producer puts it after anything
        # of this conversation it still had in flight, so reading up to it sees them all.
        marker = new_marker()
        assert (await customer_writes(marker))["webhook_status"] == 200
        records = await read_until_marker(
            kafka.bootstrap, gateway.runtime.settings.topic_name(WHATSAPP_INBOUND.name), marker
        )
        texts = Counter(wa.InboundMessage.FromString(r.value).text.body for r in records)
        assert set(texts) == {"before the outage", "while Kafka is down"}
        # The publish that timed out may still land once Kafka is back, beside the accepted
        # retry; both carry the wamid's event id, so downstream applies the message once.
        by_event = {header(r, "event-id") for r in records}
        assert len(by_event) == 2
        ids_of_retried = {
            header(r, "event-id")
            for r in records
            if wa.InboundMessage.FromString(r.value).wamid == during["wamid"]
        }
        assert len(ids_of_retried) == 1
