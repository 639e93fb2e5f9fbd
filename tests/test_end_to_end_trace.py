"""One customer message is one trace, and the logs along it are JSON with trace id and tenant
id and no secrets or message bodies.

Every service runs as a real process exporting spans over OTLP to a receiver inside the test;
the sandbox plays Meta and the LLM stand-in plays the model provider. A customer asks a
question the business's knowledge answers: the trace runs gateway HTTP span -> Kafka produce
-> conversation (and its outbox relay) -> ai (-> knowledge over gRPC -> LLM call) ->
conversation -> whatsapp -> Cloud API call. Another customer asks for a person, an agent
takes over and replies: that reply's trace runs gateway -> conversation -> whatsapp -> Cloud
API -> outcome -> conversation.
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
from parley_devstack.seeding import Mailbox
from parley_llm_stub.app import create_app as create_llm_stub
from parley_llm_stub.config import StubSettings
from parley_testing.otlp import OtlpReceiver, ReceivedSpan, otlp_receiver
from parley_testing.polling import eventually
from parley_testing.services import ChildProcess, free_port, serve_app, settings_env
from parley_testing.whatsapp import running_sandbox

CUSTOMER = "447700900555"
QUESTION = "When are you open on Saturday?"
HOURS = (
    "Opening hours",
    "We are open Monday to Friday from 8:00 to 19:00 and on Saturday from 9:00 to 14:00. "
    "On Sundays the shop is closed.",
)
OTHER_CUSTOMER = "447700900556"
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
    """Whether every span but one has its parent among `spans` (all exported so far), and
    the gateway's server span, where a trace starts, is among them. Each process exports in
    batches of its own: without the gateway's span, the spans of the services behind it can
    look connected with the first of them as the entry."""
    ids = {s.span_id for s in spans}
    gateway_served = any(s.service == "parley-gateway" and s.kind == "server" for s in spans)
    return gateway_served and sum(s.parent_span_id not in ids for s in spans) == 1


def assert_one_connected_trace(spans: list[ReceivedSpan]) -> ReceivedSpan:
    """Every span's parent is in the trace except for one, the entry, which has none (the
    gateway ignores a caller's `traceparent`: the sandbox's and the test's clients send one
    once httpx is instrumented in this process); returns it."""
    by_id = {s.span_id: s for s in spans}
    entries = [s for s in spans if s.parent_span_id not in by_id]
    assert len(entries) == 1, entries
    assert entries[0].parent_span_id is None, "a caller outside Parley chose the trace"
    return entries[0]


def descends(child: ReceivedSpan, parent: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> bool:
    return parent in ancestors(child, by_id)


SERVICES = ("auth", "knowledge", "ai", "conversation", "whatsapp", "gateway")


@pytest.fixture
async def platform(settings_factory, tmp_path) -> AsyncIterator[dict[str, Any]]:
    async with AsyncExitStack() as stack:
        receiver = await stack.enter_async_context(otlp_receiver())
        sandbox = await stack.enter_async_context(running_sandbox(status_webhooks=False))
        llm = await stack.enter_async_context(serve_app(create_llm_stub(StubSettings())))
        ports = {name: free_port() for name in SERVICES}
        url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        auth_grpc, knowledge_grpc = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        # The receiver runs in this test's process, which may be slow to answer on a loaded
        # machine: an export that times out drops its spans, and the trace would never join.
        common = {"otlp_endpoint": receiver.endpoint, "otlp_timeout_s": 10, "log_level": "INFO"}
        own: dict[str, dict[str, Any]] = {
            "auth": {
                "grpc_port": int(auth_grpc.rsplit(":", 1)[1]),
                "signups_per_address_per_hour": 1000,
                "signing_key_publish_delay_s": 0,
                # Numbers are verified with Meta (the sandbox) as they connect.
                "graph_api_base_url": sandbox.base_url,
            },
            "knowledge": {"grpc_port": int(knowledge_grpc.rsplit(":", 1)[1])},
            "ai": {"knowledge_grpc_target": knowledge_grpc},
            "conversation": {"auth_grpc_target": auth_grpc, "ai_http_url": url["ai"]},
            "whatsapp": {"auth_grpc_target": auth_grpc, "graph_api_base_url": sandbox.base_url},
            "gateway": {
                "auth_grpc_target": auth_grpc,
                **{f"{name}_http_url": url[name] for name in SERVICES if name != "gateway"},
                "jwks_min_refresh_interval_s": 0,
            },
        }
        settings = {
            name: await settings_factory(name, **common, http_port=ports[name], **own[name])
            for name in SERVICES
        }
        processes = {}
        for name in SERVICES:
            processes[name] = await stack.enter_async_context(
                service_process(name, settings[name], tmp_path, stack)
            )
        yield {
            "receiver": receiver,
            "sandbox": sandbox,
            "llm": llm,
            "settings": settings,
            "processes": processes,
            "gateway": url["gateway"],
            "auth": url["auth"],
        }


# Six service processes start on a small machine: more than the default three minutes.
@pytest.mark.timeout(480)
async def test_one_customer_message_is_one_trace_and_the_logs_follow_it(platform) -> None:
    receiver: OtlpReceiver = platform["receiver"]
    sandbox = platform["sandbox"]
    tag = uuid.uuid4().hex[:8]
    phone_number_id = str(10**14 + secrets.randbelow(9 * 10**14))
    waba_id = str(10**14 + secrets.randbelow(9 * 10**14))
    access_token = f"EAAG{secrets.token_urlsafe(32)}"
    app_secret = platform["settings"]["gateway"].whatsapp_app_secret.get_secret_value()
    async with (
        httpx.AsyncClient(base_url=platform["gateway"], timeout=20) as api,
        httpx.AsyncClient(base_url=platform["auth"], timeout=20) as auth,
    ):
        # A business signs up (confirming the link emailed to it: auth's local mailbox here)
        # and connects its number (which the sandbox serves).
        email = f"owner-{tag}@example.com"
        sign_up_asked = await api.post(
            "/api/v1/signup",
            json={
                "company_name": f"Trace Co {tag}",
                "name": "Owner",
                "email": email,
                "password": PASSWORD,
            },
        )
        assert sign_up_asked.status_code == 202, sign_up_asked.text
        confirmation = await Mailbox(auth).link_token(email, "signup_confirmation")
        signup = await api.post("/api/v1/signup/confirm", json={"token": confirmation})
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

        # The business's knowledge, and its AI answering with a model (the LLM stand-in).
        added = await api.post(
            "/api/v1/knowledge/documents",
            headers=owner,
            json={"title": HOURS[0], "text": HOURS[1]},
        )
        assert added.status_code in (200, 202), added.text
        document = f"/api/v1/knowledge/documents/{added.json()['id']}"

        async def indexed() -> bool:
            return (await api.get(document, headers=owner)).json()["state"] == "ready"

        await eventually(indexed, timeout_s=60, interval_s=0.5)
        configured = await api.put(
            "/api/v1/ai/settings",
            headers=owner,
            json={
                "provider": "openai-compatible",
                "base_url": f"{platform['llm'].base_url}/v1",
                "model": "stub-large",
                "fallback_model": "stub-small",
            },
        )
        assert configured.status_code == 200, configured.text

        # A customer asks; the answer reaches Meta's Cloud API.
        sent = await sandbox.client.post(
            f"/sandbox/customers/{CUSTOMER}/messages",
            json={"phone_number_id": phone_number_id, "text": QUESTION},
        )
        assert sent.status_code == 200 and sent.json()["webhook_status"] == 200, sent.text

        async def answered() -> list[str]:
            chat = await sandbox.client.get(
                "/sandbox/conversation",
                params={"phone_number_id": phone_number_id, "wa_id": CUSTOMER},
            )
            return [
                m["content"]["body"]
                for m in chat.json()
                if m["direction"] == "out" and m["type"] == "text"
            ]

        (answer,) = await eventually(answered, timeout_s=90, interval_s=0.5)
        assert "9:00" in answer

        # Another customer asks for a person; an agent takes over and replies.
        sent = await sandbox.client.post(
            f"/sandbox/customers/{OTHER_CUSTOMER}/messages",
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

    # ---- the customer's question: one trace from Meta's webhook to Meta's Cloud API.
    def question_trace() -> list[ReceivedSpan] | None:
        for root in receiver.spans:
            if root.service == "parley-gateway" and root.name == "whatsapp.inbound.v1 publish":
                spans = receiver.trace(root.trace_id)
                names = {(s.service, s.name) for s in spans}
                wanted = {
                    ("parley-conversation", "whatsapp.inbound.v1 process"),
                    ("parley-ai", "conversation.ai-requested.v1 process"),
                    ("parley-conversation", "ai.reply.v1 process"),
                    ("parley-whatsapp", "whatsapp.outbound.v1 process"),
                }
                if (
                    wanted <= names
                    and connected(spans)
                    and any(s.service == "parley-whatsapp" and s.kind == "client" for s in spans)
                ):
                    return spans
        return None

    async def exported_question_trace() -> list[ReceivedSpan] | None:
        return question_trace()

    spans = await eventually(exported_question_trace, timeout_s=60, interval_s=0.5)
    by_id = {s.span_id: s for s in spans}
    root = assert_one_connected_trace(spans)
    assert (root.service, root.kind) == ("parley-gateway", "server")
    assert root.attributes.get("http.route") == "/webhooks/whatsapp"
    produced = one(spans, service="parley-gateway", name="whatsapp.inbound.v1 publish")
    consumed = one(spans, service="parley-conversation", name="whatsapp.inbound.v1 process")
    asked = one(spans, service="parley-conversation", name="conversation.ai-requested.v1 publish")
    thinking = one(spans, service="parley-ai", name="conversation.ai-requested.v1 process")
    search = one(spans, service="parley-knowledge", kind="server")
    model_calls = [
        s
        for s in spans
        if s.service == "parley-ai"
        and s.kind == "client"
        and "/chat/completions" in str(s.attributes.get("url.full") or s.attributes.get("http.url"))
    ]
    replied_span = one(spans, service="parley-ai", name="ai.reply.v1 publish")
    received = one(spans, service="parley-conversation", name="ai.reply.v1 process")
    # The answer's send command (the typing indicator, sent when the AI was asked, is one too).
    (command,) = [
        s
        for s in spans
        if s.name == "whatsapp.outbound.v1 publish" and descends(s, received, by_id)
    ]
    send = one(spans, name="whatsapp.outbound.v1 process", parent_span_id=command.span_id)
    cloud_api = [
        s
        for s in spans
        if s.kind == "client"
        and descends(s, send, by_id)
        and "/messages" in (str(s.attributes.get("url.full") or s.attributes.get("http.url")))
    ]
    assert produced.kind == "producer" and consumed.kind == "consumer"
    assert consumed.parent_span_id == produced.span_id and descends(produced, root, by_id)
    assert descends(asked, consumed, by_id) and asked.attributes.get("parley.outbox")
    assert thinking.parent_span_id == asked.span_id
    assert descends(search, thinking, by_id), "knowledge's gRPC span is not in the ai's work"
    assert model_calls and all(descends(c, thinking, by_id) for c in model_calls)
    assert descends(replied_span, thinking, by_id)
    assert received.parent_span_id == replied_span.span_id
    assert send.service == "parley-whatsapp" and cloud_api
    # The gateway asked auth which tenant owns the number: the same trace, across gRPC.
    assert any(s.service == "parley-auth" and s.kind == "server" for s in spans)
    assert {s.service for s in spans} == {f"parley-{name}" for name in SERVICES}
    trace_id = root.trace_id

    # ---- the agent's reply: gateway -> conversation -> outbox -> whatsapp -> Cloud API.
    def reply_trace() -> list[ReceivedSpan] | None:
        for span in receiver.spans:
            # The agent's request, as conversation served it behind the gateway.
            method = span.attributes.get("http.request.method") or span.attributes.get(
                "http.method"
            )
            if (
                span.service == "parley-conversation"
                and span.kind == "server"
                and str(span.attributes.get("http.route")).endswith("/messages")
                and method == "POST"
            ):
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
        "customer's question": QUESTION,
        "AI's answer": answer,
        "knowledge": HOURS[1],
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
