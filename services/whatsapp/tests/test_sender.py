"""The sender against the WhatsApp sandbox: what the customer receives and what conversation
is told, for replies, long texts, templates, buttons and read receipts (fire-and-forget:
nothing stored, nothing told); Meta's error classes; timeouts; and a 130429 storm with two
replicas sharing the number's rate."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from parley.whatsapp.v1 import events_pb2 as wa
from parley_platform.events import OutgoingEvent, conversation_key
from parley_platform.events.topics import WHATSAPP_OUTBOUND, WHATSAPP_OUTCOME
from parley_testing.kafka import header, new_marker, read_until_marker
from parley_testing.services import RunningApp, free_port, principal_headers
from parley_testing.whatsapp import (
    AuthService,
    SandboxProcess,
    TenantChannel,
    new_tenant_with_channel,
    running_auth,
    running_sandbox,
    running_whatsapp,
    sandbox_process,
    serve_number_in_sandbox,
)
from parley_whatsapp.repository.tables import outbound_messages
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

ANA = "447700900123"
# Marker commands have no content: the sender fails them at once, without asking Meta.
MARKER = "marker-"
FAST_RETRIES = {
    "send_backoff_initial_s": 0.05,
    "send_backoff_max_s": 0.4,
    "graph_timeout_s": 2.0,
}


@dataclass
class Stack:
    auth: AuthService
    sandbox: RunningApp | SandboxProcess
    whatsapp: RunningApp
    channel: TenantChannel

    async def customer_writes(self, wa_id: str = ANA, text: str = "hello") -> str:
        response = await self.sandbox.client.post(
            f"/sandbox/customers/{wa_id}/messages",
            json={"phone_number_id": self.channel.phone_number_id, "text": text},
        )
        assert response.status_code == 200
        return str(response.json()["wamid"])

    async def command(self, to: str = ANA, **content) -> wa.SendCommand:
        """Publish a send command as conversation would; returns it."""
        command = wa.SendCommand(
            message_id=str(uuid.uuid4()),
            conversation_id=str(uuid.uuid4()),
            channel_id=self.channel.channel_id,
            phone_number_id=self.channel.phone_number_id,
            to_wa_id=to,
            **content,
        )
        await self.publish(command)
        return command

    async def publish(self, command: wa.SendCommand) -> None:
        await self.whatsapp.runtime.resources.producer.publish(
            OutgoingEvent(
                topic=WHATSAPP_OUTBOUND,
                key=conversation_key(self.channel.tenant_id, command.to_wa_id or "x"),
                payload=command,
                tenant_id=self.channel.tenant_id,
            )
        )

    async def outcomes(self, *customers: str, timeout_s: float = 60) -> list[wa.SendOutcome]:
        """Every outcome so far of the commands to `customers` (Ana by default), in order.

        A marker command is published to each customer after everything else, and the
        outcomes are read up to the markers' own: a late or repeated outcome would be among
        them, so a test that finds one outcome knows there is exactly one."""
        marker = new_marker()
        to = customers or (ANA,)
        for wa_id in to:
            await self.publish(
                wa.SendCommand(
                    message_id=f"{marker}-{wa_id}",
                    channel_id=self.channel.channel_id,
                    phone_number_id=self.channel.phone_number_id,
                    to_wa_id=wa_id,
                )
            )
        settings = self.whatsapp.runtime.settings
        records = await read_until_marker(
            settings.kafka_bootstrap,
            settings.topic_name(WHATSAPP_OUTCOME.name),
            marker,
            markers=len(to),
            timeout_s=timeout_s,
        )
        assert all(header(r, "tenant-id") == str(self.channel.tenant_id) for r in records)
        outcomes = [wa.SendOutcome.FromString(r.value) for r in records]
        return [o for o in outcomes if not o.message_id.startswith(MARKER)]  # earlier markers

    async def read_receipts(self) -> Counter[str]:
        """The whatsapp service's count of read receipts, by result."""
        text = (await self.whatsapp.ops.get("/metrics")).text
        counts: Counter[str] = Counter()
        for family in text_string_to_metric_families(text):
            if family.name == "parley_whatsapp_read_receipts":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        counts[sample.labels["result"]] += int(sample.value)
        return counts

    async def recorded_commands(self) -> list[str]:
        """The message ids of the commands the sender keeps a record of (markers left out)."""
        database = self.whatsapp.runtime.resources.database
        async with database.tenant_session(self.channel.tenant_id) as session:
            ids = (await session.execute(select(outbound_messages.c.message_id))).scalars()
            return [i for i in ids if not i.startswith(MARKER)]

    async def outbox(self, **params) -> list[dict]:
        return (
            await self.sandbox.client.get(
                "/sandbox/outbox",
                params={"phone_number_id": self.channel.phone_number_id, **params},
            )
        ).json()

    async def fault(self, **spec) -> None:
        response = await self.sandbox.client.post(
            "/sandbox/faults", json={"phone_number_id": self.channel.phone_number_id, **spec}
        )
        assert response.status_code == 201

    async def traffic(self) -> dict:
        number = self.channel.phone_number_id
        return (await self.sandbox.client.get(f"/sandbox/numbers/{number}/traffic")).json()


