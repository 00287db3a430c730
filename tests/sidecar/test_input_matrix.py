"""Every route of the app, every path variable, query parameter and authentication header, against each
class of malformed value that once answered 500: a 4xx, never a 5xx, and on the API a problem+json
naming the field. The routes are read from the app's URL map, so a route added later is covered too.
Runs on SQLite and PostgreSQL (where NUL characters used to reach the server)."""
from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug.routing import Rule

from bridge.api.inputs import operations
from bridge.auth import signature_headers

from .conftest import ADMIN, Sidecar, example_completion

# URL-encoded hostile values, by class: NUL and other control characters, a lone surrogate (as the
# UTF-8-like bytes of U+D800, and as JSON's escape), digits of other scripts, integers too long for
# any column or for int() (over 4,300 digits), floats out of range, dates that overflow.
HOSTILE = {
    "nul": "a%00b",
    "control": "a%0d%0ab",
    "surrogate-bytes": "a%ED%A0%80b",
    "surrogate-escape": "a%5Cud800",
    "invalid-utf8": "%FF%FE",
    "superscript": "%C2%B2",
    "arabic-digits": "%D9%A1%D9%A2",
    "fullwidth-digit": "%EF%BC%91",
    "long-integer": "9" * 4400,
    "float-overflow": "1e400",
    "date-overflow": "9999-12-31T23:59:59-01:00",
}
VARIABLE = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")
API = ("/api/", "/console/api/")


@pytest.fixture
def car(sidecar: Sidecar) -> Sidecar:
    sidecar.add_source()
    sidecar.put_template()
    sidecar.admin("POST", "/api/v1/completions", example_completion())
    return sidecar


def _rules(car: Sidecar) -> list[tuple[Rule, str]]:
    return [(rule, method) for rule in car.app.url_map.iter_rules()
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})]


