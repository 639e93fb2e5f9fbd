"""Column shapes every service's tables share, for their SQLAlchemy Core definitions (the
migrations remain the source of truth for the schema)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, Uuid


def tenant_id_column() -> Column[Any]:
    """`tenant_id`, the first part of every tenant table's primary key (RLS filters on it)."""
    return Column("tenant_id", Uuid, primary_key=True)


def timestamp_column(name: str, *, nullable: bool = True) -> Column[Any]:
    """A `timestamptz` column."""
    return Column(name, DateTime(timezone=True), nullable=nullable)
