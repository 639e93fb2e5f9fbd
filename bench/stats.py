"""Small helpers the benchmarks share to summarise and print latencies."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    """The `pct` percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(values_s: Sequence[float]) -> str:
    """`n=…, p50=… ms, p99=… ms, max=… ms` for latencies given in seconds."""
    ms = [v * 1000 for v in values_s]
    return (
        f"n={len(ms)} p50={percentile(ms, 50):.2f}ms p90={percentile(ms, 90):.2f}ms "
        f"p99={percentile(ms, 99):.2f}ms max={max(ms):.2f}ms mean={statistics.fmean(ms):.2f}ms"
    )
