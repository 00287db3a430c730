"""Bulk INSERT … ON CONFLICT DO NOTHING, for the two supported databases.

Used where idempotency keys make duplicates expected (batch intake, delivery rows): the database
decides, so concurrent writers never need a read-then-write check.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from psycopg.sql import SQL, Identifier
from sqlalchemy import JSON, Connection, Insert, Table, TypeDecorator, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

CHUNK = 1000
# From this many rows PostgreSQL gets them by COPY: the executemany path spends ~30 µs per row in
# the client (parameter processing) and one executed statement per row in the server; a 50,000-row
# batch intake took 2.5 s that way. Below it, a temporary table costs more than it saves.
COPY_FROM = 2000


def insert_ignoring_conflicts(session: Session, model: Any, rows: Sequence[dict[str, Any]],
                              index_elements: Sequence[str]) -> None:
    """Insert ``rows`` (all with the same keys), silently skipping those that collide on ``index_elements``.

    Of rows colliding with each other, the first one is kept.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect.name
    stmt: Insert
    if dialect == "postgresql":
        if len(rows) >= COPY_FROM and connection.dialect.driver == "psycopg":
            _copy_insert(connection, model.__table__, rows, index_elements)
            return
        stmt = postgresql.insert(model.__table__).on_conflict_do_nothing(index_elements=list(index_elements))
    elif dialect == "sqlite":
        stmt = sqlite.insert(model.__table__).on_conflict_do_nothing(index_elements=list(index_elements))
    else:  # pragma: no cover - only the two supported databases reach here
        raise RuntimeError(f"bulk insert is not supported on {dialect}")
    # Core executemany on the connection: the ORM bulk path would add per-row bookkeeping.
    for i in range(0, len(rows), CHUNK):
        connection.execute(stmt, list(rows[i:i + CHUNK]))


def insert_returning(session: Session, model: Any, rows: Sequence[dict[str, Any]], index_elements: Sequence[str],
                     returning: str) -> list[Any]:
    """Insert ``rows`` (all with the same keys), skipping those that collide on ``index_elements``, and
    return ``returning`` of the rows inserted: no read back. PostgreSQL: one statement of column
    arrays; SQLite (or JSON columns): multi-row VALUES, a thousand rows per statement."""
    if not rows:
        return []
    connection = session.connection()
    table = model.__table__
    dialect = connection.dialect.name
    names = list(rows[0])
    if (dialect == "postgresql" and connection.dialect.driver == "psycopg"
            and not any(isinstance(table.c[name].type, JSON) for name in names)):
        return _unnest_insert(connection, table, rows, names, index_elements, returning)
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"bulk insert is not supported on {dialect}")
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    found: list[Any] = []
    for i in range(0, len(rows), CHUNK):
        stmt = (insert(table).values(list(rows[i:i + CHUNK]))
                .on_conflict_do_nothing(index_elements=list(index_elements)).returning(table.c[returning]))
        found.extend(connection.execute(stmt).scalars())
    return found


def _unnest_insert(connection: Connection, table: Table, rows: Sequence[dict[str, Any]], names: list[str],
                   index_elements: Sequence[str], returning: str) -> list[Any]:
    """PostgreSQL: one ``INSERT … SELECT FROM unnest(<one array per column>)`` statement.

    SQLAlchemy's multi-row VALUES spent ~70 µs per row of the issuing worker's time binding and
    caching parameters for a chunk's delivery rows; one array per column is one parameter each.
    """
    dialect = connection.dialect
    casts = [SQL(table.c[name].type.compile(dialect=dialect) + "[]") for name in names]
    listed = SQL(", ").join(Identifier(name) for name in names)
    query = SQL("INSERT INTO {} ({}) SELECT * FROM unnest({}) ON CONFLICT ({}) DO NOTHING RETURNING {}").format(
        Identifier(table.name), listed, SQL(", ").join(SQL("%s::") + cast for cast in casts),
        SQL(", ").join(Identifier(name) for name in index_elements), Identifier(returning))
    columns = []
    for name in names:
        process = table.c[name].type.bind_processor(dialect)
        columns.append([process(row[name]) if process else row[name] for row in rows])
    raw = connection.connection.driver_connection
    assert raw is not None  # noqa: S101 - a live connection inside a transaction
    with raw.cursor() as cursor:
        cursor.execute(query, columns)
        return [found[0] for found in cursor.fetchall()]


