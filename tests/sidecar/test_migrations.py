"""Alembic: upgrading an empty database yields exactly the schema of the models."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
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


@pytest.fixture
def empty_pg(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty PostgreSQL database (not migrated), dropped afterwards."""
    request.getfixturevalue("pg_database")  # skips/fails like every PostgreSQL test
    name = f"edcbridge_migr_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    yield url
    dispose_engine(url)
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


def test_postgresql_upgrade_matches_models(empty_pg: str) -> None:
    _assert_matches_models(empty_pg)


def _storage(url: str) -> dict[str, tuple[str, str]]:
    """(compression method, storage strategy) of the credential text columns."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT attname, attcompression, attstorage FROM pg_attribute WHERE attrelid = "
                "'credentials'::regclass AND attname IN ('sealed', 'sealed_zstd', 'credential_json')")).all()
            return {name: (compression, storage) for name, compression, storage in rows}
    finally:
        engine.dispose()


def test_postgresql_column_storage_per_revision(empty_pg: str) -> None:
    """0002 gives the texts LZ4; 0003 stores zstd frames uncompressed by the server (EXTERNAL)."""
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        lz4 = conn.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                           "WHERE name = 'default_toast_compression'").fetchone()
    if not (lz4 and lz4[0]):
        pytest.skip("this PostgreSQL server was built without LZ4")
    upgrade(empty_pg)
    assert _storage(empty_pg) == {"credential_json": ("l", "x"), "sealed_zstd": ("", "e")}
    command.downgrade(alembic_config(empty_pg), "0002")
    assert _storage(empty_pg) == {"credential_json": ("l", "x"), "sealed": ("l", "x")}
    command.downgrade(alembic_config(empty_pg), "0001")
    assert _storage(empty_pg) == {"credential_json": ("p", "x"), "sealed": ("p", "x")}


SEALED_TEXT = '{"payload":"{\\"name\\":\\"Zoë\\"}","signatures":[{"protected":"eyJ","signature":"c2ln"}]}'


def _convert_round_trip(url: str) -> None:
    """0003 turns stored texts into frames and back, byte for byte, dictionary frames included."""
    from bridge.db.models import Credential
    from bridge.db.sealed_store import SealedStore
    from bridge.db.session import session_factory

    upgrade(url, "0002")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO credentials (id, source, course_id, learner_id, completion, status, attempts, "
                "created_at, updated_at, sealed) VALUES (:id, 's', 'c', :learner, '{}', 'sealed', 0, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :sealed)"),
                [{"id": f"00000000-0000-4000-8000-00000000000{i}", "learner": str(i),
                  "sealed": SEALED_TEXT if i else None} for i in range(3)])
    finally:
        engine.dispose()
    upgrade(url)
    store = SealedStore()
    sessions = session_factory(url)
    with sessions() as session:
        rows = {row.learner_id: row for row in session.query(Credential)}
        assert rows["0"].sealed_zstd is None
        assert store.read(session, rows["1"]) == SEALED_TEXT.encode()
        # A frame written at head, against a dictionary, comes back as text on downgrade too.
        dictionary = store.prepare(SEALED_TEXT.encode())
        store.save_dictionaries(session, [dictionary])
        rows["2"].sealed_zstd = store.pack(SEALED_TEXT.replace("Zoë", "Zoé").encode(), dictionary)
        rows["2"].sealed_dictionary_id = dictionary.id
        session.commit()
    dispose_engine(url)
    command.downgrade(alembic_config(url), "0002")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            texts = dict(conn.execute(text("SELECT learner_id, sealed FROM credentials")).all())
    finally:
        engine.dispose()
    assert texts == {"0": None, "1": SEALED_TEXT, "2": SEALED_TEXT.replace("Zoë", "Zoé")}


def test_sqlite_sealed_texts_convert_both_ways(tmp_path: Path) -> None:
    _convert_round_trip(f"sqlite:///{tmp_path / 'convert.sqlite3'}")


def test_postgresql_sealed_texts_convert_both_ways(empty_pg: str) -> None:
    _convert_round_trip(empty_pg)
