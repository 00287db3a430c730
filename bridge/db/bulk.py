"""Bulk INSERT … ON CONFLICT DO NOTHING, for the two supported databases.

Used where idempotency keys make duplicates expected (batch intake, delivery rows): the database
decides, so concurrent writers never need a read-then-write check.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

CHUNK = 1000


def insert_ignoring_conflicts(session: Session, model: Any, rows: Sequence[dict[str, Any]],
                              index_elements: Sequence[str]) -> None:
    """Insert ``rows`` in chunks, silently skipping those that collide on ``index_elements``."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    stmt: Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(model.__table__).on_conflict_do_nothing(index_elements=list(index_elements))
    elif dialect == "sqlite":
        stmt = sqlite.insert(model.__table__).on_conflict_do_nothing(index_elements=list(index_elements))
    else:  # pragma: no cover - only the two supported databases reach here
        raise RuntimeError(f"bulk insert is not supported on {dialect}")
    # Core executemany on the connection: the ORM bulk path would add per-row bookkeeping.
    connection = session.connection()
    for i in range(0, len(rows), CHUNK):
        connection.execute(stmt, list(rows[i:i + CHUNK]))
