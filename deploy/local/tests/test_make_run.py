"""`make run` end to end: the platform comes up ready, a killed service is restarted, a
second copy is refused, Ctrl-C stops everything. Runs on shifted ports (PARLEY_PORT_OFFSET)
in a temporary state folder, so it does not disturb a `make run` a developer has open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

import httpx
from parley_devstack.layout import CACHE_DIR
from parley_devstack.processes import port_open

T = TypeVar("T")
OFFSET = 11000
SERVICE_PORTS = {
    "gateway": 8080,
    "auth": 8081,
    "conversation": 8082,
    "ai": 8083,
    "whatsapp": 8084,
    "knowledge": 8085,
}
INFRA_PORTS = {"postgres": 5432, "redis": 6379, "kafka": 9092}
SANDBOX_PORT = 8090


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except OSError:
        return 0, b""  # not listening (yet)


def _eventually(check: Callable[[], T], what: str, timeout_s: float = 60) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout_s}s")


def _wait_for_ready_documents(gateway: str, headers: dict[str, str], count: int) -> None:
    def ready() -> bool:
        listing = httpx.get(
            f"{gateway}/api/v1/knowledge/documents", headers=headers, timeout=10
        ).json()
        items = listing.get("items", listing) if isinstance(listing, dict) else listing
        return sum(1 for d in items if d.get("state", "ready") == "ready") >= count

    _eventually(ready, "the demo knowledge base ready", timeout_s=120)


def test_make_run_comes_up_refuses_a_second_copy_and_stops_cleanly(tmp_path) -> None:
    env = {
        **os.environ,
        "PARLEY_STATE_DIR": str(tmp_path),
        "PARLEY_CACHE_DIR": str(CACHE_DIR),
        "PARLEY_PORT_OFFSET": str(OFFSET),
    }
    command = [sys.executable, "-m", "parley_devstack.cli", "run"]
    platform = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    try:
        assert platform.stdout is not None
        deadline = time.monotonic() + 240
        for line in platform.stdout:
            output.append(line)
            if line.strip().startswith("data ") or time.monotonic() > deadline:
                break  # the last line of the summary
        assert any(line.startswith("Parley is up") for line in output), "".join(output)
        summary = "".join(output)
        for name, port in SERVICE_PORTS.items():
            assert f"http://127.0.0.1:{port + OFFSET}" in summary, name
            status, body = _get(port + OFFSET, "/readyz")
            assert status == 200, (name, body)
        assert _get(SERVICE_PORTS["gateway"] + OFFSET, "/openapi.json")[0] == 200

        # The printed demo login signs in, and its WhatsApp number is registered.
        login_line = next(line for line in output if "demo login" in line)
        email, password = login_line.split("demo login", 1)[1].strip().split(" / ")
        gateway = f"http://127.0.0.1:{SERVICE_PORTS['gateway'] + OFFSET}"
        login = httpx.post(
            f"{gateway}/api/v1/auth/login",
            json={"email": email, "password": password},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        channels = httpx.get(
            f"{gateway}/api/v1/channels/whatsapp",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            timeout=10,
        )
        assert channels.status_code == 200 and len(channels.json()) == 1, channels.text
        owner = {"Authorization": f"Bearer {login.json()['access_token']}"}

        # A newcomer writes in the sandbox chat: a question the demo knowledge base answers
        # gets an answer with its source; a refund with a call-back request goes to a person.
        sandbox = f"http://127.0.0.1:{SANDBOX_PORT + OFFSET}"
        demo_number = "100000000000001"

        def chat(wa_id: str, text: str) -> None:
            sent = httpx.post(
                f"{sandbox}/sandbox/customers/{wa_id}/messages",
                json={"phone_number_id": demo_number, "text": text},
                timeout=10,
            )
            assert sent.status_code == 200, sent.text

        def replies(wa_id: str) -> list[str]:
            outbox = httpx.get(
                f"{sandbox}/sandbox/outbox", params={"recipient": wa_id}, timeout=10
            ).json()
            return [m["content"]["body"] for m in outbox if m.get("type") == "text"]

        _wait_for_ready_documents(gateway, owner, count=4)
        chat("351910000001", "when are you open on saturday?")
        answer = _eventually(lambda: replies("351910000001"), "an answer to the customer")
        assert len(answer) == 1 and "9:00" in answer[0] and "Opening hours" in answer[0], answer
        chat("351910000002", "I want a refund for a broken order, call me")

        def waiting() -> list:
            page = httpx.get(
                f"{gateway}/api/v1/conversations",
                params={"state": "waiting_human"},
                headers=owner,
                timeout=10,
            ).json()
            return [c for c in page["items"] if "351910000002" in str(c)]

        _eventually(waiting, "the refund request waiting for a person")
        assert replies("351910000002") == []  # no invented answer
        # The sandbox's chat page, where one writes as a customer.
        assert f"http://127.0.0.1:{SANDBOX_PORT + OFFSET}/" in summary
        assert _get(SANDBOX_PORT + OFFSET, "/")[0] == 200

        # A service that dies is restarted, and says so (as compose or Kubernetes would).
        pid_file = tmp_path / "run" / "pids" / "conversation.pid"
        killed = int(pid_file.read_text())
        os.killpg(killed, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            current = pid_file.read_text().strip() if pid_file.exists() else ""
            if current and int(current) != killed:
                if _get(SERVICE_PORTS["conversation"] + OFFSET, "/readyz")[0] == 200:
                    break
            time.sleep(0.5)
        else:
            raise AssertionError("conversation was not restarted after it was killed")

        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert "already running" in second.stderr
        assert _get(SERVICE_PORTS["gateway"] + OFFSET, "/healthz")[0] == 200  # first one unharmed
    finally:
        platform.send_signal(signal.SIGINT)
        rest, _ = platform.communicate(timeout=120)
        output.append(rest)
    assert platform.returncode == 0, "".join(output)
    assert "Stopped." in "".join(output)
    assert "conversation exited; restarting in 1s" in "".join(output)
    for name, port in {**SERVICE_PORTS, **INFRA_PORTS, "sandbox": SANDBOX_PORT}.items():
        assert not port_open(port + OFFSET), f"{name} still listening after Ctrl-C"
