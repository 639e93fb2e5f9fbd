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
from parley_testing.kafka import collect, header, new_marker, read_until_marker
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

        async def first(topic, count: int = 1):
            return await collect(
                settings.kafka_bootstrap, settings.topic_name(topic.name), count=count
            )

        async def before(topic, marker: str):
            return await read_until_marker(
                settings.kafka_bootstrap, settings.topic_name(topic.name), marker
            )

        async def customer_writes(text: str) -> str:
            written = await sandbox.client.post(
                f"/sandbox/customers/{ANA}/messages",
                json={"phone_number_id": channel.phone_number_id, "text": text},
            )
            return str(written.json()["wamid"])

        async def reply(
            question: wa.InboundMessage, key: bytes, text: str, message_id: str
        ) -> wa.SendCommand:
            command = wa.SendCommand(
                message_id=message_id,
                biz_opaque_callback_data=message_id,  # Meta echoes it in the statuses
                channel_id=question.channel_id,
                phone_number_id=question.phone_number_id,
                to_wa_id=question.from_wa_id,
                reply_to_wamid=question.wamid,
                text=wa.Text(body=text),
            )
            await whatsapp.runtime.resources.producer.publish(
                OutgoingEvent(
                    topic=WHATSAPP_OUTBOUND,
                    key=key.decode(),
                    payload=command,
                    tenant_id=channel.tenant_id,
                )
            )
            return command

        def statuses(records) -> list[wa.MessageStatus]:
            return [wa.MessageStatus.FromString(r.value) for r in records]

        asked = await customer_writes("Where is my parcel?")
        [inbound] = await first(WHATSAPP_INBOUND)
        question = wa.InboundMessage.FromString(inbound.value)
        assert question.wamid == asked

        command = await reply(question, inbound.key, "It arrives tomorrow.", str(uuid.uuid4()))
        [outcome_record] = await first(WHATSAPP_OUTCOME)
        outcome = wa.SendOutcome.FromString(outcome_record.value)
        assert outcome.message_id == command.message_id
        assert outcome.result == wa.SEND_RESULT_SENT
        [reply_wamid] = outcome.wamids
        assert outcome_record.key.decode() == conversation_key(channel.tenant_id, ANA)
        await first(WHATSAPP_STATUS, 4)  # sent, delivered and read, shuffled, one twice

        # Markers: the customer writes again and gets a second reply; everything of the
        # first turn is ahead of them on the conversation's partition.
        marker = new_marker()
        await customer_writes(marker)
        await reply(question, inbound.key, "You're welcome.", marker)
        inbound_records = await before(WHATSAPP_INBOUND, marker)
        outcome_records = await before(WHATSAPP_OUTCOME, marker)
        status_records = await before(WHATSAPP_STATUS, marker)

        # Exactly one inbound event and one outcome for the first turn...
        assert [wa.InboundMessage.FromString(r.value).wamid for r in inbound_records] == [asked]
        assert [wa.SendOutcome.FromString(r.value).message_id for r in outcome_records] == [
            command.message_id
        ]
        # ...and exactly the four statuses the sandbox sent, a repeat carrying the same
        # event id as its original.
        first_turn = statuses(status_records)
        assert len(first_turn) == 4 and {s.wamid for s in first_turn} == {reply_wamid}
        assert sorted({s.status_raw for s in first_turn}) == ["delivered", "read", "sent"]
        event_ids: dict[str, set[str | None]] = {s.status_raw: set() for s in first_turn}
        for status, record in zip(first_turn, status_records, strict=True):
            event_ids[status.status_raw].add(header(record, "event-id"))
        assert all(len(ids) == 1 for ids in event_ids.values())  # a repeat is recognisable
        # Same conversation key as the customer's message: one partition, one order.
        assert {r.key for r in status_records} == {inbound.key}
