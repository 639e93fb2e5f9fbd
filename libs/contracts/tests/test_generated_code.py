"""The generated contracts package must match proto/ exactly (`make proto` regenerates it)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

GENERATOR = Path(__file__).resolve().parents[1] / "generate.py"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("parley_contracts_generate", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_code_is_up_to_date_with_proto() -> None:
    assert _generator().stale_files() == [], "generated code is stale: run `make proto`"


def test_an_edited_proto_makes_the_generated_code_stale(tmp_path: Path) -> None:
    gen = _generator()
    protos = tmp_path / "proto"
    shutil.copytree(gen.PROTO_ROOT, protos)
    edited = protos / "parley" / "knowledge" / "v1" / "knowledge.proto"
    edited.write_text(
        edited.read_text().replace("int32 top_k = 2;", "int32 top_k = 2;\n  string locale = 9;")
    )
    problems = gen.stale_files(proto_root=protos)
    assert any("knowledge_pb2.py" in p for p in problems)

    (protos / "parley" / "knowledge" / "v1" / "knowledge.proto").unlink()
    problems = gen.stale_files(proto_root=protos)
    assert any(
        p.startswith("not generated from any proto") and "knowledge_pb2" in p for p in problems
    )
