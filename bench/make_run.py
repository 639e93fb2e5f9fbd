"""Time for `make run` (parley-stack run) to report every service ready: cold (fresh state:
initdb, Kafka format, migrations; Kafka jars already cached) and warm (same state again).

Uses a temporary state folder, but the run profile's ports: nothing else may be listening
on them (stop a running `make run` first).

    make bench BENCH_ARGS="make_run --rounds 2"
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from parley_devstack.layout import CACHE_DIR


def start_once(state_dir: Path) -> float:
    env = {**os.environ, "PARLEY_STATE_DIR": str(state_dir), "PARLEY_CACHE_DIR": str(CACHE_DIR)}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "parley_devstack.cli", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    elapsed = None
    output = []
    for line in proc.stdout:
        output.append(line)
        if line.startswith("Parley is up"):
            elapsed = time.monotonic() - started
            break
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    if elapsed is None:
        raise SystemExit(f"make run did not come up (exit {proc.returncode}):\n{''.join(output)}")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2, help="cold+warm pairs")
    args = parser.parse_args(argv)
    for round_ in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
            cold = start_once(Path(tmp))
            warm = start_once(Path(tmp))
        print(f"round {round_}: cold {cold:.1f}s, warm {warm:.1f}s to all services ready")  # noqa: T201


if __name__ == "__main__":
    main()
