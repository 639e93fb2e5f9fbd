"""The local infrastructure as one unit: PostgreSQL, Redis and Kafka of a profile."""

from __future__ import annotations

import fcntl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from parley_devstack.kafka import Kafka
from parley_devstack.layout import StackLayout
from parley_devstack.postgres import Postgres
from parley_devstack.processes import StackError
from parley_devstack.redis_server import Redis


@dataclass(frozen=True)
class Endpoints:
    """How to reach a running stack."""

    postgres_admin_dsn: str
    postgres_host: str
    postgres_port: int
    redis_url: str
    kafka_bootstrap: str


class Stack:
    """Start, stop and describe one profile's infrastructure."""

    def __init__(self, profile: str = "run", state_root: Path | None = None) -> None:
        self.layout = StackLayout(profile, state_root) if state_root else StackLayout(profile)
        self.postgres = Postgres(self.layout)
        self.redis = Redis(self.layout)
        self.kafka = Kafka(self.layout)
        self.components = (self.postgres, self.redis, self.kafka)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.layout.root.mkdir(parents=True, exist_ok=True)
        with open(self.layout.root / "stack.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one start/stop at a time per profile
            yield

    def up(self) -> Endpoints:
        """Start whatever is not running yet and wait until each part answers. On failure,
        stop what this call started and raise StackError."""
        with self._locked():
            started = []
            try:
                for component in self.components:
                    was_running = component.running()
                    print(
                        f"  {component.name}: {'running' if was_running else 'starting'}...",
                        file=sys.stderr,
                        flush=True,
                    )
                    component.start()
                    if not was_running:
                        started.append(component)
            except BaseException:
                for component in reversed(started):
                    try:
                        component.stop()
                    except StackError as exc:
                        print(f"  (could not stop {component.name}: {exc})", file=sys.stderr)
                raise
        return self.endpoints()

    def down(self) -> None:
        """Stop every part (data stays on disk)."""
        with self._locked():
            for component in reversed(self.components):
                component.stop()

    def status(self) -> dict[str, bool]:
        return {c.name: c.running() for c in self.components}

    def endpoints(self) -> Endpoints:
        return Endpoints(
            postgres_admin_dsn=self.postgres.admin_dsn(),
            postgres_host="127.0.0.1",
            postgres_port=self.postgres.port,
            redis_url=self.redis.url,
            kafka_bootstrap=self.kafka.bootstrap,
        )
