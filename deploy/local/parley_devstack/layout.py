"""Where a local stack lives on disk, which ports it uses, and its generated secrets.

Two profiles share the code: `run` (what `make run` starts; data kept between runs) and
`test` (what `make test` starts; other ports, tuned for speed), so both can run at once.
Every port can be overridden with an environment variable.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
STATE_ROOT = Path(os.environ.get("PARLEY_STATE_DIR", REPO_ROOT / ".parley"))
# Downloads (Kafka jars) are kept apart from state so that a fresh state can reuse them.
CACHE_DIR = Path(os.environ.get("PARLEY_CACHE_DIR", STATE_ROOT / "cache"))

_DEFAULT_PORTS = {
    "run": {"postgres": 5432, "redis": 6379, "kafka": 9092, "kafka_controller": 9093},
    "test": {"postgres": 25432, "redis": 26379, "kafka": 29092, "kafka_controller": 29093},
}


def port_offset() -> int:
    """`PARLEY_PORT_OFFSET` shifts every default port of `make run` (infrastructure and
    services), so a second copy of the platform can run beside the first (tests do)."""
    return int(os.environ.get("PARLEY_PORT_OFFSET", "0"))


@dataclass(frozen=True)
class StackLayout:
    """Folders and ports of one profile."""

    profile: str
    state_root: Path = STATE_ROOT

    @property
    def root(self) -> Path:
        return self.state_root / self.profile

    def port(self, component: str) -> int:
        env = f"PARLEY_{self.profile.upper()}_{component.upper()}_PORT"
        return int(os.environ.get(env, _DEFAULT_PORTS[self.profile][component] + port_offset()))

    @property
    def durable(self) -> bool:
        """`run` keeps data safe across crashes; `test` trades that for speed."""
        return self.profile == "run"

    def secrets(self) -> dict[str, str]:
        """Secrets generated once per profile and kept (mode 0600) in its folder."""
        path = self.root / "secrets.json"
        if path.exists():
            return json.loads(path.read_text())
        self.root.mkdir(parents=True, exist_ok=True)
        values = {"postgres_superuser_password": secrets.token_urlsafe(24)}
        path.touch(mode=0o600)
        path.write_text(json.dumps(values, indent=2))
        return values

    def secret(self, name: str, factory: object = None) -> str:
        """One named secret of this profile, generated (token_urlsafe or `factory()`) on
        first use."""
        values = self.secrets()
        if name not in values:
            values[name] = factory() if callable(factory) else secrets.token_urlsafe(32)
            (self.root / "secrets.json").write_text(json.dumps(values, indent=2))
        return values[name]
