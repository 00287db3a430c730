"""Each class of malformed input that once answered 500 (or was accepted and failed later) now gets a
4xx problem naming the field, and nothing is written. Runs on SQLite and PostgreSQL (where NUL
characters used to reach the server)."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bridge.auth import signature_headers
from bridge.elm.checks import add_duration

from .conftest import ADMIN, Sidecar, example_completion, example_template

COMPLETIONS = "/api/v1/completions"
BATCH = "/api/v1/completions:batch"
TEMPLATE = "/api/v1/sources/moodle-main/courses/42/template"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def car(sidecar: Sidecar) -> Sidecar:
    sidecar.add_source()
    sidecar.put_template()
    return sidecar


def _raw(car: Sidecar, method: str, path: str, body: bytes | str = b"", **headers: str) -> Any:
    data = body.encode() if isinstance(body, str) else body
    return car.client.open(path, method=method, data=data, content_type="application/json",
                           headers={**AUTH, **headers})


def _refused(response: Any, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.json
    fields = [e["field"] for e in problem.get("errors", [])]
    assert field in fields, fields
    return problem


def _completion_text(**changes: Any) -> str:
    return json.dumps(example_completion(**changes))


def _assert_nothing_written(car: Sidecar, credentials: int = 0, version: int = 1) -> None:
    assert car.count() == credentials
    assert car.admin("GET", TEMPLATE).json["version"] == version


# --- NUL and other control characters ----------------------------------------------------------------
def test_nul_in_learner_id_is_refused(car: Sidecar) -> None:
    _refused(car.admin("POST", COMPLETIONS, example_completion(learner={"id": "17\x00"})), 422, "learner.id")
    _assert_nothing_written(car)


def test_nul_in_course_id_of_the_template_path_is_refused(car: Sidecar) -> None:
    _refused(car.admin("PUT", "/api/v1/sources/moodle-main/courses/4%002/template", example_template()), 400,
             "path")
    _refused(car.admin("GET", "/api/v1/sources/moodle-main/courses/%00/template"), 400, "path")
    _assert_nothing_written(car)


def test_nul_in_query_filters_is_refused(car: Sidecar) -> None:
    for name in ("learner_id", "course_id", "source", "batch_id", "status"):
        _refused(car.admin("GET", f"/api/v1/credentials?{name}=a%00b"), 400, name)
    _refused(car.admin("GET", "/api/v1/esco/skills?q=adapt%00"), 400, "q")


def test_nul_in_catalogue_path_is_refused(car: Sidecar) -> None:
    response = car.client.get("/catalogue/moodle-main/4%002")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert car.client.get("/catalogue/moodle-main/4%002.jsonld").status_code == 400


def test_tab_and_newline_in_names_are_refused(car: Sidecar) -> None:
    for name in ("Camille\tMarie", "Camille\n", "Ca\rmille", "Camille\u2028", "\x85Camille", "\x7f"):
        for field in ("given_name", "family_name"):
            _refused(car.admin("POST", COMPLETIONS, example_completion(learner={field: name})), 422,
                     f"learner.{field}")
    _assert_nothing_written(car)


# --- unpaired surrogates ------------------------------------------------------------------------------
def test_lone_surrogate_in_learner_id_is_refused(car: Sidecar) -> None:
    text = _completion_text().replace('"id": "17"', '"id": "17\\ud800"')
    problem = _refused(_raw(car, "POST", COMPLETIONS, text), 422, "learner.id")
    assert "surrogate" in problem["errors"][0]["message"]
    for field in ("given_name", "family_name"):
        text = _completion_text().replace('"Camille"' if field == "given_name" else '"Martin"', '"\\udfff x"')
        _refused(_raw(car, "POST", COMPLETIONS, text), 422, f"learner.{field}")
    paired = _completion_text().replace('"Camille"', '"Camille \\ud83d\\ude00"')  # an emoji is fine
    assert _raw(car, "POST", COMPLETIONS, paired).status_code == 202


# --- numbers -----------------------------------------------------------------------------------------
def test_number_too_large_for_a_float_is_refused(car: Sidecar) -> None:
    for literal in ("1e400", "9" * 400, "-1e309"):
        text = _completion_text().replace("87.5", literal)
        _refused(_raw(car, "POST", COMPLETIONS, text), 422, "grade.score")
    template = json.dumps(example_template()).replace('"ects": 5', '"ects": ' + "9" * 400)
    _refused(_raw(car, "PUT", TEMPLATE, template), 422, "ects")
    _assert_nothing_written(car)


def test_integer_over_4300_digits_is_refused(car: Sidecar) -> None:
    text = _completion_text().replace('"max": 100', '"max": ' + "9" * 5000)
    _refused(_raw(car, "POST", COMPLETIONS, text), 422, "grade.max")
    batch = json.dumps({"completions": [example_completion()]}).replace("87.5", "1" * 4400)
    _refused(_raw(car, "POST", BATCH, batch), 422, "completions[0].grade.score")
    _assert_nothing_written(car)


def test_non_ascii_digits_in_query_integers_are_refused(car: Sidecar) -> None:
    for value in ("²", "١", "+1", "1_0", " 1", "1.0"):
        _refused(car.admin("GET", f"/api/v1/credentials?page={value}"), 400, "page")
    _refused(car.admin("GET", "/api/v1/esco/skills?q=adapt&limit=³"), 400, "limit")


def test_superscript_digits_in_timestamp_header_are_refused(car: Sidecar) -> None:
    body = json.dumps(example_completion()).encode()
    for stamp in ("¹⁷⁰⁰⁰⁰⁰⁰⁰⁰", f"{int(time.time())}²", "١٧٠٠٠٠٠٠٠٠"):
        headers = signature_headers("moodle-main", "k", "POST", COMPLETIONS, body)
        del headers["X-EDC-Timestamp"]
        response = car.client.post(COMPLETIONS, data=body, content_type="application/json", headers=headers,
                                   environ_overrides={"HTTP_X_EDC_TIMESTAMP": stamp})
        assert response.status_code == 401 and "X-EDC-Timestamp" in response.json["detail"]
    assert car.count() == 0


# --- dates and durations -----------------------------------------------------------------------------
def test_overflowing_dates_are_refused(car: Sidecar) -> None:
    for value in ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z",
                  "2026-02-30T10:00:00Z", "2026-11-20T24:00:00Z", "2026-11-20T10:00:00"):
        _refused(car.admin("POST", COMPLETIONS, example_completion(completed_at=value)), 422, "completed_at")
    for value in ("0000-01-01", "9999-12-31", "2001-02-29", "1850-01-01"):
        _refused(car.admin("POST", COMPLETIONS, example_completion(learner={"date_of_birth": value})), 422,
                 "learner.date_of_birth")
    _assert_nothing_written(car)


def test_completion_in_the_future_or_at_unix_zero_is_refused(car: Sidecar) -> None:
    for value in ("9998-06-01T00:00:00Z", "2026-12-01T12:10:00Z", "1970-01-01T00:00:00Z"):
        body = example_completion(completed_at=value, learner={"date_of_birth": None})
        problem = _refused(car.admin("POST", COMPLETIONS, body), 422, "completed_at")
        assert "future" in problem["errors"][0]["message"] or "1970" in problem["errors"][0]["message"]
    within_skew = car.admin("POST", COMPLETIONS, example_completion(completed_at="2026-12-01T12:04:00Z"))
    assert within_skew.status_code == 202  # the pinned clock is 12:00; the skew accepted is 300 s
    batch = {"completions": [example_completion(learner={"id": "9"}, completed_at="9999-01-01T00:00:00Z")]}
    _refused(car.admin("POST", BATCH, batch), 422, "completions[0].completed_at")


def test_birth_after_completion_is_refused(car: Sidecar) -> None:
    problem = _refused(car.admin("POST", COMPLETIONS, example_completion(learner={"date_of_birth": "2026-11-21"})),
                       422, "learner.date_of_birth")
    assert "before the completion" in problem["errors"][0]["message"]
    _refused(car.admin("POST", COMPLETIONS, example_completion(
        completed_at="2026-11-20T23:30:00-02:00", learner={"date_of_birth": "2026-11-21"})),
        422, "learner.date_of_birth")  # 2026-11-21T01:30Z: born the same day is still refused
    _assert_nothing_written(car)


@pytest.mark.parametrize("value", ["P8000Y", "P1201M", "P36526D", "PT900000H", "P5300W", "P", "PT",
                                   "P1234567Y", "P1Y2M3W4DT5H6M7.5S0"])
def test_durations_beyond_a_century_or_malformed_are_refused(car: Sidecar, value: str) -> None:
    for field in ("valid_for", "volume_of_learning"):
        _refused(car.admin("PUT", TEMPLATE, {**example_template(), field: value}), 422, field)
    _assert_nothing_written(car)


def test_add_duration_is_bounded_work() -> None:
    import datetime as dt

    start = dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    assert add_duration(start, "P1M") == dt.datetime(2026, 2, 28, tzinfo=dt.UTC)
    assert add_duration(start, "P100Y") == dt.datetime(2126, 1, 31, tzinfo=dt.UTC)
    began = time.perf_counter()
    with pytest.raises(OverflowError):
        add_duration(start, "P8000Y")  # once an endless loop that stalled every worker
    with pytest.raises(OverflowError):
        add_duration(dt.datetime(9999, 12, 1, tzinfo=dt.UTC), "P40D")
    assert time.perf_counter() - began < 1.0


# --- duplicate keys ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "field"), [
    ('{"source": "moodle-main", "source": "edx", "course_id": "42"}', "source"),
    ('{"passed": false, "passed": true}', "passed"),
    ('{"learner": {"id": "17", "id": "18"}}', "learner.id"),
    ('{"completions": [{}, {"grade": {"score": 1, "score": 2}}]}', "completions[1].grade.score"),
])
def test_duplicate_keys_at_any_depth_are_refused(car: Sidecar, text: str, field: str) -> None:
    path = BATCH if "completions" in text else COMPLETIONS
    problem = _refused(_raw(car, "POST", path, text), 400, field)
    assert "more than once" in problem["errors"][0]["message"]
    template = json.dumps(example_template())
    _refused(_raw(car, "PUT", TEMPLATE, template[:-1] + ', "ects": 6}'), 400, "ects")
    _assert_nothing_written(car)


def test_problems_never_echo_the_value(car: Sidecar) -> None:
    secret = "private.person@@secret"
    response = car.admin("POST", COMPLETIONS, example_completion(learner={"email": secret}))
    assert response.status_code == 422 and secret not in response.get_data(as_text=True)


@pytest.mark.parametrize("body", [True, 1, "x", None, {}, [], {"completions": True}, {"completions": 3},
                                  {"completions": "abc"}, {"completions": {"0": {}}}, {"completions": [None, True]}])
def test_batch_of_any_shape_is_a_client_error(car: Sidecar, body: Any) -> None:
    response = car.admin("POST", BATCH, body)
    assert response.status_code in (400, 422) and response.mimetype == "application/problem+json"
    assert car.count() == 0
