"""The esco_bp blueprint on a tiny Flask app (the sidecar's create_app registers the same)."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.esco.api import esco_bp
from bridge.esco.service import EscoService

from .conftest import ADAPT_TO_CHANGE

PROBLEM = "application/problem+json"


@pytest.fixture()
def client(ref_service: EscoService) -> FlaskClient:
    app = Flask(__name__)
    app.extensions["esco"] = ref_service
    app.register_blueprint(esco_bp)
    return app.test_client()


def test_search_in_french(client: FlaskClient) -> None:
    response = client.get("/api/v1/esco/skills", query_string={"q": "s'adapter au changement", "lang": "fr",
                                                               "limit": "3"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["esco_version"] == "v1.0" and body["lang"] == "fr" and body["count"] == 3
    first = body["results"][0]
    assert first["uri"] == ADAPT_TO_CHANGE
    assert first["uuid"] == ADAPT_TO_CHANGE.rsplit("/", 1)[1]
    assert first["label"] == "s'adapter au changement"
    assert first["matched_field"] == "preferred"


def test_search_filters(client: FlaskClient) -> None:
    body = client.get("/api/v1/esco/skills?q=adapt&skill_type=skill/competence&reuse_level=transversal"
                      "&limit=50").get_json()
    assert body["results"]
    kinds = {(r["skill_type"], r["reuse_level"]) for r in body["results"]}
    assert kinds == {("skill/competence", "transversal")}


def test_invalid_parameters_answer_problem_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/esco/skills?lang=xx&limit=abc&skill_type=soft&reuse_level=any")
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body)
    assert body["status"] == 400
    # The schema (the same one /openapi.json prints) names each; the language is then checked against
    # the languages the index holds.
    assert {e["field"] for e in body["errors"]} == {"limit", "q", "skill_type", "reuse_level"}
    response = client.get("/api/v1/esco/skills?q=adapt&lang=xx")
    assert response.status_code == 400 and [e["field"] for e in response.get_json()["errors"]] == ["lang"]
    response = client.get("/api/v1/esco/skills?q=adapt&limit=500")
    assert response.status_code == 400
    assert [e["field"] for e in response.get_json()["errors"]] == ["limit"]


def test_get_skill_with_all_languages(client: FlaskClient) -> None:
    uuid = ADAPT_TO_CHANGE.rsplit("/", 1)[1]
    response = client.get(f"/api/v1/esco/skills/{uuid}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["uri"] == ADAPT_TO_CHANGE
    assert body["pref_label"] == {"en": "adapt to change", "fr": "s'adapter au changement"}
    assert body["alt_labels"] == {"fr": ["s'adapter aux changements"]}
    assert body["status"] == "released" and body["esco_version"] == "v1.0"


def test_unknown_and_malformed_skill_ids(client: FlaskClient) -> None:
    response = client.get("/api/v1/esco/skills/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert response.get_json()["status"] == 404
    response = client.get("/api/v1/esco/skills/not-a-uuid")
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert response.get_json()["errors"][0]["field"] == "skill_id"
