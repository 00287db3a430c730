"""One polling pass: Moodle courses → course templates and completions in the sidecar.

Failures stay local: a Moodle error on one course or learner is recorded in the report and the
pass moves on; only a sidecar that is unreachable stops the sending (nothing is marked sent, so
the next run sends it). Already-sent learners are never asked about again.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moodle_adapter.completion import (
    LearnerDataError,
    build_completion,
    completion_time,
    course_total,
    is_completed,
)
from moodle_adapter.config import Config
from moodle_adapter.moodle_client import REQUIRED_FUNCTIONS, MoodleClient, MoodleError
from moodle_adapter.sidecar_client import SidecarClient, SidecarRejected, SidecarUnavailable
from moodle_adapter.state import CourseState, State
from moodle_adapter.template import CourseDataError, build_template, is_marked

# Moodle error codes that concern the whole course, so asking about further learners is pointless.
COURSE_WIDE_ERRORS = {"nocriteriaset", "completionnotenabled", "invalidrecord", "requireloginerror"}
# Moodle error codes that concern the whole site or token: the pass cannot do anything.
SITE_WIDE_ERRORS = {"invalidtoken", "accessexception", "servicerequireslogin", "sitemaintenance",
                    "unreachable", "httperror", "invalidresponse"}
COMPETENCIES_DISABLED = {"competenciesarenotenabled", "nopermissions"}


@dataclass(frozen=True)
class Problem:
    """One reported error or warning; learner ids only, never personal data."""

    course_id: int | None
    learner_id: str | None
    message: str

    def __str__(self) -> str:
        where = "site" if self.course_id is None else f"course {self.course_id}"
        if self.learner_id is not None:
            where += f", learner {self.learner_id}"
        return f"{where}: {self.message}"


@dataclass
class RunReport:
    courses: int = 0
    templates_sent: int = 0
    completions_sent: int = 0
    duplicates: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return (f"{self.courses} course(s), {self.templates_sent} template(s) sent, "
                f"{self.completions_sent} completion(s) sent ({self.duplicates} already known), "
                f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")


class SiteError(Exception):
    """The Moodle site or token is unusable (wrong token, service lacks functions…)."""


class Poller:
    def __init__(self, config: Config, moodle: MoodleClient, sidecar: SidecarClient,
                 emit: Callable[[str], None] = print, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.moodle = moodle
        self.sidecar = sidecar
        self.emit = emit  # where --dry-run writes what it would send
        self.clock = clock

    def check_site(self) -> dict[str, Any]:
        """Check the token and that the service offers every function the poller calls."""
        try:
            info = self.moodle.site_info()
        except MoodleError as exc:
            raise SiteError(f"Moodle refused the token check: {exc.errorcode}: {exc.message}") from None
        offered = {f.get("name") for f in info.get("functions") or []}
        missing = [name for name in REQUIRED_FUNCTIONS if name not in offered]
        if missing:
            raise SiteError("the Web Services service of this token lacks: " + ", ".join(missing))
        return info

    def select_courses(self) -> tuple[list[dict[str, Any]], list[Problem]]:
        """Configured course ids plus every course whose marker custom field is set."""
        problems: list[Problem] = []
        chosen: dict[int, dict[str, Any]] = {}
        if self.config.course_ids:
            found = self.moodle.courses_by_field("ids", ",".join(str(i) for i in self.config.course_ids))
            for course in found:
                chosen[int(course["id"])] = course
            for cid in self.config.course_ids:
                if cid not in chosen:
                    problems.append(Problem(cid, None, "course not found, or not visible to the token"))
        if self.config.marker_field:
            for course in self.moodle.courses_by_field():
                if course.get("format") != "site" and is_marked(course, self.config.marker_field):
                    chosen.setdefault(int(course["id"]), course)
        return [chosen[k] for k in sorted(chosen)], problems

    def run_once(self, backfill: bool = False, dry_run: bool = False) -> RunReport:
        report = RunReport()
        state = State.load(self.config.state_path)
        try:
            courses, problems = self.select_courses()
        except MoodleError as exc:
            report.errors.append(Problem(None, None, f"{exc.function}: {exc.errorcode}: {exc.message}"))
            return report
        report.errors.extend(problems)
        sidecar_down = False
        for course in courses:
            report.courses += 1
            cid = int(course["id"])
            # Created even when skipped: the course's start time is this run, not the next one.
            course_state = state.course(cid, int(self.clock()), backfill)
            if sidecar_down:
                report.errors.append(Problem(cid, None, "not sent: sidecar unavailable (next run retries)"))
                continue
            try:
                self._poll_course(course, course_state, report, backfill, dry_run)
            except MoodleError as exc:
                report.errors.append(Problem(cid, None, f"{exc.function}: {exc.errorcode}: {exc.message}"))
                if exc.errorcode in SITE_WIDE_ERRORS:
                    break
            except SidecarUnavailable as exc:
                report.errors.append(Problem(cid, None, f"{exc} (nothing lost: the next run retries)"))
                sidecar_down = True
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                # A Moodle version or plugin answering in another shape: report it, go on.
                report.errors.append(Problem(cid, None, f"unexpected answer from Moodle ({type(exc).__name__}: "
                                                        f"{exc})"))
            if not dry_run:
                state.save()  # after each course, so a crash later cannot lose what was sent
        if not dry_run:
            state.save()
        return report

    def _send_template(self, course: dict[str, Any], cstate: CourseState, report: RunReport,
                       dry_run: bool) -> bool:
        cid = int(course["id"])
        try:
            competencies = self.moodle.course_competencies(cid)
        except MoodleError as exc:
            if exc.errorcode not in COMPETENCIES_DISABLED:
                raise
            report.warnings.append(Problem(cid, None, f"competencies unavailable ({exc.errorcode}); "
                                                      "no learning outcome"))
            competencies = []
        try:
            built = build_template(course, competencies, self.config.fields, self.config.defaults,
                                   self.config.policy)
        except CourseDataError as exc:
            report.errors.append(Problem(cid, None, str(exc)))
            return False
        report.warnings.extend(Problem(cid, None, w) for w in built.warnings)
        if built.digest == cstate.template_hash:
            return True
        if dry_run:
            self.emit(json.dumps({"action": "PUT", "path": self.sidecar.template_path(str(cid)),
                                  "body": built.template}, ensure_ascii=False, sort_keys=True))
            return True
        try:
            answer = self.sidecar.put_template(str(cid), built.template)
        except SidecarRejected as exc:
            report.errors.append(Problem(cid, None, f"template refused by the sidecar: {exc}"))
            return False
        esco = answer.get("esco") or {}
        for kind in ("unknown", "obsolete"):
            for uri in esco.get(kind) or []:
                report.warnings.append(Problem(cid, None, f"ESCO skill {kind} to the sidecar: {uri}"))
        cstate.template_hash = built.digest
        report.templates_sent += 1
        return True

    def _poll_course(self, course: dict[str, Any], cstate: CourseState, report: RunReport,
                     backfill: bool, dry_run: bool) -> None:
        cid = int(course["id"])
        if not self._send_template(course, cstate, report, dry_run):
            return
        roles = set(self.config.learner_roles)
        skip = set(cstate.sent) | (set() if backfill else set(cstate.before_start))
        learners = [u for u in self.moodle.enrolled_users(cid) if str(u.get("id")) not in skip
                    and roles & {r.get("shortname") for r in u.get("roles") or []}]
        grades: dict[int, dict[str, Any]] | None = None
        now = int(self.clock())
        for user in learners:
            uid = str(user["id"])
            try:
                status = self.moodle.completion_status(cid, int(uid))
            except MoodleError as exc:
                if exc.errorcode in COURSE_WIDE_ERRORS or exc.errorcode in SITE_WIDE_ERRORS:
                    raise
                report.errors.append(Problem(cid, uid, f"{exc.function}: {exc.errorcode}: {exc.message}"))
                continue
            if not is_completed(status):
                continue
            finished = completion_time(status)
            if not backfill and finished is not None and finished < cstate.since:
                cstate.before_start.append(uid)  # completed before the poller started: not ours
                continue
            if grades is None:
                grades = self._course_grades(cid, report)
            try:
                completion = build_completion(self.config.source, cid, user, status,
                                              grades.get(int(uid)), now)
            except LearnerDataError as exc:
                report.errors.append(Problem(cid, uid, str(exc)))
                continue
            if dry_run:
                self.emit(json.dumps({"action": "POST", "path": "/api/v1/completions", "body": completion},
                                     ensure_ascii=False, sort_keys=True))
                continue
            try:
                accepted = self.sidecar.post_completion(completion)
            except SidecarRejected as exc:
                report.errors.append(Problem(cid, uid, f"completion refused by the sidecar: {exc}"))
                continue
            cstate.sent[uid] = {"credential_id": accepted.credential_id, "completed_at": finished or now}
            cstate.cursor = max(cstate.cursor, finished or now)
            report.completions_sent += 1
            report.duplicates += int(accepted.duplicate)

    def _course_grades(self, cid: int, report: RunReport) -> dict[int, dict[str, Any]]:
        """Course total per learner, in one call for the whole course; none when not permitted."""
        try:
            usergrades = self.moodle.grade_items(cid)
        except MoodleError as exc:
            report.warnings.append(Problem(cid, None, f"grades unavailable ({exc.errorcode}); "
                                                      "completions are sent without a grade"))
            return {}
        totals: dict[int, dict[str, Any]] = {}
        for entry in usergrades:
            item = course_total(entry)
            if item is not None:
                totals[int(entry["userid"])] = item
        return totals
