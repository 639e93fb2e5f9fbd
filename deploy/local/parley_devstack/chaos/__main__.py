"""`python -m parley_devstack.chaos`: run the chaos suite and print its report.

Exit status 0 when every promise held, 1 when the checker found a broken one, 2 when the run
itself could not be carried out (the platform did not come up, ...).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

from parley_devstack.chaos.faults import SUITES
from parley_devstack.chaos.harness import Plan, run
from parley_devstack.chaos.report import as_json, as_markdown
from parley_devstack.processes import StackError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parley_devstack.chaos", description=__doc__)
    parser.add_argument("--suite", choices=sorted(SUITES), default="full")
    parser.add_argument("--businesses", type=int, default=8)
    parser.add_argument("--llm-businesses", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1.5, help="customer messages a second")
    parser.add_argument("--warm-up", type=float, default=30.0, help="seconds before the faults")
    parser.add_argument("--gap", type=float, default=15.0, help="seconds between faults")
    parser.add_argument("--calm", type=float, default=60.0, help="seconds after the faults")
    parser.add_argument("--port-offset", type=int, default=13000)
    parser.add_argument(
        "--state-dir", type=Path, help="where the platform keeps its data (default: a temp dir)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "aiokafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    plan = Plan(
        faults=SUITES[args.suite](),
        businesses=args.businesses,
        llm_businesses=args.llm_businesses,
        rate_per_s=args.rate,
        warm_up_s=args.warm_up,
        gap_s=args.gap,
        calm_s=args.calm,
    )
    with tempfile.TemporaryDirectory(prefix="parley-chaos-") as scratch:
        state_dir = args.state_dir or Path(scratch)
        try:
            result = run(plan, state_dir, args.port_offset)
        except StackError as exc:
            print(f"chaos: the run could not be carried out: {exc}", file=sys.stderr)
            return 2
    context = {"suite": args.suite, **result.context}
    print(as_markdown(result.verdict, result.rows, context))
    if args.json:
        figures = as_json(result.verdict, result.rows, context)
        figures["lag_after_the_faults"] = result.lag_timeline
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if result.verdict.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
