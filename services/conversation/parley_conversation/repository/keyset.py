"""Keyset pagination: rows strictly after a position in a (sort key, tie-breaker) order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, literal, tuple_


def beyond(
    columns: Sequence[Any], values: Sequence[Any], *, descending: bool
) -> ColumnElement[bool]:
    """Rows that come after `values` when ordered by `columns` (all ascending, or all
    descending): a row-value comparison PostgreSQL answers from a matching index."""
    position = tuple_(*(literal(v, c.type) for c, v in zip(columns, values, strict=True)))
    row = tuple_(*columns)
    return row < position if descending else row > position
