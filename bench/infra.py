"""The infrastructure a benchmark runs on, and the facts its tables must state about it.

Published figures use PostgreSQL with durable settings (fsync, synchronous_commit and
full_page_writes on): `bench_infrastructure(durable=True)` starts a PostgreSQL server of the
benchmark's own (the `run` profile's configuration, data in a temporary folder on the
machine's disk) and a Kafka node of its own, and shares only Redis with the test profile. With
`durable=False` it uses the test profile's PostgreSQL (all three off), which flatters every
database-bound figure: the settings are read back from the server and printed with every
result either way, so a row always says which it used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
from parley_devstack.layout import StackLayout
from parley_devstack.postgres import Postgres
from parley_testing.infrastructure import Infrastructure, disposable_kafka, test_infrastructure
from parley_testing.services import free_port

DURABILITY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


class _BenchPostgres(Postgres):
    """The `run` profile's PostgreSQL (durable settings) in a folder and on a port of its own;
    with `statement_stats`, pg_stat_statements loaded too (`StatementCensus`)."""

    def __init__(self, folder: Path, *, statement_stats: bool = False) -> None:
        super().__init__(StackLayout("run", state_root=folder))
        self.port = free_port()
        self._statement_stats = statement_stats

    def settings(self) -> dict[str, str]:
        settings = super().settings()
        if self._statement_stats:
            settings["shared_preload_libraries"] = "pg_stat_statements"
            settings["pg_stat_statements.track"] = "all"  # inside functions too
        return settings


@dataclass(frozen=True)
class BenchInfrastructure:
    """Where the benchmark's services connect, and PostgreSQL's durability settings."""

    infra: Infrastructure
    postgres_settings: dict[str, str]

    @property
    def durable(self) -> bool:
        return all(self.postgres_settings.get(k) == "on" for k in DURABILITY_SETTINGS)

    def describe(self) -> str:
        """`PostgreSQL durable (fsync=on, ...)` or `... NOT durable (...)`, for every table."""
        values = ", ".join(f"{k}={self.postgres_settings.get(k, '?')}" for k in DURABILITY_SETTINGS)
        return f"PostgreSQL {'durable' if self.durable else 'NOT durable'} ({values})"


async def postgres_settings(admin_dsn: str) -> dict[str, str]:
    """The server's own values of the durability settings."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])",
            list(DURABILITY_SETTINGS),
        )
    finally:
        await conn.close()
    return {row["name"]: row["setting"] for row in rows}


@asynccontextmanager
async def bench_infrastructure(
    *, durable: bool = True, own_kafka: bool = True, statement_stats: bool = False
) -> AsyncIterator[BenchInfrastructure]:
    """PostgreSQL (durable: a server of the benchmark's own), Kafka (own: a node of the
    benchmark's own; the test broker carries every test run's partitions) and Redis.
    `statement_stats` (durable only) loads pg_stat_statements for `StatementCensus`."""
    with test_infrastructure() as shared:
        async with _own_parts(
            shared, durable=durable, own_kafka=own_kafka, statement_stats=statement_stats
        ) as infra:
            yield BenchInfrastructure(infra, await postgres_settings(infra.postgres_admin_dsn))


