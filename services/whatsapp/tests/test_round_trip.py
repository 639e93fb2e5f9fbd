"""One conversation turn through every WhatsApp hop: the customer writes (sandbox -> gateway
-> Kafka), Parley answers (send command -> whatsapp -> sandbox), and Meta's delivery
statuses come back out of order and duplicated (sandbox -> gateway -> Kafka), each status
carrying the same event id every time it is repeated."""

from __future__ import annotations

import uuid

from parley.whatsapp.v1 import events_pb2 as wa
from parley_platform.events import OutgoingEvent, conversation_key
from parley_platform.events.topics import (
    WHATSAPP_INBOUND,
    WHATSAPP_OUTBOUND,
    WHATSAPP_OUTCOME,
    WHATSAPP_STATUS,
)
from parley_testing.kafka import collect, header
from parley_testing.whatsapp import (
    connect_sandbox_to_gateway,
    new_tenant_with_channel,
    running_auth,
    running_gateway,
    running_sandbox,
    running_whatsapp,
)

ANA = "447700900123"


async def test_a_reply_and_its_out_of_order_duplicated_statuses(settings_factory) -> None:
    async with (
        running_auth(settings_factory) as auth,
        # Every send: statuses shuffled and one of them delivered twice.
        running_sandbox(
            status_shuffle_probability=1.0,
            status_duplicate_probability=1.0,
            status_delay_s=0.05,
            seed=3,
        ) as sandbox,
        running_gateway(settings_factory, auth) as gateway,
        running_whatsapp(settings_factory, auth, sandbox) as whatsapp,
    ):
        channel = await new_tenant_with_channel(auth)
        await connect_sandbox_to_gateway(sandbox, channel, gateway)
        settings = whatsapp.runtime.settings

        async def read(topic, count: int):
            return await collect(
                settings.kafka_bootstrap,
                settings.topic_name(topic.name),
                count=count,
                exact=True,
                settle_s=2,
            )

        written = await sandbox.client.post(
            f"/sandbox/customers/{ANA}/messages",
            json={"phone_number_id": channel.phone_number_id, "text": "Where is my parcel?"},
        )
        [inbound] = await read(WHATSAPP_INBOUND, 1)
        question = wa.InboundMessage.FromString(inbound.value)
        assert question.wamid == written.json()["wamid"]

        command = wa.SendCommand(
            message_id=str(uuid.uuid4()),
            channel_id=question.channel_id,
            phone_number_id=question.phone_number_id,
            to_wa_id=question.from_wa_id,
            reply_to_wamid=question.wamid,
            text=wa.Text(body="It arrives tomorrow."),
        )
        await whatsapp.runtime.resources.producer.publish(
            OutgoingEvent(
                topic=WHATSAPP_OUTBOUND,
                key=inbound.key.decode(),
                payload=command,
                tenant_id=channel.tenant_id,
            )
        )
        [outcome_record] = await read(WHATSAPP_OUTCOME, 1)
        outcome = wa.SendOutcome.FromString(outcome_record.value)
        assert outcome.result == wa.SEND_RESULT_SENT
        [reply_wamid] = outcome.wamids
        assert outcome_record.key.decode() == conversation_key(channel.tenant_id, ANA)

        records = await read(WHATSAPP_STATUS, 4)
        statuses = [wa.MessageStatus.FromString(r.value) for r in records]
        assert len(statuses) == 4 and {s.wamid for s in statuses} == {reply_wamid}
        assert sorted({s.status_raw for s in statuses}) == ["delivered", "read", "sent"]
        event_ids: dict[str, set[str | None]] = {s.status_raw: set() for s in statuses}
        for status, record in zip(statuses, records, strict=True):
            event_ids[status.status_raw].add(header(record, "event-id"))
        assert all(len(ids) == 1 for ids in event_ids.values())  # a repeat is recognisable
        # Same conversation key as the customer's message: one partition, one order.
        assert {r.key for r in records} == {inbound.key}
