"""The chaos suite's short version (the full one is `make chaos`): a `make run` of its own on
shifted ports, customers writing all along, while conversation, ai and whatsapp are killed
with SIGKILL, the Cloud API answers 131000 to a share of sends and the LLM stand-in fails.
Nothing may be lost or duplicated, and the platform must answer again after each fault."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Not the offset of test_make_run (11000) nor the full suite's default (13000).
OFFSET = 12000

pytestmark = pytest.mark.timeout(1500)


def test_a_short_chaos_run_loses_and_duplicates_nothing(tmp_path) -> None:
    report = tmp_path / "chaos.json"
    command = [
        sys.executable,
        "-m",
        "parley_devstack.chaos",
        "--suite=short",
        "--businesses=3",
        "--llm-businesses=1",
        "--warm-up=10",
        "--gap=5",
        "--calm=30",
        f"--port-offset={OFFSET}",
        f"--state-dir={tmp_path / 'state'}",
        f"--json={report}",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=1400, check=False)
    assert run.returncode in (0, 1), run.stderr[-3000:]  # 2: the run could not be carried out
    figures = json.loads(report.read_text())
    assert figures["failures"] == [], run.stdout
    assert run.returncode == 0

    messages = figures["messages"]
    assert messages["sent"] > 50  # a steady stream, not a trickle
    assert messages["lost"] == 0 and messages["not accepted"] == 0
    assert messages["answered"] + messages["handed off"] == messages["sent"]
    assert figures["duplicates_unflagged"] == 0
    faults = {row["name"]: row for row in figures["faults"]}
    assert set(faults) == {
        "SIGKILL conversation",
        "SIGKILL ai",
        "SIGKILL whatsapp",
        "Cloud API 131000 storm",
        "LLM stand-in 500s",
    }
    # Every fault was followed by an answer to a new question, and customers kept writing
    # while the killed services were down.
    assert all(row["recovery_s"] is not None for row in faults.values())
    assert faults["SIGKILL conversation"]["sent"] > 0
    # make run restarted each killed service, and said so.
    assert figures["context"]["services restarted by make run"] >= 3
