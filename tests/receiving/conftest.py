"""Fixtures of the receiving-side tests: a real sidecar app (SQLite file, dev seal, in-process tasks)
that can issue a credential end to end, and the reference credentials of EDC."""
from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.auth import generate_api_key, hash_api_key, signature_headers
from bridge.config import Settings
from bridge.db.models import Source
from bridge.db.session import dispose_engine
from bridge.tasks.dispatch import InProcessDispatcher
from sealer.keys.devseal import create_dev_seal
from tests.reference import ELM_EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "receiving-admin-token-0123456789"
PUBLIC_URL = "http://sidecar.test"
EDC_SIGNED = ELM_EXAMPLES / "elm-v3" / "Sample-CertOfPart-signed.jsonld"
EDC_XML = ELM_EXAMPLES / "legacy-elm-v2-xml" / "EDC_DiplomaSupplement_AA.xml"


def example_template() -> dict[str, Any]:
    return json.loads((ROOT / "examples" / "course-template.json").read_text(encoding="utf-8"))


# The LMS reports a completion from ten days before this run: intake refuses completions in the future,
# so the example's fixed date would make these tests depend on the day they run.
COMPLETED_AT = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).strftime("%Y-%m-%dT10:00:00Z")


def example_completion() -> dict[str, Any]:
    completion = json.loads((ROOT / "examples" / "completion.json").read_text(encoding="utf-8"))
    completion["completed_at"] = COMPLETED_AT
    return completion


@dataclass
class Sidecar:
    app: Flask
    client: FlaskClient
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def rt(self) -> Any:
        return self.app.extensions["edc"]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        return self.client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {ADMIN}"})

    def add_course(self, source: str = "moodle-main", course_id: str = "42",
                   template: dict[str, Any] | None = None) -> str:
        """Register the source (if new) and store the course template; returns the source's API key."""
        if source not in self.keys:
            self.keys[source] = generate_api_key()
            with self.rt.sessions() as session:
                session.add(Source(name=source, key_hash=hash_api_key(self.keys[source])))
                session.commit()
        path = f"/api/v1/sources/{source}/courses/{course_id}/template"
        response = self.admin("PUT", path, template or example_template())
        assert response.status_code in (200, 201), response.json
        return self.keys[source]

    def issue(self, source: str = "moodle-main", course_id: str = "42", learner_id: str = "17") -> tuple[str, bytes]:
        """Issue one credential through the real intake and pipeline; (credential id, sealed file).
        Stores the example template unless the course already has one."""
        exists = self.client.get(f"/api/v1/sources/{source}/courses/{course_id}/template",
                                 headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
        key = self.keys[source] if exists else self.add_course(source, course_id)
        completion = example_completion()
        completion.update(source=source, course_id=course_id)
        completion["learner"]["id"] = learner_id
        body = json.dumps(completion).encode()
        headers = signature_headers(source, key, "POST", "/api/v1/completions", body)
        response = self.client.post("/api/v1/completions", data=body, headers=headers,
                                    content_type="application/json")
        assert response.status_code == 202, response.json
        dispatcher = self.rt.dispatcher
        assert isinstance(dispatcher, InProcessDispatcher)
        dispatcher.drain()
        cred_id = response.json["id"]
        sealed = self.admin("GET", f"/api/v1/credentials/{cred_id}/sealed")
        assert sealed.status_code == 200, sealed.data[:300]
        return cred_id, sealed.data

    def upload(self, data: bytes, name: str = "credential.jsonld", lang: str | None = None,
               headers: dict[str, str] | None = None) -> Any:
        path = "/verify" + (f"?lang={lang}" if lang else "")
        return self.client.post(path, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data",
                                headers=headers or {})


@pytest.fixture(scope="session")
def dev_seal(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return create_dev_seal(tmp_path_factory.mktemp("devseal"))


def make_sidecar(tmp_path: Path, dev_seal: Any, **env: str) -> Sidecar:
    values = {"EDC_DATA_DIR": str(tmp_path / "var"), "EDC_DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite3'}",
              "EDC_ADMIN_TOKEN": ADMIN, "EDC_SEAL_PKCS12": str(dev_seal.pkcs12_path),
              "EDC_SEAL_PKCS12_PASSWORD": "dev-seal", "EDC_PUBLIC_URL": PUBLIC_URL}
    values.update(env)
    settings = Settings.from_env(values)
    app = create_app(settings, migrate=True)
    return Sidecar(app=app, client=app.test_client(), settings=settings)


@pytest.fixture
def sidecar(tmp_path: Path, dev_seal: Any) -> Iterator[Sidecar]:
    car = make_sidecar(tmp_path, dev_seal)
    yield car
    dispatcher = car.rt.dispatcher
    if isinstance(dispatcher, InProcessDispatcher):
        dispatcher.drain()
    dispose_engine(car.settings.database_url)


@pytest.fixture(scope="session")
def edc_signed() -> bytes:
    return EDC_SIGNED.read_bytes()


@pytest.fixture(scope="session")
def edc_xml() -> bytes:
    return EDC_XML.read_bytes()
