"""Generate the Python contracts package from proto/ (`make proto` runs this).

The generated tree (libs/contracts/src/parley) is git-ignored and never edited by hand;
`--check` regenerates into a temporary folder and fails when the installed tree differs,
which is what the stale-code test and CI rely on.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = ROOT / "proto"
OUTPUT_ROOT = Path(__file__).resolve().parent / "src"
GENERATED_PACKAGE = "parley"


def proto_files(proto_root: Path = PROTO_ROOT) -> list[Path]:
    """Every .proto under `proto_root`, in a stable order."""
    return sorted(proto_root.rglob("*.proto"))


def generate(output_root: Path, proto_root: Path = PROTO_ROOT) -> None:
    """Run protoc (with gRPC and .pyi stubs) for every proto file into `output_root`."""
    output_root.mkdir(parents=True, exist_ok=True)
    include = Path(protoc.__file__).resolve().parent / "_proto"  # well-known types
    args = [
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"-I{include}",
        f"--python_out={output_root}",
        f"--pyi_out={output_root}",
        f"--grpc_python_out={output_root}",
        *(str(p.relative_to(proto_root)) for p in proto_files(proto_root)),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def generated_files(root: Path) -> set[Path]:
    """Relative paths of the generated files below `root/parley`."""
    base = root / GENERATED_PACKAGE
    if not base.exists():
        return set()
    return {
        p.relative_to(root) for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }


def stale_files(installed_root: Path = OUTPUT_ROOT, proto_root: Path = PROTO_ROOT) -> list[str]:
    """Files that differ between a fresh generation from `proto_root` and `installed_root`
    (empty: up to date)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh_root = Path(tmp)
        generate(fresh_root, proto_root)
        fresh, installed = generated_files(fresh_root), generated_files(installed_root)
        problems = [f"missing: {p}" for p in sorted(fresh - installed)]
        problems += [f"not generated from any proto: {p}" for p in sorted(installed - fresh)]
        problems += [
            f"differs: {p}"
            for p in sorted(fresh & installed)
            if not filecmp.cmp(fresh_root / p, installed_root / p, shallow=False)
        ]
        return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if generated code is stale")
    args = parser.parse_args()
    if args.check:
        problems = stale_files()
        if problems:
            sys.stderr.write(
                "generated code is stale; run `make proto`:\n  " + "\n  ".join(problems) + "\n"
            )
            raise SystemExit(1)
        return
    shutil.rmtree(OUTPUT_ROOT / GENERATED_PACKAGE, ignore_errors=True)
    generate(OUTPUT_ROOT)


if __name__ == "__main__":
    main()
