"""The sandbox answers like Meta's Cloud API: the token, the 24-hour window, templates, the
throughput and pair limits, injected faults, media and the outbox. (Its webhooks are tested
against the real gateway in services/gateway/tests.)"""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
from parley_sandbox import meta
from parley_sandbox.app import create_app
from parley_sandbox.config import SandboxSettings
from parley_testing.polling import eventually
from parley_testing.services import free_port, serve_app

TOKEN = "sandbox-token-0001"
NUMBER = "106540352242922"
CUSTOMER = "447700900123"


@pytest.fixture
async def sandbox():
    port = free_port()
    settings = SandboxSettings(
        public_base_url=f"http://127.0.0.1:{port}",
        status_webhooks=False,
        webhook_retry_delays_s=[],
        media_url_ttl_s=1,
        pair_burst=3,
        seed=7,
    )
    async with serve_app(create_app(settings), port=port) as running:
        registered = await running.client.post(
            "/sandbox/numbers",
            json={
                "phone_number_id": NUMBER,
                "waba_id": "102290129340398",
                "display_phone_number": "15550001111",
                "access_token": TOKEN,
                "app_secret": "an-app-secret-of-the-test",
                # Nothing listens there: customer webhooks fail, which these tests ignore.
                "webhook_url": f"http://127.0.0.1:{free_port()}/webhooks/whatsapp",
                "messages_per_second": 5,
            },
        )
        assert registered.status_code == 201
        assert "access_token" not in registered.json() and "app_secret" not in registered.json()
        yield running


def text_to(recipient: str, body: str = "hello") -> dict:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": f"+{recipient}",
        "type": "text",
        "text": {"body": body},
    }


async def send(sandbox, body: dict, token: str = TOKEN):
    return await sandbox.client.post(
        f"/v25.0/{NUMBER}/messages", json=body, headers={"Authorization": f"Bearer {token}"}
    )


async def customer_writes(sandbox, text: str = "hi", wa_id: str = CUSTOMER) -> dict:
    response = await sandbox.client.post(
        f"/sandbox/customers/{wa_id}/messages", json={"phone_number_id": NUMBER, "text": text}
    )
    assert response.status_code == 200
    return response.json()


def assert_meta_error(response, code: int) -> None:
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"].startswith(f"(#{code})")
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["fbtrace_id"] and error["type"]


async def test_a_wrong_token_is_rejected_with_190_and_an_unknown_number_with_100(sandbox) -> None:
    assert_meta_error(await send(sandbox, text_to(CUSTOMER), token="wrong-token"), 190)
    response = await sandbox.client.post(
        "/v25.0/999/messages", json=text_to(CUSTOMER), headers={"Authorization": "Bearer x"}
    )
    assert response.status_code == 400
    assert_meta_error(response, 100)


async def test_free_form_needs_the_customer_to_have_written_in_the_last_24_hours(sandbox) -> None:
    closed = await send(sandbox, text_to(CUSTOMER))
    assert_meta_error(closed, 131047)

    await customer_writes(sandbox)
    accepted = await send(sandbox, text_to(CUSTOMER, "Your ticket is resolved."))
    assert accepted.status_code == 200
    wamid = accepted.json()["messages"][0]["id"]
    assert wamid.startswith("wamid.")
    assert accepted.json()["contacts"] == [{"input": f"+{CUSTOMER}", "wa_id": CUSTOMER}]

    outbox = (await sandbox.client.get("/sandbox/outbox", params={"recipient": CUSTOMER})).json()
    assert [(m["wamid"], m["content"]["body"]) for m in outbox] == [
        (wamid, "Your ticket is resolved.")
    ]
    assert (await sandbox.client.get("/sandbox/outbox", params={"recipient": "1"})).json() == []


async def test_templates_are_checked_by_name_language_and_parameter_count(sandbox) -> None:
    def template(name: str, params: list[str]) -> dict:
        return {
            "messaging_product": "whatsapp",
            "to": f"+{CUSTOMER}",
            "type": "template",
            "template": {
                "name": name,
                "language": {"code": "en_US"},
                "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
                ],
            },
        }

    assert_meta_error(await send(sandbox, template("no_such_template", [])), 132001)
    assert_meta_error(await send(sandbox, template("follow_up", [])), 132000)
    # Templates are the one thing allowed outside the customer service window.
    assert (await send(sandbox, template("follow_up", ["Ana"]))).status_code == 200


async def test_the_throughput_limit_answers_130429_past_the_numbers_rate(sandbox) -> None:
    customers = [str(1001 + i) for i in range(8)]
    for wa_id in customers:
        await customer_writes(sandbox, wa_id=wa_id)
    responses = await asyncio.gather(*(send(sandbox, text_to(w)) for w in customers))
    codes = sorted(r.json().get("error", {}).get("code", 200) for r in responses)
    assert codes == [200] * 5 + [130429] * 3
    assert next(r for r in responses if r.status_code != 200).status_code == 429
    traffic = (await sandbox.client.get(f"/sandbox/numbers/{NUMBER}/traffic")).json()
    assert traffic["accepted"] == 5 and traffic["rejected"] == {"130429": 3}
    assert traffic["max_requests_in_1s"] == 8


