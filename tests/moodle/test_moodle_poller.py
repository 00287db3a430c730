"""The poller against the Moodle imitation and a fake sidecar that checks every signature."""
from __future__ import annotations

import json
import socket

import pytest

from moodle_adapter.moodle_client import MoodleClient, MoodleError
from moodle_adapter.poller import SiteError
from moodle_adapter.state import State

from .conftest import DONE_AT, SOURCE, T0, TOKEN
from .fake_moodle import (
    DOCUMENTED_FUNCTIONS,
    ESCO_DATA_ANALYSIS,
    ESCO_PYTHON,
    CourseTotal,
    CustomField,
    Enrolment,
    User,
)


def _errors(report) -> list[str]:
    return [str(p) for p in report.errors]


def _warnings(report) -> list[str]:
    return [str(p) for p in report.warnings]


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _sent(sidecar) -> list[str]:
    return [p["learner"]["id"] for p in sidecar.completion_posts()]


def _entries(poller, course: int = 2) -> dict[str, dict]:
    return State.load(poller.config.state_path).courses[str(course)].learners


def test_first_run_builds_templates_and_sends_completions(make_poller, sidecar, site) -> None:
    site.complete(2, 12, T0 - 86_400)  # completed before the poller was set up
    poller, _ = make_poller()
    report = poller.run_once()

    assert sidecar.rejected == []  # every request carried a valid signature
    template = sidecar.templates[(SOURCE, "2")]
    # Asked for the raw text, the multilang spans become one entry per language, not one string.
    assert template["title"] == {"en": "Data Analysis with Python", "fr": "Analyse de données avec Python"}
    assert template["description"] == {"en": "Clean, explore & model data."}
    assert (template["ects"], template["eqf_level"], template["isced_f"]) == (5, 6, "0613")
    assert template["languages"] == ["en", "fr"]
    assert template["learning_outcomes"] == [
        {"text": {"en": "Python (computer programming)"}, "esco_skills": [ESCO_PYTHON]},
        {"text": {"en": "Perform data analysis", "fr": "Analyser des données"}, "esco_skills": [ESCO_DATA_ANALYSIS]},
    ]
    assert template["awarding_body"]["vat_identifier"] == "FR12345678901"  # from config defaults
    assert (SOURCE, "4") not in sidecar.templates  # course 4 is not marked for credentials
    assert sidecar.templates[(SOURCE, "3")]["title"] == {"fr": "Statistique descriptive"}

    posts = sidecar.completion_posts()
    assert _sent(sidecar) == ["10"]
    # The grade is the number Moodle shows the learner, never its HTML (gradeformatted has an icon).
    assert posts[0] == {
        "source": SOURCE, "course_id": "2",
        "learner": {"id": "10", "given_name": "Camille", "family_name": "Martin", "email": "camille@example.org"},
        "grade": {"score": 87.5, "max": 100.0}, "passed": True, "completed_at": "2026-05-28T20:27:40Z",
    }
    errors = _errors(report)
    assert "course 2, learner 11: learner.email: Moodle has no email address for this learner; sent once " \
           "Moodle has it" in errors
    assert "course 5: customfield edc_eqf: EQF level must be 1 to 8, got 'nine' (completions of this course wait " \
           "until it is fixed)" in errors
    assert any("LAB-SAFETY-01" in w and "not an ESCO skill URI" in w for w in _warnings(report))
    # Only learners (not the teacher) are asked about.
    asked = {(p["courseid"], p["userid"]) for p in site.calls_to("core_completion_get_course_completion_status")}
    assert asked == {("2", "10"), ("2", "11"), ("2", "12"), ("2", "13"), ("3", "10"), ("5", "10")}
    assert (report.templates_sent, report.completions_sent) == (2, 1)
    # Learner 12 completed before the start: counted, not sent, and the summary says so.
    assert report.past == 1 and "1 completed before the poller started (not sent: run with --backfill)" \
        in report.summary()
    assert report.waiting == 2  # learner 11 (no e-mail) and course 5's learner (template invalid)
    assert "nothing lost" not in report.summary()
    assert "camille" not in " ".join(errors + _warnings(report)).lower()
    assert site.cooked_calls == []  # every call asked Moodle for the raw text
    assert not report.ok


