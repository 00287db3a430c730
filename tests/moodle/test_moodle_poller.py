"""The poller against a fake Moodle site and a fake sidecar that checks every signature."""
from __future__ import annotations

import json
import socket

from moodle_adapter.poller import Poller, SiteError
from moodle_adapter.state import State

from .conftest import DONE_AT, SOURCE, T0, TOKEN
from .fake_moodle import ALL_FUNCTIONS, ESCO_DATA_ANALYSIS, ESCO_PYTHON


def _errors(report) -> list[str]:
    return [str(p) for p in report.errors]


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_first_run_builds_templates_and_sends_completions(make_poller, sidecar, moodle_data) -> None:
    moodle_data.completions[(2, 12)] = T0 - 86_400  # completed before the poller was set up
    poller, _ = make_poller()
    report = poller.run_once()

    assert sidecar.rejected == []  # every request carried a valid signature
    template = sidecar.templates[(SOURCE, "2")]
    assert template["title"] == {"en": "Data Analysis with Python", "fr": "Analyse de données avec Python"}
    assert template["description"] == {"en": "Clean, explore & model data."}
    assert (template["ects"], template["eqf_level"], template["isced_f"]) == (5, 6, "0613")
    assert template["languages"] == ["en", "fr"]
    assert template["learning_outcomes"] == [
        {"text": {"en": "Python (computer programming)"}, "esco_skills": [ESCO_PYTHON]},
        {"text": {"en": "Perform data analysis", "fr": "Analyser des données"},
         "esco_skills": [ESCO_DATA_ANALYSIS]},
    ]
    assert template["awarding_body"]["vat_identifier"] == "FR12345678901"  # from config defaults
    assert (SOURCE, "4") not in sidecar.templates  # course 4 is not marked for credentials

    posts = sidecar.completion_posts()
    assert [p["learner"]["id"] for p in posts] == ["10"]
    assert posts[0] == {
        "source": SOURCE, "course_id": "2",
        "learner": {"id": "10", "given_name": "Camille", "family_name": "Martin",
                    "email": "camille@example.org", "language": "fr"},
        "grade": {"score": 87.5, "max": 100.0, "text": "87.50"},
        "passed": True, "completed_at": "2026-05-28T20:27:40Z",
    }
    errors = _errors(report)
    assert "course 2, learner 11: learner.email: Moodle gives no email address for this learner " \
           "(or the token cannot see it: moodle/course:useremail)" in errors
    assert any(e.startswith("course 3: core_completion_get_course_completion_status: nocriteriaset")
               for e in errors)
    assert "course 5: customfield edc_eqf: EQF level must be 1 to 8, got 'nine'" in errors
    assert any("LAB-SAFETY-01" in str(w) and "not an ESCO skill URI" in str(w) for w in report.warnings)
    # Only learners (not the teacher) are asked about, and course 3 stops at its first nocriteriaset.
    calls = moodle_data.calls_to("core_completion_get_course_completion_status")
    asked = {(p["courseid"], p["userid"]) for p in calls}
    assert asked == {("2", "10"), ("2", "11"), ("2", "12"), ("2", "13"), ("3", "10")}
    assert (report.templates_sent, report.completions_sent) == (2, 1)
    assert "camille" not in " ".join(errors + [str(w) for w in report.warnings]).lower()


def test_next_runs_ask_only_what_changed(make_poller, sidecar, moodle_data, clock) -> None:
    moodle_data.completions[(2, 12)] = T0 - 86_400
    poller, _ = make_poller()
    poller.run_once()
    moodle_data.calls.clear()
    clock.now = T0 + 120

    second = poller.run_once()
    assert second.templates_sent == 0 and second.completions_sent == 0  # unchanged template not re-PUT
    asked = {p["userid"] for p in moodle_data.calls_to("core_completion_get_course_completion_status")
             if p["courseid"] == "2"}
    assert asked == {"11", "13"}  # 10 was sent, 12 completed before the start

    moodle_data.completions[(2, 13)] = T0 + 500
    moodle_data.grades[(2, 13)] = (42.0, 100.0)
    moodle_data.courses[2]["fullname"] = "Data Analysis with Python 3"
    third = poller.run_once()
    assert third.templates_sent == 1
    assert sidecar.templates[(SOURCE, "2")]["title"] == {"en": "Data Analysis with Python 3"}
    assert [p["learner"]["id"] for p in sidecar.completion_posts()] == ["10", "13"]
    state = State.load(poller.config.state_path)
    assert set(state.courses["2"].sent) == {"10", "13"}
    assert state.courses["2"].cursor == T0 + 500


