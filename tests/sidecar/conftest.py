"""Fixtures of the sidecar tests: a real database (SQLite file and PostgreSQL), a dev seal, a client
that signs requests like an LMS adapter."""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from bridge.app import create_app
from bridge.auth import generate_api_key, hash_api_key, signature_headers
from bridge.config import Settings
from bridge.db.migrate import upgrade
from bridge.db.models import Base, Credential, Source
from bridge.db.session import dispose_engine
from bridge.tasks.dispatch import InProcessDispatcher
from sealer.keys.devseal import create_dev_seal

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "test-admin-token-0123456789"
# Intake's clock in these tests: completion dates are judged against it, never against the real date.
PINNED_NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


def example_template() -> dict[str, Any]:
    return json.loads((ROOT / "examples" / "course-template.json").read_text(encoding="utf-8"))


def example_completion(**changes: Any) -> dict[str, Any]:
    completion = json.loads((ROOT / "examples" / "completion.json").read_text(encoding="utf-8"))
    learner = changes.pop("learner", None)
    if learner:
        completion["learner"].update(learner)
    completion.update(changes)
    return completion


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_DSN):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_database(worker_id: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this test worker, migrated, dropped at the end."""
    if not _pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required in CI")
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    name = f"edcbridge_test_{worker_id}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    yield url
    dispose_engine(url)
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database test runs on both supported databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sidecar.sqlite3'}"
    url = request.getfixturevalue("pg_database")
    from bridge.db.session import get_engine

    with get_engine(url).begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture(scope="session")
def dev_seal_p12(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_dev_seal(tmp_path_factory.mktemp("devseal")).pkcs12_path


@dataclass
class Sidecar:
    """A running app plus helpers to act as an LMS source or as the admin."""

    app: Flask
    client: FlaskClient
    settings: Settings

    @property
    def rt(self) -> Any:
        return self.app.extensions["edc"]

    def add_source(self, name: str = "moodle-main") -> str:
        key = generate_api_key()
        with self.rt.sessions() as session:
            session.add(Source(name=name, key_hash=hash_api_key(key)))
            session.commit()
        return key

    def signed(self, method: str, path: str, body: Any = None, *, source: str = "moodle-main", key: str,
               timestamp: int | None = None, raw: bytes | None = None, nonce: str | None = None) -> Any:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        headers = signature_headers(source, key, method, path, data, timestamp=timestamp, nonce=nonce)
        if data:
            headers["Content-Type"] = "application/json"
        return self.client.open(path, method=method, data=data, headers=headers)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        return self.client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {ADMIN}"})

    def put_template(self, course_id: str = "42", source: str = "moodle-main", policy: Any = None) -> Any:
        template = example_template()
        if policy is not None:
            template["policy"] = policy
        response = self.admin("PUT", f"/api/v1/sources/{source}/courses/{course_id}/template", template)
        assert response.status_code in (200, 201), response.json
        return response

    def drain(self) -> None:
        dispatcher = self.rt.dispatcher
        if isinstance(dispatcher, InProcessDispatcher):
            dispatcher.drain()

    def count(self, **filters: Any) -> int:
        query = select(func.count()).select_from(Credential)
        for name, value in filters.items():
            query = query.where(getattr(Credential, name) == value)
        with self.rt.sessions() as session:
            return session.scalar(query) or 0


def make_sidecar(tmp_path: Path, db_url: str, dev_seal_p12: Path, dispatcher: Any = None, **env: str) -> Sidecar:
    values = {"EDC_DATA_DIR": str(tmp_path / "var"), "EDC_DATABASE_URL": db_url, "EDC_ADMIN_TOKEN": ADMIN,
              "EDC_SEAL_PKCS12": str(dev_seal_p12), "EDC_SEAL_PKCS12_PASSWORD": "dev-seal",
              "EDC_PUBLIC_URL": "http://sidecar.test",
              # The sealed PDF costs a WeasyPrint layout per e-mail: the tests about it turn it on.
              "EDC_EMAIL_PDF": "0"}
    values.update(env)
    settings = Settings.from_env(values)
    app = create_app(settings, migrate=db_url.startswith("sqlite"), dispatcher=dispatcher)
    app.extensions["edc"].clock = lambda: PINNED_NOW
    return Sidecar(app=app, client=app.test_client(), settings=settings)


@pytest.fixture
def sidecar(tmp_path: Path, db_url: str, dev_seal_p12: Path) -> Iterator[Sidecar]:
    car = make_sidecar(tmp_path, db_url, dev_seal_p12)
    yield car
    car.drain()


def wait_for(predicate: Any, timeout: float = 60.0, interval: float = 0.2) -> Any:
    """Poll until ``predicate()`` is truthy (used for out-of-process workers only)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)