def test_without_raw_text_moodle_concatenates_the_languages(fake_moodle) -> None:
    """What the issue saw: Web Services strip the multilang spans unless asked for raw text."""
    client = MoodleClient(fake_moodle.url, TOKEN, timeout=30)
    cooked = client.session.post(client.endpoint, data={
        "wstoken": TOKEN, "wsfunction": "core_course_get_courses_by_field", "moodlewsrestformat": "json",
        "field": "id", "value": "2"}).json()["courses"][0]["fullname"]
    assert cooked == "Data Analysis with PythonAnalyse de données avec Python"
    raw = client.courses_by_field("id", "2")[0]["fullname"]
    assert raw.startswith('<span lang="en" class="multilang">')


def test_an_unchanged_run_asks_and_rewrites_nothing(make_poller, sidecar, site, clock) -> None:
    for uid in (12, 13):
        site.complete(2, uid, T0 - 600)  # completed before the poller started: past, not asked again
    poller, _ = make_poller(courses="ids = [2]")
    poller.run_once()
    site.calls.clear()
    clock.now = T0 + 120
    inode = poller.config.state_path.stat().st_ino
    second = poller.run_once()
    assert second.checked == 0 and second.completions_sent == 0 and second.templates_sent == 0
    assert [name for name, _ in site.calls] == ["core_course_get_courses_by_field", "core_enrol_get_enrolled_users"]
    assert poller.config.state_path.stat().st_ino == inode  # nothing changed: the state file is not rewritten


def test_incomplete_learners_are_rechecked_within_a_budget(make_poller, sidecar, site, clock) -> None:
    poller, _ = make_poller(courses="ids = [2]", extra="[poll]\nchecks_per_run = 1")
    poller.run_once()  # everybody is asked once: 10 sent, 11 waits for an e-mail address, 12 and 13 open
    asked = []
    for minute in (1, 2, 3):
        site.calls.clear()
        clock.now = T0 + 60 * minute
        assert poller.run_once().checked == 1
        asked += [p["userid"] for p in site.calls_to("core_completion_get_course_completion_status")]
    assert asked == ["12", "13", "12"]  # one per run, the longest unchecked first

    # Learner 13 comes back to the course and completes it: asked at once, on top of the budget.
    site.enrolments[2][13].lastaccess = T0 + 200
    site.complete(2, 13, T0 + 210)
    site.totals[2].grades[13] = 42.0
    site.calls.clear()
    clock.now = T0 + 240
    third = poller.run_once()
    assert sorted(p["userid"] for p in site.calls_to("core_completion_get_course_completion_status")) == ["12", "13"]
    assert third.completions_sent == 1 and _sent(sidecar) == ["10", "13"]
    post = sidecar.completion_posts()[1]
    assert post["completed_at"] == "2026-05-28T20:30:10Z"
    assert post["passed"] is False  # 42 is below the total's grade to pass (50): Moodle marks it failing

    # A completion a teacher records without the learner's visit is found by the round of checks.
    site.complete(2, 12, T0 + 250)
    clock.now = T0 + 300
    assert poller.run_once().completions_sent == 1 and _sent(sidecar) == ["10", "13", "12"]


def test_backfill_resumes_after_a_failure(make_poller, sidecar, site, clock) -> None:
    """The issue's silent loss: a failed backfill filed its learners as 'before start' for good."""
    for uid in range(100, 142):
        site.users[uid] = User(uid, f"Learner{uid}", "Past", f"l{uid}@example.org")
        site.enrolments[2][uid] = Enrolment()
        site.complete(2, uid, T0 - 86_400)
    poller, _ = make_poller(courses="ids = [2]")
    first = poller.run_once()
    assert first.past == 42 and _sent(sidecar) == ["10"]

    sidecar.outage = True
    clock.now = T0 + 60
    failed = poller.run_once(backfill=True)
    assert failed.completions_sent == 0 and failed.waiting == 43  # 42 past + learner 11 (no e-mail)
    assert any("HTTP 503" in e for e in _errors(failed))

    sidecar.outage = False
    clock.now = T0 + 120
    resumed = poller.run_once()  # no --backfill: the backfill is still under way
    assert resumed.completions_sent == 42 and len(sidecar.completions) == 43
    assert State.load(poller.config.state_path).courses["2"].backfill is False
    assert poller.run_once().completions_sent == 0


