"""Webhook fuzzing: whatever reaches `/webhooks/whatsapp`, the gateway never answers 5xx.

- Hostile bodies (random bytes, truncated notifications, absurdly nested JSON, bodies over the
  size limit with or without a Content-Length, wrong or missing signatures) are refused with a
  4xx and publish nothing on any of the gateway's topics.
- Valid but odd notifications (message types Meta may add, fields nobody knows, empty arrays,
  statuses of messages Parley never sent) are accepted (200) and handled by the conversation
  service without a single event failing or being dead-lettered.

Examples are generated with Hypothesis (`PARLEY_FUZZ_EXAMPLES` per property, 40 by default;
`make fuzz` runs many more). Requests go from a worker thread to the services served in the
test's event loop, so both run at once.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parley_conversation.main import create_app as create_conversation
from parley_devstack.chaos.observe import consumer_offsets
from parley_platform.events.topics import (
    WHATSAPP_INBOUND,
    WHATSAPP_STATUS,
    WHATSAPP_WEBHOOK_ERROR,
    dead_letter_topic,
)
from parley_sandbox import meta
from parley_testing.kafka import publish_marker, read_until_marker
from parley_testing.polling import eventually
from parley_testing.services import RunningApp, principal_headers, serve_app
from parley_testing.whatsapp import (
    TenantChannel,
    new_tenant_with_channel,
    running_auth,
    running_gateway,
)

# The services run in this process too, and their retry jitter draws from `random` while
# Hypothesis generates examples in the worker thread; Hypothesis takes that for a strategy
# using `random` and warns. Nothing of ours draws from it.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
EXAMPLES = int(os.environ.get("PARLEY_FUZZ_EXAMPLES", "40"))
BODY_LIMIT = 64 * 1024  # the gateway's limit in these tests (3 MiB by default)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the machine is shared; a slow answer is not a failure here
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
GATEWAY_TOPICS = (WHATSAPP_INBOUND, WHATSAPP_STATUS, WHATSAPP_WEBHOOK_ERROR)
CUSTOMER = "447700900555"


@dataclass
class Ingress:
    """The gateway (with auth) and the conversation service behind it, and one channel."""

    gateway: RunningApp
    conversation: RunningApp
    channel: TenantChannel
    secret: str

    def notification(self, value: dict[str, Any]) -> dict[str, Any]:
        """A notification for the channel's number carrying `value` (messages, statuses...)."""
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.channel.waba_id,
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": self.channel.display_phone_number,
                                    "phone_number_id": self.channel.phone_number_id,
                                },
                                **value,
                            },
                        }
                    ],
                }
            ],
        }

    def valid_bytes(self, text: str = "hello") -> bytes:
        """A genuine text message notification, encoded like Meta."""
        item = meta.message(CUSTOMER, "text", {"body": text})
        return meta.encode_like_meta(
            self.notification(
                {"contacts": [meta.contact(CUSTOMER, "Fuzz Customer")], "messages": [item]}
            )
        )


@pytest.fixture
async def ingress(settings_factory) -> Any:
    async with running_auth(settings_factory) as auth:
        channel = await new_tenant_with_channel(auth)
        async with running_gateway(
            settings_factory, auth, webhook_max_body_bytes=BODY_LIMIT
        ) as gateway:
            conversation_settings = await settings_factory(
                "conversation", auth_grpc_target=auth.grpc_target
            )
            async with serve_app(create_conversation(conversation_settings)) as conversation:
                secret = gateway.runtime.settings.whatsapp_app_secret.get_secret_value()
                yield Ingress(gateway, conversation, channel, secret)


