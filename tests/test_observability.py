"""What an SRE watches: the alerting rules pass their promtool unit tests, and the alerts and
the dashboard only use metrics the code exposes (a renamed metric would silently empty a
panel or mute an alert), every metric is in the documented list, and every alert's runbook
exists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OBSERVABILITY = ROOT / "deploy" / "observability"
OPERATIONS = ROOT / "docs" / "operations.md"
SOURCES = [*ROOT.glob("libs/*/src"), *ROOT.glob("services/*/parley_*")]
HISTOGRAM_SERIES = ("_bucket", "_count", "_sum")


def promtool(*args: str) -> str:
    tool = shutil.which("promtool")
    assert tool, "promtool is needed (.ci/run installs Debian's prometheus)"
    done = subprocess.run(
        [tool, *args], cwd=OBSERVABILITY, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def metrics_in_code() -> set[str]:
    pattern = re.compile(r'(?:Counter|Gauge|Histogram|Summary)\(\s*"(parley_[a-z0-9_]+)"')
    names = set()
    for source in SOURCES:
        for path in source.rglob("*.py"):
            if "tests" not in path.parts:
                names.update(pattern.findall(path.read_text()))
    return names


def metrics_used(expression: str) -> set[str]:
    used = set()
    for name in re.findall(r"\bparley_[a-z0-9_]+", expression):
        for suffix in HISTOGRAM_SERIES:
            if name.endswith(suffix):
                name = name.removesuffix(suffix)
        used.add(name)
    return used


def alert_rules() -> list[dict]:
    groups = yaml.safe_load((OBSERVABILITY / "alerts.yaml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_the_alerting_rules_are_valid_and_pass_their_unit_tests() -> None:
    assert "SUCCESS" in promtool("check", "rules", "alerts.yaml")
    assert "SUCCESS" in promtool("test", "rules", "tests/alerts_test.yaml")


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    tests = yaml.safe_load((OBSERVABILITY / "tests" / "alerts_test.yaml").read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert {rule["alert"] for rule in alert_rules()} == fired


def test_alerts_and_dashboard_use_only_metrics_the_code_exposes() -> None:
    known = metrics_in_code()
    for rule in alert_rules():
        unknown = metrics_used(rule["expr"]) - known
        assert not unknown, (rule["alert"], unknown)
    expressions = dashboard_expressions()
    assert expressions
    for expression in expressions:
        unknown = metrics_used(expression) - known
        assert not unknown, (expression, unknown)


def test_every_metric_is_in_the_documented_list() -> None:
    documented = OPERATIONS.read_text()
    missing = [name for name in sorted(metrics_in_code()) if name not in documented]
    assert not missing, f"add to docs/operations.md (Metrics): {missing}"


def test_every_alert_links_to_its_runbook() -> None:
    headings = {
        line.removeprefix("### ").strip().lower()
        for line in OPERATIONS.read_text().splitlines()
        if line.startswith("### ")
    }
    for rule in alert_rules():
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert anchor in headings, (rule["alert"], anchor)
        assert rule["labels"]["severity"] in ("page", "ticket")


def test_the_dashboard_is_importable() -> None:
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] and dashboard["templating"]["list"][0]["type"] == "datasource"
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"]