def test_a_completion_marked_after_the_start_with_older_criteria_is_sent(make_poller, sidecar, site, clock) -> None:
    """Moodle's cron marks the course complete later, with the time of the criteria (before the start)."""
    site.criteria_done[(2, 13, 4)] = T0 - 3600  # the activity was done before the poller started…
    poller, _ = make_poller(courses="ids = [2]")
    poller.run_once()
    assert _entries(poller)["13"]["s"] == "open"  # …but the course was not complete yet
    site.complete(2, 13, T0 - 3600)  # cron aggregates: timecompleted = the latest criterion time
    site.enrolments[2][13].lastaccess = T0 + 30
    clock.now = T0 + 60
    poller.run_once()
    assert _sent(sidecar) == ["10", "13"]
    assert sidecar.completion_posts()[1]["completed_at"] == "2026-05-28T19:26:40Z"


def test_sidecar_down_keeps_everything_for_the_next_run(make_poller, sidecar, site) -> None:
    down, _ = make_poller(courses="ids = [2, 3]", sidecar_url=_closed_port_url())
    report = down.run_once()
    errors = _errors(report)
    assert any("template not sent: cannot reach the sidecar" in e and "connection refused" in e for e in errors)
    state = State.load(down.config.state_path)
    assert state.courses["2"].learners["10"]["s"] == "pending"
    assert report.waiting >= 1 and not report.ok

    sidecar.outage = True  # reachable but failing (503): same outcome
    up, _ = make_poller(courses="ids = [2, 3]")
    assert any("HTTP 503" in e for e in _errors(up.run_once()))
    assert _entries(up)["10"]["s"] == "pending"

    sidecar.outage = False
    report = up.run_once()
    assert report.completions_sent == 1 and sidecar.templates[(SOURCE, "2")]
    assert _entries(up)["10"]["s"] == "sent"


def test_a_proxy_404_is_not_taken_for_a_refusal(make_poller, sidecar) -> None:
    poller, _ = make_poller(courses="ids = [2]")
    sidecar.proxy_404 = True
    report = poller.run_once()
    assert any("is not an answer of the sidecar" in e for e in _errors(report))
    assert _entries(poller)["10"]["s"] == "pending"
    sidecar.proxy_404 = False
    assert poller.run_once().completions_sent == 1


def test_transient_grade_failure_sends_nothing_without_grade(make_poller, sidecar, site, clock) -> None:
    """The issue: one failure of gradereport_user_get_grade_items sealed 17 credentials without a grade."""
    site.fail("gradereport_user_get_grade_items", times=1)
    poller, _ = make_poller(courses="ids = [2]")
    report = poller.run_once()
    assert sidecar.completion_posts() == []
    assert any("the grade could not be read" in e and "dmlreadexception" in e for e in _errors(report))
    assert _entries(poller)["10"]["s"] == "pending"
    clock.now = T0 + 60
    poller.run_once()
    assert sidecar.completion_posts()[0]["grade"] == {"score": 87.5, "max": 100.0}


