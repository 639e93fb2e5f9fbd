"""Which failures are outages (a dependency unreachable for now), retried until they end, and
which are the event's own, retried a bounded number of times and then dead-lettered."""

from __future__ import annotations

import grpc
import pytest
import redis.exceptions
from asyncpg.exceptions import (
    AdminShutdownError,
    CannotConnectNowError,
    ConnectionDoesNotExistError,
    QueryCanceledError,
    UniqueViolationError,
)
from asyncpg.exceptions import InterfaceError as AsyncpgInterfaceError
from parley_platform.errors import InvalidRequest, Unavailable
from parley_platform.events.producer import PublishError
from parley_platform.outages import is_outage
from sqlalchemy.exc import DBAPIError, IntegrityError


def wrapped_by_sqlalchemy(error: Exception, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", None, error, connection_invalidated=invalidated)


def raised_from(cause: Exception) -> RuntimeError:
    try:
        raise RuntimeError("could not store the message") from cause
    except RuntimeError as exc:
        return exc


def rpc_error(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details="x")


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError(),
        TimeoutError(),
        wrapped_by_sqlalchemy(CannotConnectNowError("the database system is starting up")),
        wrapped_by_sqlalchemy(AdminShutdownError("terminating connection")),
        wrapped_by_sqlalchemy(ConnectionDoesNotExistError("connection was closed")),
        wrapped_by_sqlalchemy(AsyncpgInterfaceError("the underlying connection is closed")),
        wrapped_by_sqlalchemy(ValueError("whatever"), invalidated=True),
        redis.exceptions.ConnectionError("Error 111 connecting"),
        redis.exceptions.TimeoutError(),
        rpc_error(grpc.StatusCode.UNAVAILABLE),
        PublishError("Kafka did not acknowledge"),
        Unavailable("auth is unreachable"),
        raised_from(ConnectionRefusedError()),
    ],
)
def test_an_unreachable_dependency_is_an_outage(error: Exception) -> None:
    assert is_outage(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad payload"),
        InvalidRequest("no such channel"),
        wrapped_by_sqlalchemy(UniqueViolationError("duplicate key")),
        IntegrityError("INSERT", None, UniqueViolationError("duplicate key")),
        wrapped_by_sqlalchemy(QueryCanceledError("canceling statement due to statement timeout")),
        rpc_error(grpc.StatusCode.INVALID_ARGUMENT),
        raised_from(KeyError("tenant")),
    ],
)
def test_a_failure_of_the_work_itself_is_not(error: Exception) -> None:
    assert not is_outage(error)