def _copy_insert(connection: Connection, table: Table, rows: Sequence[dict[str, Any]],
                 index_elements: Sequence[str]) -> None:
    """COPY the rows into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING.

    Runs in the caller's transaction, so the rows appear all at once or not at all, as with the
    executemany path. Values are converted as the column types would bind them (JSON text, UTC
    datetimes); the ordinal column keeps "first row wins" among rows colliding with each other.
    """
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    converters = [_converter(column.type, connection) for column in columns]
    temp = Identifier(f"bulk_{table.name}_{secrets.token_hex(4)}")
    target = Identifier(table.name)
    listed = SQL(", ").join(Identifier(name) for name in names)
    conflict = SQL(", ").join(Identifier(name) for name in index_elements)
    raw = connection.connection.driver_connection
    assert raw is not None  # noqa: S101 - a live connection inside a transaction
    with raw.cursor() as cursor:
        # INCLUDING DEFAULTS: columns the rows leave out (server defaults) are NOT NULL in the copy too.
        cursor.execute(SQL("CREATE TEMPORARY TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP")
                       .format(temp, target))
        cursor.execute(SQL("ALTER TABLE {} ADD COLUMN bulk_ordinal integer").format(temp))
        with cursor.copy(SQL("COPY {} ({}, bulk_ordinal) FROM STDIN").format(temp, listed)) as copy:
            for ordinal, row in enumerate(rows):
                copy.write_row([convert(row[name]) if convert else row[name]
                                for name, convert in zip(names, converters, strict=True)] + [ordinal])
        cursor.execute(SQL("INSERT INTO {} ({}) SELECT {} FROM {} ORDER BY bulk_ordinal "
                           "ON CONFLICT ({}) DO NOTHING").format(target, listed, listed, temp, conflict))
        cursor.execute(SQL("DROP TABLE {}").format(temp))


def _converter(column_type: Any, connection: Connection) -> Any:
    """How a value of this column type is written as COPY text (None: psycopg's own dumper)."""
    if isinstance(column_type, JSON):
        return lambda value: None if value is None else json.dumps(value)
    if isinstance(column_type, TypeDecorator):
        dialect = connection.dialect
        return lambda value: column_type.process_bind_param(value, dialect)
    return None


def compare_and_set_many(session: Session, table: Table, rows: Sequence[dict[str, Any]], *, key: str,
                         guard: str | tuple[str, ...], values: dict[str, Any]) -> set[Any]:
    """For each row: ``UPDATE table SET values, <row's other columns> WHERE key = row[key] AND guard =
    row[guard]`` (``guard`` may name several columns, all compared). Returns the keys of the rows this
    call updated (those whose guard still held).

    ``values`` are the same for every row; each row dict holds ``key``, ``guard`` (the expected value)
    and the columns of its own to set. On PostgreSQL with psycopg the updates go out as one pipelined
    batch that returns the updated keys: in the issuing pipeline SQLAlchemy's per-row parameter
    processing cost the worker more than the server spent on the update. Elsewhere, one executemany,
    then one read of which rows carry ``values`` (whose non-NULL values must be unique to this call,
    e.g. a timestamp).
    """
    if not rows:
        return set()
    guards = (guard,) if isinstance(guard, str) else guard
    own = [name for name in rows[0] if name != key and name not in guards]
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        dialect = connection.dialect
        fixed = {name: _bound(table, name, value, dialect) for name, value in values.items()}
        convert = {name: process for name in (key, *guards, *own)
                   if (process := table.c[name].type.bind_processor(dialect)) is not None}
        assignments = SQL(", ").join(
            [SQL("{} = %(v_{})s").format(Identifier(name), SQL(name)) for name in values]
            + [SQL("{} = %(r_{})s").format(Identifier(name), SQL(name)) for name in own])
        conditions = SQL(" AND ").join(SQL("{} = %(r_{})s").format(Identifier(name), SQL(name))
                                       for name in (key, *guards))
        query = SQL("UPDATE {} SET {} WHERE {} RETURNING {}").format(
            Identifier(table.name), assignments, conditions, Identifier(key))
        params = [{**{f"v_{name}": value for name, value in fixed.items()},
                   **{f"r_{name}": convert[name](row[name]) if name in convert else row[name]
                      for name in (key, *guards, *own)}} for row in rows]
        raw = connection.connection.driver_connection
        assert raw is not None  # noqa: S101 - a live connection inside a transaction
        won: set[Any] = set()
        with raw.cursor() as cursor:
            cursor.executemany(query, params, returning=True)
            while True:
                won.update(found[0] for found in cursor.fetchall())
                if not cursor.nextset():
                    break
        return won
    k = table.c[key]
    connection.execute(
        table.update().where(k == bindparam(f"r_{key}"), *(table.c[g] == bindparam(f"r_{g}") for g in guards))
        .values(**values, **{name: bindparam(f"r_{name}") for name in own}),
        [{f"r_{name}": value for name, value in row.items()} for row in rows])
    markers = [table.c[name] == value for name, value in values.items() if value is not None]
    keys = [row[key] for row in rows]
    return {found for start in range(0, len(keys), CHUNK) for found in connection.execute(
        select(k).where(k.in_(keys[start:start + CHUNK]), *markers)).scalars()}


def _bound(table: Table, name: str, value: Any, dialect: Any) -> Any:
    """``value`` as the column's type would hand it to the driver (e.g. datetimes normalised to UTC)."""
    process = table.c[name].type.bind_processor(dialect)
    return process(value) if process is not None else value