def test_grades_read_course_wide_when_many_complete(make_poller, sidecar, site) -> None:
    for uid in range(100, 130):
        site.users[uid] = User(uid, f"L{uid}", "Bulk", f"l{uid}@example.org")
        site.enrolments[2][uid] = Enrolment()
        site.complete(2, uid, DONE_AT)
        site.totals[2].grades[uid] = float(uid % 50 + 40)
    poller, _ = make_poller(courses="ids = [2]")
    poller.run_once()
    assert len(sidecar.completions) == 31
    items = site.calls_to("gradereport_user_get_grade_items")
    assert [p.get("userid") for p in items] == ["0"]  # one course-wide call
    by_learner = {p["learner"]["id"]: p for p in sidecar.completion_posts()}
    assert (by_learner["100"]["grade"]["score"], by_learner["100"]["passed"]) == (40.0, False)
    assert (by_learner["110"]["grade"]["score"], by_learner["110"]["passed"]) == (50.0, True)
    assert by_learner["10"]["grade"]["score"] == 87.5
    assert [p.get("userid") for p in site.calls_to("gradereport_user_get_grades_table")] == ["0"]


def test_hidden_course_total_follows_moodle_visibility(make_poller, sidecar, site) -> None:
    site.totals[2] = CourseTotal(grades={10: 30.0}, gradepass=50.0, hidden=True)
    poller, _ = make_poller(courses="ids = [2]")
    poller.run_once()
    post = sidecar.completion_posts()[0]
    assert "grade" not in post and post["passed"] is True  # the learner cannot see it: not on the credential
    assert site.calls_to("gradereport_user_get_grades_table") == []


def test_total_excluding_hidden_items_is_what_the_learner_sees(make_poller, sidecar, site) -> None:
    site.totals[2] = CourseTotal(grades={10: 87.5}, gradepass=50.0, excluding_hidden={10: 45.0})
    poller, _ = make_poller(courses="ids = [2]")
    poller.run_once()
    post = sidecar.completion_posts()[0]
    assert post["grade"] == {"score": 45.0, "max": 100.0} and post["passed"] is False


def test_missing_viewdetails_is_an_error_not_a_quiet_success(make_poller, sidecar, site) -> None:
    site.tokens[TOKEN].capabilities.discard("moodle/user:viewdetails")
    poller, _ = make_poller(courses="ids = [2]")
    report = poller.run_once()
    assert sidecar.completion_posts() == []
    assert "course 2: Moodle shows none of the course's 4 graded learner(s) as participants: the token's role " \
           "needs moodle/user:viewdetails" in _errors(report)
    assert not report.ok


def test_missing_viewfullnames_and_useremail_are_named(make_poller, sidecar, site) -> None:
    site.tokens[TOKEN].capabilities -= {"moodle/site:viewfullnames", "moodle/course:useremail"}
    poller, _ = make_poller(courses="ids = [2]")
    report = poller.run_once()
    errors = _errors(report)
    assert "course 2: Moodle returns no first or last names: the token's role needs moodle/site:viewfullnames" \
        in errors
    assert "course 2, learner 10: learner.email: Moodle has no email address for this learner (or the token's " \
           "role lacks moodle/course:useremail); sent once Moodle has it" in errors
    assert sidecar.completion_posts() == [] and _entries(poller)["10"]["s"] == "pending"
    site.tokens[TOKEN].capabilities |= {"moodle/site:viewfullnames", "moodle/course:useremail"}
    assert poller.run_once().completions_sent == 1


def test_refused_completion_is_kept_and_sent_again_when_fixed(make_poller, sidecar, site, clock) -> None:
    sidecar.refuse_emails = {"camille@example.org"}
    poller, _ = make_poller(courses="ids = [2]")
    report = poller.run_once()
    assert "course 2, learner 10: completion refused by the sidecar: HTTP 422: learner.email: expected an " \
           "e-mail address" in _errors(report)
    assert report.refused == 1 and _entries(poller)["10"]["s"] == "refused"
    clock.now = T0 + 60
    again = poller.run_once()  # unchanged: not sent again, still reported
    assert again.completions_sent == 0 and any("learner 10: refused by the sidecar" in e for e in _errors(again))
    site.users[10].email = "camille.martin@example.org"
    sidecar.refuse_emails = set()
    clock.now = T0 + 120
    assert poller.run_once().completions_sent == 1