@asynccontextmanager
async def open_stack(
    settings_factory,
    *,
    messages_per_second: int = 80,
    sandbox_token: str | None = None,
    replicas: int = 1,
    sandbox_settings: dict | None = None,
    separate_sandbox: bool = False,
    **whatsapp_overrides,
) -> AsyncIterator[Stack]:
    """Auth with a tenant and channel, the sandbox serving its number (in a process of its
    own with `separate_sandbox`), and the whatsapp service (`replicas` of it in one consumer
    group)."""
    sandbox_config = {
        "status_webhooks": False,
        "webhook_retry_delays_s": [],
        "seed": 7,
        **(sandbox_settings or {}),
    }
    async with AsyncExitStack() as stack:
        auth = await stack.enter_async_context(running_auth(settings_factory))
        sandbox: RunningApp | SandboxProcess
        if separate_sandbox:
            sandbox = await stack.enter_async_context(sandbox_process(**sandbox_config))
        else:
            sandbox = await stack.enter_async_context(running_sandbox(**sandbox_config))
        channel = await new_tenant_with_channel(auth, messages_per_second=messages_per_second)
        served = channel
        if sandbox_token is not None:  # the sandbox (Meta) accepts another token than ours
            served = TenantChannel(**{**channel.__dict__, "access_token": sandbox_token})
        await serve_number_in_sandbox(
            sandbox,
            served,
            # Customer webhooks are not under test here: they go nowhere.
            webhook_url=f"http://127.0.0.1:{free_port()}/webhooks/whatsapp",
            app_secret="sandbox-signing-secret",
        )
        overrides = {**FAST_RETRIES, **whatsapp_overrides}
        first = await stack.enter_async_context(
            running_whatsapp(settings_factory, auth, sandbox, **overrides)
        )
        prefix = first.runtime.settings.kafka_topic_prefix
        for _ in range(replicas - 1):
            await stack.enter_async_context(
                running_whatsapp(
                    settings_factory, auth, sandbox, kafka_topic_prefix=prefix, **overrides
                )
            )
        yield Stack(auth, sandbox, first, channel)


async def test_a_reply_reaches_the_customer_with_its_context_and_conversation_gets_the_wamid(
    settings_factory,
) -> None:
    async with open_stack(settings_factory) as s:
        asked = await s.customer_writes(text="Is my order shipped?")
        command = await s.command(
            text=wa.Text(body="Yes, it left today."),
            reply_to_wamid=asked,
            biz_opaque_callback_data="order-42",
        )
        [outcome] = await s.outcomes()
        assert outcome.result == wa.SEND_RESULT_SENT
        assert (outcome.message_id, outcome.conversation_id) == (
            command.message_id,
            command.conversation_id,
        )
        [sent] = await s.outbox(recipient=ANA)
        assert list(outcome.wamids) == [sent["wamid"]]
        assert sent["to"] == f"+{ANA}"  # with the +, so Meta never guesses the country
        assert sent["content"] == {"body": "Yes, it left today.", "preview_url": False}
        assert sent["context"] == {"message_id": asked}
        assert sent["biz_opaque_callback_data"] == "order-42"
        assert not outcome.possible_duplicate and outcome.attempts == 1


