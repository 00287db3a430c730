"""Alembic: upgrading an empty database yields exactly the schema of the models."""
from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from bridge.db.migrate import alembic_config, upgrade
from bridge.db.models import Base
from bridge.db.session import dispose_engine, make_engine

from .conftest import PG_ADMIN_DSN


def _assert_matches_models(url: str) -> None:
    upgrade(url)
    upgrade(url)  # a second run is a no-op
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == []
    assert {t.name for t in Base.metadata.sorted_tables} <= tables


def test_sqlite_upgrade_matches_models(tmp_path: Path) -> None:
    _assert_matches_models(f"sqlite:///{tmp_path / 'empty.sqlite3'}")


def test_postgresql_upgrade_matches_models(request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("pg_database")  # skips/fails like every PostgreSQL test
    name = f"edcbridge_migr_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        _assert_matches_models(url)
    finally:
        dispose_engine(url)
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _compression(url: str) -> dict[str, str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text(
                "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'credentials'::regclass "
                "AND attname IN ('sealed', 'credential_json')")).tuples().all())
    finally:
        engine.dispose()


def test_postgresql_compresses_the_credential_texts_with_lz4(request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("pg_database")
    name = f"edcbridge_migr_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        lz4 = conn.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                           "WHERE name = 'default_toast_compression'").fetchone()
    if not (lz4 and lz4[0]):
        pytest.skip("this PostgreSQL server was built without LZ4")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade(url)
        assert _compression(url) == {"sealed": "l", "credential_json": "l"}
        command.downgrade(alembic_config(url), "0001")
        assert _compression(url) == {"sealed": "p", "credential_json": "p"}
    finally:
        dispose_engine(url)
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
