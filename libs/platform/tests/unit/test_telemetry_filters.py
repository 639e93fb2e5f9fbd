"""Which gRPC calls are traced: every call but the health checks, on both sides."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from parley_platform.telemetry import not_a_health_check


@pytest.mark.parametrize(
    ("method", "traced"),
    [
        ("/parley.knowledge.v1.KnowledgeService/Search", True),
        (b"/parley.knowledge.v1.KnowledgeService/Search", True),
        ("/grpc.health.v1.Health/Check", False),
        (b"/grpc.health.v1.Health/Watch", False),
    ],
)
def test_only_health_checks_are_left_out_of_traces(method: str | bytes, traced: bool) -> None:
    assert not_a_health_check(SimpleNamespace(method=method)) is traced