@asynccontextmanager
async def _own_parts(
    shared: Infrastructure, *, durable: bool, own_kafka: bool, statement_stats: bool
) -> AsyncIterator[Infrastructure]:
    # On the machine's disk (not a RAM-backed folder), or fsync would prove nothing.
    root = Path(os.environ.get("PARLEY_BENCH_DIR", tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix="parley-bench-", dir=root) as folder:
        postgres = (
            _BenchPostgres(Path(folder), statement_stats=statement_stats) if durable else None
        )
        if postgres is not None:
            await asyncio.to_thread(postgres.start)
        try:
            admin_dsn = postgres.admin_dsn() if postgres else shared.postgres_admin_dsn
            if own_kafka:
                async with disposable_kafka(Path(folder)) as kafka:
                    yield Infrastructure(
                        admin_dsn, kafka.bootstrap, shared.redis_url, "benchmark's own"
                    )
            else:
                yield Infrastructure(
                    admin_dsn, shared.kafka_bootstrap, shared.redis_url, "test profile's Kafka"
                )
        finally:
            if postgres is not None:
                await asyncio.to_thread(postgres.stop)


def load_average() -> str:
    """The machine's 1/5/15-minute load averages (2 cores: above 2 means waiting for CPU)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} ({os.cpu_count()} cores)"


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """CPU time (user + system) process `pid` has used so far (Linux /proc); with its
    children's, both the ended ones it waited for and those still running."""
    fields = _stat(pid)
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])  # ended children, waited for
        for child in _children(pid):
            try:
                child_fields = _stat(child)
            except (FileNotFoundError, ProcessLookupError):
                continue  # ended meanwhile
            ticks += int(child_fields[11]) + int(child_fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    # Fields after the command name: [0] is state, [1] the parent, [11]/[12] utime/stime,
    # [13]/[14] the waited-for children's.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == pid:
                    children.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    return children


def listening_pid(port: int) -> int | None:
    """The process listening on TCP `port` on this machine (None if none is found), read
    from /proc: the socket's inode in /proc/net/tcp*, then the process holding it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "0A":  # 0A: LISTEN
                    inodes.add(fields[9])
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(FileNotFoundError, PermissionError, ProcessLookupError):
            for fd in (entry / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(entry.name)
    return None


def infrastructure_cpu_seconds(infra: Infrastructure) -> dict[str, float]:
    """CPU time used so far by the infrastructure processes the benchmark's services use:
    PostgreSQL (the server and its backends), the Kafka broker and Redis (Redis is the test
    profile's, shared with whatever else runs on the machine), and the benchmark itself (the
    load generator)."""
    ports = {
        "postgres": urlsplit(infra.postgres_admin_dsn).port,
        "kafka": int(infra.kafka_bootstrap.rsplit(":", 1)[1]),
        "redis": urlsplit(infra.redis_url).port,
    }
    used = {}
    for name, port in ports.items():
        pid = listening_pid(port) if port else None
        if pid is not None:
            used[name] = cpu_seconds(pid, with_children=name == "postgres")
    used["load generator"] = cpu_seconds(os.getpid())
    return used


class StatementCensus:
    """What PostgreSQL executed during a stretch of a benchmark, per database and statement
    (pg_stat_statements; the server must be `bench_infrastructure(statement_stats=True)`'s).
    Calls per message show round trips that could be merged; a statement's time per call
    includes waiting for row locks, so rows that transactions queue on stand out."""

    def __init__(self, admin_dsn: str) -> None:
        self._admin_dsn = admin_dsn

    async def start(self) -> None:
        """Forget everything executed so far (the start-up, the warm-up)."""
        conn = await asyncpg.connect(self._admin_dsn)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await conn.execute("SELECT pg_stat_statements_reset()")
        finally:
            await conn.close()

    async def report(self, messages: int, top: int = 25) -> str:
        """Transactions per message per database, then the `top` statements by time."""
        conn = await asyncpg.connect(self._admin_dsn)
        try:
            rows = await conn.fetch(
                """
                SELECT d.datname AS database, s.calls, s.total_exec_time AS ms,
                       left(regexp_replace(s.query, '\\s+', ' ', 'g'), 110) AS query
                  FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
                 WHERE d.datname LIKE 'parley\\_%'
                """
            )
        finally:
            await conn.close()
        per = max(1, messages)
        lines = [f"PostgreSQL statements over {messages} messages (pg_stat_statements):"]
        commits: dict[str, int] = {}
        for row in rows:
            if row["query"] == "COMMIT":
                commits[_service(row["database"])] = row["calls"]
        lines.append(
            "  transactions per message: "
            + ", ".join(f"{db} {n / per:.2f}" for db, n in sorted(commits.items()))
        )
        lines.append("  database      calls/msg  ms/call  total ms  statement")
        for row in sorted(rows, key=lambda r: -r["ms"])[:top]:
            lines.append(
                f"  {_service(row['database']):13} {row['calls'] / per:9.2f} "
                f"{row['ms'] / max(1, row['calls']):8.3f} {row['ms']:9.1f}  {row['query']}"
            )
        return "\n".join(lines)


def _service(database: str) -> str:
    """`parley_conversation_bench1a2b3c` -> `conversation`."""
    return database.removeprefix("parley_").split("_")[0]


def add_postgres_option(parser: argparse.ArgumentParser) -> None:
    """`--test-postgres`: the test profile's PostgreSQL instead of a durable one of the
    benchmark's own (read it as `not args.test_postgres` for `bench_infrastructure`)."""
    parser.add_argument(
        "--test-postgres",
        action="store_true",
        help="the test profile's PostgreSQL (fsync etc. off) instead of a durable one",
    )


def met(ok: bool) -> str:
    """How every benchmark prints a target's outcome."""
    return "met" if ok else "NOT MET"
