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
                "SELECT attrelid::regclass::text || '.' || attname, attcompression FROM pg_attribute "
                "WHERE attrelid IN (SELECT oid FROM pg_class WHERE relname IN ('credentials', 'sealed_files')) "
                "AND attname IN ('sealed', 'credential_json')")).all())
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
        assert _compression(url) == {"sealed_files.sealed": "l", "credentials.credential_json": "l"}
        command.downgrade(alembic_config(url), "0002")
        assert _compression(url) == {"credentials.sealed": "l", "credentials.credential_json": "l"}
        command.downgrade(alembic_config(url), "0001")
        assert _compression(url) == {"credentials.sealed": "p", "credentials.credential_json": "p"}
    finally:
        dispose_engine(url)
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _assert_sealed_files_move(url: str) -> None:
    """0003 moves existing sealed files out of the credentials rows and back on downgrade."""
    config = alembic_config(url)
    command.upgrade(config, "0002")
    engine = make_engine(url)
    insert = text("INSERT INTO credentials (id, source, course_id, learner_id, completion, status, attempts, "
                  "created_at, updated_at, sealed) VALUES (:id, 's', 'c', :id, '{\"source\": \"s\"}', "
                  "'received', 0, :at, :at, :sealed)")
    try:
        with engine.begin() as conn:
            conn.execute(insert, [{"id": "c-sealed", "at": "2026-11-29 01:00:00", "sealed": '{"payload": "é"}'},
                                  {"id": "c-pending", "at": "2026-11-29 01:00:00", "sealed": None}])
        upgrade(url)
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(text("SELECT credential_id, sealed FROM sealed_files"))] == [
                ("c-sealed", '{"payload": "é"}')]
            assert "sealed" not in {c["name"] for c in inspect(conn).get_columns("credentials")}
        command.downgrade(config, "0002")
        with engine.connect() as conn:
            assert dict(conn.execute(text("SELECT id, sealed FROM credentials")).all()) == {
                "c-sealed": '{"payload": "é"}', "c-pending": None}
            assert "sealed_files" not in inspect(conn).get_table_names()
    finally:
        engine.dispose()
        dispose_engine(url)


def test_sqlite_moves_sealed_files(tmp_path: Path) -> None:
    _assert_sealed_files_move(f"sqlite:///{tmp_path / 'move.sqlite3'}")


def test_postgresql_moves_sealed_files(request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("pg_database")
    name = f"edcbridge_migr_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        _assert_sealed_files_move(url)
    finally:
        dispose_engine(url)
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