async def test_the_pair_limit_answers_131056_for_one_customer_only(sandbox) -> None:
    await customer_writes(sandbox)
    await customer_writes(sandbox, wa_id="1009")
    results = [await send(sandbox, text_to(CUSTOMER, f"part {i}")) for i in range(4)]
    assert [r.status_code for r in results[:3]] == [200, 200, 200]
    assert_meta_error(results[3], 131056)
    assert (await send(sandbox, text_to("1009"))).status_code == 200


async def test_injected_faults_fire_n_times_then_stop_and_can_be_cleared(sandbox) -> None:
    await customer_writes(sandbox)
    fault = await sandbox.client.post(
        "/sandbox/faults", json={"phone_number_id": NUMBER, "code": 131000, "count": 2}
    )
    assert fault.status_code == 201
    first, second, third = [await send(sandbox, text_to(CUSTOMER)) for _ in range(3)]
    assert_meta_error(first, 131000)
    assert first.status_code == 500
    assert_meta_error(second, 131000)
    assert third.status_code == 200

    await sandbox.client.post("/sandbox/faults", json={"code": 2})
    assert_meta_error(await send(sandbox, text_to(CUSTOMER)), 2)
    assert (await sandbox.client.delete("/sandbox/faults")).json() == {"cleared": 2}
    assert (await send(sandbox, text_to(CUSTOMER))).status_code == 200


async def test_a_lost_answer_fault_delivers_the_message_but_reports_an_error(sandbox) -> None:
    await customer_writes(sandbox)
    await sandbox.client.post("/sandbox/faults", json={"code": 131000, "accept": True, "count": 1})
    assert_meta_error(await send(sandbox, text_to(CUSTOMER, "maybe twice")), 131000)
    outbox = (await sandbox.client.get("/sandbox/outbox")).json()
    assert [m["content"]["body"] for m in outbox] == ["maybe twice"]