async def test_a_redelivered_command_is_not_sent_twice(settings_factory) -> None:
    async with open_stack(settings_factory) as s:
        await s.customer_writes()
        command = await s.command(text=wa.Text(body="Only once, please."))
        [first] = await s.outcomes()
        await s.publish(command)  # conversation (or Kafka) delivers the command again
        await s.publish(command)
        assert await s.outcomes() == [first]  # read up to a marker behind the repeats
        assert [m["content"]["body"] for m in await s.outbox()] == ["Only once, please."]
        assert first.result == wa.SEND_RESULT_SENT


async def test_a_long_text_is_split_at_paragraphs_and_sentences_one_wamid_each(
    settings_factory,
) -> None:
    paragraph = " ".join(f"Sentence number {i} explains one more detail." for i in range(40))
    long_text = "\n\n".join(f"{n}. {paragraph}" for n in range(6))  # about 11,000 characters
    async with open_stack(settings_factory) as s:
        await s.customer_writes()
        await s.command(text=wa.Text(body=long_text))
        [outcome] = await s.outcomes()
        parts = [
            m["content"]["body"] for m in sorted(await s.outbox(), key=lambda m: m["sequence"])
        ]
        assert len(parts) == len(outcome.wamids) >= 3
        assert all(len(p) <= 4096 for p in parts)
        assert all(p.endswith(".") for p in parts)  # never inside a word or a sentence
        words = lambda text: text.split()  # noqa: E731
        assert [w for p in parts for w in words(p)] == words(long_text)


async def test_131047_tells_conversation_the_window_is_closed(settings_factory) -> None:
    async with open_stack(settings_factory) as s:
        # The customer never wrote: free-form text is refused, a template is needed.
        await s.command(text=wa.Text(body="Following up on your order."))
        [outcome] = await s.outcomes()
        assert outcome.result == wa.SEND_RESULT_WINDOW_CLOSED
        assert outcome.error.code == 131047
        assert "template" in outcome.reason
        assert await s.outbox() == []

        await s.command(
            template=wa.Template(
                name="follow_up",
                language="en_US",
                components=[
                    wa.Template.Component(
                        type="body", parameters=[wa.Template.Parameter(text="Ana")]
                    )
                ],
            )
        )
        [_, template_outcome] = await s.outcomes()
        assert template_outcome.result == wa.SEND_RESULT_SENT
        [sent] = await s.outbox()
        assert sent["type"] == "template" and sent["content"]["name"] == "follow_up"


async def test_a_permanent_error_ends_as_failed_with_metas_reason(settings_factory) -> None:
    async with open_stack(settings_factory) as s:
        await s.customer_writes()
        await s.fault(code=131026, count=1)
        await s.command(text=wa.Text(body="Are you there?"))
        [outcome] = await s.outcomes()
        assert outcome.result == wa.SEND_RESULT_FAILED
        assert outcome.error.code == 131026
        assert "131026" in outcome.reason and "undeliverable" in outcome.reason.lower()
        assert outcome.attempts == 1  # never retried
        assert (await s.traffic())["requests"] == 1

        # A command Meta would refuse for its shape fails before reaching Meta.
        await s.command(
            buttons=wa.InteractiveButtons(
                body="Pick one",
                buttons=[
                    wa.InteractiveButtons.Button(id=str(i), title=f"Option {i}") for i in range(4)
                ],
            )
        )
        [_, invalid] = await s.outcomes()
        assert invalid.result == wa.SEND_RESULT_FAILED and "1 to 3 buttons" in invalid.reason
        assert (await s.traffic())["requests"] == 1


