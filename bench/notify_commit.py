"""Commits per second on a durable PostgreSQL with and without a NOTIFY in the transaction.

Every service's outbox table has a trigger that NOTIFYs the relay in the writing transaction.
PostgreSQL serialises the commits of transactions that sent a notification (a lock held
through the commit's flush to disk), so with durable settings they cannot share a flush the
way other commits do. This measures what that costs: `--clients` connections each commit
`--commits` transactions of one INSERT, with no NOTIFY (the baseline), with a NOTIFY inside
the transaction (what the outbox trigger does), and with the NOTIFY sent right after the
commit in a transaction of its own.

    make bench BENCH_ARGS="notify_commit --clients 16 --commits 60"
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import asyncpg

from bench.infra import bench_infrastructure, load_average


async def commits_per_second(dsn: str, notify: str, clients: int, commits: int) -> float:
    """Transactions per second with `notify` in ("none", "inside", "after")."""
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "DROP TABLE IF EXISTS bench_notify; CREATE TABLE bench_notify (id bigserial PRIMARY KEY)"
    )
    await conn.close()

    async def client() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for _ in range(commits):
                async with conn.transaction():
                    await conn.execute("INSERT INTO bench_notify DEFAULT VALUES")
                    if notify == "inside":
                        await conn.execute("NOTIFY bench_notify")
                if notify == "after":
                    await conn.execute("NOTIFY bench_notify")
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return clients * commits / (time.perf_counter() - started)


async def run(clients: int, commits: int, rounds: int) -> None:
    async with bench_infrastructure(durable=True, own_kafka=False) as bench:
        dsn = bench.infra.postgres_admin_dsn
        results: dict[str, list[float]] = {"none": [], "inside": [], "after": []}
        for _ in range(rounds):
            for notify in results:
                results[notify].append(await commits_per_second(dsn, notify, clients, commits))
        out = [
            f"commits/s, {clients} clients x {commits} one-row transactions, best of {rounds}; "
            f"{bench.describe()}; {load_average()}"
        ]
        base = max(results["none"])
        for notify, label in (
            ("none", "no NOTIFY (baseline)"),
            ("inside", "NOTIFY inside the transaction (the outbox trigger)"),
            ("after", "NOTIFY after the commit"),
        ):
            best = max(results[notify])
            out.append(f"  {label:<52} {best:7.0f}/s  x{best / base:.2f}")
        sys.stdout.write("\n".join(out) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--commits", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    asyncio.run(run(args.clients, args.commits, args.rounds))


if __name__ == "__main__":
    main()