async def test_mark_as_read_with_typing_indicator(sandbox) -> None:
    wamid = (await customer_writes(sandbox))["wamid"]
    response = await send(
        sandbox,
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
            "typing_indicator": {"type": "text"},
        },
    )
    assert response.json() == {"success": True}
    unknown = await send(
        sandbox, {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"}
    )
    assert_meta_error(unknown, 100)


async def test_media_needs_the_token_and_its_url_expires(sandbox) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    written = await sandbox.client.post(
        f"/sandbox/customers/{CUSTOMER}/messages",
        json={
            "phone_number_id": NUMBER,
            "media_kind": "image",
            "media": {
                "data_base64": base64.b64encode(picture).decode(),
                "mime_type": "image/png",
                "caption": "broken part",
            },
        },
    )
    image = written.json()["message"]["image"]
    assert image["caption"] == "broken part" and image["mime_type"] == "image/png"

    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert_meta_error(await sandbox.client.get(f"/v25.0/{image['id']}"), 190)
    info = (
        await sandbox.client.get(
            f"/v25.0/{image['id']}", params={"phone_number_id": NUMBER}, headers=auth
        )
    ).json()
    assert info["file_size"] == len(picture) and info["sha256"] == image["sha256"]

    assert (await sandbox.client.get(info["url"])).status_code == 401  # no bearer token
    download = await sandbox.client.get(info["url"], headers=auth)
    assert download.content == picture
    assert download.headers["content-type"] == "image/png"
    await asyncio.sleep(1.1)  # the sandbox runs with 1-second media URLs
    assert (await sandbox.client.get(info["url"], headers=auth)).status_code == 404


def test_webhook_bytes_are_encoded_like_meta_and_signed_over_those_bytes() -> None:
    payload = meta.notification(
        "1",
        NUMBER,
        "15550001111",
        messages=[meta.message(CUSTOMER, "text", {"body": "Olá 👋 a/b"}, at=time.time())],
    )
    raw = meta.encode_like_meta(payload)
    assert b"\\/" in raw and b"\\u00e1" in raw and b"\\ud83d\\udc4b" in raw
    assert json.loads(raw) == payload
    import hashlib
    import hmac

    expected = hmac.new(b"secret", raw, hashlib.sha256).hexdigest()
    assert meta.signature("secret", raw) == f"sha256={expected}"


async def test_connecting_a_number_reads_it_lists_the_waba_and_subscribes_the_app(sandbox) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    number = await sandbox.client.get(f"/v25.0/{NUMBER}", headers=headers)
    assert number.status_code == 200
    assert number.json()["id"] == NUMBER
    assert number.json()["display_phone_number"] == "15550001111"
    listed = await sandbox.client.get("/v25.0/102290129340398/phone_numbers", headers=headers)
    assert [n["id"] for n in listed.json()["data"]] == [NUMBER]
    subscribed = await sandbox.client.post(
        "/v25.0/102290129340398/subscribed_apps", headers=headers, json={}
    )
    assert subscribed.json() == {"success": True}
    apps = await sandbox.client.get("/v25.0/102290129340398/subscribed_apps", headers=headers)
    assert len(apps.json()["data"]) == 1
    numbers = (await sandbox.client.get("/sandbox/numbers")).json()
    assert numbers[0]["app_subscribed"] is True


async def test_a_token_opens_only_the_numbers_it_was_issued_for(sandbox) -> None:
    other = await sandbox.client.post(
        "/sandbox/numbers",
        json={
            "phone_number_id": "200000000000001",
            "waba_id": "200000000000002",
            "display_phone_number": "15550002222",
        },
    )
    assert other.status_code == 201
    other_token = other.json()["access_token"]  # issued by the sandbox, shown once
    assert other_token.startswith("EAAG")
    assert "access_token" not in (await sandbox.client.get("/sandbox/numbers")).json()[1]

    as_other = {"Authorization": f"Bearer {other_token}"}
    # Another business's token cannot read our number or our WABA, nor subscribe to it; the
    # answer does not say whether the object exists.
    for method, path in (
        ("GET", f"/v25.0/{NUMBER}"),
        ("GET", "/v25.0/102290129340398/phone_numbers"),
        ("POST", "/v25.0/102290129340398/subscribed_apps"),
    ):
        refused = await sandbox.client.request(method, path, headers=as_other, json={})
        assert refused.status_code == 400, path
        assert refused.json()["error"]["code"] == 100, path
    made_up = {"Authorization": "Bearer EAAGmadeuptokenmadeuptoken"}
    refused = await sandbox.client.get(f"/v25.0/{NUMBER}", headers=made_up)
    assert refused.json()["error"]["code"] == 190
    # Its own number it reads.
    own = await sandbox.client.get("/v25.0/200000000000001", headers=as_other)
    assert own.status_code == 200


async def test_status_webhooks_can_be_lost_on_purpose_and_the_log_names_each_item(
    sandbox,
) -> None:
    behaviour = await sandbox.client.patch(
        "/sandbox/behaviour", json={"status_webhooks": True, "status_drop_probability": 1.0}
    )
    assert behaviour.json()["status_drop_probability"] == 1.0
    written = await sandbox.client.post(
        f"/sandbox/customers/{CUSTOMER}/messages",
        json={"phone_number_id": NUMBER, "text": "hello"},
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    lost = await sandbox.client.post(
        f"/v25.0/{NUMBER}/messages", headers=headers, json=text_to(CUSTOMER, "first")
    )
    await sandbox.client.patch("/sandbox/behaviour", json={"status_drop_probability": 0.0})
    marker = await sandbox.client.post(
        f"/v25.0/{NUMBER}/messages", headers=headers, json=text_to(CUSTOMER, "second")
    )
    lost_wamid = lost.json()["messages"][0]["id"]
    marker_wamid = marker.json()["messages"][0]["id"]

    async def marker_statuses_logged() -> list:
        log = (await sandbox.client.get("/sandbox/webhooks")).json()
        return log if any(marker_wamid in entry["ids"] for entry in log) else []

    log = await eventually(marker_statuses_logged, timeout_s=10)
    assert log[0]["ids"] == [written.json()["wamid"]]  # the customer's message, by its id
    assert not any(lost_wamid in entry["ids"] for entry in log)  # its statuses were lost


async def test_with_subscriptions_required_a_waba_gets_webhooks_only_once_an_app_subscribed() -> (
    None
):
    port = free_port()
    settings = SandboxSettings(
        public_base_url=f"http://127.0.0.1:{port}",
        require_app_subscription=True,
        webhook_retry_delays_s=[],
        # Nothing listens there: a webhook that is sent fails to connect (status 0 too), so
        # the log's `skipped` tells the two apart.
        default_webhook_url=f"http://127.0.0.1:{free_port()}/webhooks/whatsapp",
    )
    async with serve_app(create_app(settings), port=port) as running:
        registered = await running.client.post(
            "/sandbox/numbers",
            json={
                "phone_number_id": NUMBER,
                "waba_id": "300000000000003",
                "display_phone_number": "1",
            },
        )
        token = registered.json()["access_token"]

        async def customer_writes() -> dict:
            await running.client.post(
                f"/sandbox/customers/{CUSTOMER}/messages",
                json={"phone_number_id": NUMBER, "text": "hello"},
            )
            return (await running.client.get("/sandbox/webhooks")).json()[-1]

        assert (await customer_writes())["skipped"] == "no app subscribed"
        subscribed = await running.client.post(
            "/v25.0/300000000000003/subscribed_apps",
            headers={"Authorization": f"Bearer {token}"},
            json={},
        )
        assert subscribed.status_code == 200
        assert "skipped" not in await customer_writes()