async def test_a_rejected_token_marks_the_channel_for_reconnection(settings_factory) -> None:
    async with open_stack(settings_factory, sandbox_token="a-token-meta-issued-later") as s:
        await s.customer_writes()
        await s.command(text=wa.Text(body="hello"))
        [outcome] = await s.outcomes()
        assert outcome.result == wa.SEND_RESULT_CHANNEL_DISCONNECTED
        assert outcome.error.code == 190

        channel = await s.auth.running.client.get(
            f"/api/v1/channels/whatsapp/{s.channel.channel_id}",
            headers=principal_headers(s.auth.settings, s.channel.owner),
        )
        assert channel.json()["status"] == "disconnected"

        requests_before = (await s.traffic())["requests"]
        await s.command(text=wa.Text(body="again"))
        [_, second] = await s.outcomes()
        assert second.result == wa.SEND_RESULT_CHANNEL_DISCONNECTED
        assert (await s.traffic())["requests"] == requests_before  # Meta not bothered again


async def test_a_timed_out_send_is_retried_and_reported_as_a_possible_duplicate(
    settings_factory,
) -> None:
    async with open_stack(
        settings_factory, graph_timeout_s=1.0, sandbox_settings={"timeout_fault_hold_s": 3}
    ) as s:
        await s.customer_writes()
        # Meta takes the message but the answer never comes back in time.
        await s.fault(timeout=True, accept=True, count=1)
        await s.command(text=wa.Text(body="Your refund is on its way."))
        [outcome] = await s.outcomes()
        assert outcome.result == wa.SEND_RESULT_SENT
        assert outcome.possible_duplicate and outcome.attempts == 2
        # The customer did get it twice, and Parley says so instead of hiding it.
        assert [m["content"]["body"] for m in await s.outbox()] == [
            "Your refund is on its way."
        ] * 2
        metrics = (await s.whatsapp.ops.get("/metrics")).text
        assert "parley_whatsapp_possible_duplicates_total 1.0" in metrics


async def test_a_130429_storm_still_delivers_every_message_once_within_the_rate(
    settings_factory,
) -> None:
    rate = 10
    customers = [str(447700900200 + i) for i in range(8)]
    # Meta counts requests on its own machine: the sandbox runs in a process of its own, so
    # that what it counts is when requests arrived, not when this test's event loop (shared
    # by both replicas) got round to reading them.
    async with open_stack(
        settings_factory,
        messages_per_second=rate,
        replicas=2,
        sandbox_settings={"seed": 11},
        separate_sandbox=True,
        send_retry_budget_s=120,
        send_max_attempts=30,
    ) as s:
        for customer in customers:
            await s.customer_writes(wa_id=customer)
        # Half of all requests are refused with 130429, whatever the rate.
        await s.fault(code=130429, probability=0.5)
        commands = [
            await s.command(
                to=customers[i % len(customers)],
                text=wa.Text(body=f"update {i}"),
                biz_opaque_callback_data=f"m{i}",
            )
            for i in range(40)
        ]
        outcomes = await s.outcomes(*customers, timeout_s=120)
        assert Counter(o.result for o in outcomes) == {wa.SEND_RESULT_SENT: 40}
        assert {o.message_id for o in outcomes} == {c.message_id for c in commands}
        delivered = Counter(m["biz_opaque_callback_data"] for m in await s.outbox())
        assert delivered == {f"m{i}": 1 for i in range(40)}  # every message exactly once
        traffic = await s.traffic()
        assert traffic["rejected"].get("130429", 0) > 0
        assert traffic["max_requests_in_1s"] <= rate  # both replicas together, retries included


async def test_read_receipts_and_buttons_have_metas_shapes(settings_factory) -> None:
    async with open_stack(settings_factory) as s:
        wamid = await s.customer_writes(text="Can I reschedule?")
        await s.command(mark_read=wa.MarkRead(wamid=wamid, typing_indicator=True))
        buttons_command = await s.command(
            buttons=wa.InteractiveButtons(
                body="Reschedule your visit?",
                footer="Reply with a button",
                buttons=[
                    wa.InteractiveButtons.Button(id="resched:881", title="Reschedule"),
                    wa.InteractiveButtons.Button(id="keep:881", title="Keep"),
                ],
            )
        )
        [outcome] = await s.outcomes()  # the read receipt tells nobody anything
        assert (outcome.message_id, outcome.result) == (
            buttons_command.message_id,
            wa.SEND_RESULT_SENT,
        )
        read, buttons = sorted(await s.outbox(), key=lambda m: m["sequence"])
        assert read["type"] == "read"
        assert read["content"] == {"message_id": wamid, "typing_indicator": {"type": "text"}}
        assert buttons["content"]["action"]["buttons"][1] == {
            "type": "reply",
            "reply": {"id": "keep:881", "title": "Keep"},
        }
        assert buttons["content"]["footer"] == {"text": "Reply with a button"}


