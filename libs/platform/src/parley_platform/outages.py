"""Telling an outage from a bad event: errors that mean a dependency cannot be reached right
now (PostgreSQL restarting or cutting connections, Redis stopped, Kafka or another service
unreachable) rather than that the work itself is wrong.

Consumers retry work that failed because of an outage for as long as the outage lasts,
instead of spending the event's bounded attempts and dead-lettering it: the chaos suite
showed a PostgreSQL restart or a stopped Redis moving dozens of customer messages and send
commands to dead-letter topics, i.e. customers left without an answer.
"""

from __future__ import annotations

import grpc
import redis.exceptions
from aiokafka.errors import KafkaConnectionError
from asyncpg.exceptions import InterfaceError as AsyncpgInterfaceError
from asyncpg.exceptions import PostgresError
from sqlalchemy.exc import DBAPIError

from parley_platform.errors import Unavailable, error_chain

# SQLSTATEs of a server that is going away, restarting or full (not of a bad query):
# admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections.
_POSTGRES_OUTAGE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_GRPC_OUTAGE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE})
_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, broken pipe: a socket to a dependency
    TimeoutError,  # a dependency that did not answer within its bound
    AsyncpgInterfaceError,  # "the underlying connection is closed"
    redis.exceptions.ConnectionError,  # includes redis' own timeouts and BusyLoadingError
    redis.exceptions.TimeoutError,
    KafkaConnectionError,
    Unavailable,
)


def _is_outage_itself(exc: BaseException) -> bool:
    # Imported here: the events package loads the consumer, which imports this module.
    from parley_platform.events.producer import PublishError

    if isinstance(exc, (*_OUTAGE_TYPES, PublishError)):
        return True
    if isinstance(exc, PostgresError):
        state = getattr(exc, "sqlstate", "") or ""
        return state.startswith("08") or state in _POSTGRES_OUTAGE_STATES
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, grpc.aio.AioRpcError):
        return exc.code() in _GRPC_OUTAGE_CODES
    return False


def is_outage(exc: BaseException) -> bool:
    """Whether `exc`, or an error it was raised from or while handling (SQLAlchemy's wrapped
    driver error included), says a dependency is unreachable for now."""
    return any(_is_outage_itself(error) for error in error_chain(exc))