def test_backfill_issues_past_completions(make_poller, sidecar, moodle_data) -> None:
    moodle_data.completions[(2, 12)] = T0 - 86_400
    poller, _ = make_poller(courses="ids = [2]")
    poller.run_once()
    assert [p["learner"]["id"] for p in sidecar.completion_posts()] == ["10"]
    poller.run_once(backfill=True)
    posts = sidecar.completion_posts()
    assert [p["learner"]["id"] for p in posts] == ["10", "12"]
    assert posts[1]["completed_at"] == "2026-05-27T20:26:40Z" and posts[1]["learner"]["language"] == "pt"


def test_sidecar_down_loses_nothing(make_poller, sidecar) -> None:
    down, _ = make_poller(courses="ids = [2, 3]", sidecar_url=_closed_port_url())
    report = down.run_once()
    errors = _errors(report)
    assert any(e.startswith("course 2: cannot reach the sidecar") for e in errors)
    assert "course 3: not sent: sidecar unavailable (next run retries)" in errors
    first_state = State.load(down.config.state_path)
    assert first_state.courses["2"].sent == {} and first_state.courses["3"].since == T0  # started now

    sidecar.outage = True  # reachable but failing (503): same outcome
    up, _ = make_poller(courses="ids = [2, 3]")
    assert any("HTTP 503" in e for e in _errors(up.run_once()))
    assert State.load(up.config.state_path).courses["2"].sent == {}

    sidecar.outage = False
    report = up.run_once()
    assert report.completions_sent == 1 and sidecar.templates[(SOURCE, "2")]
    assert set(State.load(up.config.state_path).courses["2"].sent) == {"10"}


def test_dry_run_prints_and_sends_nothing(make_poller, sidecar) -> None:
    poller, emitted = make_poller(courses="ids = [2]")
    report = poller.run_once(dry_run=True)
    actions = [json.loads(line) for line in emitted]
    assert [(a["action"], a["path"]) for a in actions] == [
        ("PUT", f"/api/v1/sources/{SOURCE}/courses/2/template"), ("POST", "/api/v1/completions")]
    assert actions[1]["body"]["learner"]["id"] == "10"
    assert report.completions_sent == 0
    assert sidecar.requests == []
    assert not poller.config.state_path.exists()


def test_resending_after_lost_state_is_harmless(make_poller, sidecar) -> None:
    poller, _ = make_poller(courses="ids = [2]")
    poller.run_once()
    poller.config.state_path.unlink()
    report = poller.run_once(backfill=True)
    assert report.duplicates == 1  # the sidecar recognised it: one credential, not two
    assert len(sidecar.completions) == 1


def test_failed_course_grade_is_not_passed(make_poller, sidecar, moodle_data) -> None:
    moodle_data.grade_failed.add((2, 10))
    poller, _ = make_poller(courses="ids = [2]")
    poller.run_once()
    assert sidecar.completion_posts()[0]["passed"] is False


def test_unknown_course_id_reported_others_processed(make_poller, sidecar) -> None:
    poller, _ = make_poller(courses="ids = [2, 99]")
    report = poller.run_once()
    assert "course 99: course not found, or not visible to the token" in _errors(report)
    assert report.completions_sent == 1


def test_invalid_token_is_a_clear_site_error(make_poller) -> None:
    poller, _ = make_poller(token="wrong-token-value")
    try:
        poller.check_site()
    except SiteError as exc:
        assert "invalidtoken" in str(exc) and "wrong-token-value" not in str(exc)
    else:
        raise AssertionError("a wrong token must fail the site check")
    report = poller.run_once()
    assert _errors(report) == ["site: core_course_get_courses_by_field: invalidtoken: "
                               "Invalid token - token not found"]


