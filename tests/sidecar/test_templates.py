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
    unchanged = sidecar.signed("PUT", URL.format("42"), example_template(), key=key)  # the same once normalised
    assert unchanged.status_code == 200 and unchanged.json["version"] == 1
    replaced = sidecar.signed("PUT", URL.format("42"), {**example_template(), "ects": 6}, key=key)
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


def test_etag_if_match_and_identical_puts(sidecar: Sidecar) -> None:
    from sqlalchemy import func, select

    from bridge.db.models import TemplateRevision

    key = sidecar.add_source()
    created = sidecar.admin("PUT", URL.format("42"), example_template())
    tag = created.headers["ETag"]
    assert created.status_code == 201 and tag.startswith('"1-') and tag.endswith('"')
    read = sidecar.signed("GET", URL.format("42"), key=key)
    assert read.headers["ETag"] == tag
    # The same content again (key order aside): no new version, same ETag, whoever sends it.
    reordered = dict(reversed(list(example_template().items())))
    same = sidecar.signed("PUT", URL.format("42"), reordered, key=key)
    assert same.status_code == 200 and same.json["version"] == 1 and same.headers["ETag"] == tag
    with sidecar.rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TemplateRevision)) == 1
    # A policy change is a change of content.
    policy = sidecar.admin("PUT", URL.format("42"), {**example_template(), "policy": {"min_grade": 50}})
    assert policy.status_code == 200 and policy.json["version"] == 2 and policy.headers["ETag"] != tag
    changed = example_template()
    changed["title"]["en"] = "Data Analysis with Python, second edition"

    def put(headers: dict[str, str]) -> object:
        return sidecar.client.put(URL.format("42"), json=changed,
                                  headers={"Authorization": "Bearer test-admin-token-0123456789", **headers})

    stale = put({"If-Match": tag})
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"
    assert stale.json["current_version"] == 2 and stale.json["current_etag"] == policy.headers["ETag"]
    assert stale.headers["ETag"] == policy.headers["ETag"]
    weak = put({"If-Match": f"W/{policy.headers['ETag']}"})  # If-Match compares strongly: a weak tag never matches
    assert weak.status_code == 412
    assert put({"If-None-Match": "*"}).status_code == 412  # create-only, and the course has a template
    assert put({"If-Match": "not a tag"}).status_code == 400
    fresh = put({"If-Match": f'"0-x", {policy.headers["ETag"]}'})
    assert fresh.status_code == 200 and fresh.json["version"] == 3
    assert sidecar.admin("GET", URL.format("42")).json["template"]["title"]["en"].endswith("second edition")
    # If-Match on a course without a template: nothing to match.
    missing = sidecar.client.put(URL.format("43"), json=changed, headers={
        "Authorization": "Bearer test-admin-token-0123456789", "If-Match": "*"})
    assert missing.status_code == 412 and missing.json["current_version"] is None
    only = sidecar.client.put(URL.format("43"), json=changed, headers={
        "Authorization": "Bearer test-admin-token-0123456789", "If-None-Match": "*"})
    assert only.status_code == 201
    spec = sidecar.client.get("/openapi.json").json["paths"]["/api/v1/sources/{source}/courses/{course_id}/template"]
    names = {p["name"] for p in spec["put"]["parameters"]}
    assert {"If-Match", "If-None-Match"} <= names
    assert "ETag" in spec["put"]["responses"]["200"]["headers"] and "412" in spec["put"]["responses"]
    assert "ETag" in spec["get"]["responses"]["200"]["headers"]