def _fill(rule: Rule, hostile_name: str | None, value: str) -> str:
    """The rule's URL with ``hostile_name`` set to ``value`` and every other variable plausible."""
    def sub(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if name == hostile_name:
            return value
        return "1" if converter == "int" else {"source": "moodle-main", "course_id": "42", "course": "42"}.get(
            name, "x")
    return VARIABLE.sub(sub, rule.rule)


def _check(response: Any, where: str, field: str | None) -> None:
    assert response.status_code < 500, (where, response.status_code, response.get_data(as_text=True)[:500])
    if field is not None and any(where.split(" ", 1)[1].startswith(p) for p in API):
        assert 400 <= response.status_code < 500, (where, response.status_code)
        assert response.mimetype == "application/problem+json", (where, response.mimetype)
        fields = [e["field"] for e in response.json.get("errors", [])]
        assert field in fields or "path" in fields, (where, fields)


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_path_variable_refuses_hostile_values(car: Sidecar, kind: str) -> None:
    value = HOSTILE[kind]
    for rule, method in _rules(car):
        for name in [m.group(2) for m in VARIABLE.finditer(rule.rule)]:
            url = _fill(rule, name, value)
            response = car.client.open(url, method=method, headers={"Authorization": f"Bearer {ADMIN}"},
                                       json={} if method in ("POST", "PUT") else None)
            # An id that merely does not exist is a 404; a value no id can hold is a 400 naming it.
            _check(response, f"{method} {url}", name if response.status_code == 400 else None)
    before = car.count()
    assert before == 1


def _typed(schema: dict[str, Any]) -> bool:
    """A query parameter that holds a number or a date rather than free text."""
    return schema.get("type") == "integer" or schema.get("format") in ("date", "date-time")


REFUSED_EVERYWHERE = ("nul", "control", "surrogate-bytes", "invalid-utf8")


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_query_parameter_refuses_hostile_values(car: Sidecar, kind: str) -> None:
    value = HOSTILE[kind]
    checked = 0
    for path, op in operations(car.app):
        if op.query is None:
            continue
        url_path = re.sub(r"\{[^}]+\}", "x", path)
        for name, schema in op.adapter("query").json_schema().get("properties", {}).items():
            url = f"{url_path}?{name}={value}"
            response = car.client.open(url, method=op.method, headers={"Authorization": f"Bearer {ADMIN}"})
            checked += 1
            if kind in REFUSED_EVERYWHERE or (_typed(schema) and kind != "surrogate-escape"):
                assert response.status_code == 400, (url, response.status_code)
                _check(response, f"{op.method} {url}", name)
            else:  # free text (a search word, an id filter): nothing matches, and that is an answer
                assert response.status_code < 500, (url, response.status_code)
    for page in ("/catalogue?q=", "/console/credentials?q=", "/verify?lang="):
        response = car.client.get(page + value, headers={"Authorization": f"Bearer {ADMIN}"})
        assert response.status_code < 500, (page, response.status_code)
        if kind in REFUSED_EVERYWHERE:
            assert response.status_code == 400, (page, kind)
    assert checked > 10


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_authentication_header_refuses_hostile_values(car: Sidecar, kind: str) -> None:
    from urllib.parse import unquote_to_bytes

    raw = unquote_to_bytes(HOSTILE[kind]).decode("latin-1")  # header values travel as bytes
    body = example_completion(learner={"id": "header"})
    data = __import__("json").dumps(body).encode()
    for header in ("X-EDC-Source", "X-EDC-Timestamp", "X-EDC-Signature", "Authorization"):
        headers = signature_headers("moodle-main", "k", "POST", "/api/v1/completions", data)
        headers.pop("Authorization", None) if header != "Authorization" else None
        env = {"HTTP_" + header.upper().replace("-", "_"): raw}
        response = car.client.post("/api/v1/completions", data=data, content_type="application/json",
                                   headers={k: v for k, v in headers.items() if k != header},
                                   environ_overrides=env)
        assert response.status_code in (400, 401), (header, response.status_code, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
    assert car.count() == 1


# Every numeric member of the bodies, with where it sits in the document and the field the problem names.
NUMBERS = [
    ("template", ("ects",), "ects"),
    ("template", ("eqf_level",), "eqf_level"),
    ("template", ("assessment", "min_score"), "assessment.min_score"),
    ("template", ("assessment", "max_score"), "assessment.max_score"),
    ("template", ("assessment", "pass_score"), "assessment.pass_score"),
    ("template", ("policy", "min_grade"), "policy.min_grade"),
    ("completion", ("grade", "score"), "grade.score"),
    ("completion", ("grade", "max"), "grade.max"),
]
HUGE_NUMBERS = ["1e400", "-1e309", "9" * 400, "9" * 4400, "-" + "9" * 4400, "1" + "0" * 30 + ".5"]


@pytest.mark.parametrize(("kind", "where", "field"), NUMBERS)
def test_every_number_out_of_range_is_refused(car: Sidecar, kind: str, where: tuple[str, ...], field: str) -> None:
    import json

    from .conftest import example_template

    document = example_template() if kind == "template" else example_completion(learner={"id": "numbers"})
    node = document
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = 123456789.125  # a marker replaced by each literal below
    text = json.dumps(document)
    url = "/api/v1/sources/moodle-main/courses/42/template" if kind == "template" else "/api/v1/completions"
    for literal in HUGE_NUMBERS:
        response = car.client.open(url, method="PUT" if kind == "template" else "POST",
                                   data=text.replace("123456789.125", literal), content_type="application/json",
                                   headers={"Authorization": f"Bearer {ADMIN}"})
        assert response.status_code == 422, (field, literal[:20], response.get_data(as_text=True)[:300])
        assert field in [e["field"] for e in response.json["errors"]], (field, response.json["errors"])
    assert car.count() == 1
    assert car.admin("GET", "/api/v1/sources/moodle-main/courses/42/template").json["version"] == 1