def test_template_missing_in_the_sidecar_is_sent_again(make_poller, sidecar, site, clock) -> None:
    poller, _ = make_poller(courses="ids = [2]")
    poller.run_once()
    del sidecar.templates[(SOURCE, "2")]  # e.g. the sidecar's database was restored from an older backup
    site.enrolments[2][13].lastaccess = T0 + 10
    site.complete(2, 13, T0 + 10)
    clock.now = T0 + 60
    report = poller.run_once()
    assert report.completions_sent == 1 and (SOURCE, "2") in sidecar.templates


def test_course_without_esco_competencies_issues_without_skills(make_poller, sidecar, site) -> None:
    site.competencies[2] = []
    poller, _ = make_poller(courses="ids = [2]")
    report = poller.run_once()
    assert sidecar.templates[(SOURCE, "2")]["learning_outcomes"] == []
    assert report.completions_sent == 1
    assert "course 2: no ESCO-tagged competency: credentials of this course carry no learning outcome" \
        in _warnings(report)


def test_course_opting_out_waits_for_esco_competencies(make_poller, sidecar, site, clock) -> None:
    site.competencies[2] = []
    site.courses[2].customfields.append(CustomField("edc_skills_required", "checkbox", "1"))
    poller, _ = make_poller(courses="ids = [2]")
    report = poller.run_once()
    assert sidecar.completion_posts() == [] and (SOURCE, "2") not in sidecar.templates
    assert any("edc_skills_required: this course issues credentials only with ESCO-tagged" in e
               for e in _errors(report))
    site.competencies[2] = [{"id": 1, "shortname": "Python", "idnumber": ESCO_PYTHON}]
    clock.now = T0 + 60
    assert poller.run_once().completions_sent == 1


def test_teacher_only_marker_field_is_an_error(make_poller, sidecar, site) -> None:
    for course in site.courses.values():
        for cf in course.customfields:
            cf.visibility = 1  # "Teachers": Web Services show it only with moodle/course:update
    poller, _ = make_poller()
    report = poller.run_once()
    assert report.courses == 0 and not report.ok
    assert _errors(report)[0].startswith("site: no course shows the custom field 'edc_issue'")


def test_participants_are_read_in_pages(make_poller, sidecar, site) -> None:
    for uid in range(100, 125):
        site.users[uid] = User(uid, f"L{uid}", "Page", f"l{uid}@example.org")
        site.enrolments[2][uid] = Enrolment()
    poller, _ = make_poller(courses="ids = [2]", extra="[poll]\npage_size = 10")
    poller.run_once()
    pages = site.calls_to("core_enrol_get_enrolled_users")
    assert len(pages) == 4  # 30 participants, 10 per page, then an empty page
    assert pages[1]["options"]["2"] == {"name": "limitfrom", "value": "10"}
    assert len(_entries(poller)) == 29  # every learner (not the teacher) has an entry


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


def test_version1_state_is_converted(make_poller, sidecar, site) -> None:
    poller, _ = make_poller(courses="ids = [2]")
    poller.config.state_path.parent.mkdir(parents=True)
    poller.config.state_path.write_text(json.dumps({"version": 1, "courses": {"2": {
        "since": T0, "cursor": DONE_AT, "template_hash": "", "sent": {"10": {"credential_id": "c-1",
                                                                             "completed_at": DONE_AT}},
        "before_start": ["12"]}}}))
    poller.run_once()
    entries = _entries(poller)
    assert entries["10"] == {"s": "sent", "id": "c-1", "done": DONE_AT} and entries["12"]["s"] == "past"
    assert sidecar.completion_posts() == []


def test_invalid_token_is_a_clear_site_error(make_poller) -> None:
    poller, _ = make_poller(token="wrong-token-value")
    with pytest.raises(SiteError) as caught:
        poller.check_site()
    assert "invalidtoken" in str(caught.value) and "wrong-token-value" not in str(caught.value)
    report = poller.run_once()
    assert _errors(report) == ["site: core_course_get_courses_by_field: invalidtoken: Invalid token - token not found"]


