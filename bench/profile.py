"""Sampling profiles of a benchmark's child process with py-spy, summarised the way
docs/performance.md reports them: each library's share of the samples (by the frame that was
running, "own", and anywhere on the stack, "incl."), and the functions with most own samples.

    py-spy record --format raw ...      # what `record` below runs
    python -m bench.profile /tmp/profile.raw   # summarise a raw profile again

py-spy reads the target's memory from outside (`--nonblocking`: the process is never paused),
so the profile costs the measured process nothing; it needs ptrace rights (root here).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Library of a frame, from its file path; the first match wins.
_LIBRARIES = (
    ("sqlalchemy", r"sqlalchemy/"),
    ("asyncpg", r"asyncpg/"),
    ("opentelemetry", r"opentelemetry/"),
    ("protobuf", r"google/protobuf/|(^|/)protobuf/"),
    ("aiokafka", r"aiokafka/"),
    ("kafka (aiokafka's)", r"(^|/)kafka/"),
    ("grpc", r"(^|/)grpc/"),
    ("prometheus_client", r"prometheus_client/"),
    ("uvicorn/starlette/fastapi", r"(^|/)(uvicorn|starlette|fastapi)/"),
    ("httpx/httpcore", r"(^|/)(httpx|httpcore)/"),
    ("redis", r"(^|/)redis/"),
    ("pydantic", r"(^|/)pydantic"),
    ("logging", r"(^|/)logging/|pythonjsonlogger"),
    ("parley_platform", r"parley_platform/"),
    ("parley services", r"parley_(conversation|gateway|ai|knowledge|whatsapp|auth)/"),
    ("asyncio/uvloop", r"(^|/)asyncio/|uvloop"),
)
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def library(file: str) -> str:
    """Which library a source file belongs to ("other" when none of ours)."""
    for name, pattern in _LIBRARIES:
        if re.search(pattern, file):
            return name
    return "other (stdlib, interpreter)"


@dataclass
class Profile:
    """Sample counts of one raw py-spy profile."""

    samples: int
    own_by_library: Counter[str]
    inclusive_by_library: Counter[str]
    own_by_function: Counter[str]

    @classmethod
    def parse(cls, raw: str) -> Profile:
        """From py-spy's `--format raw` output (collapsed stacks, root first)."""
        samples = 0
        own_lib: Counter[str] = Counter()
        incl_lib: Counter[str] = Counter()
        own_fn: Counter[str] = Counter()
        for line in raw.splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [_FRAME.match(f) for f in stack.split(";")]
            parsed = [(m["function"], m["file"]) for m in frames if m]
            if not parsed:
                continue
            samples += count
            function, file = parsed[-1]
            own_lib[library(file)] += count
            short = file.split("site-packages/")[-1].split("/src/")[-1].split("/services/")[-1]
            own_fn[f"{function} ({short})"] += count
            for name in {library(f) for _, f in parsed}:
                incl_lib[name] += count
        return cls(samples, own_lib, incl_lib, own_fn)

    def report(self, top: int = 15) -> str:
        """Libraries by share, then the `top` functions by own samples."""
        out = [f"{self.samples} samples (non-idle)", "  library: own / inclusive share"]
        for name, own in self.own_by_library.most_common():
            out.append(
                f"    {name:<28} {own / self.samples:6.1%} / "
                f"{self.inclusive_by_library[name] / self.samples:6.1%}"
            )
        out.append(f"  top {top} functions by own samples")
        for name, own in self.own_by_function.most_common(top):
            out.append(f"    {own / self.samples:6.1%}  {name}")
        return "\n".join(out)


async def record(pid: int, seconds: float, output: Path) -> Profile | None:
    """Profile process `pid` for `seconds` (100 samples/s); None when py-spy is missing or
    not allowed to read the process."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        return None
    process = await asyncio.create_subprocess_exec(
        spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        "100",
        "--nonblocking",
        "--full-filenames",
        "--format",
        "raw",
        "--output",
        str(output),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    if await process.wait() != 0:
        return None
    raw = await asyncio.to_thread(output.read_text)
    return Profile.parse(raw)


def main(argv: list[str] | None = None) -> None:
    """Summarise raw py-spy profiles given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    for path in args.raw:
        sys.stdout.write(f"{path}: {Profile.parse(path.read_text()).report(args.top)}\n")


if __name__ == "__main__":
    main()