async def test_a_read_receipt_is_sent_once_with_no_record_and_no_outcome(settings_factory) -> None:
    async with open_stack(settings_factory) as s:
        wamid = await s.customer_writes(text="hello?")
        counted_before = await s.read_receipts()
        # As conversation sends them: no message id, since nothing is stored about them.
        receipt = wa.SendCommand(
            channel_id=s.channel.channel_id,
            phone_number_id=s.channel.phone_number_id,
            to_wa_id=ANA,
            mark_read=wa.MarkRead(wamid=wamid),
        )
        await s.publish(receipt)
        # One naming a channel this tenant does not have: dropped, and counted.
        await s.publish(
            wa.SendCommand(
                channel_id="not-a-channel-of-ours",
                to_wa_id=ANA,
                mark_read=wa.MarkRead(wamid=wamid),
            )
        )

        assert await s.outcomes() == []  # read up to a marker behind both receipts
        [read] = await s.outbox()
        assert (read["type"], read["content"]["message_id"]) == ("read", wamid)
        assert read["content"]["typing_indicator"] is None  # not asked for
        assert await s.recorded_commands() == []
        counted = await s.read_receipts()
        counted.subtract(counted_before)
        assert +counted == Counter({"sent": 1, "no_channel": 1})


async def test_a_command_cannot_send_as_another_tenants_channel_or_number(
    settings_factory,
) -> None:
    async with open_stack(settings_factory) as s:
        other = await new_tenant_with_channel(s.auth)
        await serve_number_in_sandbox(
            s.sandbox,
            other,
            webhook_url=f"http://127.0.0.1:{free_port()}/webhooks/whatsapp",
            app_secret="sandbox-signing-secret",
        )
        await s.customer_writes()
        # Tenant A's event naming tenant B's channel, then A's channel with B's number.
        await s.publish(
            wa.SendCommand(
                message_id=str(uuid.uuid4()),
                channel_id=other.channel_id,
                phone_number_id=other.phone_number_id,
                to_wa_id=ANA,
                text=wa.Text(body="sent as someone else"),
            )
        )
        await s.publish(
            wa.SendCommand(
                message_id=str(uuid.uuid4()),
                channel_id=s.channel.channel_id,
                phone_number_id=other.phone_number_id,
                to_wa_id=ANA,
                text=wa.Text(body="sent from someone else's number"),
            )
        )
        outcomes = await s.outcomes()
        assert [o.result for o in outcomes] == [wa.SEND_RESULT_FAILED] * 2
        assert all("no such WhatsApp channel" in o.reason for o in outcomes)
        for number in (s.channel.phone_number_id, other.phone_number_id):
            outbox = await s.sandbox.client.get(
                "/sandbox/outbox", params={"phone_number_id": number}
            )
            assert outbox.json() == []


async def test_retries_are_bounded_and_end_as_failed_with_the_last_error(settings_factory) -> None:
    async with open_stack(settings_factory, send_max_attempts=3) as s:
        await s.customer_writes()
        await s.fault(code=130429)  # throttled on every request, until cleared
        await s.command(text=wa.Text(body="Will this ever go out?"))
        [outcome] = await s.outcomes()
        assert outcome.result == wa.SEND_RESULT_FAILED
        assert outcome.attempts == 3 and (await s.traffic())["requests"] == 3
        assert outcome.reason.startswith("gave up after 3 attempts") and "130429" in outcome.reason
        assert not outcome.possible_duplicate  # Meta refused each one: nothing went out

        # A 5xx leaves the fate of each request open: retrying it is a possible duplicate.
        await s.sandbox.client.delete("/sandbox/faults")
        await s.fault(code=131000, count=1)
        await s.command(text=wa.Text(body="Second try"))
        [_, retried] = await s.outcomes()
        assert retried.result == wa.SEND_RESULT_SENT
        assert retried.attempts == 2 and retried.possible_duplicate
