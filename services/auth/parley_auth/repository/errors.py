"""Recognising the database's answers that are domain facts (a unique key already taken)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the unique or foreign-key constraint `error` reports, if any."""
    cause = getattr(error.orig, "__cause__", None)
    return getattr(cause, "constraint_name", None)
