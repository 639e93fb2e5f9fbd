"""The local stack explains itself when it cannot do what was asked."""

from __future__ import annotations

import socket

import pytest
from parley_devstack.kafka import kafka_libs
from parley_devstack.platform import _acquire_supervisor_lock
from parley_devstack.postgres import Postgres
from parley_devstack.processes import StackError
from parley_devstack.stack import Stack


def test_a_second_make_run_says_one_is_already_running(tmp_path) -> None:
    stack = Stack("run", state_root=tmp_path)
    first = _acquire_supervisor_lock(stack)
    try:
        with pytest.raises(StackError, match="already running") as err:
            _acquire_supervisor_lock(stack)
        assert "make stop" in str(err.value)
    finally:
        first.close()
    _acquire_supervisor_lock(stack).close()  # free again once the first one ended


def test_a_port_taken_by_another_program_is_named_with_the_variable_to_change(
    tmp_path, monkeypatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        monkeypatch.setenv("PARLEY_RUN_POSTGRES_PORT", str(port))
        postgres = Postgres(Stack("run", state_root=tmp_path).layout)
        with pytest.raises(StackError, match=f"port {port} is taken.*PARLEY_RUN_POSTGRES_PORT"):
            postgres.start()


def test_without_java_kafka_points_to_docker_compose(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(StackError, match="docker compose up"):
        kafka_libs(cache_dir=tmp_path / "cache")
