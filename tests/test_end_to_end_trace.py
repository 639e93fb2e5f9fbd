"""One customer message is one trace, and the logs along it are JSON with trace id and tenant
id and no secrets or message bodies.

Every service on the path runs as a real process exporting spans over OTLP to a receiver
inside the test; the sandbox plays Meta. A customer asks for a person (handoff), an agent
takes the conversation over and replies, and the reply reaches the sandbox's Cloud API.

Covered now: gateway HTTP span -> Kafka produce -> conversation (and its outbox relay); and an
agent's reply: gateway -> conversation -> outbox -> whatsapp -> Cloud API call -> outcome ->
conversation. TODO(ai, knowledge): when the AI answers, extend the customer-message trace
with ai (-> knowledge over gRPC -> LLM call) -> whatsapp -> Cloud API call, and start those
two services here too.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from parley_testing.otlp import OtlpReceiver, ReceivedSpan, otlp_receiver
from parley_testing.polling import eventually
from parley_testing.services import ChildProcess, free_port, settings_env
from parley_testing.whatsapp import running_sandbox

CUSTOMER = "447700900555"
CUSTOMER_TEXT = "Hello, my order 4471 never came. I want to talk to a person please"
AGENT_REPLY = "So sorry! Your parcel 4471 leaves today, tracking follows"
PASSWORD = "a-Long-and-Secret-passw0rd"


@asynccontextmanager
async def service_process(
    name: str, settings: Any, tmp_path: Path, stack: AsyncExitStack
) -> AsyncIterator[ChildProcess]:
    """`python -m parley_<name>` with `settings` as its environment, until /readyz says so."""
    env = settings_env(settings) | {"PYTHONWARNINGS": "ignore"}
    process = ChildProcess(["-m", f"parley_{name}"], env, tmp_path / f"{name}.log").start()
    try:

        async def ready() -> bool:
            assert process.proc is not None and process.proc.poll() is None, process.log()
            try:
                async with httpx.AsyncClient(timeout=2) as client:
                    url = f"http://127.0.0.1:{settings.http_port}/readyz"
                    return (await client.get(url)).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, timeout_s=90, interval_s=0.25)
        yield process
    finally:
        process.kill(15)


def ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[ReceivedSpan]:
    chain = []
    while span.parent_span_id and span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        chain.append(span)
    return chain


def one(spans: Iterable[ReceivedSpan], **match: Any) -> ReceivedSpan:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    assert len(found) >= 1, f"no span with {match}"
    return found[0]


def connected(spans: list[ReceivedSpan]) -> bool:
    """Whether every span but one has its parent among `spans` (all exported so far)."""
    ids = {s.span_id for s in spans}
    return sum(s.parent_span_id not in ids for s in spans) == 1


def assert_one_connected_trace(spans: list[ReceivedSpan]) -> ReceivedSpan:
    """Every span's parent is in the trace except for one, the entry; returns it. (The
    entry may name a parent outside Parley: a caller that sent `traceparent`.)"""
    by_id = {s.span_id: s for s in spans}
    entries = [s for s in spans if s.parent_span_id not in by_id]
    assert len(entries) == 1, entries
    return entries[0]


def descends(child: ReceivedSpan, parent: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> bool:
    return parent in ancestors(child, by_id)


@pytest.fixture
async def platform(settings_factory, tmp_path) -> AsyncIterator[dict[str, Any]]:
    async with AsyncExitStack() as stack:
        receiver = await stack.enter_async_context(otlp_receiver())
        sandbox = await stack.enter_async_context(running_sandbox(status_webhooks=False))
        ports = {name: free_port() for name in ("auth", "conversation", "whatsapp", "gateway")}
        auth_grpc = free_port()
        common = {"otlp_endpoint": receiver.endpoint, "otlp_timeout_s": 2, "log_level": "INFO"}
        settings = {
            "auth": await settings_factory(
                "auth",
                **common,
                http_port=ports["auth"],
                grpc_port=auth_grpc,
                signups_per_address_per_hour=1000,
                signing_key_publish_delay_s=0,
            ),
            "conversation": await settings_factory(
                "conversation",
                **common,
                http_port=ports["conversation"],
                auth_grpc_target=f"127.0.0.1:{auth_grpc}",
            ),
            "whatsapp": await settings_factory(
                "whatsapp",
                **common,
                http_port=ports["whatsapp"],
                auth_grpc_target=f"127.0.0.1:{auth_grpc}",
                graph_api_base_url=sandbox.base_url,
            ),
            "gateway": await settings_factory(
                "gateway",
                **common,
                http_port=ports["gateway"],
                auth_grpc_target=f"127.0.0.1:{auth_grpc}",
                auth_http_url=f"http://127.0.0.1:{ports['auth']}",
                conversation_http_url=f"http://127.0.0.1:{ports['conversation']}",
                whatsapp_http_url=f"http://127.0.0.1:{ports['whatsapp']}",
                jwks_min_refresh_interval_s=0,
            ),
        }
        processes = {}
        for name in ("auth", "conversation", "whatsapp", "gateway"):
            processes[name] = await stack.enter_async_context(
                service_process(name, settings[name], tmp_path, stack)
            )
        yield {
            "receiver": receiver,
            "sandbox": sandbox,
            "settings": settings,
            "processes": processes,
            "gateway": f"http://127.0.0.1:{ports['gateway']}",
        }


async def test_one_customer_message_is_one_trace_and_the_logs_follow_it(platform) -> None:
    receiver: OtlpReceiver = platform["receiver"]
    sandbox = platform["sandbox"]
    tag = uuid.uuid4().hex[:8]
    phone_number_id = str(10**14 + secrets.randbelow(9 * 10**14))
    waba_id = str(10**14 + secrets.randbelow(9 * 10**14))
    access_token = f"EAAG{secrets.token_urlsafe(32)}"
    app_secret = platform["settings"]["gateway"].whatsapp_app_secret.get_secret_value()
    async with httpx.AsyncClient(base_url=platform["gateway"], timeout=20) as api:
        # A business signs up and connects its number (which the sandbox serves).
        signup = await api.post(
            "/api/v1/signup",
            json={
                "company_name": f"Trace Co {tag}",
                "name": "Owner",
                "email": f"owner-{tag}@example.com",
                "password": PASSWORD,
            },
        )
        assert signup.status_code == 201, signup.text
        token = signup.json()["access_token"]
        tenant_id = signup.json()["tenant"]["id"]
        owner = {"Authorization": f"Bearer {token}"}
        registered = await sandbox.client.post(
            "/sandbox/numbers",
            json={
                "phone_number_id": phone_number_id,
                "waba_id": waba_id,
                "display_phone_number": "15550001111",
                "access_token": access_token,
                "app_secret": app_secret,
                "webhook_url": f"{platform['gateway']}/webhooks/whatsapp",
            },
        )
        assert registered.status_code == 201, registered.text

        async def channel_created() -> httpx.Response | None:
            created = await api.post(
                "/api/v1/channels/whatsapp",
                headers=owner,
                json={
                    "phone_number_id": phone_number_id,
                    "waba_id": waba_id,
                    "display_phone_number": "15550001111",
                    "access_token": access_token,
                },
            )
            # 401 until the gateway has the signing key of the token it was just given.
            return created if created.status_code != 401 else None

        created = await eventually(channel_created, timeout_s=30, interval_s=0.5)
        assert created.status_code == 201, created.text

        # The customer asks for a person.
        sent = await sandbox.client.post(
            f"/sandbox/customers/{CUSTOMER}/messages",
            json={"phone_number_id": phone_number_id, "text": CUSTOMER_TEXT},
        )
        assert sent.status_code == 200 and sent.json()["webhook_status"] == 200, sent.text

        async def waiting_for_a_person() -> dict[str, Any] | None:
            listed = await api.get("/api/v1/conversations", headers=owner)
            items = listed.json().get("items", []) if listed.status_code == 200 else []
            return next((c for c in items if c["state"] == "waiting_human"), None)

        conversation = await eventually(waiting_for_a_person, timeout_s=60, interval_s=0.5)
        path = f"/api/v1/conversations/{conversation['id']}"
        taken = await api.post(f"{path}/takeover", headers=owner)
        assert taken.status_code == 200, taken.text
        replied = await api.post(f"{path}/messages", headers=owner, json={"text": AGENT_REPLY})
        assert replied.status_code in (200, 201, 202), replied.text

        async def delivered_to_meta() -> bool:
            outbox = (await sandbox.client.get("/sandbox/outbox")).json()
            return AGENT_REPLY in json.dumps(outbox)

        await eventually(delivered_to_meta, timeout_s=60, interval_s=0.5)

    # ---- the customer's message: one trace from Meta's webhook through conversation.
    def webhook_trace() -> list[ReceivedSpan] | None:
        for root in receiver.spans:
            if (
                root.service == "parley-gateway"
                and root.kind == "server"
                and (root.attributes.get("http.route") == "/webhooks/whatsapp")
            ):
                spans = receiver.trace(root.trace_id)
                names = {(s.service, s.name) for s in spans}
                wanted = {
                    ("parley-gateway", "whatsapp.inbound.v1 publish"),
                    ("parley-conversation", "whatsapp.inbound.v1 process"),
                    ("parley-conversation", "conversation.changed.v1 publish"),
                }
                if wanted <= names and connected(spans):
                    return spans
        return None

    async def exported_webhook_trace() -> list[ReceivedSpan] | None:
        return webhook_trace()

    spans = await eventually(exported_webhook_trace, timeout_s=30, interval_s=0.5)
    by_id = {s.span_id: s for s in spans}
    root = assert_one_connected_trace(spans)
    assert (root.service, root.kind) == ("parley-gateway", "server")
    produced = one(spans, service="parley-gateway", name="whatsapp.inbound.v1 publish")
    consumed = one(spans, service="parley-conversation", name="whatsapp.inbound.v1 process")
    relayed = one(spans, service="parley-conversation", name="conversation.changed.v1 publish")
    assert produced.kind == "producer" and consumed.kind == "consumer"
    assert consumed.parent_span_id == produced.span_id
    assert descends(produced, root, by_id)
    assert descends(relayed, consumed, by_id) and relayed.attributes.get("parley.outbox")
    # The gateway asked auth which tenant owns the number: the same trace, across gRPC.
    assert any(s.service == "parley-auth" and s.kind == "server" for s in spans)
    trace_id = root.trace_id

    # ---- the agent's reply: gateway -> conversation -> outbox -> whatsapp -> Cloud API.
    def reply_trace() -> list[ReceivedSpan] | None:
        for span in receiver.spans:
            if span.service == "parley-whatsapp" and span.name == "whatsapp.outcome.v1 publish":
                spans = receiver.trace(span.trace_id)
                if any(s.name == "whatsapp.outcome.v1 process" for s in spans) and connected(spans):
                    return spans
        return None

    async def exported_reply_trace() -> list[ReceivedSpan] | None:
        return reply_trace()

    spans = await eventually(exported_reply_trace, timeout_s=30, interval_s=0.5)
    by_id = {s.span_id: s for s in spans}
    root = assert_one_connected_trace(spans)
    reply_trace_id = root.trace_id
    assert (root.service, root.kind) == ("parley-gateway", "server")
    api_call = one(spans, service="parley-conversation", kind="server")
    command = one(spans, service="parley-conversation", name="whatsapp.outbound.v1 publish")
    send = one(spans, service="parley-whatsapp", name="whatsapp.outbound.v1 process")
    cloud_api = [
        s
        for s in spans
        if s.service == "parley-whatsapp"
        and s.kind == "client"
        and "/messages" in str(s.attributes.get("url.full") or s.attributes.get("http.url"))
    ]
    outcome = one(spans, service="parley-conversation", name="whatsapp.outcome.v1 process")
    assert descends(api_call, root, by_id) and descends(command, api_call, by_id)
    assert send.parent_span_id == command.span_id
    assert cloud_api and all(descends(c, send, by_id) for c in cloud_api)
    assert descends(outcome, send, by_id)

    # ---- the logs: JSON, with trace and tenant ids, and nothing secret or private.
    settings = platform["settings"]
    never = {
        "customer's message": CUSTOMER_TEXT,
        "agent's reply": AGENT_REPLY,
        "password": PASSWORD,
        "access token": token,
        "channel token": access_token,
        "app secret": app_secret,
        "service token secret": settings["gateway"].service_token_secret.get_secret_value(),
        "database password": settings["conversation"]
        .database_url.get_secret_value()
        .split(":")[2]
        .split("@")[0],
    }
    records = []
    for name, process in platform["processes"].items():
        for line in process.log().splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                pytest.fail(f"{name} wrote a line that is not JSON: {line[:200]}")
            assert record["service"] == name and record["level"], record
            for what, value in never.items():
                assert value not in line, f"{name} logged the {what}: {line[:300]}"
            records.append(record)
    tenant_lines = [r for r in records if r.get("tenant_id") == tenant_id]
    assert tenant_lines, "no log line names the tenant"
    assert all(r.get("trace_id") for r in tenant_lines)
    # The lines written along the traces above carry those traces' ids (the sender logs
    # each send it finishes), so a log line leads to its trace and back.
    assert {r["trace_id"] for r in tenant_lines} & {trace_id, reply_trace_id}
