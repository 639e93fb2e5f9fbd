"""A `make run` of its own for the chaos suite: on shifted ports, in a temporary state folder,
so that restarting its Kafka or PostgreSQL never touches anyone else's.

The supervisor (`parley-stack run`) runs as a child process; its infrastructure is reached
through the same `Stack` objects it uses (pid files and data folders under the state folder),
and its services through their pid files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from parley_devstack.layout import CACHE_DIR
from parley_devstack.processes import StackError, read_pid
from parley_devstack.stack import Stack

# Default ports of `make run` (shifted by the offset).
GATEWAY_PORT = 8080
SANDBOX_PORT = 8090
LLM_STUB_PORT = 8095
SERVICE_HTTP_PORTS = {
    "gateway": 8080,
    "auth": 8081,
    "conversation": 8082,
    "ai": 8083,
    "whatsapp": 8084,
    "knowledge": 8085,
}


class ChaosPlatform:
    """The platform under test: start, find its processes, stop."""

    def __init__(self, state_dir: Path, port_offset: int) -> None:
        self.state_dir = state_dir
        self.offset = port_offset
        self.log_file = state_dir / "make-run.log"
        self._process: subprocess.Popen[str] | None = None
        self._stack: Stack | None = None

    # ------------------------------------------------------------------ addresses

    def url(self, port: int) -> str:
        """The address of a default `make run` port, shifted."""
        return f"http://127.0.0.1:{port + self.offset}"

    @property
    def gateway_url(self) -> str:
        return self.url(GATEWAY_PORT)

    @property
    def auth_url(self) -> str:
        """auth's own API (its local mailbox holds the sign-up links)."""
        return self.url(SERVICE_HTTP_PORTS["auth"])

    @property
    def sandbox_url(self) -> str:
        return self.url(SANDBOX_PORT)

    @property
    def llm_stub_url(self) -> str:
        return self.url(LLM_STUB_PORT)

    def environment(self) -> dict[str, str]:
        """The environment `make run` gets (and that the stack objects need here)."""
        return {
            "PARLEY_STATE_DIR": str(self.state_dir),
            "PARLEY_CACHE_DIR": str(CACHE_DIR),
            "PARLEY_PORT_OFFSET": str(self.offset),
        }

    @property
    def stack(self) -> Stack:
        """The platform's PostgreSQL, Redis and Kafka (ports read from this process's
        environment, which `start` sets)."""
        if self._stack is None:
            self._stack = Stack("run", state_root=self.state_dir)
        return self._stack

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout_s: float = 900) -> None:
        """Run `parley-stack run` and wait for its summary ("Parley is up")."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        os.environ.update(self.environment())  # for self.stack, built in this process
        self._process = subprocess.Popen(
            [sys.executable, "-m", "parley_devstack.cli", "run"],
            env={**os.environ, **self.environment()},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        up = threading.Event()
        threading.Thread(target=self._copy_output, args=(up,), daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while not up.is_set():
            if self._process.poll() is not None:
                raise StackError(f"make run exited during start-up; see {self.log_file}")
            if time.monotonic() > deadline:
                raise StackError(f"make run was not up within {timeout_s:.0f}s; {self.log_file}")
            time.sleep(0.5)

    def _copy_output(self, up: threading.Event) -> None:
        assert self._process is not None and self._process.stdout is not None
        with open(self.log_file, "a") as log:
            for line in self._process.stdout:
                log.write(line)
                log.flush()
                if line.startswith("Parley is up"):
                    up.set()

    def stop(self) -> None:
        """Ctrl-C for `make run`: services and infrastructure stop."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=30)

    def restarts_reported(self) -> list[str]:
        """The supervisor's lines about services that exited and were restarted."""
        if not self.log_file.exists():
            return []
        return [line.strip() for line in self.log_file.read_text().splitlines() if "!!" in line]

    # ------------------------------------------------------------------ processes

    def pid_file(self, name: str) -> Path:
        return self.state_dir / "run" / "pids" / f"{name}.pid"

    def signal_service(self, name: str, sig: int) -> None:
        """Send `sig` to a service's process group (the supervisor restarts it if it dies)."""
        pid = read_pid(self.pid_file(name))
        if pid is None:
            raise StackError(f"{name} is not running")
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass

    def service_pid(self, name: str) -> int | None:
        return read_pid(self.pid_file(name))

    def service_running(self, name: str) -> bool:
        return self.service_pid(name) is not None

    def service_ready(self, name: str) -> bool:
        """Whether the service's /readyz answers 200."""
        address = f"{self.url(SERVICE_HTTP_PORTS[name])}/readyz"
        try:
            with urllib.request.urlopen(address, timeout=2) as answer:  # noqa: S310 - loopback
                return bool(answer.status == 200)
        except OSError:
            return False
