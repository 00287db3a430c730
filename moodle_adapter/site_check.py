"""``--check``: prove the set-up by calling each function on a real course, and name what is missing.

A service that offers every function is not enough: Moodle answers a token whose role lacks a
capability with an empty list or missing fields, not an error (``user_get_user_details``). So
the check reads one course the way a run does and reports, per capability, what it saw.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from moodle_adapter import moodle_data
from moodle_adapter.moodle_client import REQUIRED_FUNCTIONS, MoodleClient, MoodleError
from moodle_adapter.report import RunReport


@dataclass
class CheckResult:
    ok_lines: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing


def _learner_roles(user: dict[str, Any], roles: set[str]) -> bool:
    return bool(roles & {r.get("shortname") for r in user.get("roles") or []})


def check(moodle: MoodleClient, select_courses: Any, learner_roles: list[str]) -> CheckResult:
    """Run every probe; ``select_courses(report)`` is the poller's course selection."""
    result = CheckResult()
    try:
        info = moodle.site_info()
    except MoodleError as exc:
        result.missing.append(f"token: Moodle refused it ({exc.errorcode}: {exc.message})")
        return result
    result.ok_lines.append(f"token of '{info.get('username', '?')}' on {info.get('sitename', '?')} "
                           f"(Moodle {info.get('release', '?')})")
    offered = {f.get("name") for f in info.get("functions") or []}
    lacking = [name for name in REQUIRED_FUNCTIONS if name not in offered]
    if lacking:
        result.missing.append("functions missing from the service: " + ", ".join(lacking))
        return result
    result.ok_lines.append(f"service offers all {len(REQUIRED_FUNCTIONS)} functions")
    if info.get("userissiteadmin"):
        result.warnings.append("the token belongs to a site administrator: it sees hidden grades and more "
                               "than the poller needs; use a dedicated user with the documented role")

    report = RunReport()
    try:
        courses = select_courses(report)
    except MoodleError as exc:
        result.missing.append(f"courses: {exc.function}: {exc.errorcode}: {exc.message}")
        return result
    for problem in report.errors:
        result.missing.append(str(problem))
    if not courses:
        result.missing.append("no course selected: none of courses.ids is visible and no course has the marker "
                              "field ticked")
        return result
    result.ok_lines.append(f"{len(courses)} course(s) selected: " + ", ".join(str(c["id"]) for c in courses[:20]))
    for course in courses:
        if _check_course(moodle, course, set(learner_roles), result):
            break
    return result


def _check_course(moodle: MoodleClient, course: dict[str, Any], roles: set[str], result: CheckResult) -> bool:
    """Probe one course; True when it had a learner to probe with (the check is then complete)."""
    cid = int(course["id"])
    where = f"course {cid}"
    if "enablecompletion" not in course:
        result.missing.append(f"{where}: moodle/course:view (Moodle gives only the course's public information)")
        return True
    if not int(course.get("enablecompletion") or 0):
        result.warnings.append(f"{where}: completion tracking is off in the course settings")
    try:
        comps = moodle.course_competencies(cid)
        result.ok_lines.append(f"{where}: moodle/competency:coursecompetencyview ({len(comps)} competencies)")
    except MoodleError as exc:
        if exc.errorcode == "competenciesarenotenabled":
            result.warnings.append("competencies are disabled on the site: credentials carry no learning outcome")
        elif exc.errorcode == "nopermissions":
            result.missing.append(f"{where}: moodle/competency:coursecompetencyview")
        else:
            result.missing.append(f"{where}: {exc.function}: {exc.errorcode}: {exc.message}")
    try:
        users = moodle.enrolled_users(cid, 0, 200)
    except MoodleError as exc:
        if exc.errorcode == "nopermissions":
            result.missing.append(f"{where}: moodle/course:viewparticipants")
        elif exc.errorcode in ("errorcoursecontextnotvalid", "requireloginerror"):
            result.missing.append(f"{where}: moodle/course:view")
        else:
            result.missing.append(f"{where}: {exc.function}: {exc.errorcode}: {exc.message}")
        return True
    learners = [u for u in users if _learner_roles(u, roles)]
    graded: list[dict[str, Any]] = []
    try:
        graded = moodle.grade_items(cid)
    except MoodleError as exc:
        if exc.errorcode in ("nopermissions", "nopermissiontoviewgrades"):
            result.missing.append(f"{where}: gradereport/user:view and moodle/grade:viewall")
        else:
            result.missing.append(f"{where}: {exc.function}: {exc.errorcode}: {exc.message}")
    if not learners:
        if graded:
            result.missing.append(f"{where}: moodle/user:viewdetails (Moodle lists {len(graded)} graded learner(s) "
                                  "but no participant with a learner role)")
            return True
        result.warnings.append(f"{where}: no learner enrolled; trying the next course")
        return False
    result.ok_lines.append(f"{where}: moodle/course:viewparticipants, moodle/user:viewdetails "
                           f"({len(learners)} learner(s) visible)")
    if all("firstname" not in u and "lastname" not in u for u in learners):
        result.missing.append(f"{where}: moodle/site:viewfullnames (no first or last names returned)")
    else:
        result.ok_lines.append(f"{where}: moodle/site:viewfullnames")
    if all("email" not in u for u in learners):
        result.missing.append(f"{where}: moodle/course:useremail (no e-mail address returned; also check that "
                              "'email' is not a hidden user field)")
    else:
        result.ok_lines.append(f"{where}: moodle/course:useremail")
    if all("lastcourseaccess" not in u for u in learners):
        result.warnings.append(f"{where}: last course access is hidden (hidden user field 'lastaccess'): learners "
                               "are then found by the round of checks only (poll.checks_per_run); give the role "
                               "moodle/course:viewhiddenuserfields")
    learner = learners[0]
    uid = int(learner["id"])
    try:
        moodle.completion_status(cid, uid)
        result.ok_lines.append(f"{where}: report/completion:view")
    except MoodleError as exc:
        if exc.errorcode == "cannotviewreport":
            result.missing.append(f"{where}: report/completion:view (or completion is off for the course)")
        elif exc.errorcode == "nocriteriaset":
            result.warnings.append(f"{where}: the course has no completion criteria: nobody can complete it")
            result.ok_lines.append(f"{where}: report/completion:view")
        elif exc.errorcode != "usernotenroled":
            result.missing.append(f"{where}: {exc.function}: {exc.errorcode}: {exc.message}")
    try:
        answer = moodle.grade_items(cid, uid)
        moodle.grades_table(cid, uid)
        result.ok_lines.append(f"{where}: gradereport/user:view, moodle/grade:viewall")
        total = moodle_data.course_total(answer[0]) if answer else None
        if total is not None and total.get("gradeishidden") and total.get("graderaw") is not None:
            result.warnings.append(f"{where}: the token's user sees hidden course totals "
                                   "(moodle/grade:viewhidden): remove it, credentials must show what learners see")
    except MoodleError as exc:
        if exc.errorcode in ("nopermissions", "nopermissiontoviewgrades"):
            result.missing.append(f"{where}: gradereport/user:view and moodle/grade:viewall")
        else:
            result.missing.append(f"{where}: {exc.function}: {exc.errorcode}: {exc.message}")
    return True