def test_service_without_a_function(make_poller, sidecar, site) -> None:
    site.tokens[TOKEN].functions = set(DOCUMENTED_FUNCTIONS) - {"gradereport_user_get_grade_items"}
    poller, _ = make_poller(courses="ids = [2]")
    with pytest.raises(SiteError, match="lacks: gradereport_user_get_grade_items"):
        poller.check_site()
    report = poller.run_once()  # never sent without its grade
    assert sidecar.completion_posts() == []
    assert any("accessexception" in e for e in _errors(report))


def test_moodle_unavailable_midway_keeps_the_rest_for_later(make_poller, sidecar, site, clock) -> None:
    site.fail("core_completion_get_course_completion_status", times=1, kind="http500")
    poller, _ = make_poller(courses="ids = [2]")
    report = poller.run_once()
    assert any("HTTP 500" in e for e in _errors(report)) and sidecar.completion_posts() == []
    clock.now = T0 + 60
    assert poller.run_once().completions_sent == 1


def test_esco_warnings_from_sidecar_reported(make_poller, sidecar) -> None:
    sidecar.unknown_esco = {ESCO_PYTHON}
    poller, _ = make_poller(courses="ids = [2]")
    report = poller.run_once()
    assert f"course 2: ESCO skill unknown to the sidecar: {ESCO_PYTHON}" in _warnings(report)


def test_wrong_api_key_stops_sending_and_marks_nothing(make_poller, sidecar) -> None:
    poller, _ = make_poller(courses="ids = [2, 3]", api_key="not-the-registered-key")
    report = poller.run_once()
    errors = _errors(report)
    assert ("course 2: template not sent: the sidecar refused the request (HTTP 401: bad signature); "
            "check sidecar.source and the API key (completions kept: the next run sends them)") in errors
    assert sidecar.rejected == ["bad signature"] and sidecar.requests == []
    assert "not-the-registered-key" not in " ".join(errors)
    assert _entries(poller)["10"]["s"] == "pending"


def test_malformed_moodle_answer_is_reported_per_course(make_poller, sidecar, site) -> None:
    site.competencies[2] = ["not an object"]  # e.g. a plugin altering the function's output
    poller, _ = make_poller(courses="ids = [2, 3]")
    report = poller.run_once()
    assert any(e.startswith("course 2: unexpected answer from Moodle") for e in _errors(report))
    assert (SOURCE, "3") in sidecar.templates and (SOURCE, "2") not in sidecar.templates


def test_moodle_client_error_shapes(fake_moodle, site) -> None:
    client = MoodleClient(fake_moodle.url, TOKEN, timeout=30)
    site.fail("core_webservice_get_site_info", times=1, kind="notice")
    cases = [
        (lambda: client.site_info(), "invalidresponse"),
        (lambda: client.call("core_enrol_get_enrolled_users"), "invalidparameter"),
        (lambda: client.call("core_enrol_get_enrolled_users", courseid="two"), "invalidparameter"),
        (lambda: client.call("core_enrol_get_enrolled_users", courseid=2, extra=1), "invalidparameter"),
        (lambda: client.enrolled_users(2, userfields="id,shoesize"), "invaliduserfield"),
        (lambda: client.completion_status(999, 10), "invalidrecord"),
        (lambda: client.completion_status(2, 14), "usernotenroled"),
        (lambda: client.call("core_user_delete_users", userids=[2]), "accessexception"),
        (lambda: MoodleClient(fake_moodle.url + "/sub", TOKEN).site_info(), "httperror"),
        (lambda: MoodleClient(_closed_port_url(), TOKEN, timeout=5).site_info(), "unreachable"),
    ]
    for call, errorcode in cases:
        with pytest.raises(MoodleError) as caught:
            call()
        assert caught.value.errorcode == errorcode, str(caught.value)
        assert TOKEN not in str(caught.value)
    site.rest_enabled = False
    with pytest.raises(MoodleError, match="enable Web services and the REST protocol"):
        client.site_info()
    assert "MoodleClient(" in repr(client) and TOKEN not in repr(client)