def post(client: httpx.Client, body: bytes | Iterator[bytes], signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return client.post("/webhooks/whatsapp", content=body, headers=headers).status_code


async def nothing_published(ingress: Ingress) -> None:
    """Nothing reached any of the gateway's topics before a marker published after the fuzz."""
    settings = ingress.gateway.runtime.settings
    for topic in GATEWAY_TOPICS:
        name = settings.topic_name(topic.name)
        marker = await publish_marker(settings.kafka_bootstrap, name, b"marker")
        published = await read_until_marker(settings.kafka_bootstrap, name, marker)
        assert published == [], f"{len(published)} record(s) published on {topic.name}"


# ---------------------------------------------------------------------- hostile bodies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


async def test_hostile_bodies_get_a_4xx_and_publish_nothing(ingress: Ingress) -> None:
    genuine = ingress.valid_bytes()
    correct = meta.signature(ingress.secret, genuine)

    @FUZZ
    @given(body=st.binary(max_size=4096))
    def random_bytes(client: httpx.Client, body: bytes) -> None:
        assert post(client, body, meta.signature(ingress.secret, body)) == 400

    @FUZZ
    @given(cut=st.integers(min_value=0, max_value=len(genuine) - 1))
    def truncated(client: httpx.Client, cut: int) -> None:
        body = genuine[:cut]
        assert post(client, body, meta.signature(ingress.secret, body)) == 400

    @FUZZ
    @given(
        depth=st.integers(min_value=50, max_value=200_000),
        opener=st.sampled_from(["[", '{"a":']),
        where=st.sampled_from(["body", "entry", "value"]),
    )
    def deeply_nested(client: httpx.Client, depth: int, opener: str, where: str) -> None:
        closer = "]" if opener == "[" else "}"
        nested = opener * depth + "1" + closer * depth
        if where == "body":
            text = nested
        elif where == "entry":
            text = '{"object":"whatsapp_business_account","entry":[' + nested + "]}"
        else:
            # Inside a change's value: not a message, status or error list.
            text = json.dumps(ingress.notification({"deep": "@"})).replace('"@"', nested)
        body = text.encode()[: BODY_LIMIT - 1]
        status = post(client, body, meta.signature(ingress.secret, body))
        assert status in (200, 400), status

    @FUZZ
    @given(shape=json_values)
    def not_a_notification(client: httpx.Client, shape: Any) -> None:
        if isinstance(shape, dict):
            shape.pop("entry", None)
        body = json.dumps(shape).encode()
        assert post(client, body, meta.signature(ingress.secret, body)) == 400

    @settings(FUZZ, max_examples=max(4, EXAMPLES // 10))
    @given(extra=st.integers(min_value=1, max_value=BODY_LIMIT), streamed=st.booleans())
    def oversized(client: httpx.Client, extra: int, streamed: bool) -> None:
        body = genuine + b" " * (BODY_LIMIT - len(genuine) + extra)
        signature = meta.signature(ingress.secret, body)
        if streamed:  # no Content-Length: the gateway must count while it reads
            chunks = [body[i : i + 8192] for i in range(0, len(body), 8192)]
            assert post(client, iter(chunks), signature) == 413
        else:
            assert post(client, body, signature) == 413

    @FUZZ
    @given(
        signature=st.one_of(
            st.none(),
            # Anything a header can carry (other bytes are refused by the HTTP layer itself).
            st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=80),
            st.binary(min_size=32, max_size=32).map(lambda b: "sha256=" + b.hex()),
            st.text(min_size=1, max_size=16).map(lambda s: meta.signature(s, genuine)),
            st.just(correct.replace("sha256=", "sha1=")),
            st.just(correct[:-1]),
            st.just("sha256="),
        ),
        body=st.sampled_from([genuine, genuine + b" ", genuine.replace(b"hello", b"hellO")]),
    )
    def wrongly_signed(client: httpx.Client, signature: str | None, body: bytes) -> None:
        if signature == correct and body == genuine:
            return
        assert post(client, body, signature) == 401

    def run_all() -> None:
        with httpx.Client(base_url=ingress.gateway.base_url, timeout=30) as client:
            for prop in (
                random_bytes,
                truncated,
                deeply_nested,
                not_a_notification,
                oversized,
                wrongly_signed,
            ):
                prop(client)

    await asyncio.to_thread(run_all)
    await nothing_published(ingress)


# ---------------------------------------------------------------------- odd but valid

KNOWN_TYPES = {
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "unsupported",
    "request_welcome",
}
unknown_fields = st.dictionaries(
    st.text(min_size=1, max_size=12).map(lambda k: f"x_{k}"), json_values, max_size=3
)


@st.composite
def odd_values(draw: st.DrawFn, wamids: Iterator[str]) -> dict[str, Any]:
    """A `value` of a messages change that Parley has never seen the like of."""
    value: dict[str, Any] = draw(unknown_fields)
    kind = draw(st.sampled_from(["unknown type", "unknown fields", "empty", "status"]))
    customer = f"44770{draw(st.integers(min_value=1_000_000, max_value=9_999_999))}"
    if kind == "empty":
        for name in draw(st.sets(st.sampled_from(["messages", "statuses", "contacts", "errors"]))):
            value[name] = []
    elif kind == "status":
        value["statuses"] = [
            {
                **draw(unknown_fields),
                "id": f"wamid.never-sent-{next(wamids)}",
                "status": draw(
                    st.sampled_from(["sent", "delivered", "read", "failed", "deleted", "played"])
                    | st.text(max_size=10)
                ),
                "timestamp": str(draw(st.integers(min_value=0, max_value=2**33))),
                "recipient_id": customer,
            }
        ]
    else:
        message_type = (
            draw(st.text(min_size=1, max_size=20).filter(lambda t: t not in KNOWN_TYPES))
            if kind == "unknown type"
            else "text"
        )
        item = meta.message(customer, message_type, None, wamid=f"wamid.fuzz-{next(wamids)}")
        item[message_type] = draw(json_values) if kind == "unknown type" else {"body": "hi"}
        item.update(draw(unknown_fields))
        value["contacts"] = [{**meta.contact(customer, "Odd"), **draw(unknown_fields)}]
        value["messages"] = [item]
    return value


async def test_odd_but_valid_notifications_are_accepted_and_handled(ingress: Ingress) -> None:
    counter = iter(range(10**9))
    wamids = (str(n) for n in counter)

    @FUZZ
    @given(value=odd_values(wamids))
    def odd(client: httpx.Client, value: dict[str, Any]) -> None:
        body = meta.encode_like_meta(ingress.notification(value))
        status = post(client, body, meta.signature(ingress.secret, body))
        assert status == 200, (status, value)

    def run() -> None:
        with httpx.Client(base_url=ingress.gateway.base_url, timeout=30) as client:
            odd(client)
            # And one message of a type Meta does not have yet, to follow to the inbox.
            item = meta.message(CUSTOMER, "hologram", None, wamid="wamid.hologram")
            item["hologram"] = {"frames": 3}
            body = meta.encode_like_meta(
                ingress.notification(
                    {"contacts": [meta.contact(CUSTOMER, "Holo")], "messages": [item]}
                )
            )
            assert post(client, body, meta.signature(ingress.secret, body)) == 200

    await asyncio.to_thread(run)

    # The conversation service handles every one of them: the unknown type is in the inbox,
    # and no event was dead-lettered.
    conversation = ingress.conversation
    headers = principal_headers(conversation.runtime.settings, ingress.channel.owner)

    async def hologram_stored() -> dict[str, Any] | None:
        page = (await conversation.client.get("/api/v1/conversations", headers=headers)).json()
        for item in page["items"]:
            if item["contact"]["wa_id"] == CUSTOMER:
                path = f"/api/v1/conversations/{item['id']}/messages"
                messages = (await conversation.client.get(path, headers=headers)).json()
                return next((m for m in messages["items"] if m["wamid"] == "wamid.hologram"), None)
        return None

    stored = await eventually(hologram_stored, timeout_s=60)
    assert stored["direction"] == "inbound" and stored["status"] == "received"

    settings = conversation.runtime.settings
    group = settings.topic_name("conversation")

    async def caught_up() -> bool:
        offsets = await consumer_offsets(settings.kafka_bootstrap, groups={group})
        return bool(offsets.committed) and offsets.lag == 0

    await eventually(caught_up, timeout_s=60, interval_s=0.5)
    dead_letters = settings.topic_name(dead_letter_topic("conversation"))
    marker = await publish_marker(settings.kafka_bootstrap, dead_letters, b"marker")
    assert await read_until_marker(settings.kafka_bootstrap, dead_letters, marker) == []