def test_service_without_a_function(make_poller, sidecar, moodle_data) -> None:
    moodle_data.tokens[TOKEN] = ALL_FUNCTIONS - {"gradereport_user_get_grade_items"}
    poller: Poller
    poller, _ = make_poller(courses="ids = [2]")
    try:
        poller.check_site()
    except SiteError as exc:
        assert str(exc) == "the Web Services service of this token lacks: gradereport_user_get_grade_items"
    else:
        raise AssertionError("a missing function must fail the site check")
    report = poller.run_once()  # grades refused (accessexception): completions still go, without grade
    assert any("grades unavailable (accessexception)" in str(w) for w in report.warnings)
    assert "grade" not in sidecar.completion_posts()[0]


def test_esco_warnings_from_sidecar_reported(make_poller, sidecar) -> None:
    sidecar.unknown_esco = {ESCO_PYTHON}
    poller, _ = make_poller(courses="ids = [2]")
    report = poller.run_once()
    assert f"course 2: ESCO skill unknown to the sidecar: {ESCO_PYTHON}" in [str(w) for w in report.warnings]


def test_completion_time_and_grade_shapes(make_poller, sidecar, moodle_data) -> None:
    moodle_data.grades[(2, 10)] = (17.25, 20.0)
    poller, _ = make_poller(courses="ids = [2]", extra='[policy]\nissue_when = "passed"\nmin_grade = 50')
    poller.run_once()
    post = sidecar.completion_posts()[0]
    assert post["grade"] == {"score": 17.25, "max": 20.0, "text": "17.25"}
    assert post["completed_at"] == "2026-05-28T20:27:40Z" and DONE_AT == T0 + 60
    assert sidecar.templates[(SOURCE, "2")]["policy"] == {"issue_when": "passed", "min_grade": 50}


def test_wrong_api_key_stops_sending_and_marks_nothing(make_poller, sidecar) -> None:
    poller, _ = make_poller(courses="ids = [2, 3]", api_key="not-the-registered-key")
    report = poller.run_once()
    errors = _errors(report)
    assert errors[0] == ("course 2: the sidecar refused the request (HTTP 401: bad signature); check "
                         "sidecar.source and the API key (nothing lost: the next run retries)")
    assert "course 3: not sent: sidecar unavailable (next run retries)" in errors
    assert sidecar.rejected == ["bad signature"] and sidecar.requests == []
    assert "not-the-registered-key" not in " ".join(errors)
    assert State.load(poller.config.state_path).courses["2"].sent == {}


def test_malformed_moodle_answer_is_reported_per_course(make_poller, sidecar, moodle_data) -> None:
    moodle_data.competencies[2] = ["not an object"]  # e.g. a plugin altering the function's output
    poller, _ = make_poller(courses="ids = [2, 3]")
    report = poller.run_once()
    assert _errors(report)[0] == "course 2: unexpected answer from Moodle (AttributeError: 'str' object " \
                                 "has no attribute 'get')"
    assert (SOURCE, "3") in sidecar.templates and (SOURCE, "2") not in sidecar.templates


def test_moodle_client_error_shapes(fake_moodle) -> None:
    from moodle_adapter.moodle_client import MoodleClient, MoodleError

    client = MoodleClient(fake_moodle.url, TOKEN, timeout=5)
    cases = [
        (lambda: client.call("core_enrol_get_enrolled_users"), "invalidparameter"),
        (lambda: client.call("core_enrol_get_enrolled_users", courseid="two"), "invalidparameter"),
        (lambda: client.completion_status(999, 10), "invalidrecord"),
        (lambda: client.completion_status(2, 14 + 1000), "invalidrecord"),
        (lambda: client.call("core_user_delete_users", userids=[2]), "accessexception"),
        (lambda: MoodleClient(fake_moodle.url + "/sub", TOKEN).site_info(), "httperror"),
        (lambda: MoodleClient(_closed_port_url(), TOKEN, timeout=5).site_info(), "unreachable"),
    ]
    for call, errorcode in cases:
        try:
            call()
        except MoodleError as exc:
            assert exc.errorcode == errorcode, (errorcode, str(exc))
            assert TOKEN not in str(exc)
        else:
            raise AssertionError(f"expected {errorcode}")
    assert "MoodleClient(" in repr(client) and TOKEN not in repr(client)
