"""The sender is killed while Meta holds its request: the replacement process sends again
(the message must not be lost) and reports the outcome as a possible duplicate, because the
request had been recorded as in flight before it left."""

from __future__ import annotations

import uuid

from parley.whatsapp.v1 import events_pb2 as wa
from parley_platform.events import EventProducer, OutgoingEvent, conversation_key
from parley_platform.events.admin import ensure_topics
from parley_platform.events.topics import WHATSAPP_OUTBOUND, WHATSAPP_OUTCOME
from parley_testing.kafka import collect, new_marker, read_until_marker
from parley_testing.polling import eventually
from parley_testing.services import ChildProcess, free_port, outbox_drained, settings_env
from parley_testing.whatsapp import (
    new_tenant_with_channel,
    running_auth,
    running_sandbox,
    serve_number_in_sandbox,
)

ANA = "447700900123"


async def test_a_crash_mid_request_is_resent_and_flagged_as_possible_duplicate(
    settings_factory, tmp_path
) -> None:
    async with (
        running_auth(settings_factory) as auth,
        running_sandbox(status_webhooks=False, webhook_retry_delays_s=[]) as sandbox,
    ):
        channel = await new_tenant_with_channel(auth)
        await serve_number_in_sandbox(
            sandbox,
            channel,
            webhook_url=f"http://127.0.0.1:{free_port()}/webhooks/whatsapp",
            app_secret="sandbox-signing-secret",
        )
        await sandbox.client.post(
            f"/sandbox/customers/{ANA}/messages",
            json={"phone_number_id": channel.phone_number_id, "text": "hi"},
        )
        settings = await settings_factory(
            "whatsapp",
            auth_grpc_target=auth.grpc_target,
            graph_api_base_url=sandbox.base_url,
            graph_timeout_s=30,
        )
        env = settings_env(settings)

        def start_sender(name: str) -> ChildProcess:
            return ChildProcess(["-m", "parley_whatsapp"], env, tmp_path / f"{name}.log").start()

        # Meta takes 4 s to answer the first request (and then accepts it).
        await sandbox.client.post(
            "/sandbox/faults",
            json={"phone_number_id": channel.phone_number_id, "latency_ms": 4000, "count": 1},
        )
        await ensure_topics(settings, [WHATSAPP_OUTBOUND.name, WHATSAPP_OUTCOME.name])
        first = start_sender("first")
        producer = EventProducer(settings)
        await producer.start()

        async def send(command: wa.SendCommand) -> wa.SendCommand:
            await producer.publish(
                OutgoingEvent(
                    topic=WHATSAPP_OUTBOUND,
                    key=conversation_key(channel.tenant_id, ANA),
                    payload=command,
                    tenant_id=channel.tenant_id,
                )
            )
            return command

        try:
            command = await send(
                wa.SendCommand(
                    message_id=str(uuid.uuid4()),
                    channel_id=channel.channel_id,
                    phone_number_id=channel.phone_number_id,
                    to_wa_id=ANA,
                    text=wa.Text(body="Your appointment is confirmed."),
                )
            )

            async def request_in_flight() -> bool:
                number = channel.phone_number_id
                traffic = (await sandbox.client.get(f"/sandbox/numbers/{number}/traffic")).json()
                return traffic["requests"] >= 1

            await eventually(request_in_flight, timeout_s=60, interval_s=0.05)
            first.kill()  # SIGKILL while Meta still holds the request

            async def delivered_once() -> bool:
                return len((await sandbox.client.get("/sandbox/outbox")).json()) == 1

            await eventually(delivered_once, timeout_s=10)  # Meta accepted it all the same
            second = start_sender("second")
            try:
                outcome_topic = settings.topic_name(WHATSAPP_OUTCOME.name)
                bootstrap = settings.kafka_bootstrap
                await collect(bootstrap, outcome_topic, count=1, timeout_s=90)
                # A marker command to the same customer (no content: it fails at once,
                # without Meta) behind it: any second outcome would come before the marker's.
                marker = new_marker()
                await send(
                    wa.SendCommand(message_id=marker, channel_id=channel.channel_id, to_wa_id=ANA)
                )
                records = await read_until_marker(bootstrap, outcome_topic, marker)
                # Let the relay finish before the kill: rows left in the outbox (shared by
                # this session's tests) would be relayed again into the next test's topics.
                await eventually(lambda: outbox_drained(settings), timeout_s=60)
            finally:
                second.kill()
        finally:
            await producer.stop()
            first.kill()
        assert len(records) == 1, second.log()
        outcome = wa.SendOutcome.FromString(records[0].value)
        assert outcome.message_id == command.message_id
        assert outcome.result == wa.SEND_RESULT_SENT
        assert outcome.possible_duplicate  # said out loud, not hidden
        assert outcome.attempts == 2
        outbox = (await sandbox.client.get("/sandbox/outbox")).json()
        assert [m["content"]["body"] for m in outbox] == ["Your appointment is confirmed."] * 2
