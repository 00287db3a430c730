"""Fixtures of the staff console tests: a real sidecar (SQLite and PostgreSQL), people with each role,
and a client that signs in through the sign-in form with its CSRF token, as a browser does."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bridge.console.accounts import create_user, hash_password
from bridge.console.roles import Grant
from bridge.db.models import AuditEntry
from tests.sidecar.conftest import (  # noqa: F401 - fixtures shared with the sidecar tests
    ADMIN,
    Sidecar,
    db_url,
    dev_seal_p12,
    example_completion,
    make_sidecar,
    pg_database,
)

PASSWORD = "correct horse battery staple"
PEOPLE = {
    "alice": [Grant("admin")],
    "rita": [Grant("registrar")],
    "theo": [Grant("course_team", "moodle-main", "42")],
    "vera": [Grant("viewer")],
    "rose": [Grant("recognition_officer")],
}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A Flask test client that keeps cookies and fills in the CSRF token of the forms it posts."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token: str | None = None

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.client.get(path, **kwargs)
        found = _TOKEN.search(response.get_data(as_text=True)) if response.mimetype == "text/html" else None
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> Any:
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/console/login")
            data.setdefault("csrf_token", self.token)
        return self.client.post(path, data=data, **kwargs)

    def login(self, username: str, password: str = PASSWORD, totp: str | None = None) -> Any:
        self.get("/console/login")
        return self.post("/console/login", {"username": username, "password": password, "totp": totp or "",
                                            "next": "/console/"})


@dataclass
class Console:
    car: Sidecar
    key: str

    def browser(self, who: str | None = None) -> Browser:
        browser = Browser(self.car.app.test_client())
        if who is not None:
            answer = browser.login(who)
            assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
            browser.get("/console/")
        return browser

    def audit(self, action: str | None = None) -> list[AuditEntry]:
        with self.car.rt.sessions() as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if action:
                query = query.where(AuditEntry.action == action)
            return list(session.scalars(query))

    def issue(self, course_id: str = "42", learner_id: str = "17", **learner: str) -> str:
        """One credential through the real intake and pipeline (signed like an LMS); its id."""
        completion = example_completion(course_id=course_id, learner={"id": learner_id, **learner})
        response = self.car.signed("POST", "/api/v1/completions", completion, key=self.key)
        assert response.status_code == 202, response.json
        self.car.drain()
        return response.json["id"]


@lru_cache(maxsize=1)
def password_hash() -> str:
    """PASSWORD hashed once per test process (argon2 is slow by design; the format is what matters)."""
    return hash_password(PASSWORD)


def add_people(car: Sidecar) -> None:
    with car.rt.sessions() as session:
        for name, grants in PEOPLE.items():
            user = create_user(session, name, name.title(), email=f"{name}@univ.example", grants=grants)
            user.password_hash = password_hash()
        session.commit()


def _console(tmp_path: Path, url: str, seal: Path) -> Console:
    car = make_sidecar(tmp_path, url, seal)
    key = car.add_source("moodle-main")
    car.put_template("42")
    car.put_template("43")
    add_people(car)
    return Console(car, key)


@pytest.fixture
def console(tmp_path: Path, dev_seal_p12: Path) -> Iterator[Console]:  # noqa: F811
    """A console on SQLite (the embedded database)."""
    found = _console(tmp_path, f"sqlite:///{tmp_path / 'console.sqlite3'}", dev_seal_p12)
    yield found
    found.car.drain()


@pytest.fixture
def console_any(tmp_path: Path, db_url: str, dev_seal_p12: Path) -> Iterator[Console]:  # noqa: F811
    """A console on each supported database (SQLite and PostgreSQL)."""
    found = _console(tmp_path, db_url, dev_seal_p12)
    yield found
    found.car.drain()
