"""Course templates: validation naming fields, ESCO checks, versions, read and list."""
from __future__ import annotations

from .conftest import Sidecar, example_template

URL = "/api/v1/sources/moodle-main/courses/{}/template"
UNKNOWN = "http://data.europa.eu/esco/skill/00000000-0000-4000-8000-000000000000"


def test_put_get_list_and_versions(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    created = sidecar.admin("PUT", URL.format("42"), {**example_template(), "policy": {"channels": ["email"]}})
    assert created.status_code == 201
    assert created.json["version"] == 1 and created.json["esco"] == {"unknown": [], "obsolete": []}
    replaced = sidecar.signed("PUT", URL.format("42"), example_template(), key=key)
    assert replaced.status_code == 200 and replaced.json["version"] == 2
    assert replaced.json["policy"] == {"issue_when": "passed", "min_grade": None, "channels": ["email"]}
    sidecar.admin("PUT", URL.format("course-v1:Org+CS101+2026"), example_template())
    read = sidecar.signed("GET", URL.format("42"), key=key)
    assert read.status_code == 200 and read.json["template"]["title"]["fr"] == "Analyse de données avec Python"
    edx_style = sidecar.signed("GET", URL.format("course-v1:Org+CS101+2026"), key=key)  # ':' and '+' signed as sent
    assert edx_style.status_code == 200, edx_style.json
    from urllib.parse import quote

    from bridge.auth import signature_headers

    fully = URL.format(quote("course-v1:Org+CS101+2026", safe=""))  # how the edX client escapes it
    headers = signature_headers("moodle-main", key, "GET", fully)
    environ = {"RAW_URI": None, "REQUEST_URI": None}  # as behind a server that keeps no raw target
    assert sidecar.client.get(fully, headers=headers, environ_overrides=environ).status_code == 200
    encoded = sidecar.signed("GET", URL.format("caf%C3%A9%20101"), key=key)  # percent-encoded, as sent
    assert encoded.status_code == 404 and encoded.json["title"] == "Not Found"
    listed = sidecar.admin("GET", "/api/v1/sources/moodle-main/courses").json
    assert [i["course_id"] for i in listed["items"]] == ["42", "course-v1:Org+CS101+2026"]
    assert sidecar.admin("GET", URL.format("nope")).status_code == 404


def test_invalid_template_names_fields_and_writes_nothing(sidecar: Sidecar) -> None:
    sidecar.add_source()
    template = example_template()
    template["ects"] = "five"
    template["mode"] = "telepathy"
    del template["title"]
    response = sidecar.admin("PUT", URL.format("42"), template)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json["errors"]}
    assert {"ects", "mode", "title"} <= fields
    assert sidecar.admin("GET", URL.format("42")).status_code == 404
    nan = sidecar.client.put(URL.format("42"), data=b'{"ects": NaN}', content_type="application/json",
                             headers={"Authorization": f"Bearer {'test-admin-token-0123456789'}"})
    assert nan.status_code == 400
    too_long = sidecar.admin("PUT", URL.format("x" * 300), example_template())
    assert too_long.status_code == 400 and too_long.json["errors"][0]["field"] == "course_id"


def test_unknown_esco_skills(sidecar: Sidecar) -> None:
    sidecar.add_source()
    template = example_template()
    template["learning_outcomes"][0]["esco_skills"].append(UNKNOWN)
    refused = sidecar.admin("PUT", URL.format("42"), template)
    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == "learning_outcomes[0].esco_skills[3]"
    template["learning_outcomes"][0]["esco_skills"][3] = {"uri": UNKNOWN, "labels": {"en": "local skill"}}
    accepted = sidecar.admin("PUT", URL.format("42"), template)
    assert accepted.status_code == 201, accepted.json
    assert accepted.json["esco"]["unknown"] == [UNKNOWN]


def test_template_for_unregistered_source_is_404(sidecar: Sidecar) -> None:
    response = sidecar.admin("PUT", "/api/v1/sources/ghost/courses/1/template", example_template())
    assert response.status_code == 404
    assert "edc-bridge sources add" in response.json["detail"]
